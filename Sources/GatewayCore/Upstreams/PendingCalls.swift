import GatewayWire
import Synchronization

/// Requests in flight on one multiplexed upstream connection (a stdio process), keyed by the id the gateway minted.
///
/// A call resolves on its first event: the response (the common case: one continuation, no stream) or a
/// notification for it, which turns the call into a stream that ends with the response. Every effect (resuming a
/// continuation, yielding, finishing) runs outside the lock, so stream termination handlers may call back in.
public final class PendingCalls: Sendable {
    private enum Phase {
        case awaitingFirst(CheckedContinuation<MCPReply, any Error>)
        case streaming(AsyncThrowingStream<[UInt8], any Error>.Continuation)
    }

    private struct Entry {
        var phase: Phase
        let request: UpstreamRequest
        var idleDeadline: ContinuousClock.Instant
        let hardDeadline: ContinuousClock.Instant
    }

    private struct State {
        var nextID = 1
        var entries: [Int: Entry] = [:]
        /// Set while the connection is down: new calls fail with it at once.
        var closedWith: GatewayError?
    }

    private enum Effect {
        case none
        case resume(CheckedContinuation<MCPReply, any Error>, Result<MCPReply, GatewayError>)
        case yield(AsyncThrowingStream<[UInt8], any Error>.Continuation, [UInt8], finish: Bool)
        case fail(Phase, GatewayError)

        func perform() {
            switch self {
            case .none: break
            case .resume(let continuation, let result): continuation.resume(with: result.mapError { $0 as any Error })
            case .yield(let continuation, let bytes, let finish):
                continuation.yield(bytes)
                if finish { continuation.finish() }
            case .fail(.awaitingFirst(let continuation), let error): continuation.resume(throwing: error)
            case .fail(.streaming(let continuation), let error): continuation.finish(throwing: error)
            }
        }
    }

    private let state: Mutex<State>
    /// Called with the upstream id of a call whose client went away before the answer, so the transport can send
    /// `notifications/cancelled` upstream.
    private let abandoned: Mutex<(@Sendable (Int) -> Void)?> = Mutex(nil)
    /// Notifications buffered per streaming call before the oldest are dropped (the response is never dropped).
    let streamCapacity: Int

    public init(streamCapacity: Int = 256, closedWith error: GatewayError? = nil) {
        self.streamCapacity = streamCapacity
        self.state = Mutex(State(closedWith: error))
    }

    public func onAbandoned(_ handler: @escaping @Sendable (Int) -> Void) {
        abandoned.withLock { $0 = handler }
    }

    public var count: Int { state.withLock { $0.entries.count } }

    // MARK: Calls

