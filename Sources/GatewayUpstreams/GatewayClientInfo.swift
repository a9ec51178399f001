import GatewayCore
import GatewayWire

/// How the gateway introduces itself to upstream servers, and how it reads their answer.
enum GatewayClientInfo {
    /// `initialize` params: the newest session-based revision, and no client capabilities, since sampling,
    /// elicitation and roots are not relayed yet.
    static let initializeParams: JSONValue = [
        "protocolVersion": .string(MCPProtocolVersion.latestSessionBased),
        "capabilities": [:],
        "clientInfo": ["name": "mcp-gateway", "version": .string(GatewayVersion.current)],
    ]

    static func handshake(from bytes: [UInt8], server: String) throws(GatewayError) -> UpstreamHandshake {
        guard let message = try? JSONRPCMessage.parse(bytes) else {
            throw GatewayError.upstream(
                .upstreamProtocolError, server: server, "answered initialize with invalid JSON-RPC")
        }
        guard message.kind == .response, let result = message.result, result.objectValue != nil else {
            let detail = message.error?["message"]?.stringValue ?? "no result"
            throw GatewayError.upstream(.upstreamProtocolError, server: server, "initialize failed: \(detail)")
        }
        let handshake = UpstreamHandshake(result: result)
        guard MCPProtocolVersion.sessionBased.contains(handshake.protocolVersion) else {
            throw GatewayError.upstream(
                .upstreamProtocolError,
                server: server,
                "answered initialize with unsupported protocol version \(handshake.protocolVersion)"
            )
        }
        return handshake
    }
}
