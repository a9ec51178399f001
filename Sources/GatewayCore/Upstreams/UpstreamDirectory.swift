import Foundation
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
        /// Stored registrations that could not be applied at start; kept in the store all the same.
        var retained: [InstanceRegistration] = []

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
    /// Set when the store could not be read at start: changes are refused, so the next save cannot overwrite
    /// registrations it never read.
    private let storeProblem: String?
    /// How long a removed instance's calls in flight may take before it is stopped anyway.
    let removalGrace: Duration

    /// A fixed set of servers (tests); registering needs a ``Builder``.
    public init(servers: [UpstreamServer], removalGrace: Duration = .seconds(30)) {
        self.snapshot = Mutex(Snapshot())
        self.builder = nil
        self.store = nil
        self.storeProblem = nil
        self.removalGrace = removalGrace
        snapshot.withLock { snapshot in
            for server in servers {
                snapshot.insert(server)
                schedule(server)
            }
        }
    }

    /// The configured servers, plus the instances `store` kept from earlier runs. An entry that no longer fits
    /// (its id taken, its name now another server's prefix) is logged, left out, and kept in the store.
    public init(builder: Builder, store: (any RegistryStore)? = nil, removalGrace: Duration = .seconds(30)) {
        self.snapshot = Mutex(Snapshot())
        self.builder = builder
        self.store = store
        self.removalGrace = removalGrace
        var stored: [InstanceRegistration] = []
        var problem: String?
        if let store {
            do throws(GatewayError) {
                stored = try store.load()
            } catch {
                problem = error.message
                builder.logger.error(
                    "registry could not be read: starting without it, and refusing changes until it is fixed",
                    metadata: ["error": "\(error.message)"])
            }
        }
        self.storeProblem = problem
        snapshot.withLock { snapshot in
            for server in builder.configuration.servers {
                let upstream = builder.server(server)
                snapshot.insert(upstream)
                schedule(upstream)
            }
        }
        for registration in stored {
            do throws(GatewayError) {
                _ = try add(registration, persist: false)
            } catch {
                snapshot.withLock { $0.retained.append(registration) }
                builder.logger.error(
                    "registered instance left out (kept in the registry)",
                    metadata: [
                        "gateway.upstream": "\(registration.server)",
                        "gateway.instance": "\(registration.instance.id)", "error": "\(error.message)",
                    ])
            }
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
    /// - Throws: `invalidParams` for a name that cannot be a server's; `conflict` for an id the server already has
    ///   or a name that is another server's prefix; `internalError` when the store cannot keep it (nothing changed
    ///   then).
    @discardableResult
    public func register(_ registration: InstanceRegistration) throws(GatewayError) -> UpstreamServer {
        try add(registration, persist: true)
    }

    private func add(_ registration: InstanceRegistration, persist: Bool) throws(GatewayError) -> UpstreamServer {
        guard let builder else { throw GatewayError(.internalError, "this directory does not take registrations") }
        if persist { try checkStore() }
        let separator = builder.configuration.naming.separator
        do throws(ConfigurationError) {
            try GatewayConfiguration.checkServerName(registration.server, path: "server", separator: separator)
        } catch {
            throw GatewayError(.invalidParams, "Invalid registration: \(error)")
        }
        let server = try snapshot.withLock { snapshot throws(GatewayError) -> UpstreamServer in
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
                try store.save(snapshot.retained + snapshot.registered + [registration])
            }
            snapshot.registered.append(registration)
            // Started under the lock, so a removal that follows finds the job to stop.
            if let existing {
                let transport = builder.transport(for: registration.instance, of: existing.configuration)
                _ = existing.add(registration.instance, transport: transport)
                runner.start(Self.key(transport)) { await transport.run() }
                return existing
            }
            let server = builder.server(
                ServerConfiguration(name: registration.server, instances: [registration.instance]))
            snapshot.insert(server)
            schedule(server)
            return server
        }
        builder.logger.info(
            "instance registered",
            metadata: [
                "gateway.upstream": "\(registration.server)", "gateway.instance": "\(registration.instance.id)",
                "transport": "\(registration.instance.transport.summary)",
            ])
        return server
    }

    /// Removes an instance: it takes no new requests at once; its calls in flight get up to ``removalGrace`` (and at
    /// most the server's `timeout`) to finish, then its connection is stopped (a stdio process and its process group
    /// end). The last instance of a server takes the server with it, and the sessions that saw it are told to list
    /// again. The registry store forgets it first.
    /// - Throws: `unknownServer` for an unknown server or instance (or one already being removed).
    public func deregister(server name: String, instance id: String) async throws(GatewayError) {
        try checkStore()
        let (server, dropped) = try snapshot.withLock { snapshot throws(GatewayError) -> (UpstreamServer, Bool) in
            guard let server = snapshot.byName[name],
                server.members.contains(where: { $0.member.id == id && !$0.member.retiring })
            else {
                throw GatewayError(.unknownServer, "Unknown instance: server \"\(name)\" has no instance \"\(id)\"")
            }
            let remaining = snapshot.registered.filter { !($0.server == name && $0.instance.id == id) }
            if remaining.count != snapshot.registered.count, let store {
                try store.save(snapshot.retained + remaining)
            }
            snapshot.registered = remaining
            _ = server.retire(id)
            // Its last instance going: the server leaves now, so no new request is routed to it.
            let dropped = server.activeInstanceCount == 0
            if dropped { snapshot.drop(server) }
            return (server, dropped)
        }
        builder?.logger.info(
            "instance deregistered", metadata: ["gateway.upstream": "\(name)", "gateway.instance": "\(id)"])
        await server.drain(id, grace: min(removalGrace, server.configuration.callTimeout))
        if let transport = server.transport(of: id) { await runner.stop(Self.key(transport)) }
        server.removeRetired(id)
        if dropped {
            await runner.stop(Self.healthKey(server))
            await server.stopSessionProcesses()
            // What announces a server ready also tells the sessions that saw it to list again.
            builder?.events.onReady(name, id)
        }
    }

    private func checkStore() throws(GatewayError) {
        if let storeProblem {
            throw GatewayError(
                .internalError,
                "the registry could not be read at start (\(storeProblem)); fix it and restart before changing instances"
            )
        }
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
                start: { transport in runner.start(Self.key(transport)) { await transport.run() } },
                stop: { transport in await runner.stop(Self.key(transport)) }
            ))
        runner.start(Self.healthKey(server)) { await server.runHealthChecks() }
    }

    private static func key(_ transport: any UpstreamTransport) -> String {
        "instance \(ObjectIdentifier(transport).hashValue)"
    }

    private static func healthKey(_ server: UpstreamServer) -> String {
        "health \(ObjectIdentifier(server).hashValue)"
    }
}

