import Logging

/// Every configured server, in declaration order, findable by name and by prefix.
public final class UpstreamDirectory: Sendable {
    public let servers: [UpstreamServer]
    private let byName: [String: UpstreamServer]
    private let byPrefix: [String: UpstreamServer]

    public init(servers: [UpstreamServer]) {
        self.servers = servers
        self.byName = Dictionary(uniqueKeysWithValues: servers.map { ($0.name, $0) })
        self.byPrefix = Dictionary(uniqueKeysWithValues: servers.map { ($0.configuration.prefix, $0) })
    }

    public convenience init(
        configuration: GatewayConfiguration,
        factory: any UpstreamTransportFactory,
        events: UpstreamEvents,
        logger: Logger
    ) {
        self.init(
            servers: configuration.servers.map { server in
                UpstreamServer(
                    configuration: server,
                    transports: server.instances.map { instance in
                        var logger = logger
                        logger[metadataKey: "gateway.upstream"] = "\(server.name)"
                        logger[metadataKey: "gateway.instance"] = "\(instance.id)"
                        return factory.makeTransport(server: server, instance: instance, events: events, logger: logger)
                    },
                    balancing: configuration.loadBalancing(of: server),
                    logger: logger
                )
            }
        )
    }

    public func server(named name: String) -> UpstreamServer? { byName[name] }

    public func server(prefix: String) -> UpstreamServer? { byPrefix[prefix] }

    public var transports: [any UpstreamTransport] { servers.flatMap(\.transports) }

    /// Runs every instance (its process or connection) and every server's health checks until cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for server in servers {
                for transport in server.transports { group.addTask { await transport.run() } }
                group.addTask { await server.runHealthChecks() }
            }
        }
    }
}
