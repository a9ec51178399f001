import GatewayWire
import NIOCore

/// Reads JSON-RPC messages from an upstream's `text/event-stream` body.
///
/// Used by one consumer at a time (the request that owns the response, then the stream it hands to the client),
/// which is why it may be `@unchecked Sendable`.
final class SSEMessageReader: @unchecked Sendable {
    private var iterator: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
    private var parser: SSEParser
    /// Set by the consumer once the final message was read.
    var finished = false

    init(body: AsyncThrowingStream<ByteBuffer, any Error>, maxEventBytes: Int) {
        self.iterator = body.makeAsyncIterator()
        self.parser = SSEParser(maxEventSize: maxEventBytes)
    }

    /// The next message, skipping events that are not `message` or carry no JSON-RPC; `nil` at the end of the body.
    func next() async throws -> JSONRPCMessage? {
        while true {
            while let event = parser.nextEvent() {
                guard event.type == "message", !event.data.isEmpty,
                    let message = try? JSONRPCMessage.parse(event.data)
                else { continue }
                return message
            }
            guard let chunk = try await iterator.next() else { return nil }
            try parser.append(chunk.readableBytesView)
        }
    }
}
