import NIOCore
import NIOHTTP1

/// An upstream's answer: the status and headers, and the body in full or (for `text/event-stream`) as a stream.
struct UpstreamHTTPResponse: Sendable {
    enum Body: Sendable {
        case complete(ByteBuffer)
        case stream(AsyncThrowingStream<ByteBuffer, any Error>)
    }

    let status: Int
    let headers: HTTPHeaders
    let body: Body

    /// The body as bytes: the whole of a complete body, or up to `limit` bytes of a stream.
    func collect(limit: Int) async throws -> [UInt8] {
        switch body {
        case .complete(let buffer):
            return Array(buffer.readableBytesView)
        case .stream(let stream):
            var bytes: [UInt8] = []
            for try await chunk in stream {
                bytes.append(contentsOf: chunk.readableBytesView.prefix(limit - bytes.count))
                if bytes.count >= limit { break }
            }
            return bytes
        }
    }
}

/// Why an exchange failed before it completed.
enum UpstreamHTTPError: Error, Sendable, CustomStringConvertible {
    /// The connection closed before any response; `reused` connections may be retried once.
    case closedBeforeResponse(reused: Bool)
    case closedDuringResponse
    case bodyTooLarge(limit: Int)
    case timedOut
    case cancelled
    case connectFailed(String)
    case poolClosed

    var description: String {
        switch self {
        case .closedBeforeResponse: "the connection closed before a response"
        case .closedDuringResponse: "the connection closed in the middle of the response"
        case .bodyTooLarge(let limit): "the response body exceeds \(limit) bytes"
        case .timedOut: "no response in time"
        case .cancelled: "the request was cancelled"
        case .connectFailed(let reason): "cannot connect: \(reason)"
        case .poolClosed: "the connection pool is shut down"
        }
    }
}
