import ArgumentParser
import Foundation
import GatewayApp
import NIOCore
import NIOPosix

@main
struct MCPGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp-gateway",
        abstract: "One stable, authenticated MCP endpoint in front of any number of MCP servers.",
        discussion: "Run `mcp-gateway serve` to start the gateway with the built-in demo server.",
        version: GatewayApplication.version,
        subcommands: [ServeCommand.self, CheckConfigCommand.self, DemoServerCommand.self]
    )

    /// Parses the command line and runs the command. With `MCP_GATEWAY_EXECUTOR=eventloop`, `serve` first makes
    /// SwiftNIO's event loops Swift Concurrency's global executor: lower latency at low concurrency, lower throughput
    /// under load (measured in BENCHMARKS.md), so it is opt-in.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if command is ServeCommand, ProcessInfo.processInfo.environment["MCP_GATEWAY_EXECUTOR"] == "eventloop" {
                _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
            }
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// A failure reported as one clear line, with a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}
