import GatewayWire
import Synchronization

/// Reports, exactly once, how a streamed reply ended: its response read (success), an error thrown while reading
/// it, or the stream dropped before the response (neutral: the client went away).
final class CallCompletion: Sendable {
    private let reported = Atomic<Bool>(false)
    private let report: @Sendable (UpstreamPoolStateMachine.Outcome) -> Void

    init(_ report: @escaping @Sendable (UpstreamPoolStateMachine.Outcome) -> Void) {
        self.report = report
    }

    func finish(_ outcome: UpstreamPoolStateMachine.Outcome) {
        guard !reported.exchange(true, ordering: .acquiringAndReleasing) else { return }
        report(outcome)
    }

    deinit { finish(.neutral) }

    /// `stream`, reporting its end here.
    func observing(_ stream: AsyncThrowingStream<[UInt8], any Error>) -> AsyncThrowingStream<[UInt8], any Error> {
        let source = StreamSource(stream)
        return AsyncThrowingStream { [self] in
            do {
                guard let next = try await source.next() else {
                    finish(.success)
                    return nil
                }
                // The response ends the call, even if the reader stops there (an input_required round).
                let kind = (try? JSONRPCMessage.parse(next))?.kind
                if kind == .response || kind == .errorResponse { finish(.success) }
                return next
            } catch {
                finish(UpstreamServer.outcome(of: error))
                throw error
            }
        }
    }
}

/// The iterator of a stream read by one consumer at a time (an `AsyncThrowingStream(unfolding:)` closure).
private final class StreamSource: @unchecked Sendable {
    private var iterator: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator

    init(_ stream: AsyncThrowingStream<[UInt8], any Error>) {
        iterator = stream.makeAsyncIterator()
    }

    func next() async throws -> [UInt8]? {
        try await iterator.next()
    }
}
