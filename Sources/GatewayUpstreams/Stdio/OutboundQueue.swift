import Synchronization

/// Lines waiting for a child's stdin: many producers, one writer task.
///
/// The writer takes everything queued in one piece, so concurrent callers cost one `write` per batch rather than
/// one per message, and messages can never interleave. The queue is bounded in bytes; beyond it callers are
/// refused rather than buffered without limit.
final class OutboundQueue: Sendable {
    private struct State {
        var buffer: [UInt8] = []
        var waiter: CheckedContinuation<[UInt8]?, Never>?
        var closed = false
    }

    private let state = Mutex(State())
    let maxBufferedBytes: Int

    init(maxBufferedBytes: Int = 64 * 1024 * 1024) {
        self.maxBufferedBytes = maxBufferedBytes
    }

    /// Queues one message followed by a newline; `false` when closed or full.
    func enqueue(_ message: [UInt8]) -> Bool {
        let (accepted, wake) = state.withLock { state -> (Bool, (CheckedContinuation<[UInt8]?, Never>, [UInt8])?) in
            guard !state.closed, state.buffer.count + message.count < maxBufferedBytes else { return (false, nil) }
            state.buffer.append(contentsOf: message)
            state.buffer.append(UInt8(ascii: "\n"))
            guard let waiter = state.waiter else { return (true, nil) }
            state.waiter = nil
            let batch = state.buffer
            state.buffer = []
            return (true, (waiter, batch))
        }
        if let (waiter, batch) = wake { waiter.resume(returning: batch) }
        return accepted
    }

    /// Everything queued, waiting until something is; `nil` once closed and drained, or when the task is cancelled.
    func next() async -> [UInt8]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[UInt8]?, Never>) in
                let ready: [UInt8]?? = state.withLock { state in
                    if !state.buffer.isEmpty {
                        defer { state.buffer = [] }
                        return .some(state.buffer)
                    }
                    if state.closed || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            close()
        }
    }

    /// Refuses new messages; the writer drains what is queued and then sees `nil`.
    func close() {
        let waiter = state.withLock { state in
            state.closed = true
            defer { state.waiter = nil }
            return state.buffer.isEmpty ? state.waiter : nil
        }
        waiter?.resume(returning: nil)
    }

    /// Empties the queue and accepts messages again (a new process).
    func reopen() {
        state.withLock { state in
            state.buffer = []
            state.closed = false
        }
    }
}
