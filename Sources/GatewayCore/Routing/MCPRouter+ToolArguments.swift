import GatewayWire
import Synchronization

/// Tool-call arguments checked before they are forwarded: against the tool's `inputSchema` (a violation is a tool
/// execution error naming the argument, so a model can correct itself), and, for 2026-07-28 over HTTP, against the
/// `Mcp-Param-*` headers that mirror them (a mismatch is refused as the request's error, 400 + -32020).
extension MCPRouter {
    /// The contract of `tool` on `server`, learnt from its listing.
    func contract(of tool: String, on server: UpstreamServer) -> ToolInputContract? {
        server.catalog.withLock { $0.toolContracts[tool] }
    }

    /// The tool result that refuses the call's arguments, or `nil` when they satisfy the schema (or it could not be
    /// used, or the server's `tools.validateArguments` is off). `name` is the tool as the client named it.
    func argumentsRefusal(
        _ message: JSONRPCMessage,
        tool: String,
        on server: UpstreamServer,
        name: String,
        context: MCPRequestContext
    ) -> MCPReply? {
        guard server.configuration.validatesToolArguments, let contract = contract(of: tool, on: server) else {
            return nil
        }
        guard let violation = contract.violation(of: message.paramValue("arguments")) else { return nil }
        var result: JSONObject = [
            "content": [["type": "text", "text": .string("Invalid arguments for tool \(name): \(violation)")]],
            "isError": true,
        ]
        if context.era == .modern { result["resultType"] = "complete" }
        return .response(JSONRPCMessage.encodeResponse(id: message.id!, result: JSONValue.object(result).serialized()))
    }

    /// 2026-07-28: every mirrored argument present in the body has its header with the same value, and no header
    /// names an argument the body does not carry. Tools the gateway does not know, or that mirror nothing, pass.
    public func checkMirroredParameters(_ message: JSONRPCMessage, context: MCPRequestContext)
        async throws(GatewayError)
    {
        guard message.method == "tools/call", let name = message.paramString("name"),
            let (server, tool) = try? await resolve(.tool, name: name, context: context)
        else { return }
        await learnNamesIfNeeded(.tools, of: server, context: context)
        guard let mirrored = contract(of: tool, on: server)?.mirrored, !mirrored.isEmpty else { return }
        let arguments = message.paramValue("arguments")
        for parameter in mirrored {
            let header = "Mcp-Param-\(parameter.name)"
            let sent = context.mirroredParameters[parameter.name.lowercased()] ?? []
            let argument = "arguments.\(parameter.path.joined(separator: "."))"
            guard let value = parameter.value(in: arguments) else {
                guard sent.isEmpty else {
                    throw GatewayError(.headerMismatch, "Header mismatch: \(header) is sent but \(argument) is absent")
                }
                continue
            }
            guard sent.count == 1 else {
                throw GatewayError(
                    .headerMismatch,
                    sent.isEmpty
                        ? "Header mismatch: the \(header) header is required, \(argument) is present"
                        : "Header mismatch: \(header) is sent more than once")
            }
            guard let decoded = MirroredHeaderValue.decode(sent[0]) else {
                throw GatewayError(.headerMismatch, "Header mismatch: \(header) is not valid base64")
            }
            guard Self.header(decoded, matches: value) else {
                throw GatewayError(
                    .headerMismatch,
                    "Header mismatch: \(header) header value '\(sent[0])' does not match body value \(value.serializedString)"
                )
            }
        }
    }

    /// Whether a decoded header value mirrors `value`: strings as they are, booleans as `true`/`false`, numbers by
    /// value (`42.0` matches `42`).
    private static func header(_ decoded: String, matches value: JSONValue) -> Bool {
        switch value {
        case .string(let string): decoded == string
        case .bool(let flag): decoded == (flag ? "true" : "false")
        case .number(let number): Double(decoded).map { $0 == number.doubleValue } ?? false
        default: false
        }
    }
}
