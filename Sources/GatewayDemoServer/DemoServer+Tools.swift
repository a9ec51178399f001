import GatewayWire

extension DemoServer {
    static let tools: [JSONValue] = [
        [
            "name": "echo",
            "description": "Returns the text it is given.",
            "inputSchema": ["type": "object", "properties": ["text": ["type": "string"]], "required": ["text"]],
            "annotations": ["readOnlyHint": true, "idempotentHint": true],
        ],
        [
            "name": "add",
            "description": "Adds two numbers.",
            "inputSchema": [
                "type": "object", "properties": ["a": ["type": "number"], "b": ["type": "number"]],
                "required": ["a", "b"],
            ],
            "outputSchema": ["type": "object", "properties": ["sum": ["type": "number"]], "required": ["sum"]],
            "annotations": ["readOnlyHint": true, "idempotentHint": true],
        ],
        [
            "name": "slow",
            "description": "Works for steps × delayMs milliseconds, reporting progress after each step.",
            "inputSchema": [
                "type": "object",
                "properties": [
                    "steps": ["type": "integer", "minimum": 1, "maximum": 100],
                    "delayMs": ["type": "integer", "minimum": 0, "maximum": 10000],
                ],
            ],
        ],
        [
            "name": "log",
            "description": "Sends a log message (notifications/message) to the client, then returns.",
            "inputSchema": [
                "type": "object",
                "properties": [
                    "message": ["type": "string"],
                    "level": ["type": "string", "enum": ["debug", "info", "notice", "warning", "error"]],
                ],
                "required": ["message"],
            ],
        ],
        [
            "name": "fail",
            "description": "Always fails, as a tool execution error (isError: true).",
            "inputSchema": ["type": "object", "properties": ["message": ["type": "string"]]],
        ],
    ]

    func callTool(id: JSONRPCID, message: JSONRPCMessage) -> Outcome {
        guard let name = message.paramString("name") else {
            return error(id, JSONRPCErrorCode.invalidParams, "Invalid params: \"name\" must be a string")
        }
        let arguments = message.paramValue("arguments")?.objectValue ?? [:]
        switch name {
        case "echo":
            guard let text = arguments["text"]?.stringValue else {
                return reply(id, Self.text("echo needs a string argument \"text\"", isError: true))
            }
            return reply(id, Self.text(text))
        case "add":
            guard let a = arguments["a"]?.numberValue?.doubleValue, let b = arguments["b"]?.numberValue?.doubleValue
            else {
                return reply(id, Self.text("add needs numbers \"a\" and \"b\"", isError: true))
            }
            let sum = JSONNumber(a + b)
            return reply(
                id,
                [
                    "content": [["type": "text", "text": .string(sum.lexeme)]],
                    "structuredContent": ["sum": .number(sum)],
                ])
        case "slow":
            let steps = min(max(arguments["steps"]?.numberValue?.intValue ?? 3, 1), 100)
            let delay = min(max(arguments["delayMs"]?.numberValue?.intValue ?? 100, 0), 10_000)
            let token = message.progressTokenRange.map { message.slice($0) }
            return .later { emit in
                for step in 1...steps {
                    try? await Task.sleep(for: .milliseconds(delay))
                    if let token, let tokenValue = try? JSONParser.parse(token) {
                        await emit(
                            JSONRPCMessage.encodeNotification(
                                method: "notifications/progress",
                                params: [
                                    "progressToken": tokenValue, "progress": .number(JSONNumber(step)),
                                    "total": .number(JSONNumber(steps)), "message": .string("step \(step) of \(steps)"),
                                ]
                            )
                        )
                    }
                }
                return JSONRPCMessage.encodeResponse(id: id, result: Self.text("done after \(steps) steps"))
            }
        case "log":
            let text = arguments["message"]?.stringValue ?? ""
            let level = arguments["level"]?.stringValue ?? "info"
            return .later { emit in
                await emit(
                    JSONRPCMessage.encodeNotification(
                        method: "notifications/message",
                        params: ["level": .string(level), "logger": "demo", "data": .string(text)]
                    )
                )
                return JSONRPCMessage.encodeResponse(id: id, result: Self.text("logged at \(level)"))
            }
        case "fail":
            return reply(
                id, Self.text(arguments["message"]?.stringValue ?? "the fail tool always fails", isError: true))
        default:
            return error(id, JSONRPCErrorCode.invalidParams, "Unknown tool: \(name)")
        }
    }
}
