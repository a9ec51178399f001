import Foundation
import GatewayWire

extension GatewayConfiguration {
    /// Decodes a configuration document (after ``EnvironmentExpansion``) over the defaults. Accepts the
    /// `mcpServers` (Claude Desktop / Cursor / VS Code) shape and the full `servers` (alias `templates`) shape,
    /// alone or together.
    public init(document: JSONValue) throws(ConfigurationError) {
        self.init()
        var root = try ConfigurationReader(document, path: "")
        if var listen = try root.object("listen") {
            self.listen.host = try listen.nonEmptyString("host") ?? self.listen.host
            self.listen.port = try listen.int("port", in: 0...65_535) ?? self.listen.port
            try listen.finish()
        }
        database = try root.nonEmptyString("database")
        if let level = try root.string("logLevel") {
            guard Self.logLevels.contains(level.lowercased()) else {
                throw ConfigurationError(path: "logLevel", "must be one of \(Self.logLevels.joined(separator: ", "))")
            }
            logLevel = level.lowercased()
        }
        if let format = try root.string("logFormat") {
            guard let parsed = LogFormat(rawValue: format) else {
                throw ConfigurationError(path: "logFormat", "must be text or json")
            }
            logFormat = parsed
        }
        if var naming = try root.object("naming") {
            if let separator = try naming.nonEmptyString("separator") {
                guard separator.allSatisfy({ Self.nameCharacters.contains($0) }) else {
                    throw ConfigurationError(path: "naming.separator", "may only use letters, digits, '_', '-' and '.'")
                }
                self.naming.separator = separator
            }
            self.naming.maxLength = try naming.int("maxLength", in: 16...128) ?? self.naming.maxLength
            try naming.finish()
        }

        var servers: [ServerConfiguration] = []
        if var section = try root.object("mcpServers") {
            for name in section.keys {
                guard var entry = try section.object(name) else { continue }
                if let server = try Self.decodeServer(name: name, from: &entry) { servers.append(server) }
            }
        }
        for sectionName in ["servers", "templates"] {
            guard var section = try root.object(sectionName) else { continue }
            for name in section.keys {
                guard var entry = try section.object(name) else { continue }
                if let server = try Self.decodeServer(name: name, from: &entry) { servers.append(server) }
            }
        }
        self.servers = servers
        try validateServers()

        if var cors = try root.object("cors") {
            let enabled = try cors.bool("enabled") ?? true
            let origins = try cors.stringArray("origins") ?? []
            for (index, origin) in origins.enumerated() where origin != "*" && URL(string: origin)?.host == nil {
                throw ConfigurationError(
                    path: "cors.origins[\(index)]", "expected an origin such as https://app.example.com")
            }
            if enabled { self.origins.allowed = origins }
            try cors.finish()
        }
        if var limits = try root.object("limits") {
            self.limits.maxRequestBodyBytes =
                try limits.int("maxRequestBodyBytes", in: 1024...(256 * 1024 * 1024)) ?? self.limits.maxRequestBodyBytes
            self.limits.maxUpstreamMessageBytes =
                try limits.int("maxUpstreamMessageBytes", in: 1024...(1024 * 1024 * 1024))
                ?? self.limits.maxUpstreamMessageBytes
            self.limits.maxSessions = try limits.int("maxSessions", in: 1...10_000_000) ?? self.limits.maxSessions
            self.limits.shutdownGracePeriod =
                try limits.duration("shutdownGracePeriod") ?? self.limits.shutdownGracePeriod
            self.limits.requestHeadTimeout =
                try limits.duration("requestHeadTimeout") ?? self.limits.requestHeadTimeout
            try limits.finish()
        }
        if var session = try root.object("session") {
            self.session.secret = try session.nonEmptyString("secret")
            self.session.idleTimeout = try session.duration("maxAge") ?? self.session.idleTimeout
            try session.finish()
        }
        if var lists = try root.object("lists") {
            self.lists.deadline = try lists.duration("deadline") ?? self.lists.deadline
            try lists.finish()
        }
        try decodeInactiveSections(&root)
        try root.finish()
    }

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
    static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")

