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

    /// Whether the client may call `tool`: the server's filter and the policy allow it, the server lists it (once
    /// it was seen listing), and for 2026-07-28 clients its header annotations are valid.
    func isCallable(_ tool: String, on server: UpstreamServer, context: MCPRequestContext) -> Bool {
        guard server.configuration.tools.permits(tool),
            policy.allows(context.identity, server: server.name, tool: tool)
        else { return false }
        return !server.catalog.withLock {
            $0.tools.lacks(tool) || (context.era == .modern && $0.toolContracts[tool]?.annotationProblem != nil)
        }
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
        // The arguments are parsed only when there is a schema to check them against.
        guard server.configuration.validatesToolArguments, let contract = contract(of: tool, on: server),
            contract.schema != nil
        else { return nil }
        guard let violation = contract.violation(of: message.paramValue("arguments")) else { return nil }
        var result: JSONObject = [
            "content": [["type": "text", "text": .string("Invalid arguments for tool \(name): \(violation)")]],
            "isError": true,
        ]
        if context.era == .modern { result["resultType"] = "complete" }
        return .response(JSONRPCMessage.encodeResponse(id: message.id!, result: JSONValue.object(result).serialized()))
    }

    /// 2026-07-28: every mirrored argument present in the body has its header with the same value, and no header
    /// names an argument the body does not carry. Tools the gateway does not know, the client may not call, or that
    /// mirror nothing, pass (the call itself then refuses what it must).
    public func checkMirroredParameters(_ message: JSONRPCMessage, context: MCPRequestContext)
        async throws(GatewayError)
    {
        guard message.method == "tools/call", let name = message.paramString("name"),
            let (server, tool) = try? await resolve(.tool, name: name, context: context)
        else { return }
        await learnNamesIfNeeded(.tools, of: server, context: context)
        // A tool the client may not call is refused as unknown by the call itself, saying nothing of its schema.
        guard isCallable(tool, on: server, context: context),
            let mirrored = contract(of: tool, on: server)?.mirrored, !mirrored.isEmpty
        else { return }
        let arguments = message.paramValue("arguments")
        for parameter in mirrored {
            let header = "Mcp-Param-\(parameter.name)"
            let sent = context.mirroredParameters[parameter.name.lowercased()] ?? []
            let argument = "arguments.\(parameter.path.joined(separator: "."))"
            // Only a value a client can render is mirrored: a string, number or boolean.
            guard let value = parameter.value(in: arguments), value.objectValue == nil, value.arrayValue == nil else {
                guard sent.isEmpty else {
                    throw GatewayError(
                        .headerMismatch, "Header mismatch: \(header) is sent but \(argument) has no value to mirror")
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
            guard Self.header(decoded, matches: value, kind: parameter.kind) else {
                throw GatewayError(
                    .headerMismatch,
                    "Header mismatch: \(header) header value '\(sent[0])' does not match body value \(value.serializedString)"
                )
            }
        }
    }

    /// The `Mcp-Param-*` headers a 2026-07-28 upstream gets for the call's mirrored arguments, header-encoded.
    func mirroredHeaders(of message: JSONRPCMessage, tool: String, on server: UpstreamServer)
        -> [(name: String, value: String)]
    {
        guard let mirrored = contract(of: tool, on: server)?.mirrored, !mirrored.isEmpty else { return [] }
        let arguments = message.paramValue("arguments")
        return mirrored.compactMap { parameter in
            switch parameter.value(in: arguments) {
            case .string(let text): (parameter.name, MirroredHeaderValue.encode(text))
            case .number(let number): (parameter.name, number.lexeme)
            case .bool(let flag): (parameter.name, flag ? "true" : "false")
            default: nil
            }
        }
    }

    /// Whether a decoded header value mirrors `value` as a client renders it: a string as it is (compared scalar by
    /// scalar, not by Unicode equivalence), a boolean as `true`/`false`, a number by its text; for an integer
    /// property, a canonical decimal header (`42`, `42.0`) equal to an integral body value matches too, compared
    /// exactly, digit by digit.
    private static func header(_ decoded: String, matches value: JSONValue, kind: MirroredParameter.Kind) -> Bool {
        switch value {
        case .string(let string):
            return Array(decoded.unicodeScalars) == Array(string.unicodeScalars)
        case .bool(let flag):
            return decoded == (flag ? "true" : "false")
        case .number(let number):
            if decoded == number.lexeme { return true }
            guard kind == .integer, let header = integerDigits(decoded), let body = integerDigits(number.lexeme) else {
                return false
            }
            return header == body
        default:
            return false
        }
    }

    /// The integer a canonical decimal (`-?[0-9]+(\.0+)?`) stands for, as normalised digits; `nil` for any other text.
    private static func integerDigits(_ text: String) -> String? {
        var rest = Substring(text)
        let negative = rest.first == "-"
        if negative { rest = rest.dropFirst() }
        let whole = rest.prefix { $0.isASCII && $0.isNumber }
        let fraction = rest.dropFirst(whole.count)
        guard !whole.isEmpty else { return nil }
        if !fraction.isEmpty {
            guard fraction.first == ".", fraction.count > 1, fraction.dropFirst().allSatisfy({ $0 == "0" }) else {
                return nil
            }
        }
        let digits = whole.drop { $0 == "0" }
        return digits.isEmpty ? "0" : (negative ? "-" : "") + digits
    }
}
