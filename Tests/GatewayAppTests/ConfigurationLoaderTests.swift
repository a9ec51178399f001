import Foundation
import GatewayCore
import GatewayWire
import Testing

@testable import GatewayApp

@Suite("Configuration files and precedence")
struct ConfigurationLoaderTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("YAML scalars keep their types; quoted values stay strings")
    func yamlTypes() throws {
        let document = try ConfigurationLoader.document(
            """
            a: 1
            b: 1.5
            c: true
            d: "true"
            e: ~
            f: [x, "2"]
            """,
            fileName: "x.yaml"
        )
        #expect(
            document == [
                "a": 1, "b": .number(JSONNumber(lexeme: "1.5")), "c": true, "d": "true", "e": nil, "f": ["x", "2"],
            ])
    }

    @Test("duplicate keys are refused in YAML and JSON, naming the key")
    func duplicates() {
        let yaml = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.document("listen:\n  port: 1\n  port: 2\n", fileName: "x.yml")
        }
        #expect(yaml?.message.contains("duplicated key(s): 'port'") == true)
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.document(#"{"listen": {}, "listen": {}}"#, fileName: "x.json")
        }
    }

    @Test("every example configuration is valid", arguments: ["examples/gateway.yaml", "examples/claude-desktop.json"])
    func examples(path: String) throws {
        let configuration = try ConfigurationLoader.load(
            path: Self.repository.appendingPathComponent(path).path,
            environment: [:]
        )
        #expect(!configuration.servers.isEmpty)
    }

    @Test("precedence: flag over environment over file over default")
    func precedence() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("precedence-\(UUID()).yaml")
        try "listen: { host: 10.0.0.1, port: 7000 }\nlogLevel: warning\nmcpServers: { a: { command: x } }\n"
            .write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        var overrides = CommandLineOverrides()
        overrides.configPath = file.path

        let fromFile = try GatewaySettings.resolve(overrides, environment: [:], demoServerCommand: nil)
        #expect(fromFile.listen == ListenAddress(host: "10.0.0.1", port: 7000))
        #expect(fromFile.logLevel == "warning")

        let environment = ["PORT": "7100", "MCP_GATEWAY_PORT": "7200", "HOST": "127.0.0.2", "LOG_LEVEL": "debug"]
        let fromEnvironment = try GatewaySettings.resolve(overrides, environment: environment, demoServerCommand: nil)
        #expect(fromEnvironment.listen == ListenAddress(host: "127.0.0.2", port: 7200))
        #expect(fromEnvironment.logLevel == "debug")

        overrides.port = 7300
        overrides.logLevel = "error"
        let fromFlags = try GatewaySettings.resolve(overrides, environment: environment, demoServerCommand: nil)
        #expect(fromFlags.listen.port == 7300)
        #expect(fromFlags.logLevel == "error")
        #expect(fromFlags.servers.map(\.name) == ["a"])
    }

    @Test("no configuration file means the demo server; bad environment values name the variable")
    func defaults() throws {
        let demo = StdioCommand(command: "/bin/mcp-gateway", arguments: ["demo-server"])
        let configuration = try GatewaySettings.resolve(
            CommandLineOverrides(), environment: [:], demoServerCommand: demo)
        #expect(configuration.listen == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(configuration.servers.map(\.name) == ["demo"])
        let error = #expect(throws: ConfigurationError.self) {
            try GatewaySettings.resolve(
                CommandLineOverrides(), environment: ["PORT": "eighty"], demoServerCommand: demo)
        }
        #expect(error?.path == "environment.PORT")
    }

    @Test("a missing file is an error that names it")
    func missingFile() {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(path: "/nonexistent/gateway.yaml", environment: [:])
        }
        #expect(error?.description.hasPrefix("cannot be read") == true)
    }

    @Test("MCP_GATEWAY_* set the load balancing defaults; a bare number is seconds; bad values name the variable")
    func loadBalancerEnvironment() throws {
        let environment = [
            "MCP_GATEWAY_DEFAULT_STRATEGY": "weighted", "MCP_GATEWAY_HEALTH_INTERVAL": "30",
            "MCP_GATEWAY_HEALTH_TIMEOUT": "1500ms", "MCP_GATEWAY_MAX_RETRIES": "0",
        ]
        let defaults = try GatewaySettings.resolve(
            CommandLineOverrides(), environment: environment, demoServerCommand: nil
        ).loadBalancerDefaults
        #expect(defaults.strategy == .weighted)
        #expect(defaults.healthCheckInterval == .seconds(30))
        #expect(defaults.healthTimeout == .milliseconds(1500))
        #expect(defaults.maxRetries == 0)
        for (name, value) in [
            ("MCP_GATEWAY_DEFAULT_STRATEGY", "fastest"), ("MCP_GATEWAY_HEALTH_INTERVAL", "often"),
            ("MCP_GATEWAY_MAX_RETRIES", "-1"),
        ] {
            let error = #expect(throws: ConfigurationError.self) {
                try GatewaySettings.resolve(CommandLineOverrides(), environment: [name: value], demoServerCommand: nil)
            }
            #expect(error?.path == "environment.\(name)")
        }
    }
}
