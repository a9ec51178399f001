import GatewayWire
import Synchronization

/// One answer stream of a session (the SSE answer to a POSTed request) that outlives its HTTP response: a client
/// whose connection broke reconnects with `GET` and `Last-Event-ID` and reads on from the event after that id
/// (2025-03-26 … 2025-11-25 resumability; a disconnect is not a cancellation in those revisions).
///
/// The producer (the upstream's reply) runs at most ``lead`` events ahead of what the current reader asked for, so
/// a slow client slows it down and nothing is dropped. With no reader for ``resumeWindow`` the producer gives up and
/// the upstream call is abandoned. The last ``retained`` events stay readable again; asking for older ones is an
/// error, never a silent gap.
public final class ResumableEvents: Sendable {
    public struct Event: Sendable {
        /// The SSE event id: `{key}-{seq}`.
        public let id: String
        public let bytes: [UInt8]
    }

    public static let lead = 32
    public static let retained = 256
    /// How long a stream without a reader waits for the client to come back.
    public static let resumeWindow: Duration = .seconds(60)

    /// Unique among the session's streams (`r1`, `r2`, …).
    public let key: String

    private struct State {
        var events: [(seq: Int, bytes: [UInt8])] = []
        var lastSeq = 0
        var finished = false
        var abandoned = false
        /// The reader now entitled to read, and the last seq it asked past.
        var readerGeneration = 0
        var readerPosition = 0
        var readerAttached = false
        /// Whether the current reader asked for anything yet.
        var hasRead = false
        var readerWaiter: CheckedContinuation<Void, Never>?
        var producerWaiter: CheckedContinuation<Void, Never>?
        var detachTimer: Task<Void, Never>?
        /// What reads the reply into this stream; cancelled when the stream is abandoned, which ends the call.
        var producerTask: Task<Void, Never>?
    }

    private let state = Mutex(State())

    init(key: String) {
        self.key = key
    }

    /// The id of the event before the first one (a priming event carries it).
    public var primingID: String { "\(key)-0" }

    public var isFinished: Bool { state.withLock { $0.finished } }

    /// Finished, and no reader on it: nothing more can come of it but a late resume.
    var isIdle: Bool { state.withLock { $0.finished && !$0.readerAttached } }

    /// The task reading the reply into this stream, cancelled if the stream is abandoned.
    public func produced(by task: Task<Void, Never>) {
        let abandoned = state.withLock { state -> Bool in
            state.producerTask = task
            return state.abandoned
        }
        if abandoned { task.cancel() }
    }

    // MARK: Producer

    /// Appends an event, waiting while the reader is ``lead`` events behind. `false` when no reader came back in
    /// time (stop producing).
    public func append(_ bytes: [UInt8]) async -> Bool {
        while true {
            let outcome = state.withLock { state -> Bool? in
                if state.abandoned { return false }
                guard state.lastSeq - state.readerPosition < Self.lead else { return nil }
                state.lastSeq += 1
                state.events.append((state.lastSeq, bytes))
                if state.events.count > Self.retained { state.events.removeFirst(state.events.count - Self.retained) }
                return true
            }
            if let outcome {
                wakeReader()
                return outcome
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let wake = state.withLock { state -> Bool in
                    guard !state.abandoned, state.lastSeq - state.readerPosition >= Self.lead else { return true }
                    state.producerWaiter = continuation
                    return false
                }
                if wake { continuation.resume() }
            }
        }
    }

    /// No more events (the reply ended).
    public func finish() {
        state.withLock { $0.finished = true }
        wakeReader()
    }

    /// Stops the producer and every reader (the session ended, or nobody came back).
    public func abandon() {
        let (reader, producer, timer, task) = state.withLock { state in
            state.abandoned = true
            state.events = []
            defer {
                (state.readerWaiter, state.producerWaiter, state.detachTimer, state.producerTask) = (nil, nil, nil, nil)
            }
            return (state.readerWaiter, state.producerWaiter, state.detachTimer, state.producerTask)
        }
        timer?.cancel()
        task?.cancel()
        reader?.resume()
        producer?.resume()
    }

