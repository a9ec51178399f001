import GatewayWire

extension MCPRouter {
    /// What the aggregated endpoint offers: it merges lists, relays change notifications and keeps log levels itself,
    /// whatever each server supports, so the answer does not wait for servers that are still starting.
    static let aggregateCapabilities: JSONObject = [
        "completions": [:],
        "logging": [:],
        "prompts": ["listChanged": true],
        "resources": ["subscribe": true, "listChanged": true],
        "tools": ["listChanged": true],
    ]

    /// The `initialize` result for a new session: the negotiated version, capabilities, server info and
    /// instructions. A single-server endpoint mirrors that server (without `tasks`, which the gateway does not relay
    /// yet) once it is up, waiting at most `upstreamWait` for it.
    public func initializeResult(
        requestedVersion: String?,
        scope: EndpointScope,
        upstreamWait: Duration = .seconds(10)
    ) async -> (version: String, result: JSONValue) {
        let version = MCPProtocolVersion.negotiate(requested: requestedVersion)
        var capabilities = Self.aggregateCapabilities
        var serverInfo: JSONValue = [
            "name": "mcp-gateway", "title": "MCP Gateway", "version": .string(gatewayVersion),
        ]
        var instructions: String? = nil
        switch scope {
        case .server(let name):
            if let server = directory.server(named: name),
                let handshake = try? await server.handshake(timeout: upstreamWait)
            {
                capabilities = handshake.capabilities
                capabilities["tasks"] = nil
                capabilities["logging"] = [:]
                serverInfo = handshake.serverInfo ?? serverInfo
                instructions = handshake.instructions
            }
        case .aggregate:
            let parts = directory.servers.compactMap { server -> String? in
                guard let text = server.currentHandshake?.instructions, !text.isEmpty else { return nil }
                return "## \(server.configuration.prefix)\n\(text)"
            }
            instructions = parts.isEmpty ? nil : parts.joined(separator: "\n\n")
        }
        var result: JSONObject = [
            "protocolVersion": .string(version),
            "capabilities": .object(capabilities),
            "serverInfo": serverInfo,
        ]
        if let instructions { result["instructions"] = .string(instructions) }
        return (version, .object(result))
    }
}
