import GatewayCore
import GatewayWire
import Hummingbird

/// `GET /mcp/{server}/health`: one server's instances as the pool sees them, with the same auth and policy as
/// `/mcp/{server}`.
public struct FleetHealthEndpoint: Sendable {
    let router: MCPRouter

    public init(router: MCPRouter) {
        self.router = router
    }

    func serverHealth(context: GatewayRequestContext, server name: String?) -> Response {
        guard let identity = context.identity else {
            return GatewayError(.unauthorized, "Unauthorized").httpResponse()
        }
        guard let name, let server = router.server(named: name, for: identity) else {
            return GatewayError(.unknownServer, "Unknown server: \(name ?? "")").httpResponse()
        }
        return .json(.ok, server.healthReport().serialized())
    }
}
