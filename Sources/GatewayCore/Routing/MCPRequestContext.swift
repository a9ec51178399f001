import GatewayWire
import Logging

/// Everything the router needs to know about who sent a request and through which endpoint.
///
/// A legacy (2024-11-05 … 2025-11-25) request comes with its session, which holds what `initialize` negotiated. A
/// stateless (2026-07-28) request has no session: it carries its version, client capabilities and log level in its
/// own `params._meta`, which fill the same fields.
public struct MCPRequestContext: Sendable {
    public var identity: Identity
    public var scope: EndpointScope
    public var protocolVersion: String
    public var session: ClientSession?
    /// What the client declared it can do (sampling, elicitation, roots): from `initialize`, or from this request.
    public var clientCapabilities: JSONValue
    /// Stateless requests only: the level at which the client asked for log messages about this request; `nil`
    /// means none.
    public var logLevel: LogLevel?
    /// Whether the upstream may ask the client something (sampling, elicitation, roots) while this request is in
    /// flight: a request whose answer can become a stream (or, in 2026-07-28, `input_required`), not a batch element.
    public var acceptsServerRequests = true
    /// 2026-07-28 over HTTP: the `Mcp-Param-{name}` headers, by lowercased name, each with every value it was sent
    /// with (as written, before base64 decoding). Checked against the tool's mirrored arguments.
    public var mirroredParameters: [String: [String]] = [:]
    public var logger: Logger

    public init(
        identity: Identity,
        scope: EndpointScope,
        protocolVersion: String,
        session: ClientSession?,
        clientCapabilities: JSONValue? = nil,
        logLevel: LogLevel? = nil,
        logger: Logger
    ) {
        self.identity = identity
        self.scope = scope
        self.protocolVersion = protocolVersion
        self.session = session
        self.clientCapabilities = clientCapabilities ?? session?.clientCapabilities ?? [:]
        self.logLevel = logLevel
        self.logger = logger
    }

    /// The context of a request inside `session`.
    public init(session: ClientSession, logger: Logger) {
        self.init(
            identity: session.identity,
            scope: session.scope,
            protocolVersion: session.protocolVersion,
            session: session,
            logger: logger
        )
    }

    public var era: MCPEra { MCPProtocolVersion.era(of: protocolVersion) }

    /// The key that scopes the client's request ids (its session, or its principal without one).
    var owner: String { session?.id ?? "principal:" + identity.principal }

    /// What keeps the client on one instance of each server: its session; session-less requests go anywhere.
    var affinity: String? { session?.id }
}
