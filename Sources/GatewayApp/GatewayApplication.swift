import GatewayCore
import GatewayHTTP
import GatewayUpstreams
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// The composition root: builds every part from a checked configuration and runs them as one service group.
/// SIGTERM or SIGINT stops accepting connections, lets requests in flight finish, then stops upstream processes.
public struct GatewayApplication: Sendable {
    public static let version = GatewayVersion.current

    public let configuration: GatewayConfiguration
    public let logger: Logger
    /// The `mcp-gateway` binary whose `stdio-guard` command sits between the gateway and each stdio server.
    public let stdioGuard: String?

    public init(configuration: GatewayConfiguration, logger: Logger, stdioGuard: String? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.stdioGuard = stdioGuard
    }

    public func run(onReady: @escaping @Sendable (ListenAddress) -> Void = { _ in }) async throws {
        for notice in configuration.notices { logger.warning("configuration notice: \(notice)") }
        let sessions = SessionRegistry(
            maxSessions: configuration.limits.maxSessions,
            idleTimeout: configuration.session.idleTimeout
        )
        let relay = NotificationRelay(sessions: sessions, logger: logger)
        let directory = UpstreamDirectory(
            builder: .init(
                factory: LiveUpstreamTransportFactory(limits: configuration.limits, stdioGuard: stdioGuard),
                events: relay.events,
                configuration: configuration, logger: logger),
            store: configuration.management.registryFile.map { RegistryFileStore(path: $0) }
        )
        relay.attach(directory)
        let router = MCPRouter(
            directory: directory,
            sessions: sessions,
            names: QualifiedNames(configuration.naming),
            cursors: CursorCodec(secret: configuration.session.secret),
            policy: AllowAllPolicy(),
            gatewayVersion: Self.version,
            relay: relay,
            listDeadline: configuration.lists.deadline
        )
        var routes = GatewayRoutes(management: configuration.management)
        routes.addGatewayRoutes(
            endpoint: StreamableHTTPEndpoint(router: router, configuration: configuration),
            legacy: LegacySSEEndpoint(router: router, configuration: configuration),
            webSocket: WebSocketEndpoint(router: router, configuration: configuration),
            fleetHealth: FleetHealthEndpoint(router: router),
            rest: MCPRESTEndpoint(router: router, configuration: configuration, logger: logger)
        )
        routes.addManagementRoutes(ManagementEndpoint(directory: directory))

        let listen = configuration.listen
        var app = Application(
            router: routes.router,
            server: GatewayServerChannel.builder(
                webSocketRouter: routes.webSocketRouter,
                configuration: .init(
                    http1: .init(
                        idleTimeout: .seconds(75),
                        httpDecoderConfiguration: .init(
                            maxHeaderFieldSize: 16 * 1024,
                            maxHeaderListSize: 32 * 1024,
                            maxHeaderFieldCount: 100
                        )
                    ),
                    // A message may be as large as a request body; each arrives as one frame or several.
                    ws: .init(
                        maxFrameSize: configuration.limits.maxRequestBodyBytes,
                        autoPing: .enabled(timePeriod: .seconds(30))
                    )
                ),
                requestHeadTimeout: configuration.limits.requestHeadTimeout
            ),
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "mcp-gateway"),
            onServerRunning: { channel in
                onReady(ListenAddress(host: listen.host, port: channel.localAddress?.port ?? listen.port))
            },
            logger: logger
        )
        app.addServices(UpstreamFleetService(directory: directory))
        app.addServices(SessionSweeper(sessions: sessions))
        logger.info(
            "starting",
            metadata: ["listen": "\(listen)", "servers": "\(configuration.servers.map(\.name).joined(separator: ","))"]
        )
        var group = ServiceGroupConfiguration(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Requests in flight get this long to finish; then everything is cancelled and stdio children are stopped.
        group.maximumGracefulShutdownDuration = configuration.limits.shutdownGracePeriod
        group.maximumCancellationDuration = .seconds(10)
        try await ServiceGroup(configuration: group).run()
    }
}
