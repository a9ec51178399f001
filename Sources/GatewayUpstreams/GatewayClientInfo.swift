import GatewayCore
import GatewayWire

/// How the gateway introduces itself to upstream servers, reads their answer, and cancels what it sent them.
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

    /// `notifications/cancelled` for the request the gateway sent with `id`.
    static func cancellation(of id: Int, reason: String) -> [UInt8] {
        JSONRPCMessage.encodeNotification(
            method: "notifications/cancelled",
            params: ["requestId": .number(JSONNumber(id)), "reason": .string(reason)]
        )
    }
}
