import Logging

/// Everything the router needs to know about who sent a request and through which endpoint. It does not assume a
/// session: a stateless (2026-07-28) request carries its version and capabilities itself and fills this the same way.
public struct MCPRequestContext: Sendable {
    public var identity: Identity
    public var scope: EndpointScope
    public var protocolVersion: String
    public var session: ClientSession?
    public var logger: Logger

    public init(
        identity: Identity,
        scope: EndpointScope,
        protocolVersion: String,
        session: ClientSession?,
        logger: Logger
    ) {
        self.identity = identity
        self.scope = scope
        self.protocolVersion = protocolVersion
        self.session = session
        self.logger = logger
    }

    /// The key that scopes the client's request ids (its session, or its principal without one).
    var owner: String { session?.id ?? "principal:" + identity.principal }
}
