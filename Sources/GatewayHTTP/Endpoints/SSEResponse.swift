import AsyncAlgorithms
import GatewayCore
import GatewayWire
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// Responses written as `text/event-stream`, with keep-alive comments while nothing else is sent, unbuffered by
/// proxies (`X-Accel-Buffering: no`), and ended by the gateway's graceful shutdown.
///
/// Events reach the socket through a channel that suspends its sender until the writer took the event, so a slow
/// client slows its producer down instead of losing events.
enum SSEResponse {
    enum Event: Sendable {
        case message([UInt8])
        /// A message with its event id, so the client can resume after it.
        case identified(id: String, [UInt8])
        /// A complete SSE event, written as is (the `endpoint` event of HTTP+SSE).
        case raw([UInt8])
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
    /// Messages `keep` refuses are not written. With `closingOnShutdown` (a listen stream, which never ends by
    /// itself) the gateway's shutdown writes that message and ends the stream; other answers keep the grace period
    /// to finish.
    static func reply(
        first: [UInt8],
        rest: AsyncThrowingStream<[UInt8], any Error>,
        id: JSONRPCID?,
        era: MCPEra = .legacy,
        keepAlive: Duration,
        keep: (@Sendable ([UInt8]) -> Bool)? = nil,
        closingOnShutdown: [UInt8]? = nil
    ) -> Response {
        Response(
            status: .ok,
            headers: headers,
            body: body(keepAlive: keepAlive, closingOnShutdown: closingOnShutdown) { channel in
                if keep?(first) ?? true { await channel.send(.message(first)) }
                do {
                    for try await message in rest where keep?(message) ?? true {
                        await channel.send(.message(message))
                    }
                } catch {
                    let failure = error as? GatewayError ?? GatewayError(.internalError, "\(error)")
                    await channel.send(.message(failure.jsonRPCResponse(id: id, era: era)))
                }
            }
        )
    }

    /// A session's resumable answer stream, from `events` on; `priming` first writes an event with that id and no
    /// data (2025-11-25), so a client whose connection breaks before the first message can still resume. Ends with
    /// the answer, or when the client goes (the stream waits for it to come back) or the session ends.
    static func resumable(
        _ events: AsyncStream<ResumableEvents.Event>,
        priming: String?,
        keepAlive: Duration
    ) -> Response {
        Response(
            status: .ok,
            headers: headers,
            body: body(keepAlive: keepAlive, closingOnShutdown: nil) { channel in
                if let priming { await channel.send(.raw(Array("id: \(priming)\ndata: \n\n".utf8))) }
                for await event in events { await channel.send(.identified(id: event.id, event.bytes)) }
            }
        )
    }

    /// A session's stream (GET, or the one stream of HTTP+SSE): `preamble` events first, then whatever the
    /// session is sent, until either side closes it or the gateway shuts down. `identified` gives each event its id
    /// (the GET stream, which a client can resume).
    static func standalone(
        _ stream: AsyncStream<ClientSession.PushedMessage>,
        identified: Bool = false,
        preamble: [Event] = [],
        keepAlive: Duration,
        onEnd: (@Sendable () -> Void)? = nil
    ) -> Response {
        Response(
            status: .ok,
            headers: headers,
            body: body(keepAlive: keepAlive, closingOnShutdown: [], onEnd: onEnd) { channel in
                for event in preamble { await channel.send(event) }
                for await message in stream {
                    await channel.send(
                        identified ? .identified(id: message.eventID, message.bytes) : .message(message.bytes))
                }
            }
        )
    }

    /// `closingOnShutdown`: `nil` lets the stream run through the graceful shutdown (a request still being
    /// answered); otherwise shutdown writes those bytes as a last message (none if empty) and ends the stream.
    private static func body(
        keepAlive: Duration,
        closingOnShutdown: [UInt8]?,
        onEnd: (@Sendable () -> Void)? = nil,
        produce: @escaping @Sendable (AsyncChannel<Event>) async -> Void
    ) -> ResponseBody {
        ResponseBody { writer in
            defer { onEnd?() }
            let channel = AsyncChannel<Event>()
            try await withGracefulShutdownHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        await produce(channel)
                        channel.finish()
                    }
                    group.addTask {
                        while true {
                            try await Task.sleep(for: keepAlive)
                            await channel.send(.keepAlive)
                        }
                    }
                    for await event in channel {
                        switch event {
                        case .message(let bytes): try await writer.write(ByteBuffer(bytes: SSEEncoder.event(bytes)))
                        case .identified(let id, let bytes):
                            try await writer.write(ByteBuffer(bytes: SSEEncoder.event(bytes, id: id)))
                        case .raw(let bytes): try await writer.write(ByteBuffer(bytes: bytes))
                        case .keepAlive: try await writer.write(ByteBuffer(bytes: SSEEncoder.comment()))
                        }
                    }
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                guard let closingOnShutdown else { return }
                Task {
                    if !closingOnShutdown.isEmpty { await channel.send(.message(closingOnShutdown)) }
                    channel.finish()
                }
            }
            try await writer.finish(nil)
        }
    }
}
