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

    /// What the endpoint says about itself, in both eras: capabilities, server info and instructions. A
    /// single-server endpoint mirrors that server (without `tasks`, which the gateway does not relay) once it is
    /// up, waiting at most `upstreamWait` for it.
    struct Advertisement {
        var capabilities: JSONObject
        var serverInfo: JSONValue
        var instructions: String?
    }

    func advertisement(scope: EndpointScope, upstreamWait: Duration) async -> Advertisement {
        var advertisement = Advertisement(
            capabilities: Self.aggregateCapabilities,
            serverInfo: ["name": "mcp-gateway", "title": "MCP Gateway", "version": .string(gatewayVersion)]
        )
        switch scope {
        case .server(let name):
            if let server = directory.server(named: name),
                let handshake = try? await server.handshake(timeout: upstreamWait)
            {
                advertisement.capabilities = handshake.capabilities
                advertisement.capabilities["tasks"] = nil
                advertisement.capabilities["extensions"] = nil
                advertisement.capabilities["logging"] = [:]
                advertisement.serverInfo = handshake.serverInfo ?? advertisement.serverInfo
                advertisement.instructions = handshake.instructions
            }
        case .aggregate:
            let parts = directory.servers.compactMap { server -> String? in
                guard let text = server.currentHandshake?.instructions, !text.isEmpty else { return nil }
                return "## \(server.configuration.prefix)\n\(text)"
            }
            advertisement.instructions = parts.isEmpty ? nil : parts.joined(separator: "\n\n")
        }
        return advertisement
    }

    /// The `initialize` result for a new session: the negotiated version, capabilities, server info and
    /// instructions.
    public func initializeResult(
        requestedVersion: String?,
        scope: EndpointScope,
        upstreamWait: Duration = .seconds(10)
    ) async -> (version: String, result: JSONValue) {
        let version = MCPProtocolVersion.negotiate(requested: requestedVersion)
        let advertisement = await advertisement(scope: scope, upstreamWait: upstreamWait)
        var result: JSONObject = [
            "protocolVersion": .string(version),
            "capabilities": .object(advertisement.capabilities),
            "serverInfo": advertisement.serverInfo,
        ]
        if let instructions = advertisement.instructions { result["instructions"] = .string(instructions) }
        return (version, .object(result))
    }

    /// The `server/discover` result (2026-07-28): the stateless versions served, the same capabilities, server
    /// info and instructions as `initialize`, and caching hints. Legacy servers give no hints, so the result is
    /// not to be cached (`ttlMs` 0) and private, since policy may differ per principal.
    func discoverResult(scope: EndpointScope, upstreamWait: Duration = .seconds(10)) async -> JSONValue {
        let advertisement = await advertisement(scope: scope, upstreamWait: upstreamWait)
        var result: JSONObject = [
            "resultType": "complete",
            "supportedVersions": .array(MCPProtocolVersion.stateless.map { .string($0) }),
            "capabilities": .object(advertisement.capabilities),
        ]
        if let instructions = advertisement.instructions { result["instructions"] = .string(instructions) }
        result["_meta"] = ["io.modelcontextprotocol/serverInfo": advertisement.serverInfo]
        result["ttlMs"] = 0
        result["cacheScope"] = "private"
        return .object(result)
    }
}
