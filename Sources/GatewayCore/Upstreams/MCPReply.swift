/// What a request produced: one response, or a stream whose first element arrived before the response (progress,
/// log messages) and whose last element is the response.
///
/// Endpoints answer `.response` as plain JSON and `.stream` as SSE, so the cheap path stays cheap and streaming
/// happens only when the server actually sends something before its answer.
public enum MCPReply: Sendable {
    case response([UInt8])
    case stream(first: [UInt8], rest: AsyncThrowingStream<[UInt8], any Error>)

    /// The final message, discarding anything sent before it.
    public func finalMessage() async throws -> [UInt8] {
        switch self {
        case .response(let bytes):
            return bytes
        case .stream(let first, let rest):
            var last = first
            for try await message in rest { last = message }
            return last
        }
    }
}
