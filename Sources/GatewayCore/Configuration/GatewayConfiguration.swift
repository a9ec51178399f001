/// Everything the gateway runs from, after the file, the environment and the command line were merged and checked.
public struct GatewayConfiguration: Sendable {
    public var listen = ListenAddress(host: "127.0.0.1", port: 8080)
    /// `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`.
    public var logLevel = "info"
    public var logFormat = LogFormat.text
    /// `sqlite:///path` or `postgres://…`; read and validated, used once the store exists.
    public var database: String?
    /// Servers in the order they were declared; that order breaks ties (resource URI collisions).
    public var servers: [ServerConfiguration] = []
    public var naming = NamingConfiguration()
    public var origins = OriginConfiguration()
    public var limits = LimitsConfiguration()
    public var session = SessionConfiguration()
    public var lists = ListsConfiguration()
    /// Load balancing, health checking and retries for servers that do not set their own (`MCP_GATEWAY_*`).
    public var loadBalancerDefaults = LoadBalancerConfiguration()
    public var management = ManagementConfiguration()
    /// Settings that were accepted and validated but have no effect in this version; reported at start-up and by
    /// `check-config` so nothing is silently ignored.
    public var notices: [String] = []

    public init() {}

    public func server(named name: String) -> ServerConfiguration? {
        servers.first { $0.name == name }
    }

    /// `server`'s load balancing with the gateway-wide defaults filled in.
    public func loadBalancing(of server: ServerConfiguration) -> LoadBalancerConfiguration {
        server.loadBalancer.applied(to: loadBalancerDefaults)
    }
}

public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}

/// How aggregated names are built: `{prefix}{separator}{name}`, at most `maxLength` characters.
public struct NamingConfiguration: Sendable, Hashable {
    public var separator = "__"
    public var maxLength = 64

    public init() {}
}

/// Which browser origins may call the MCP endpoints. Requests without an `Origin` header (non-browser clients)
/// are always allowed; loopback origins are allowed unless `allowLoopback` is turned off.
public struct OriginConfiguration: Sendable, Hashable {
    public var allowed: [String] = []
    public var allowLoopback = true

    public init() {}
}

public struct LimitsConfiguration: Sendable, Hashable {
    /// Largest accepted request body; larger bodies get 413 before they are read in full.
    public var maxRequestBodyBytes = 1024 * 1024
    /// Largest message accepted from an upstream (stdio line or HTTP body).
    public var maxUpstreamMessageBytes = 8 * 1024 * 1024
    /// Most client sessions held at once; beyond it `initialize` gets 503.
    public var maxSessions = 100_000
    /// On SIGTERM, how long requests in flight may run before they are cancelled and upstreams are stopped.
    public var shutdownGracePeriod: Duration = .seconds(10)
    /// How long a new connection may take to send its first complete request head before it is closed.
    public var requestHeadTimeout: Duration = .seconds(30)

    public init() {}
}

public struct SessionConfiguration: Sendable, Hashable {
    /// Key material for signing cursors (and, later, sessions shared between replicas). Random per process when
    /// unset, which means cursors do not survive a restart.
    public var secret: String?
    /// A session unused for this long is dropped; the client then gets 404 and re-initialises.
    public var idleTimeout: Duration = .seconds(3600)

    public init() {}
}

public struct ListsConfiguration: Sendable, Hashable {
    /// A server that has not answered its part of a merged `*/list` within this time is left out of it (and
    /// logged), so one hung server does not stall every list.
    public var deadline: Duration = .seconds(5)

    public init() {}
}

/// The management API's credentials and where registered instances are kept; from the environment only, so secrets
/// stay out of configuration files.
public struct ManagementConfiguration: Sendable, Hashable {
    /// `ADMIN_TOKEN`: every `/gateway/*` route. Without it (and without a registration token) the management API
    /// refuses everything: nothing is open because of where a request comes from.
    public var adminToken: String?
    /// `MCP_GATEWAY_REGISTRATION_TOKEN`: `register` and `deregister` only.
    public var registrationToken: String?
    /// `MCP_GATEWAY_REGISTRY_FILE`: registered instances are written here and read back at start.
    public var registryFile: String?

    public init() {}
}
