import ArgumentParser
import GatewayUpstreams

/// `mcp-gateway stdio-guard --parent PID -- CMD ARGS`: run by the gateway itself between it and each stdio server
/// (``StdioChildGuard``); not for people.
struct StdioGuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stdio-guard",
        abstract: "Run a stdio server so that it dies with the gateway (used by the gateway itself).",
        shouldDisplay: false
    )

    @Option(name: .long, help: "The gateway's process id.")
    var parent: Int32

    @Argument(parsing: .postTerminator, help: "The server's command and arguments, after --.")
    var command: [String] = []

    func run() throws {
        guard !command.isEmpty else { throw CommandFailure("stdio-guard needs a command after --") }
        StdioChildGuard.run(parent: parent, command: command)
    }
}
