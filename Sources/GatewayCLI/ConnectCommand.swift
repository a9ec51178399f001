import ArgumentParser
import Foundation
import Logging

struct ConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect",
        abstract: "Bridge stdio to a gateway: an MCP client that starts stdio servers can use a remote gateway.",
        discussion: """
            Reads newline-delimited JSON-RPC on stdin and writes the gateway's messages to stdout, over MCP's \
            WebSocket transport. URL is the gateway's endpoint: http(s)://host:port/mcp (all servers), \
            http(s)://host:port/mcp/SERVER (one server), or a ws(s):// URL. Diagnostics go to stderr.
            """
    )

    @Argument(help: "The gateway endpoint, e.g. https://gateway.example.com/mcp")
    var url: String

    @Option(name: .long, help: "Client token, sent as a Bearer token (or set MCP_GATEWAY_TOKEN).")
    var token: String?

    @Option(name: .long, help: "Diagnostics on stderr at this level: trace, debug, info, notice, warning, error.")
    var logLevel: Logger.Level = .warning

    func run() async throws {
        var logger = Logger(label: "mcp-gateway.connect") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = logLevel
        let token = self.token ?? ProcessInfo.processInfo.environment["MCP_GATEWAY_TOKEN"]
        let status: Int32
        do {
            status = try await StdioBridge(url: url, token: token, logger: logger).run()
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            // A refused upgrade comes back as a bare 400; the same URL fetched without the upgrade says why.
            let plain = (try? StdioBridge.webSocketURL(for: url)).map { "http" + $0.dropFirst(2) } ?? url
            let hint = "\(error)".lowercased().contains("upgrade") ? " (a plain GET of \(plain) says why)" : ""
            throw CommandFailure("cannot connect to \(url): \(error)\(hint)")
        }
        if status != 0 { throw ExitCode(status) }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