    /// Registers a call and hands its encoded bytes to `write`; returns when the first message for it arrives.
    /// If the calling task is cancelled, the call is dropped and reported as abandoned.
    public func call(
        _ request: UpstreamRequest,
        era: MCPEra = .legacy,
        now: ContinuousClock.Instant = .now,
        write: @Sendable (_ bytes: [UInt8]) -> GatewayError?
    ) async throws(GatewayError) -> MCPReply {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<MCPReply, any Error>) in
                    let refusal: GatewayError? = state.withLock { state in
                        if let error = state.closedWith { return error }
                        state.entries[id] = Entry(
                            phase: .awaitingFirst(continuation),
                            request: request,
                            idleDeadline: now + request.idleTimeout,
                            hardDeadline: now + request.maxDuration
                        )
                        return nil
                    }
                    if let refusal {
                        continuation.resume(throwing: refusal.unsent())
                    } else if Task.isCancelled {
                        abandon(id)
                    } else if let error = write(request.encoded(upstreamID: id, era: era)) {
                        fail(id, error.unsent())
                    }
                }
            } onCancel: {
                abandon(id)
            }
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError(.internalError, "request cancelled")
        }
    }

    /// Routes a message the upstream sent. Returns `false` when it belongs to no call in flight (a late or
    /// unknown response, or a notification not tied to a request), leaving it to the caller.
    ///
    /// A log message names no request; on a connection shared by several clients it is placed on the call of the
    /// only client with calls in flight (``soleClientCall``), and otherwise left to the caller, never guessed.
    @discardableResult
    public func deliver(_ message: JSONRPCMessage, now: ContinuousClock.Instant = .now) -> Bool {
        let effect: Effect? = state.withLock { state in
            switch message.kind {
            case .response, .errorResponse:
                guard let id = message.id?.intValue, let entry = state.entries.removeValue(forKey: id) else {
                    return nil
                }
                let bytes = entry.request.restoring(message)
                switch entry.phase {
                case .awaitingFirst(let continuation): return .resume(continuation, .success(.response(bytes)))
                case .streaming(let continuation): return .yield(continuation, bytes, finish: true)
                }
            case .notification where message.method == "notifications/progress":
                guard let token = message.param("progressToken"),
                    let id = Int(String(decoding: message.bytes[token], as: UTF8.self)),
                    let entry = state.entries[id]
                else { return nil }
                let idle = min(now + entry.request.idleTimeout, entry.hardDeadline)
                return stream(entry.request.restoring(message), into: id, idleDeadline: idle, state: &state)
            case .notification where message.method == "notifications/message":
                guard let id = Self.soleClientCall(in: state, askable: true) else { return nil }
                return stream(message.bytes, into: id, idleDeadline: nil, state: &state)
            default:
                return nil
            }
        }
        effect?.perform()
        return effect != nil
    }

    /// A request the upstream sent its client on this connection, which names no request of ours: forwarded
    /// through the sink of the only client's call in flight, whose idle timer stops until the client answers.
    /// Returns what to send back upstream now (the answer to `ping`, or a refusal naming why), if anything.
    public func relayServerRequest(
        _ message: JSONRPCMessage,
        now: ContinuousClock.Instant = .now,
        answer: @escaping ServerRequestSink.Answer
    ) -> [UInt8]? {
        let target = state.withLock { state -> (id: Int, sink: ServerRequestSink?, clients: Int)? in
            guard let id = Self.soleClientCall(in: state, askable: true) else {
                let clients = Set(state.entries.values.map(\.request.owner)).subtracting([UpstreamRequest.gatewayOwner])
                    .count
                return clients == 0 ? nil : (0, nil, clients)
            }
            return (id, state.entries[id]?.request.serverRequests, 1)
        }
        let unrouted: String =
            switch target {
            case nil: "no client request is in flight on this connection"
            case .some(let target) where target.clients > 1:
                "\(target.clients) clients have requests in flight on this shared connection, and the request names none of them"
            default:
                ServerInitiatedRequest.notAskable
            }
        let id = target?.id ?? 0
        let outcome = ServerInitiatedRequest.route(message, sink: target?.sink, unrouted: unrouted) {
            [weak self] bytes in
            self?.resumeIdle(id)
            await answer(bytes)
        }
        switch outcome {
        case nil: return nil
        case .toUpstream(let bytes): return bytes
        case .toClient(let bytes):
            let effect = state.withLock { state -> Effect? in
                guard let entry = state.entries[id] else { return nil }
                return stream(bytes, into: id, idleDeadline: entry.hardDeadline, state: &state)
            }
            guard let effect else {
                return ServerInitiatedRequest.refusal(
                    id: message.id!, method: message.method ?? "", "the request it belongs to has ended")
            }
            effect.perform()
            return nil
        }
    }

    /// Restarts the idle timer of call `id` (the client answered the upstream's request).
    public func resumeIdle(_ id: Int, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            guard let entry = state.entries[id] else { return }
            state.entries[id]?.idleDeadline = min(now + entry.request.idleTimeout, entry.hardDeadline)
        }
    }

    /// The most recent call of the only client with calls in flight; `nil` when there is none, or when calls of
    /// several clients are in flight (then a message that names no request cannot be placed).
    /// With `askable`, a call whose client can be asked (one with a sink) is preferred to a more recent one.
    private static func soleClientCall(in state: State, askable: Bool = false) -> Int? {
        var owner: String?
        var latest: Int?
        var latestAskable: Int?
        for (id, entry) in state.entries where entry.request.owner != UpstreamRequest.gatewayOwner {
            if let owner, owner != entry.request.owner { return nil }
            owner = entry.request.owner
            latest = max(latest ?? id, id)
            if entry.request.serverRequests != nil { latestAskable = max(latestAskable ?? id, id) }
        }
        return askable ? latestAskable ?? latest : latest
    }

    /// Puts `bytes` on call `id`'s stream (turning a call that has had nothing yet into a stream), and moves its
    /// idle deadline to `idleDeadline` if given.
    private func stream(
        _ bytes: [UInt8],
        into id: Int,
        idleDeadline: ContinuousClock.Instant?,
        state: inout State
    ) -> Effect? {
        guard var entry = state.entries[id] else { return nil }
        if let idleDeadline { entry.idleDeadline = idleDeadline }
        switch entry.phase {
        case .awaitingFirst(let continuation):
            let (stream, streamContinuation) = AsyncThrowingStream.makeStream(
                of: [UInt8].self,
                throwing: (any Error).self,
                bufferingPolicy: .bufferingNewest(streamCapacity)
            )
            streamContinuation.onTermination = { [weak self] termination in
                if case .cancelled = termination { self?.abandon(id) }
            }
            entry.phase = .streaming(streamContinuation)
            state.entries[id] = entry
            return .resume(continuation, .success(.stream(first: bytes, rest: stream)))
        case .streaming(let continuation):
            state.entries[id] = entry
            return .yield(continuation, bytes, finish: false)
        }
    }

    /// Fails one call (timeout, write failure); returns whether it was still in flight.
    @discardableResult
    public func fail(_ id: Int, _ error: GatewayError) -> Bool {
        let entry = state.withLock { $0.entries.removeValue(forKey: id) }
        if let entry { Effect.fail(entry.phase, error).perform() }
        return entry != nil
    }

    /// Fails every call in flight. With `close`, new calls fail with the same error until ``reopen()``.
    public func failAll(_ error: GatewayError, close: Bool) {
        let entries = state.withLock { state in
            if close { state.closedWith = error }
            defer { state.entries.removeAll() }
            return Array(state.entries.values)
        }
        for entry in entries { Effect.fail(entry.phase, error).perform() }
    }

    /// Accepts new calls again (the connection is back).
    public func reopen() {
        state.withLock { $0.closedWith = nil }
    }

    /// Cancels the call `clientID` of `owner` (a client's `notifications/cancelled`), or with `nil` every call of
    /// `owner` (its session ended); returns their upstream ids.
    public func cancel(owner: String, clientID: JSONRPCID?) -> [Int] {
        let matches = state.withLock { state -> [(Int, Entry)] in
            let ids = state.entries.filter {
                $0.value.request.owner == owner && (clientID == nil || $0.value.request.clientID == clientID)
            }.keys
            return ids.compactMap { id in state.entries.removeValue(forKey: id).map { (id, $0) } }
        }
        for (_, entry) in matches {
            Effect.fail(entry.phase, GatewayError(.internalError, "request cancelled")).perform()
        }
        return matches.map(\.0)
    }

    /// Fails calls whose deadline has passed and returns their upstream ids and methods (to cancel them upstream).
    public func expire(
        now: ContinuousClock.Instant = .now,
        error: (UpstreamRequest, _ hard: Bool) -> GatewayError
    ) -> [(id: Int, method: String)] {
        let expired = state.withLock { state -> [(Int, Entry)] in
            let due = state.entries.filter { $0.value.idleDeadline <= now || $0.value.hardDeadline <= now }
            for (id, _) in due { state.entries.removeValue(forKey: id) }
            return due.map { ($0.key, $0.value) }
        }
        for (_, entry) in expired {
            Effect.fail(entry.phase, error(entry.request, entry.hardDeadline <= now)).perform()
        }
        return expired.map { (id: $0.0, method: $0.1.request.method) }
    }

    private func abandon(_ id: Int) {
        guard fail(id, GatewayError(.internalError, "request cancelled")) else { return }
        abandoned.withLock { $0 }?(id)
    }
}
