import GatewayCore
import GatewayWire
import NIOHTTP1

/// The headers of a 2026-07-28 request: the version, `Mcp-Method`, `Mcp-Name` (the name or URI the upstream knows,
/// after the gateway's prefix came off) and `Mcp-Param-*` for the tool's `x-mcp-header` arguments.
struct ModernRequestHeaders {
    var method: String
    var name: String?
    var parameters: [(name: String, value: String)] = []

    init(method: String, name: String? = nil) {
        self.method = method
        self.name = name
    }

    init(_ request: UpstreamRequest) {
        self.init(method: request.method, name: request.modern.name ?? Self.name(of: request))
        parameters = request.modern.mirroredHeaders
    }

    /// `Mcp-Name` of a request the gateway makes on its own account: the name or URI in its params.
    private static func name(of request: UpstreamRequest) -> String? {
        guard case .synthesized(let method, let params) = request.body else { return nil }
        switch method {
        case "tools/call", "prompts/get": return params?["name"]?.stringValue
        case "resources/read": return params?["uri"]?.stringValue
        default: return nil
        }
    }

    func write(into headers: inout HTTPHeaders) {
        headers.replaceOrAdd(name: "MCP-Protocol-Version", value: MCPProtocolVersion.latestStateless)
        headers.replaceOrAdd(name: "Mcp-Method", value: method)
        if let name { headers.replaceOrAdd(name: "Mcp-Name", value: MirroredHeaderValue.encode(name)) }
        for parameter in parameters {
            headers.replaceOrAdd(name: "Mcp-Param-" + parameter.name, value: parameter.value)
        }
    }
}
