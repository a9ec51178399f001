import GatewayCore
import GatewayWire
import Hummingbird

/// `GET /mcp/{server}/health`: one server's instances as the pool sees them, with the same auth and policy as
/// `/mcp/{server}`; and `GET /ready`.
public struct FleetHealthEndpoint: Sendable {
    let router: MCPRouter

    public init(router: MCPRouter) {
        self.router = router
    }

    /// `GET /ready`: 200 once the configuration is loaded, the listener is up (or nothing would answer) and the
    /// upstream fleet has started, with how many servers have a ready instance; 503 before.
    func readiness() -> Response {
        let directory = router.directory
        guard directory.isRunning else {
            return .json(.serviceUnavailable, Array(#"{"status":"starting"}"#.utf8))
        }
        let servers = directory.servers
        let serving = servers.filter { server in server.transports.contains { $0.status == .ready } }.count
        let body: JSONValue = [
            "status": "ready", "servers": .number(JSONNumber(servers.count)),
            "servers_with_ready_instances": .number(JSONNumber(serving)),
        ]
        return .json(.ok, body.serialized())
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
