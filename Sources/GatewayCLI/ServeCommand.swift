import ArgumentParser
import Foundation
import GatewayApp
import GatewayCore
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway.",
        discussion: """
            With no --config, the gateway serves its built-in demo server (started as a stdio child process) at
            http://127.0.0.1:8080/mcp. Precedence: command-line flag > environment variable > configuration file > default.
            """
    )

    @Option(name: .long, help: "Configuration file, JSON or YAML.")
    var config: String?

    @Option(name: .long, help: "Address to listen on (default 127.0.0.1; also MCP_GATEWAY_HOST or HOST).")
    var host: String?

    @Option(name: .long, help: "Port to listen on (default 8080; 0 picks a free port; also MCP_GATEWAY_PORT or PORT).")
    var port: Int?

    @Option(
        name: .customLong("database-url"),
        help: "sqlite:///path or postgres://… (accepted; state is in memory in this version).")
    var databaseURL: String?

    @Option(name: .customLong("data-dir"), help: "Directory for local state (accepted; unused in this version).")
    var dataDirectory: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "text or json.")
    var logFormat: LogFormat?

    func run() async throws {
        var overrides = CommandLineOverrides()
        overrides.configPath = config
        overrides.host = host
        overrides.port = port
        overrides.logLevel = logLevel
        overrides.logFormat = logFormat
        overrides.databaseURL = databaseURL
        let configuration: GatewayConfiguration
        do {
            configuration = try GatewaySettings.resolve(
                overrides,
                environment: ProcessInfo.processInfo.environment,
                demoServerCommand: StdioCommand(command: Self.ownExecutable, arguments: ["demo-server"])
            )
        } catch {
            throw CommandFailure("invalid configuration\(config.map { " in \($0)" } ?? ""): \(error)")
        }
        LogSetup.bootstrap(level: configuration.logLevel, format: configuration.logFormat)
        // /proc/self/exe, not the path: it still runs this very binary after an upgrade replaced the file.
        let application = GatewayApplication(
            configuration: configuration, logger: Logger(label: "mcp-gateway"), stdioGuard: "/proc/self/exe")
        let servers = configuration.servers
        try await application.run { address in
            FileHandle.standardOutput.write(Data((StartupBanner.text(for: address, servers: servers) + "\n").utf8))
        }
    }

    /// This binary's absolute path, so the demo server can be started as a child of the same executable.
    static var ownExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

extension LogFormat: ExpressibleByArgument {}
