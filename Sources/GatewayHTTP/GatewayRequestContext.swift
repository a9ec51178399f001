import GatewayCore
import Hummingbird
import NIOCore

/// The per-request context: the peer's address and, once authenticated, the caller's ``Identity``.
public struct GatewayRequestContext: ClientRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public var identity: Identity?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Bodies are read by the endpoints themselves, with the gateway's own limit.
    public var maxUploadSize: Int { 1024 * 1024 }
}
