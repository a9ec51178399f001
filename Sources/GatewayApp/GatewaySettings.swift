import Foundation
import GatewayCore

/// Values given on the command line; each wins over the environment, the file and the defaults.
public struct CommandLineOverrides: Sendable {
    public var configPath: String?
    public var host: String?
    public var port: Int?
    public var logLevel: String?
    public var logFormat: LogFormat?
    public var databaseURL: String?

    public init() {}
}

/// Merges defaults, the configuration file, the environment and the command line, in that order of precedence.
public enum GatewaySettings {
    /// The environment variables read here; everything else in the environment is ignored.
    public static let environmentVariables = [
        "MCP_GATEWAY_HOST", "HOST", "MCP_GATEWAY_PORT", "PORT", "LOG_LEVEL", "SESSION_SECRET", "DATABASE_URL",
        "MCP_GATEWAY_DEFAULT_STRATEGY", "MCP_GATEWAY_HEALTH_INTERVAL", "MCP_GATEWAY_HEALTH_TIMEOUT",
        "MCP_GATEWAY_MAX_RETRIES", "ADMIN_TOKEN", "MCP_GATEWAY_REGISTRATION_TOKEN", "MCP_GATEWAY_REGISTRY_FILE",
    ]

    public static func resolve(
        _ overrides: CommandLineOverrides,
        environment: [String: String],
        demoServerCommand: StdioCommand?
    ) throws(ConfigurationError) -> GatewayConfiguration {
        var configuration =
            try overrides.configPath.map { (path) throws(ConfigurationError) in
                try ConfigurationLoader.load(path: path, environment: environment)
            } ?? GatewayConfiguration()

        if let host = environment["MCP_GATEWAY_HOST"] ?? environment["HOST"], !host.isEmpty {
            configuration.listen.host = host
        }
        if let text = environment["MCP_GATEWAY_PORT"] ?? environment["PORT"], !text.isEmpty {
            guard let port = Int(text), (0...65_535).contains(port) else {
                throw ConfigurationError(path: "environment.PORT", "must be a port number, found \"\(text)\"")
            }
            configuration.listen.port = port
        }
        if let level = environment["LOG_LEVEL"], !level.isEmpty {
            configuration.logLevel = try checkedLogLevel(level, path: "environment.LOG_LEVEL")
        }
        if let secret = environment["SESSION_SECRET"], !secret.isEmpty { configuration.session.secret = secret }
        if let database = environment["DATABASE_URL"], !database.isEmpty { configuration.database = database }
        try applyLoadBalancerDefaults(environment, to: &configuration.loadBalancerDefaults)
        func nonEmpty(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        configuration.management.adminToken = nonEmpty("ADMIN_TOKEN")
        configuration.management.registrationToken = nonEmpty("MCP_GATEWAY_REGISTRATION_TOKEN")
        configuration.management.registryFile = nonEmpty("MCP_GATEWAY_REGISTRY_FILE")

        if let host = overrides.host { configuration.listen.host = host }
        if let port = overrides.port {
            guard (0...65_535).contains(port) else { throw ConfigurationError(path: "--port", "must be 0 to 65535") }
            configuration.listen.port = port
        }
        if let level = overrides.logLevel { configuration.logLevel = try checkedLogLevel(level, path: "--log-level") }
        if let format = overrides.logFormat { configuration.logFormat = format }
        if let database = overrides.databaseURL { configuration.database = database }

        if overrides.configPath == nil, configuration.servers.isEmpty, let demo = demoServerCommand {
            configuration.servers = [
                ServerConfiguration(
                    name: "demo", instances: [UpstreamInstanceConfiguration(id: "demo", transport: .stdio(demo))])
            ]
        }
        return configuration
    }

    /// The gateway-wide load balancing defaults from `MCP_GATEWAY_*`; a server's own `loadBalancer` keys win.
    static func applyLoadBalancerDefaults(
        _ environment: [String: String],
        to defaults: inout LoadBalancerConfiguration
    ) throws(ConfigurationError) {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        // A bare number is seconds, as the MCP Platform gateway reads these variables.
        func seconds(_ text: String) -> String { Double(text) != nil ? text + "s" : text }
        if let text = value("MCP_GATEWAY_DEFAULT_STRATEGY") {
            defaults.strategy = try GatewayConfiguration.strategy(
                text, path: "environment.MCP_GATEWAY_DEFAULT_STRATEGY")
        }
        if let text = value("MCP_GATEWAY_HEALTH_INTERVAL") {
            defaults.healthCheckInterval = try GatewayConfiguration.duration(
                seconds(text), path: "environment.MCP_GATEWAY_HEALTH_INTERVAL")
        }
        if let text = value("MCP_GATEWAY_HEALTH_TIMEOUT") {
            defaults.healthTimeout = try GatewayConfiguration.duration(
                seconds(text), path: "environment.MCP_GATEWAY_HEALTH_TIMEOUT")
        }
        if let text = value("MCP_GATEWAY_MAX_RETRIES") {
            guard let retries = Int(text), (0...10).contains(retries) else {
                throw ConfigurationError(
                    path: "environment.MCP_GATEWAY_MAX_RETRIES",
                    "must be a whole number from 0 to 10, found \"\(text)\"")
            }
            defaults.maxRetries = retries
        }
    }

    static func checkedLogLevel(_ level: String, path: String) throws(ConfigurationError) -> String {
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        guard levels.contains(level.lowercased()) else {
            throw ConfigurationError(path: path, "must be one of \(levels.joined(separator: ", "))")
        }
        return level.lowercased()
    }
}
