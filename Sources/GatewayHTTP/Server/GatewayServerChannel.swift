import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// The main listener's connections: HTTP/1.1 with WebSocket upgrades (through `webSocketRouter`), each connection
/// given ``RequestHeadDeadline`` before anything else, since the upgrade-capable pipeline starts its idle timer only
/// after a first request head.
public enum GatewayServerChannel {
    public static func builder(
        webSocketRouter: Router<GatewayWebSocketContext>,
        configuration: HTTP1WebSocketUpgradeChannel.Configuration,
        requestHeadTimeout: Duration
    ) -> HTTPServerBuilder {
        let webSocketResponder = webSocketRouter.buildResponder()
        let timeout = TimeAmount.nanoseconds(
            requestHeadTimeout.components.seconds * 1_000_000_000 + requestHeadTimeout.components.attoseconds
                / 1_000_000_000)
        return HTTPServerBuilder { responder in
            Guarded(
                base: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder, configuration: configuration),
                timeout: timeout)
        }
    }

    /// A child channel with the deadline handler in front of `base`'s pipeline.
    struct Guarded<Base: ServerChildChannel>: ServerChildChannel {
        typealias Value = Base.Value
        let base: Base
        let timeout: TimeAmount

        func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
            do {
                try channel.pipeline.syncOperations.addHandler(RequestHeadDeadline(timeout: timeout), position: .first)
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
            return base.setup(channel: channel, logger: logger)
        }

        func handle(value: Value, logger: Logger) async {
            await base.handle(value: value, logger: logger)
        }
    }
}
