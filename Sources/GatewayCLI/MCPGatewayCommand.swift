import ArgumentParser
import GatewayApp

@main
struct MCPGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp-gateway",
        abstract: "One stable, authenticated MCP endpoint in front of any number of MCP servers.",
        discussion: "Run `mcp-gateway serve` to start the gateway with the built-in demo server.",
        version: GatewayApplication.version,
        subcommands: [
            ServeCommand.self, CheckConfigCommand.self, DemoServerCommand.self, ConnectCommand.self,
            RegisterCommand.self, DeregisterCommand.self, RegistryCommand.self, HealthCommand.self, SyncCommand.self,
            StdioGuardCommand.self,
        ]
    )
}

/// A failure reported as one clear line, with a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}