extension UpstreamInstanceConfiguration.Transport {
    /// The command or URL, for logs: a URL without credentials or query, a command without its arguments (either may
    /// hold secrets); never environment values or headers.
    public var summary: String {
        switch self {
        case .stdio(let command):
            command.arguments.isEmpty ? command.command : "\(command.command) (\(command.arguments.count) arguments)"
        case .http(let endpoint): HTTPEndpoint.redacted(endpoint.url)
        }
    }
}

extension HTTPEndpoint {
    /// `url` without `user:password@` and with its query left out.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(a URL)" }
        components.user = nil
        components.password = nil
        if components.query != nil { components.query = "…" }
        return components.string ?? "(a URL)"
    }
}

/// What a directory without a ``UpstreamDirectory/Builder`` (a fixed test set) makes when a server asks for a new
/// process: one that never starts.
private final class UnstartedInstance: UpstreamTransport {
    let instanceID: String
    init(instanceID: String) { self.instanceID = instanceID }
    var status: UpstreamStatus { .down("this directory cannot start processes") }
    var currentHandshake: UpstreamHandshake? { nil }
    func run() async {}
    func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake { throw failure }
    func send(_ request: UpstreamRequest) async throws(GatewayError) -> MCPReply { throw failure }
    func cancel(owner: String, clientID: JSONRPCID?) async {}
    private var failure: GatewayError { GatewayError(.upstreamUnavailable, "this directory cannot start processes") }
}
