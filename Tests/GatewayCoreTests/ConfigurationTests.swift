import GatewayWire
import Testing

@testable import GatewayCore

@Suite("Configuration")
struct ConfigurationTests {
    func decode(_ text: String, environment: [String: String] = [:]) throws -> GatewayConfiguration {
        let document = try EnvironmentExpansion.expand(JSONParser.parse(text), environment: environment)
        return try GatewayConfiguration(document: document)
    }

    func failure(_ text: String, environment: [String: String] = [:]) -> ConfigurationError? {
        #expect(throws: ConfigurationError.self) { try decode(text, environment: environment) }
    }

    @Test("the Claude Desktop shape and the full shape are accepted together")
    func bothShapes() throws {
        let configuration = try decode(
            """
            {"listen": {"port": 9000},
             "mcpServers": {
               "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
               "docs": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"}}},
             "servers": {
               "filesystem": {"prefix": "fs", "tools": {"allow": ["read_*"]},
                 "loadBalancer": {"strategy": "round_robin", "timeout": "45s"},
                 "instances": [{"id": "fs-1", "url": "http://localhost:7071/mcp", "weight": 3},
                               {"command": "python", "args": ["server.py"], "cwd": "/app"}]}}}
            """,
            environment: ["DOCS_TOKEN": "s3cret"]
        )
        #expect(configuration.listen == ListenAddress(host: "127.0.0.1", port: 9000))
        #expect(configuration.servers.map(\.name) == ["time", "docs", "filesystem"])
        let time = configuration.servers[0]
        #expect(
            time.instances[0].transport
                == .stdio(StdioCommand(command: "uvx", arguments: ["mcp-server-time"], environment: ["TZ": "UTC"])))
        guard case .http(let docs) = configuration.servers[1].instances[0].transport else {
            Issue.record("docs should be HTTP")
            return
        }
        #expect(docs.headers["Authorization"] == "Bearer s3cret")
        let fs = configuration.servers[2]
        #expect(fs.prefix == "fs")
        #expect(fs.callTimeout == .seconds(45))
        #expect(fs.instances.map(\.id) == ["fs-1", "filesystem-2"])
        #expect(fs.instances[0].weight == 3)
        #expect(fs.tools.permits("read_file") && !fs.tools.permits("write_file"))
    }

    @Test("errors name the key path")
    func errorsNameThePath() {
        #expect(failure(#"{"listen": {"port": "x"}}"#)?.path == "listen.port")
        #expect(failure(#"{"mcpServers": {"a": {"command": "x", "bogus": 1}}}"#)?.path == "mcpServers.a.bogus")
        #expect(failure(#"{"mcpServers": {"a": {}}}"#)?.message == "needs a command (stdio) or a url (HTTP)")
        #expect(failure(#"{"mcpServers": {"a": {"url": "ftp://x"}}}"#)?.path == "mcpServers.a.url")
        #expect(
            failure(#"{"servers": {"a": {"instances": [{"command": "x", "headers": {}}]}}}"#)?.path
                == "servers.a.instances[0].headers")
        #expect(failure(#"{"unknownSection": {}}"#)?.path == "unknownSection")
        #expect(failure(#"{"mcpServers": {"a__b": {"command": "x"}}}"#)?.path == "servers.a__b")
        #expect(failure(#"{"mcpServers": {"a": {"command": "x"}}, "servers": {"a": {"command": "y"}}}"#) != nil)
        #expect(failure(#"{"logLevel": "loud"}"#)?.path == "logLevel")
        #expect(failure(#"{"session": {"maxAge": "soon"}}"#)?.path == "session.maxAge")
        #expect(
            failure(#"{"mcpServers": {"a": {"command": "${NOPE}"}}}"#)?.message
                == "environment variable NOPE is not set")
    }

    @Test("environment expansion: defaults, escapes and unterminated references")
    func expansion() throws {
        let environment = ["A": "1", "EMPTY": ""]
        #expect(try EnvironmentExpansion.expand("x${A}y", environment: environment, path: "p") == "x1y")
        #expect(try EnvironmentExpansion.expand("${B:-two}", environment: environment, path: "p") == "two")
        #expect(try EnvironmentExpansion.expand("${EMPTY:-d}", environment: environment, path: "p") == "d")
        #expect(try EnvironmentExpansion.expand("$$A $5 $", environment: environment, path: "p") == "$A $5 $")
        #expect(throws: ConfigurationError.self) {
            try EnvironmentExpansion.expand("${A", environment: environment, path: "p")
        }
        #expect(throws: ConfigurationError.self) {
            try EnvironmentExpansion.expand("${1A}", environment: environment, path: "p")
        }
    }

    @Test("durations: units and plain milliseconds")
    func durations() throws {
        let configuration = try decode(
            #"{"session": {"maxAge": 3600000}, "mcpServers": {"a": {"command": "x", "timeout": "250ms"}}}"#)
        #expect(configuration.session.idleTimeout == .seconds(3600))
        #expect(configuration.servers[0].callTimeout == .milliseconds(250))
    }

    @Test("sections that are not active yet are validated and reported, never silently ignored")
    func inactiveSections() throws {
        let configuration = try decode(
            #"{"rateLimit": {"enabled": true, "max": 100, "window": "15m"}, "toolPinning": "warn"}"#)
        #expect(configuration.notices.count == 2)
        #expect(failure(#"{"rateLimit": {"max": "lots"}}"#)?.path == "rateLimit.max")
    }

    @Test("pool.isolation: per-session takes a cap and an idle timeout, for stdio servers only; start is eager or lazy")
    func perSession() throws {
        let configuration = try decode(
            #"{"servers": {"b": {"command": "x", "pool": {"isolation": "per-session", "maxSessions": 5, "idleTimeout": "2m", "start": "lazy"}}}}"#
        )
        #expect(configuration.servers[0].isolation == .perSession(maxProcesses: 5, idleTimeout: .seconds(120)))
        #expect(configuration.servers[0].startsLazily)
        let http = failure(#"{"servers": {"b": {"url": "http://h/mcp", "pool": {"isolation": "per-session"}}}}"#)
        #expect(http?.path == "servers.b.pool.isolation")
        #expect(failure(#"{"servers": {"b": {"command": "x", "pool": {"maxSessions": 3}}}}"#)?.path == "servers.b.pool")
        #expect(
            failure(#"{"servers": {"b": {"command": "x", "pool": {"start": "soon"}}}}"#)?.path == "servers.b.pool.start"
        )
    }

    @Test("pool.size runs that many processes of each stdio instance; HTTP instances stay single")
    func poolSize() throws {
        let configuration = try decode(
            """
            {"servers": {"b": {"pool": {"size": 3}, "instances": [
              {"id": "s", "command": "x", "weight": 2}, {"id": "h", "url": "http://127.0.0.1:1/mcp"}]}}}
            """)
        #expect(configuration.servers[0].instances.map(\.id) == ["s-1", "s-2", "s-3", "h"])
        #expect(configuration.servers[0].instances.map(\.weight) == [2, 2, 2, 1])
        #expect(failure(#"{"servers": {"b": {"command": "x", "pool": {"size": 65}}}}"#)?.path == "servers.b.pool.size")
    }

    @Test("disabled servers are left out")
    func disabled() throws {
        #expect(try decode(#"{"mcpServers": {"a": {"command": "x", "disabled": true}}}"#).servers.isEmpty)
    }

    @Test("loadBalancer keys override the gateway-wide defaults one by one; bad values name the key")
    func loadBalancer() throws {
        var configuration = try decode(
            """
            {"servers": {"fleet": {"url": "http://127.0.0.1:1/mcp",
               "loadBalancer": {"strategy": "least_connections", "healthTimeout": "2s", "unhealthyThreshold": 5}}}}
            """)
        configuration.loadBalancerDefaults.healthCheckInterval = .seconds(20)
        configuration.loadBalancerDefaults.maxRetries = 4
        let resolved = configuration.loadBalancing(of: configuration.servers[0])
        #expect(resolved.strategy == .leastConnections)
        #expect(resolved.healthTimeout == .seconds(2))
        #expect(resolved.unhealthyThreshold == 5)
        #expect(resolved.healthCheckInterval == .seconds(20))
        #expect(resolved.maxRetries == 4)

        let strategy = failure(#"{"servers": {"f": {"url": "http://h/mcp", "loadBalancer": {"strategy": "fastest"}}}}"#)
        #expect(strategy?.path == "servers.f.loadBalancer.strategy")
        #expect(strategy?.message.contains("round_robin, least_connections, weighted, health_based, random") == true)
        let retries = failure(#"{"servers": {"f": {"url": "http://h/mcp", "loadBalancer": {"maxRetries": 11}}}}"#)
        #expect(retries?.path == "servers.f.loadBalancer.maxRetries")
        let interval = failure(
            #"{"servers": {"f": {"url": "http://h/mcp", "loadBalancer": {"healthCheckInterval": "soon"}}}}"#)
        #expect(interval?.path == "servers.f.loadBalancer.healthCheckInterval")
    }
}
