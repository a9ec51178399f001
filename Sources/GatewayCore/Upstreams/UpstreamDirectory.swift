import GatewayWire
import Logging
import Synchronization

/// Every server the gateway serves, findable by name and by prefix, and changeable while the gateway runs.
///
/// Servers from the configuration come first, in declaration order (that order breaks ties such as resource URI
/// collisions); servers registered later follow. Requests read the current set without waiting for a change. Each
/// instance's connection and each server's health checks run as jobs of their own (``FleetRunner``), started when
/// the instance is added and stopped when it is removed, after its calls in flight had up to `removalGrace` to
/// finish.
public final class UpstreamDirectory: Sendable {
    private struct Snapshot: Sendable {
        var servers: [UpstreamServer] = []
        var byName: [String: UpstreamServer] = [:]
        var byPrefix: [String: UpstreamServer] = [:]
        /// Instances added at run time, in the order they came: what the registry store keeps.
        var registered: [InstanceRegistration] = []

        mutating func insert(_ server: UpstreamServer) {
            servers.append(server)
            byName[server.name] = server
            byPrefix[server.configuration.prefix] = server
        }

        mutating func drop(_ server: UpstreamServer) {
            servers.removeAll { $0 === server }
            byName[server.name] = nil
            byPrefix[server.configuration.prefix] = nil
        }
    }

    /// What building a new instance takes.
    public struct Builder: Sendable {
        public var factory: any UpstreamTransportFactory
        public var events: UpstreamEvents
        public var configuration: GatewayConfiguration
        public var logger: Logger

        public init(
            factory: any UpstreamTransportFactory, events: UpstreamEvents, configuration: GatewayConfiguration,
            logger: Logger
        ) {
            self.factory = factory
            self.events = events
            self.configuration = configuration
            self.logger = logger
        }

        func transport(for instance: UpstreamInstanceConfiguration, of server: ServerConfiguration)
            -> any UpstreamTransport
        {
            var logger = logger
            logger[metadataKey: "gateway.upstream"] = "\(server.name)"
            logger[metadataKey: "gateway.instance"] = "\(instance.id)"
            return factory.makeTransport(server: server, instance: instance, events: events, logger: logger)
        }

        func server(_ server: ServerConfiguration) -> UpstreamServer {
            UpstreamServer(
                configuration: server,
                transports: server.instances.map { transport(for: $0, of: server) },
                balancing: configuration.loadBalancing(of: server),
                logger: logger
            )
        }
    }

    private let snapshot: Mutex<Snapshot>
    private let runner = FleetRunner()
    private let builder: Builder?
    private let store: (any RegistryStore)?
    /// How long a removed instance's calls in flight may take before it is stopped anyway.
    let removalGrace: Duration

    /// A fixed set of servers (tests); registering needs a ``Builder``.
    public init(servers: [UpstreamServer], removalGrace: Duration = .seconds(30)) {
        var snapshot = Snapshot()
        for server in servers { snapshot.insert(server) }
        self.snapshot = Mutex(snapshot)
        self.builder = nil
        self.store = nil
        self.removalGrace = removalGrace
        for server in servers { schedule(server) }
    }

    /// The configured servers, plus the instances `store` kept from earlier runs (an entry that no longer fits is
    /// logged and left out).
    public init(builder: Builder, store: (any RegistryStore)? = nil, removalGrace: Duration = .seconds(30)) {
        var snapshot = Snapshot()
        for server in builder.configuration.servers { snapshot.insert(builder.server(server)) }
        self.snapshot = Mutex(snapshot)
        self.builder = builder
        self.store = store
        self.removalGrace = removalGrace
        for server in snapshot.servers { schedule(server) }
        guard let store else { return }
        do throws(GatewayError) {
            for registration in try store.load() {
                do throws(GatewayError) {
                    _ = try add(registration, persist: false)
                } catch {
                    builder.logger.error(
                        "registered instance left out",
                        metadata: [
                            "gateway.upstream": "\(registration.server)",
                            "gateway.instance": "\(registration.instance.id)", "error": "\(error.message)",
                        ])
                }
            }
        } catch {
            builder.logger.error("registry could not be read; starting without it", metadata: ["error": "\(error)"])
        }
    }

    public var servers: [UpstreamServer] { snapshot.withLock { $0.servers } }

    public func server(named name: String) -> UpstreamServer? { snapshot.withLock { $0.byName[name] } }

    public func server(prefix: String) -> UpstreamServer? { snapshot.withLock { $0.byPrefix[prefix] } }

    public var transports: [any UpstreamTransport] { servers.flatMap(\.transports) }

    /// The instances added at run time.
    public var registrations: [InstanceRegistration] { snapshot.withLock { $0.registered } }

    /// Whether the fleet runs: every instance's connection has been started (readiness).
    public var isRunning: Bool { runner.isRunning }

    /// Runs every instance (its process or connection) and every server's health checks, including those added
    /// later, until cancelled; then stops them all.
    public func run() async {
        await runner.run()
    }

    // MARK: Changes

    /// Adds an instance: to its server, or as a new server (named as the registration says, with the gateway-wide
    /// defaults). Its connection starts at once; the registry store keeps it.
    /// - Throws: `invalidParams` for a name that cannot be a server's or an id the server already has;
    ///   `internalError` when the store cannot keep it (nothing changed then).
    @discardableResult
    public func register(_ registration: InstanceRegistration) throws(GatewayError) -> UpstreamServer {
        try add(registration, persist: true)
    }

