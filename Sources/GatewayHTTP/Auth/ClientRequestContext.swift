import GatewayCore
import Hummingbird
import NIOCore

/// A request context that ``ClientAuthenticator`` can authenticate: it knows the peer and holds the identity.
public protocol ClientRequestContext: RequestContext {
    var remoteAddress: SocketAddress? { get }
    /// Set by the authentication middleware on every route whose policy requires it.
    var identity: Identity? { get set }
}
