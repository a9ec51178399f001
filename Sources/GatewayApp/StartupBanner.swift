import GatewayCore

/// What `serve` prints once it listens: where to connect, and a snippet to paste into a client's configuration.
public enum StartupBanner {
    public static func text(for address: ListenAddress, servers: [ServerConfiguration]) -> String {
        let host = ["0.0.0.0", "::", ""].contains(address.host) ? "127.0.0.1" : address.host
        let base = "http://\(host.contains(":") ? "[\(host)]" : host):\(address.port)"
        var lines = [
            "mcp-gateway \(GatewayApplication.version) is listening on \(base)",
            "  all servers:  \(base)/mcp",
        ]
        for server in servers {
            lines.append(
                "  \(server.name):\(String(repeating: " ", count: max(1, 12 - server.name.count)))\(base)/mcp/\(server.name)"
            )
        }
        lines += [
            "",
            "Paste into your MCP client's configuration (Claude Desktop, Cursor, VS Code):",
            #"{"mcpServers": {"gateway": {"type": "http", "url": "\#(base)/mcp"}}}"#,
            "",
        ]
        return lines.joined(separator: "\n")
    }
}
