import NIOCore

/// Closes a new connection that has not sent a whole request head (up to its blank line) in time, so a peer that
/// connects and sends nothing, or a header a byte at a time, cannot hold a socket open. It watches raw bytes ahead of
/// the HTTP decoder, and leaves the pipeline once the first head is in: later idleness is the HTTP layer's business
/// (keep-alive timeout) or the WebSocket's (pings).
final class RequestHeadDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// How much of `\r\n\r\n` the bytes so far end with.
    private var matched = 0

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let ended = bytes.readableBytesView.contains { byte in
            let expected: UInt8 = matched % 2 == 0 ? 0x0D : 0x0A
            matched = byte == expected ? matched + 1 : (byte == 0x0D ? 1 : 0)
            return matched == 4
        }
        context.fireChannelRead(data)
        if ended { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }
}
