import ArgumentParser
import Foundation
import GatewayDemoServer

struct DemoServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-server",
        abstract: "Run the built-in demo MCP server on stdio, or over Streamable HTTP with --http.",
        discussion:
            "Tools: echo, add, slow (reports progress), log (sends a log message), fail. Also resources, a resource template and prompts."
    )

    @Option(name: .long, help: "Serve Streamable HTTP on this port at /mcp instead of stdio (0 picks a free port).")
    var http: Int?

    @Option(name: .long, help: "Address for --http.")
    var host = "127.0.0.1"

    func run() async throws {
        guard let port = http else {
            DemoStdioRunner.run()
            return
        }
        let host = self.host
        try await DemoHTTPRunner.run(host: host, port: port) { bound in
            FileHandle.standardError.write(Data("demo server listening on http://\(host):\(bound)/mcp\n".utf8))
        }
    }
}
