import GatewayCore
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The context of a WebSocket upgrade request: the peer, the authenticated identity, and the handler the upgrade
/// hands the connection to.
public struct GatewayWebSocketContext: ClientRequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    public let remoteAddress: SocketAddress?
    public var identity: Identity?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.remoteAddress = source.channel.remoteAddress
    }
}
