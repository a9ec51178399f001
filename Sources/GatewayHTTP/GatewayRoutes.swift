import GatewayCore
import GatewayWire
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket

/// Who may call a route. Every route the gateway serves is registered with one, so none is open by accident.
public enum RouteAccess: String, Sendable {
    /// Liveness and readiness probes.
    case anonymous
    /// MCP clients: authenticated by ``ClientAuthenticator``.
    case client
    /// The management API: `ADMIN_TOKEN` (``ManagementAuthenticator``).
    case admin
    /// Registering and removing instances: `ADMIN_TOKEN` or `MCP_GATEWAY_REGISTRATION_TOKEN`.
    case registration
}

/// Builds the main listener's router and records each route's declared access.
public struct GatewayRoutes {
    public private(set) var declared: [(method: HTTPRequest.Method, path: String, access: RouteAccess)] = []
    public let router = Router(context: GatewayRequestContext.self)
    /// Upgrade requests are matched here first; what it does not upgrade goes on to ``router``.
    public let webSocketRouter = Router(context: GatewayWebSocketContext.self)
    private let clientRoutes: RouterGroup<GatewayRequestContext>
    private let adminRoutes: RouterGroup<GatewayRequestContext>
    private let registrationRoutes: RouterGroup<GatewayRequestContext>

    public init(management: ManagementConfiguration = .init()) {
        clientRoutes = router.group().add(middleware: ClientAuthenticator())
        webSocketRouter.add(middleware: ClientAuthenticator())
        let admin = management.adminToken.map(BearerSecret.init)
        let registration = management.registrationToken.map(BearerSecret.init)
        adminRoutes = router.group().add(middleware: ManagementAuthenticator(secrets: [admin].compactMap { $0 }))
        registrationRoutes = router.group().add(
            middleware: ManagementAuthenticator(secrets: [admin, registration].compactMap { $0 }))
    }

    public mutating func add(
        _ method: HTTPRequest.Method,
        _ path: String,
        access: RouteAccess,
        handler: @escaping @Sendable (Request, GatewayRequestContext) async throws -> Response
    ) {
        declared.append((method, path, access))
        switch access {
        case .anonymous: router.on(RouterPath(path), method: method, use: handler)
        case .client: clientRoutes.on(RouterPath(path), method: method, use: handler)
        case .admin: adminRoutes.on(RouterPath(path), method: method, use: handler)
        case .registration: registrationRoutes.on(RouterPath(path), method: method, use: handler)
        }
    }

    /// The MCP endpoints (Streamable HTTP, HTTP+SSE, WebSocket) and the health probes.
    public mutating func addGatewayRoutes(
        endpoint: StreamableHTTPEndpoint,
        legacy: LegacySSEEndpoint,
        webSocket: WebSocketEndpoint,
        fleetHealth: FleetHealthEndpoint,
        rest: MCPRESTEndpoint
    ) {
        for path in ["/ws", "/mcp/{server}/ws"] {
            // The upgrade (client access: the WebSocket router authenticates too), and the plain GET that explains
            // a refused or missing upgrade.
            webSocketRouter.ws(RouterPath(path)) { request, context in
                webSocket.shouldUpgrade(request, context: context, server: context.parameters.get("server"))
            } onUpgrade: { inbound, outbound, context in
                try await webSocket.serve(
                    inbound: inbound, outbound: outbound, context: context,
                    server: context.requestContext.parameters.get("server"))
            }
            add(.get, path, access: .client) { request, context in
                webSocket.plainRequest(request, context: context, server: context.parameters.get("server"))
            }
        }
        for (stream, messages) in [("/sse", "/messages"), ("/mcp/{server}/sse", "/mcp/{server}/messages")] {
            add(.get, stream, access: .client) { request, context in
                await legacy.stream(request, context: context, server: context.parameters.get("server"))
            }
            add(.post, messages, access: .client) { request, context in
                await legacy.post(request, context: context, server: context.parameters.get("server"))
            }
        }
        for path in ["/mcp", "/mcp/{server}"] {
            add(.post, path, access: .client) { request, context in
                await endpoint.post(request, context: context, server: context.parameters.get("server"))
            }
            add(.get, path, access: .client) { request, context in
                await endpoint.get(request, context: context, server: context.parameters.get("server"))
            }
            add(.delete, path, access: .client) { request, context in
                await endpoint.delete(request, context: context, server: context.parameters.get("server"))
            }
        }
        add(.get, "/mcp/{server}/health", access: .client) { _, context in
            fleetHealth.serverHealth(context: context, server: context.parameters.get("server"))
        }
        for operation in MCPRESTEndpoint.Operation.allCases {
            add(operation.isList ? .get : .post, "/mcp/{server}/\(operation.rawValue)", access: .client) {
                request, context in
                await rest.handle(operation, request, context: context, server: context.parameters.get("server"))
            }
        }
        add(.get, "/health", access: .anonymous) { _, _ in .json(.ok, Array(#"{"status":"healthy"}"#.utf8)) }
        add(.get, "/ready", access: .anonymous) { _, _ in fleetHealth.readiness() }
    }

    /// `/gateway/*`: health, statistics and the registry (admin token), register and deregister (admin or
    /// registration token).
    public mutating func addManagementRoutes(_ management: ManagementEndpoint) {
        add(.get, "/gateway/health", access: .admin) { _, _ in management.health() }
        add(.get, "/gateway/stats", access: .admin) { _, _ in management.stats() }
        add(.get, "/gateway/registry", access: .admin) { _, _ in management.registry() }
        add(.post, "/gateway/register", access: .registration) { request, _ in await management.register(request) }
        add(.delete, "/gateway/deregister/{server}/{instance}", access: .registration) { _, context in
            await management.deregister(
                server: context.parameters.get("server"), instance: context.parameters.get("instance"))
        }
    }
}