    /// Sections of the product contract that this version validates but does not act on yet.
    private mutating func decodeInactiveSections(_ root: inout ConfigurationReader) throws(ConfigurationError) {
        if var rateLimit = try root.object("rateLimit") {
            let enabled = try rateLimit.bool("enabled") ?? false
            _ = try rateLimit.int("max", in: 1...1_000_000_000)
            _ = try rateLimit.duration("window")
            try rateLimit.finish()
            if enabled { notices.append("rateLimit is accepted but not enforced in this version") }
        }
        if var webUI = try root.object("webUI") {
            if var listen = try webUI.object("listen") {
                _ = try listen.nonEmptyString("host")
                _ = try listen.int("port", in: 0...65_535)
                try listen.finish()
            }
            _ = try webUI.nonEmptyString("prefix")
            _ = try webUI.nonEmptyString("jwtSecret")
            _ = try webUI.duration("ttl")
            try webUI.finish()
            notices.append("webUI is accepted but the web-UI gateway is not part of this version")
        }
        if let pinning = try root.string("toolPinning") {
            guard ["off", "warn", "enforce"].contains(pinning) else {
                throw ConfigurationError(path: "toolPinning", "must be off, warn or enforce")
            }
            if pinning != "off" { notices.append("toolPinning is accepted but not applied in this version") }
        }
        if database != nil { notices.append("database is accepted; this version keeps its state in memory") }
    }

    /// Whether `name` may name a server (or a prefix): letters, digits, `_`, `-` and `.`, at most 64, without the
    /// separator.
    public static func checkServerName(
        _ value: String, label: String = "name", path: String, separator: String
    ) throws(ConfigurationError) {
        guard !value.isEmpty, value.count <= 64, value.allSatisfy({ nameCharacters.contains($0) }) else {
            throw ConfigurationError(
                path: path, "\(label) \"\(value)\" may only use letters, digits, '_', '-' and '.' (at most 64)")
        }
        guard !value.contains(separator) else {
            throw ConfigurationError(
                path: path, "\(label) \"\(value)\" must not contain the separator \"\(separator)\"")
        }
    }

    private func validateServers() throws(ConfigurationError) {
        var names = Set<String>()
        var prefixes = Set<String>()
        for server in servers {
            let path = "servers.\(server.name)"
            guard names.insert(server.name).inserted else {
                throw ConfigurationError(path: path, "a server named \"\(server.name)\" is declared twice")
            }
            for (label, value) in [("name", server.name), ("prefix", server.prefix)] {
                try Self.checkServerName(value, label: label, path: path, separator: naming.separator)
            }
            guard prefixes.insert(server.prefix).inserted else {
                throw ConfigurationError(path: "\(path).prefix", "prefix \"\(server.prefix)\" is used by two servers")
            }
        }
    }

    // MARK: Servers

