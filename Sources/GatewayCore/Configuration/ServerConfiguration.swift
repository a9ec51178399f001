import GatewayWire

/// One MCP server as the gateway exposes it: a name, a prefix for aggregated names, and one or more instances.
public struct ServerConfiguration: Sendable, Hashable {
    public var name: String
    /// Namespace for tool and prompt names on `/mcp`; defaults to `name`.
    public var prefix: String
    public var instances: [UpstreamInstanceConfiguration]
    public var tools = ToolFilter()
    /// Whether `tools/call` arguments are checked against the tool's `inputSchema` before they are forwarded
    /// (`tools.validateArguments`, default on).
    public var validatesToolArguments = true
    /// Longest a request may wait without any sign of life (progress extends it up to `maxCallDuration`).
    public var callTimeout: Duration = .seconds(60)
    /// Hard limit for one request, progress or not.
    public var maxCallDuration: Duration = .seconds(600)
    /// Longest start-up (spawn and `initialize`) of one instance.
    public var connectTimeout: Duration = .seconds(30)
    /// Which MCP era the gateway speaks to this server's instances (`era`, default `auto`).
    public var era = UpstreamEraChoice.auto
    /// stdio: the first delay before a crashed process is restarted (`pool.restartDelay`), doubling up to
    /// `maxRestartDelay` while it keeps crashing.
    public var restartDelay: Duration = .seconds(1)
    public var maxRestartDelay: Duration = .seconds(60)
    /// stdio: whether clients share the configured processes, or each client session gets a process of its own.
    public var isolation = PoolIsolation.shared
    /// stdio: `eager` (default) starts the processes with the gateway; `lazy` at the first request that needs one.
    public var startsLazily = false
    /// `loadBalancer`: what this server sets; the rest comes from the gateway-wide defaults.
    public var loadBalancer = LoadBalancerOverrides()

    public init(name: String, prefix: String? = nil, instances: [UpstreamInstanceConfiguration]) {
        self.name = name
        self.prefix = prefix ?? name
        self.instances = instances
    }
}

/// `pool.isolation` of a stdio server.
public enum PoolIsolation: Sendable, Hashable {
    /// Every client's requests go to the configured processes (multiplexed, balanced).
    case shared
    /// Each client session gets its own process, started at its first request to the server and stopped when the
    /// session ends or has sent the server nothing for `idleTimeout`; at most `maxProcesses` at once. Requests
    /// without a session use the configured processes.
    case perSession(maxProcesses: Int, idleTimeout: Duration)
}

/// How the gateway picks the MCP era of an upstream instance.
public enum UpstreamEraChoice: String, Sendable, Hashable, CaseIterable {
    /// As the 2026-07-28 revision says for dual-era clients: `server/discover` first, and `initialize` if the
    /// instance does not answer it as a 2026-07-28 server; probed again whenever the instance (re)connects.
    case auto
    /// 2026-07-28 only: an instance that does not answer `server/discover` is reported down.
    case modern
    /// The session-based revisions only (`initialize`), never probed.
    case legacy
}

/// Which of a server's tools are exposed, by glob (`*`, `?`). Deny wins over allow; an empty allow list allows all.
public struct ToolFilter: Sendable, Hashable {
    public var allow: [String] = []
    public var deny: [String] = []

    public init(allow: [String] = [], deny: [String] = []) {
        self.allow = allow
        self.deny = deny
    }

    public func permits(_ tool: String) -> Bool {
        if deny.contains(where: { GlobPattern($0).matches(tool) }) { return false }
        return allow.isEmpty || allow.contains(where: { GlobPattern($0).matches(tool) })
    }
}

public struct UpstreamInstanceConfiguration: Sendable, Hashable {
    public enum Transport: Sendable, Hashable {
        case stdio(StdioCommand)
        case http(HTTPEndpoint)
    }

    public var id: String
    public var transport: Transport
    public var weight = 1
    /// Free-form data of the operator's (`metadata`), kept and reported, never interpreted.
    public var metadata: JSONValue?

    public init(id: String, transport: Transport) {
        self.id = id
        self.transport = transport
    }
}

/// How to start a stdio server. The child gets exactly `environment` plus the gateway's `PATH`.
public struct StdioCommand: Sendable, Hashable {
    public var command: String
    public var arguments: [String]
    public var environment: [String: String]
    public var workingDirectory: String?

    public init(
        command: String,
        arguments: [String] = [],
        environment: [String: String] = [:],
        workingDirectory: String? = nil
    ) {
        self.command = command
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }
}

public struct HTTPEndpoint: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// No transport given: Streamable HTTP, falling back to HTTP+SSE when the server refuses POSTs to the URL.
        case automatic = "http"
        /// Streamable HTTP (MCP 2025-03-26 and later).
        case streamableHTTP = "streamable-http"
        /// The deprecated HTTP+SSE transport (MCP 2024-11-05).
        case sse
    }

    public var url: String
    /// Sent on every request to the server (e.g. its own API token). Never the client's credentials.
    public var headers: [String: String]
    public var kind: Kind

    public init(url: String, headers: [String: String] = [:], kind: Kind = .automatic) {
        self.url = url
        self.headers = headers
        self.kind = kind
    }
}