    // MARK: Readers

    /// A reader of the events after `seq` (0: all), replacing any earlier reader; `nil` when `seq` is not one of
    /// this stream's, or its successors are no longer kept.
    public func read(after seq: Int) -> AsyncStream<Event>? {
        let generation = state.withLock { state -> Int? in
            let oldest = state.events.first?.seq ?? state.lastSeq + 1
            guard seq >= 0, seq <= state.lastSeq, seq >= oldest - 1, !state.abandoned else { return nil }
            state.readerGeneration += 1
            state.readerPosition = seq
            state.hasRead = false
            // Attached once it reads: a response whose body never runs must not hold the stream forever.
            state.readerAttached = true
            state.detachTimer?.cancel()
            state.detachTimer = nil
            return state.readerGeneration
        }
        guard let generation else { return nil }
        wakeReader()
        wakeProducer()
        startDetachTimer(generation, unlessReadBy: true)
        let stream = AsyncStream<Event> { [self] in
            await next(generation: generation)
        } onCancel: { [weak self] in
            self?.detach(generation)
        }
        return stream
    }

    /// The next event for reader `generation` (the one after the last it was handed), waiting for it; `nil` at the
    /// end, or once a newer reader took over.
    private func next(generation: Int) async -> Event? {
        while true {
            enum Step {
                case event(Event)
                case end
                case wait(after: Int)
            }
            let step = state.withLock { state -> Step in
                guard state.readerGeneration == generation, !state.abandoned, !Task.isCancelled else { return .end }
                state.hasRead = state.hasRead || state.readerGeneration == generation
                let position = state.readerPosition
                if let index = state.events.firstIndex(where: { $0.seq == position + 1 }) {
                    state.readerPosition = position + 1
                    return .event(Event(id: "\(key)-\(position + 1)", bytes: state.events[index].bytes))
                }
                return state.finished && position >= state.lastSeq ? .end : .wait(after: position)
            }
            wakeProducer()
            switch step {
            case .event(let event): return event
            case .end:
                detach(generation)
                return nil
            case .wait(let position):
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let ready = state.withLock { state -> Bool in
                            let available = state.lastSeq > position || state.finished || state.abandoned
                            guard !available, state.readerGeneration == generation, !Task.isCancelled else {
                                return true
                            }
                            state.readerWaiter = continuation
                            return false
                        }
                        if ready { continuation.resume() }
                    }
                } onCancel: {
                    wakeReader()
                }
            }
        }
    }

    /// The reader `generation` went away: unless a newer one came, start waiting for the client to come back.
    private func detach(_ generation: Int) {
        let start = state.withLock { state -> Bool in
            guard state.readerGeneration == generation, state.readerAttached else { return false }
            state.readerAttached = false
            return !state.finished && !state.abandoned
        }
        guard start else { return }
        startDetachTimer(generation, unlessReadBy: false)
    }

    /// Abandons the stream after ``resumeWindow`` unless reader `generation` came back (or, with `unlessReadBy`,
    /// started reading) by then.
    private func startDetachTimer(_ generation: Int, unlessReadBy reading: Bool) {
        let timer = Task { [weak self] in
            try? await Task.sleep(for: Self.resumeWindow)
            guard !Task.isCancelled, let self else { return }
            let stillAlone = self.state.withLock { state in
                state.readerGeneration == generation && !state.finished
                    && (reading ? !state.hasRead : !state.readerAttached)
            }
            if stillAlone { self.abandon() }
        }
        let kept = state.withLock { state -> Bool in
            guard state.readerGeneration == generation, reading || !state.readerAttached else { return false }
            state.detachTimer = timer
            return true
        }
        if !kept { timer.cancel() }
    }

    private func wakeReader() {
        state.withLock { state in
            defer { state.readerWaiter = nil }
            return state.readerWaiter
        }?.resume()
    }

    private func wakeProducer() {
        state.withLock { state in
            defer { state.producerWaiter = nil }
            return state.producerWaiter
        }?.resume()
    }
}
