import GatewayWire

/// The built-in MCP server used by `mcp-gateway serve` with no configuration, by the tests and by the benchmark.
///
/// The protocol logic is shared by the stdio and HTTP runners. Quick methods are answered synchronously; tools that
/// report progress or log are asynchronous and emit notifications before their response.
public struct DemoServer: Sendable {
    public static let name = "mcp-gateway-demo"
    public static let version = "0.1.0"

    /// What handling one message produced.
    public enum Outcome: Sendable {
        case reply([UInt8])
        /// Runs later; `emit` sends notifications related to the request, the return value is the response.
        case later(@Sendable (_ emit: @escaping @Sendable ([UInt8]) async -> Void) async -> [UInt8])
        /// Nothing to send (notifications, responses).
        case none
    }

    public init() {}

    public func handle(_ message: JSONRPCMessage) -> Outcome {
        guard message.kind == .request, let id = message.id, let method = message.method else { return .none }
        switch method {
        case "initialize":
            let requested = message.paramString("protocolVersion")
            let supported = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
            return reply(
                id,
                [
                    "protocolVersion": .string(requested.flatMap { supported.contains($0) ? $0 : nil } ?? supported[0]),
                    "capabilities": [
                        "tools": ["listChanged": false],
                        "resources": ["subscribe": true, "listChanged": false],
                        "prompts": ["listChanged": false],
                        "completions": [:],
                        "logging": [:],
                    ],
                    "serverInfo": ["name": .string(Self.name), "version": .string(Self.version)],
                    "instructions":
                        "A demo server: echo and add numbers, watch progress with slow, emit logs with log.",
                ])
        case "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe":
            return reply(id, [:])
        case "tools/list":
            return reply(id, ["tools": .array(Self.tools)])
        case "tools/call":
            return callTool(id: id, message: message)
        case "resources/list":
            return reply(id, ["resources": .array(Self.resources.map(\.listing))])
        case "resources/templates/list":
            return reply(id, ["resourceTemplates": [Self.greetingTemplate]])
        case "resources/read":
            return readResource(id: id, uri: message.paramString("uri"))
        case "prompts/list":
            return reply(id, ["prompts": .array(Self.prompts)])
        case "prompts/get":
            return getPrompt(id: id, name: message.paramString("name"), arguments: message.paramValue("arguments"))
        case "completion/complete":
            return complete(id: id, message: message)
        default:
            return .reply(
                JSONRPCMessage.encodeError(
                    id: id, code: JSONRPCErrorCode.methodNotFound, message: "Method not found: \(method)"))
        }
    }

    func reply(_ id: JSONRPCID, _ result: JSONValue) -> Outcome {
        .reply(JSONRPCMessage.encodeResponse(id: id, result: result))
    }

    func error(_ id: JSONRPCID, _ code: Int, _ text: String, data: JSONValue? = nil) -> Outcome {
        .reply(JSONRPCMessage.encodeError(id: id, code: code, message: text, data: data))
    }

    static func text(_ text: String, isError: Bool = false) -> JSONValue {
        var result: JSONObject = ["content": [["type": "text", "text": .string(text)]]]
        if isError { result["isError"] = true }
        return .object(result)
    }
}
