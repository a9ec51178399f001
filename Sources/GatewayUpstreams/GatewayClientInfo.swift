import GatewayCore
import GatewayWire

/// How the gateway introduces itself to upstream servers, reads their answer, and cancels what it sent them.
enum GatewayClientInfo {
    /// `initialize` params: the newest session-based revision, and every client capability the gateway relays.
    /// The upstream session is shared, so its requests reach only a client that is calling and declared the
    /// capability itself; others get an error (see `MCPRouter.missingCapability`). Roots change per client, so
    /// `roots.listChanged` is not offered.
    static let initializeParams: JSONValue = [
        "protocolVersion": .string(MCPProtocolVersion.latestSessionBased),
        "capabilities": [
            "sampling": ["tools": [:]],
            "elicitation": ["form": [:], "url": [:]],
            "roots": [:],
        ],
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