    private func add(_ registration: InstanceRegistration, persist: Bool) throws(GatewayError) -> UpstreamServer {
        guard let builder else { throw GatewayError(.internalError, "this directory does not take registrations") }
        let separator = builder.configuration.naming.separator
        do throws(ConfigurationError) {
            try GatewayConfiguration.checkServerName(registration.server, path: "server", separator: separator)
        } catch {
            throw GatewayError(.invalidParams, "Invalid registration: \(error)")
        }
        let (server, created) = try snapshot.withLock { snapshot throws(GatewayError) -> (UpstreamServer, Bool) in
            let existing = snapshot.byName[registration.server]
            if let existing, existing.members.contains(where: { $0.member.id == registration.instance.id }) {
                throw GatewayError(
                    .conflict,
                    "Conflict: server \"\(registration.server)\" already has an instance \"\(registration.instance.id)\""
                )
            }
            if existing == nil, snapshot.byPrefix[registration.server] != nil {
                throw GatewayError(
                    .conflict, "Conflict: \"\(registration.server)\" is already another server's prefix")
            }
            if persist, let store {
                try store.save(snapshot.registered + [registration])
            }
            snapshot.registered.append(registration)
            if let existing {
                let transport = builder.transport(for: registration.instance, of: existing.configuration)
                _ = existing.add(registration.instance, transport: transport)
                schedule(transport, of: existing)
                return (existing, false)
            }
            let server = builder.server(
                ServerConfiguration(name: registration.server, instances: [registration.instance]))
            snapshot.insert(server)
            return (server, true)
        }
        if created { schedule(server) }
        builder.logger.info(
            "instance registered",
            metadata: [
                "gateway.upstream": "\(registration.server)", "gateway.instance": "\(registration.instance.id)",
                "transport": "\(registration.instance.transport.summary)",
            ])
        return server
    }

    /// Removes an instance: it takes no new requests at once; its calls in flight get up to ``removalGrace`` to
    /// finish, then its connection is stopped (a stdio process and its process group end). The last instance of a
    /// server takes the server with it. The registry store forgets it first.
    /// - Throws: `unknownServer` for an unknown server or instance.
    public func deregister(server name: String, instance id: String) async throws(GatewayError) {
        let server = try snapshot.withLock { snapshot throws(GatewayError) -> UpstreamServer in
            guard let server = snapshot.byName[name], server.members.contains(where: { $0.member.id == id }) else {
                throw GatewayError(.unknownServer, "Unknown instance: server \"\(name)\" has no instance \"\(id)\"")
            }
            let remaining = snapshot.registered.filter { !($0.server == name && $0.instance.id == id) }
            if remaining.count != snapshot.registered.count, let store { try store.save(remaining) }
            snapshot.registered = remaining
            // The last instance: the server leaves the directory now, so no new request is routed to it.
            if server.instanceCount == 1 { snapshot.drop(server) }
            return server
        }
        builder?.logger.info(
            "instance deregistered", metadata: ["gateway.upstream": "\(name)", "gateway.instance": "\(id)"])
        let grace = min(removalGrace, server.configuration.callTimeout)
        if let transport = await server.remove(id, grace: grace) {
            await runner.stop(Self.key(transport, of: server))
        }
        if server.instanceCount == 0 { await runner.stop(Self.healthKey(server)) }
    }

    // MARK: Jobs

    /// Starts the server's health checks, and its processes unless they start lazily; gives it the means to run
    /// processes of its own (per-session, lazy).
    private func schedule(_ server: UpstreamServer) {
        let runner = self.runner
        let builder = self.builder
        server.attach(
            InstanceLauncher(
                make: { [weak server] instance in
                    guard let builder, let server else { return UnstartedInstance(instanceID: instance.id) }
                    return builder.transport(for: instance, of: server.configuration)
                },
                start: { [weak server] transport in
                    guard let server else { return }
                    runner.start(Self.key(transport, of: server)) { await transport.run() }
                },
                stop: { [weak server] transport in
                    guard let server else { return }
                    await runner.stop(Self.key(transport, of: server))
                }
            ))
        runner.start(Self.healthKey(server)) { await server.runHealthChecks() }
    }

    private func schedule(_ transport: any UpstreamTransport, of server: UpstreamServer) {
        runner.start(Self.key(transport, of: server)) { await transport.run() }
    }

    private static func key(_ transport: any UpstreamTransport, of server: UpstreamServer) -> String {
        "instance \(ObjectIdentifier(server).hashValue) \(transport.instanceID)"
    }

    private static func healthKey(_ server: UpstreamServer) -> String {
        "health \(ObjectIdentifier(server).hashValue)"
    }
}

extension UpstreamInstanceConfiguration.Transport {
    /// The command or URL, for logs and the registry (never environment values or headers).
    public var summary: String {
        switch self {
        case .stdio(let command): ([command.command] + command.arguments).joined(separator: " ")
        case .http(let endpoint): endpoint.url
        }
    }
}

/// What a directory without a ``UpstreamDirectory/Builder`` (a fixed test set) makes when a server asks for a new
/// process: one that never starts.
private struct UnstartedInstance: UpstreamTransport {
    let instanceID: String
    var status: UpstreamStatus { .down("this directory cannot start processes") }
    var currentHandshake: UpstreamHandshake? { nil }
    func run() async {}
    func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake { throw failure }
    func send(_ request: UpstreamRequest) async throws(GatewayError) -> MCPReply { throw failure }
    func cancel(owner: String, clientID: JSONRPCID?) async {}
    private var failure: GatewayError { GatewayError(.upstreamUnavailable, "this directory cannot start processes") }
}
