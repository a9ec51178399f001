import NIOCore
import NIOHTTP1

/// One request with the promise for its response, handed to a connection's event loop.
struct UpstreamHTTPExchange: Sendable {
    let head: HTTPRequestHead
    let body: ByteBuffer
    let promise: EventLoopPromise<UpstreamHTTPResponse>
}

/// Runs one exchange at a time on a keep-alive HTTP/1.1 connection.
///
/// A JSON (or any non-SSE) body is collected on the event loop and the promise succeeds once, with the whole body, so
/// the caller wakes exactly once. An SSE body is handed over as a stream as soon as the head arrives. When the
/// exchange ends the connection goes back to its pool, or is closed if the server asked for that.
final class UpstreamHTTPExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = UpstreamHTTPExchange
    typealias OutboundOut = HTTPClientRequestPart

    private enum State {
        case idle
        case waitingForHead(EventLoopPromise<UpstreamHTTPResponse>)
        case collecting(EventLoopPromise<UpstreamHTTPResponse>, HTTPResponseHead, ByteBuffer)
        case streaming(AsyncThrowingStream<ByteBuffer, any Error>.Continuation)
        case closed
    }

    /// Chunks a streamed body may be ahead of its reader.
    static let streamBacklog = 1024

    private var state = State.idle
    private var exchanges = 0
    private var keepAlive = true
    private let maxBodyBytes: Int
    private let onIdle: @Sendable (any Channel) -> Void
    private let onClose: @Sendable (any Channel) -> Void

    init(
        maxBodyBytes: Int,
        onIdle: @escaping @Sendable (any Channel) -> Void,
        onClose: @escaping @Sendable (any Channel) -> Void
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.onIdle = onIdle
        self.onClose = onClose
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard case .idle = state else {
            exchange.promise.fail(UpstreamHTTPError.closedBeforeResponse(reused: false))
            return
        }
        state = .waitingForHead(exchange.promise)
        exchanges += 1
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(exchange.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .waitingForHead(let promise) = state else { return }
            keepAlive = head.isKeepAlive
            let contentType = head.headers.first(name: "content-type")?.lowercased() ?? ""
            if head.status == .ok, contentType.hasPrefix("text/event-stream") {
                let (stream, continuation) = AsyncThrowingStream.makeStream(
                    of: ByteBuffer.self,
                    bufferingPolicy: .bufferingOldest(Self.streamBacklog)
                )
                let channel = context.channel
                continuation.onTermination = { termination in
                    if case .cancelled = termination { channel.close(promise: nil) }
                }
                state = .streaming(continuation)
                promise.succeed(
                    UpstreamHTTPResponse(status: Int(head.status.code), headers: head.headers, body: .stream(stream)))
            } else {
                state = .collecting(promise, head, context.channel.allocator.buffer(capacity: 0))
            }
        case .body(var chunk):
            switch state {
            case .collecting(let promise, let head, var body):
                guard body.readableBytes + chunk.readableBytes <= maxBodyBytes else {
                    state = .closed
                    promise.fail(UpstreamHTTPError.bodyTooLarge(limit: maxBodyBytes))
                    context.close(promise: nil)
                    return
                }
                state = .idle  // release the buffer's storage before appending, so it is not copied
                body.writeBuffer(&chunk)
                state = .collecting(promise, head, body)
            case .streaming(let continuation):
                // A reader that falls `streamBacklog` chunks behind the server fails the stream rather than
                // buffering without bound.
                if case .dropped = continuation.yield(chunk) {
                    state = .closed
                    continuation.finish(throwing: UpstreamHTTPError.bodyTooLarge(limit: maxBodyBytes))
                    context.close(promise: nil)
                }
            default:
                break
            }
        case .end:
            switch state {
            case .collecting(let promise, let head, let body):
                state = .idle
                promise.succeed(
                    UpstreamHTTPResponse(status: Int(head.status.code), headers: head.headers, body: .complete(body)))
            case .streaming(let continuation):
                state = .idle
                continuation.finish()
            default:
                return
            }
            if keepAlive { onIdle(context.channel) } else { context.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(reused: exchanges > 1)
        onClose(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(reused: exchanges > 1)
        context.close(promise: nil)
    }

    private func fail(reused: Bool) {
        let current = state
        state = .closed
        switch current {
        case .waitingForHead(let promise): promise.fail(UpstreamHTTPError.closedBeforeResponse(reused: reused))
        case .collecting(let promise, _, _): promise.fail(UpstreamHTTPError.closedDuringResponse)
        case .streaming(let continuation): continuation.finish(throwing: UpstreamHTTPError.closedDuringResponse)
        case .idle, .closed: break
        }
    }
}
