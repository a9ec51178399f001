import GatewayCore
import GatewayWire
import Logging

/// Builds the real transports: supervised processes for stdio; for URLs, Streamable HTTP or HTTP+SSE as configured,
/// or found (``DetectedHTTPUpstream``) when no transport is given.
public struct LiveUpstreamTransportFactory: UpstreamTransportFactory {
    let limits: LimitsConfiguration
    /// The binary that runs `stdio-guard` (``StdioChildGuard``), when there is one.
    let stdioGuard: String?

    public init(limits: LimitsConfiguration, stdioGuard: String? = nil) {
        self.limits = limits
        self.stdioGuard = stdioGuard
    }

    public func makeTransport(
        server: ServerConfiguration,
        instance: UpstreamInstanceConfiguration,
        events: UpstreamEvents,
        logger: Logger
    ) -> any UpstreamTransport {
        switch instance.transport {
        case .stdio(let command):
            return StdioProcessSupervisor(
                server: server,
                instanceID: instance.id,
                command: command,
                maxLineBytes: limits.maxUpstreamMessageBytes,
                events: events,
                logger: logger,
                guardExecutable: stdioGuard
            )
        case .http(let endpoint) where endpoint.kind == .automatic:
            return DetectedHTTPUpstream(
                server: server, instanceID: instance.id, endpoint: endpoint,
                maxMessageBytes: limits.maxUpstreamMessageBytes, events: events, logger: logger)
        case .http(let endpoint) where endpoint.kind == .streamableHTTP:
            return StreamableHTTPUpstream(
                server: server,
                instanceID: instance.id,
                endpoint: endpoint,
                maxMessageBytes: limits.maxUpstreamMessageBytes,
                events: events,
                logger: logger
            )
        case .http(let endpoint):
            return LegacySSEUpstream(
                server: server,
                instanceID: instance.id,
                endpoint: endpoint,
                maxMessageBytes: limits.maxUpstreamMessageBytes,
                events: events,
                logger: logger
            )
        }
    }
}
