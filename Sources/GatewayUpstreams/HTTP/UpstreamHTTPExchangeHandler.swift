import NIOCore
import NIOHTTP1

/// One request with the promise for its response and its time limits, handed to a connection's event loop.
struct UpstreamHTTPExchange: Sendable {
    let head: HTTPRequestHead
    let body: ByteBuffer
    let promise: EventLoopPromise<UpstreamHTTPResponse>
    /// Longest silence from the server (no bytes at all) before the exchange fails; `nil` for none.
    let idleTimeout: TimeAmount?
    /// When the exchange fails whatever the server is doing; `nil` for none.
    let deadline: NIODeadline?
    /// Called when the reader of a streamed body goes away before its end.
    let onAbandoned: (@Sendable () -> Void)?
}

/// Asks a connection to stop the exchange whose promise this is (if that exchange is still on it).
struct UpstreamHTTPCancellation: Sendable {
    let promise: EventLoopPromise<UpstreamHTTPResponse>
}

/// Runs one exchange at a time on a keep-alive HTTP/1.1 connection, with the exchange's own time limits.
///
/// A JSON (or any non-SSE) body is collected on the event loop and the promise succeeds once, with the whole body, so
/// the caller wakes exactly once. An SSE body is handed over as a bounded stream as soon as the head arrives. Every
/// byte from the server pushes the idle limit out (progress counts as life), up to the exchange's deadline. When the
/// exchange ends the connection goes back to its pool, or is closed if the server asked for that; an exchange that
/// times out, is cancelled or is abandoned closes the connection, so nothing stale is ever read by the next one.
final class UpstreamHTTPExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = UpstreamHTTPExchange
    typealias OutboundOut = HTTPClientRequestPart

    private enum State {
        case idle
        case waitingForHead
        case collecting(HTTPResponseHead, ByteBuffer)
        case streaming(AsyncThrowingStream<ByteBuffer, any Error>.Continuation)
        case closed
    }

    /// Chunks a streamed body may be ahead of its reader before the stream fails.
    static let streamBacklog = 1024

    private var state = State.idle
    private var current: UpstreamHTTPExchange?
    private var timer: Scheduled<Void>?
    /// When the server last sent anything for the current exchange (reads only note it; the timer re-checks).
    private var lastActivity = NIODeadline.now()
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

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard case .idle = state else {
            let error = UpstreamHTTPError.closedBeforeResponse(reused: true)
            promise?.fail(error)
            exchange.promise.fail(error)
            return
        }
        state = .waitingForHead
        current = exchange
        exchanges += 1
        lastActivity = .now()
        armTimer(context)
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(exchange.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let cancellation = event as? UpstreamHTTPCancellation else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed()
        guard let current, current.promise.futureResult === cancellation.promise.futureResult else { return }
        stop(context, with: UpstreamHTTPError.cancelled)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard current != nil else { return }
        lastActivity = .now()
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .waitingForHead = state, head.status.code >= 200 || head.status == .switchingProtocols else {
                return  // 1xx informational heads precede the real one
            }
            keepAlive = head.isKeepAlive
            let contentType = head.headers.first(name: "content-type")?.lowercased() ?? ""
            guard head.status == .ok, contentType.hasPrefix("text/event-stream") else {
                state = .collecting(head, context.channel.allocator.buffer(capacity: 0))
                return
            }
            let (stream, continuation) = AsyncThrowingStream.makeStream(
                of: ByteBuffer.self,
                bufferingPolicy: .bufferingOldest(Self.streamBacklog)
            )
            let channel = context.channel
            let onAbandoned = current?.onAbandoned
            continuation.onTermination = { termination in
                guard case .cancelled = termination else { return }
                channel.close(promise: nil)
                onAbandoned?()
            }
            state = .streaming(continuation)
            current?.promise.succeed(
                UpstreamHTTPResponse(status: Int(head.status.code), headers: head.headers, body: .stream(stream)))
        case .body(var chunk):
            switch state {
            case .collecting(let head, var body):
                guard body.readableBytes + chunk.readableBytes <= maxBodyBytes else {
                    stop(context, with: UpstreamHTTPError.bodyTooLarge(limit: maxBodyBytes))
                    return
                }
                state = .idle  // drop the enum's reference so appending does not copy the buffer
                body.writeBuffer(&chunk)
                state = .collecting(head, body)
            case .streaming(let continuation):
                if case .dropped = continuation.yield(chunk) {
                    stop(context, with: UpstreamHTTPError.bodyTooLarge(limit: maxBodyBytes))
                }
            default:
                break
            }
        case .end:
            let finished = state
            let exchange = current
            state = .idle
            current = nil
            timer?.cancel()
            timer = nil
            switch finished {
            case .collecting(let head, let body):
                exchange?.promise.succeed(
                    UpstreamHTTPResponse(status: Int(head.status.code), headers: head.headers, body: .complete(body)))
            case .streaming(let continuation):
                continuation.finish()
            default:
                return
            }
            if keepAlive { onIdle(context.channel) } else { context.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(with: current == nil ? nil : closedError)
        onClose(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        stop(context, with: closedError)
    }

    // MARK: Ending an exchange early

    private var closedError: UpstreamHTTPError {
        if case .waitingForHead = state { return .closedBeforeResponse(reused: exchanges > 1) }
        return .closedDuringResponse
    }

    private func stop(_ context: ChannelHandlerContext, with error: UpstreamHTTPError) {
        fail(with: error)
        context.close(promise: nil)
    }

    private func fail(with error: UpstreamHTTPError?) {
        let finished = state
        let exchange = current
        state = .closed
        current = nil
        timer?.cancel()
        timer = nil
        guard let error else { return }
        switch finished {
        case .waitingForHead, .collecting: exchange?.promise.fail(error)
        case .streaming(let continuation): continuation.finish(throwing: error)
        case .idle, .closed: break
        }
    }

    /// Schedules the check of the exchange's limits: silence since the last byte (`idleTimeout`) and the deadline.
    /// Reads only record the time; the timer, when it fires, re-arms itself if the server has spoken since.
    private func armTimer(_ context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        guard let due = nextDue() else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: due) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            guard handler.current != nil, let due = handler.nextDue() else { return }
            if due > .now() {
                handler.armTimer(context)
            } else {
                handler.stop(context, with: .timedOut)
            }
        }
    }

    private func nextDue() -> NIODeadline? {
        guard let exchange = current else { return nil }
        var due = exchange.deadline
        if let idle = exchange.idleTimeout {
            let idleDue = lastActivity + idle
            due = due.map { min($0, idleDue) } ?? idleDue
        }
        return due
    }
}
