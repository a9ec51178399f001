import GatewayCore
import GatewayWire
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// Responses written as `text/event-stream`, with keep-alive comments while nothing else is sent, unbuffered by
/// proxies (`X-Accel-Buffering: no`), and ended by the gateway's graceful shutdown.
enum SSEResponse {
    private enum Event: Sendable {
        case message([UInt8])
        case keepAlive
    }

    static var headers: HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        headers[MCPHeaders.accelBuffering] = "no"
        return headers
    }

    /// A request's answer: `first`, then the rest. If the rest fails, the stream ends with a JSON-RPC error for `id`.
    static func reply(
        first: [UInt8],
        rest: AsyncThrowingStream<[UInt8], any Error>,
        id: JSONRPCID?,
        keepAlive: Duration,
        extraHeaders: HTTPFields = [:]
    ) -> Response {
        var headers = headers
        headers.append(contentsOf: extraHeaders)
        return Response(
            status: .ok,
            headers: headers,
            body: body(first: first, keepAlive: keepAlive, endsOnShutdown: false) { continuation in
                do {
                    for try await message in rest { continuation.yield(.message(message)) }
                } catch {
                    let failure = error as? GatewayError ?? GatewayError(.internalError, "\(error)")
                    continuation.yield(.message(failure.jsonRPCResponse(id: id)))
                }
            }
        )
    }

    /// A session's standalone stream (GET): whatever the session is sent, until either side closes it.
    static func standalone(_ stream: AsyncStream<[UInt8]>, keepAlive: Duration) -> Response {
        Response(
            status: .ok,
            headers: headers,
            body: body(first: nil, keepAlive: keepAlive, endsOnShutdown: true) { continuation in
                for await message in stream { continuation.yield(.message(message)) }
            }
        )
    }

    /// `endsOnShutdown`: standalone streams end as soon as the gateway starts shutting down; request answers keep
    /// the grace period to finish.
    private static func body(
        first: [UInt8]?,
        keepAlive: Duration,
        endsOnShutdown: Bool,
        produce: @escaping @Sendable (AsyncStream<Event>.Continuation) async -> Void
    ) -> ResponseBody {
        ResponseBody { writer in
            if let first { try await writer.write(ByteBuffer(bytes: SSEEncoder.event(first))) }
            let (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(512))
            try await withGracefulShutdownHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        await produce(continuation)
                        continuation.finish()
                    }
                    group.addTask {
                        while true {
                            try await Task.sleep(for: keepAlive)
                            continuation.yield(.keepAlive)
                        }
                    }
                    for await event in events {
                        switch event {
                        case .message(let bytes): try await writer.write(ByteBuffer(bytes: SSEEncoder.event(bytes)))
                        case .keepAlive: try await writer.write(ByteBuffer(bytes: SSEEncoder.comment()))
                        }
                    }
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                if endsOnShutdown { continuation.finish() }
            }
            try await writer.finish(nil)
        }
    }
}
