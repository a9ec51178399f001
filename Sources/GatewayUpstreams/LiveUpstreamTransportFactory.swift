import GatewayCore
import GatewayWire
import Logging

/// Builds the real transports: supervised processes for stdio, Streamable HTTP sessions for URLs.
public struct LiveUpstreamTransportFactory: UpstreamTransportFactory {
    let limits: LimitsConfiguration

    public init(limits: LimitsConfiguration) {
        self.limits = limits
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
                logger: logger
            )
        case .http(let endpoint) where endpoint.kind == .streamableHTTP:
            return StreamableHTTPUpstream(
                server: server,
                instanceID: instance.id,
                endpoint: endpoint,
                maxMessageBytes: limits.maxUpstreamMessageBytes,
                events: events,
                logger: logger
            )
        case .http:
            return UnavailableUpstream(
                instanceID: instance.id,
                server: server.name,
                reason: "the legacy HTTP+SSE transport (transport: sse) is not supported for upstream servers yet"
            )
        }
    }
}

/// An instance the gateway cannot serve; every request fails with the reason, and the status says it.
struct UnavailableUpstream: UpstreamTransport {
    let instanceID: String
    let server: String
    let reason: String

    var status: UpstreamStatus { .down(reason) }
    var currentHandshake: UpstreamHandshake? { nil }

    /// Runs until the gateway stops, like every other instance: returning early would end the service group.
    func run() async {
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
    }

    func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake {
        throw .upstream(.upstreamUnavailable, server: server, reason)
    }

    func send(_ request: UpstreamRequest) async throws(GatewayError) -> MCPReply {
        throw .upstream(.upstreamUnavailable, server: server, reason)
    }

    func cancel(owner: String, clientID: JSONRPCID) async {}
}