    /// One server entry, in either shape. Returns `nil` for `disabled: true`.
    static func decodeServer(
        name: String,
        from entry: inout ConfigurationReader
    ) throws(ConfigurationError) -> ServerConfiguration? {
        try entry.rejectUnknownKeys(serverKeys.union(transportKeys))
        let disabled = try entry.bool("disabled") ?? false
        let prefix = try entry.nonEmptyString("prefix")
        var instances: [UpstreamInstanceConfiguration] = []
        if let list = entry.value("instances") {
            guard case .array(let elements) = list, !elements.isEmpty else {
                throw ConfigurationError(path: entry.child("instances"), "expected a non-empty list of instances")
            }
            for (index, element) in elements.enumerated() {
                var reader = try ConfigurationReader(element, path: "\(entry.child("instances"))[\(index)]")
                try reader.rejectUnknownKeys(instanceKeys.union(transportKeys))
                var instance = UpstreamInstanceConfiguration(
                    id: try reader.nonEmptyString("id") ?? "\(name)-\(index + 1)",
                    transport: try decodeTransport(&reader)
                )
                instance.weight = try reader.int("weight", in: 1...1000) ?? 1
                instance.metadata = reader.value("metadata")
                try reader.finish()
                instances.append(instance)
            }
            if entry.contains("command") || entry.contains("url") {
                throw ConfigurationError(path: entry.path, "give either instances or command/url, not both")
            }
        } else {
            instances = [UpstreamInstanceConfiguration(id: name, transport: try decodeTransport(&entry))]
        }
        let ids = instances.map(\.id)
        if Set(ids).count != ids.count {
            throw ConfigurationError(path: entry.child("instances"), "instance ids must be unique")
        }

        var server = ServerConfiguration(name: name, prefix: prefix, instances: instances)
        server.callTimeout = try entry.duration("timeout") ?? server.callTimeout
        server.connectTimeout = try entry.duration("connectTimeout") ?? server.connectTimeout
        if let era = try entry.string("era") {
            guard let choice = UpstreamEraChoice(rawValue: era) else {
                throw ConfigurationError(
                    path: entry.child("era"),
                    "must be one of \(UpstreamEraChoice.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            server.era = choice
        }
        if var tools = try entry.object("tools") {
            server.tools = ToolFilter(
                allow: try tools.stringArray("allow") ?? [], deny: try tools.stringArray("deny") ?? [])
            server.validatesToolArguments = try tools.bool("validateArguments") ?? true
            try tools.finish()
        }
        if var balancer = try entry.object("loadBalancer") {
            if let strategy = try balancer.string("strategy") {
                server.loadBalancer.strategy = try Self.strategy(strategy, path: balancer.child("strategy"))
            }
            server.loadBalancer.healthCheckInterval = try balancer.duration("healthCheckInterval")
            server.loadBalancer.healthTimeout = try balancer.duration("healthTimeout")
            server.loadBalancer.maxRetries = try balancer.int("maxRetries", in: 0...10)
            server.loadBalancer.unhealthyThreshold = try balancer.int("unhealthyThreshold", in: 1...100)
            server.callTimeout = try balancer.duration("timeout") ?? server.callTimeout
            try balancer.finish()
        }
        if var pool = try entry.object("pool") {
            let size = try pool.int("size", in: 1...64) ?? 1
            let isolation = try pool.string("isolation") ?? "shared"
            server.restartDelay = try pool.duration("restartDelay") ?? server.restartDelay
            server.maxRestartDelay =
                try pool.duration("maxRestartDelay") ?? max(server.maxRestartDelay, server.restartDelay)
            if server.maxRestartDelay < server.restartDelay {
                throw ConfigurationError(path: pool.child("maxRestartDelay"), "must not be shorter than restartDelay")
            }
            let maxProcesses = try pool.int("maxSessions", in: 1...10_000)
            let idleTimeout = try pool.duration("idleTimeout")
            switch isolation {
            case "shared":
                if maxProcesses != nil || idleTimeout != nil {
                    throw ConfigurationError(
                        path: pool.path, "maxSessions and idleTimeout apply to isolation: per-session only")
                }
            case "per-session":
                guard server.instances.allSatisfy({ if case .stdio = $0.transport { true } else { false } }) else {
                    throw ConfigurationError(path: pool.child("isolation"), "per-session applies to stdio servers only")
                }
                server.isolation = .perSession(
                    maxProcesses: maxProcesses ?? 32, idleTimeout: idleTimeout ?? .seconds(600))
            default:
                throw ConfigurationError(path: pool.child("isolation"), "must be shared or per-session")
            }
            if let start = try pool.string("start") {
                guard ["eager", "lazy"].contains(start) else {
                    throw ConfigurationError(path: pool.child("start"), "must be eager or lazy")
                }
                server.startsLazily = start == "lazy"
            }
            try pool.finish()
            // `size` processes of each stdio instance, balanced like any instances.
            if size > 1 {
                server.instances = server.instances.flatMap { instance -> [UpstreamInstanceConfiguration] in
                    guard case .stdio = instance.transport else { return [instance] }
                    return (1...size).map { number in
                        var copy = instance
                        copy.id = "\(instance.id)-\(number)"
                        return copy
                    }
                }
            }
        }
        try entry.finish()
        let expanded = server.instances.map(\.id)
        if Set(expanded).count != expanded.count {
            throw ConfigurationError(
                path: entry.child("instances"), "instance ids must be unique (pool.size names copies {id}-1 … {id}-N)")
        }
        return disabled ? nil : server
    }

    /// A duration as configuration files write it (`500ms`, `30s`, `1h`, or a number of milliseconds).
    public static func duration(_ text: String, path: String) throws(ConfigurationError) -> Duration {
        guard let duration = ConfigurationReader.parseDuration(text.trimmingCharacters(in: .whitespaces)),
            duration > .zero
        else {
            throw ConfigurationError(
                path: path, "expected a positive duration such as \"500ms\", \"30s\" or \"1h\", found \"\(text)\"")
        }
        return duration
    }

    /// A `loadBalancer.strategy` value (or `MCP_GATEWAY_DEFAULT_STRATEGY`).
    public static func strategy(_ text: String, path: String) throws(ConfigurationError) -> LoadBalancingStrategy {
        guard let strategy = LoadBalancingStrategy(rawValue: text) else {
            throw ConfigurationError(
                path: path,
                "must be one of \(LoadBalancingStrategy.allCases.map(\.rawValue).joined(separator: ", ")), found \"\(text)\""
            )
        }
        return strategy
    }

    static let serverKeys: Set<String> = [
        "disabled", "prefix", "instances", "timeout", "connectTimeout", "era", "tools", "loadBalancer", "pool",
    ]
    static let instanceKeys: Set<String> = ["id", "weight", "metadata"]
    static let transportKeys: Set<String> = [
        "type", "transport", "command", "args", "env", "cwd", "url", "endpoint", "headers",
    ]

    /// The transport keys shared by `mcpServers` entries, shorthand servers and instances.
    static func decodeTransport(
        _ reader: inout ConfigurationReader
    ) throws(ConfigurationError) -> UpstreamInstanceConfiguration.Transport {
        let type = try reader.string("type")
        let transport = try reader.string("transport")
        if let type, let transport, type != transport {
            throw ConfigurationError(path: reader.child("transport"), "disagrees with type \"\(type)\"")
        }
        let kind = (type ?? transport)?.lowercased()
        let command = try reader.nonEmptyString("command")
        var url = try reader.nonEmptyString("url")
        if url == nil { url = try reader.nonEmptyString("endpoint") }
        let urlKey = reader.contains("url") ? "url" : "endpoint"
        switch (command, url) {
        case (let command?, nil):
            guard kind == nil || kind == "stdio" else {
                throw ConfigurationError(path: reader.child("type"), "\"\(kind!)\" needs a url, not a command")
            }
            if reader.contains("headers") {
                throw ConfigurationError(path: reader.child("headers"), "only applies to HTTP servers")
            }
            return .stdio(
                StdioCommand(
                    command: command,
                    arguments: try reader.stringArray("args") ?? [],
                    environment: try reader.stringMap("env") ?? [:],
                    workingDirectory: try reader.nonEmptyString("cwd")
                )
            )
        case (nil, let url?):
            let endpointKind: HTTPEndpoint.Kind
            switch kind {
            case nil: endpointKind = .automatic
            case "http", "streamable-http", "streamablehttp", "streamable_http": endpointKind = .streamableHTTP
            case "sse": endpointKind = .sse
            default:
                throw ConfigurationError(
                    path: reader.child(type != nil ? "type" : "transport"), "must be http, streamable-http or sse")
            }
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
                parsed.host?.isEmpty == false
            else {
                throw ConfigurationError(
                    path: reader.child(urlKey), "expected an http:// or https:// URL, found \"\(url)\"")
            }
            for key in ["args", "env", "cwd"] where reader.contains(key) {
                throw ConfigurationError(path: reader.child(key), "only applies to stdio servers")
            }
            return .http(HTTPEndpoint(url: url, headers: try reader.stringMap("headers") ?? [:], kind: endpointKind))
        case (.some, .some):
            throw ConfigurationError(path: reader.path, "give either command (stdio) or url (HTTP), not both")
        case (nil, nil):
            throw ConfigurationError(path: reader.path, "needs a command (stdio) or a url (HTTP)")
        }
    }
}
