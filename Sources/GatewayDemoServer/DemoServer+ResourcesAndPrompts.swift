import GatewayWire

extension DemoServer {
    struct Resource {
        let uri: String
        let name: String
        let mimeType: String
        let text: String

        var listing: JSONValue {
            ["uri": .string(uri), "name": .string(name), "mimeType": .string(mimeType)]
        }
    }

    static let resources = [
        Resource(
            uri: "demo://readme", name: "readme", mimeType: "text/markdown",
            text: "# Demo\nThe gateway's built-in demo server."),
        Resource(uri: "demo://config.json", name: "config", mimeType: "application/json", text: #"{"demo":true}"#),
    ]

    static let greetingTemplate: JSONValue = [
        "uriTemplate": "demo://greeting/{name}", "name": "greeting", "mimeType": "text/plain",
        "description": "A greeting for anyone.",
    ]

    static let names = ["Ada", "Alan", "Grace", "Linus", "Margaret"]

    static let prompts: [JSONValue] = [
        [
            "name": "greet", "description": "Asks for a greeting.",
            "arguments": [["name": "name", "description": "Who to greet", "required": true]],
        ],
        [
            "name": "review", "description": "Asks for a code review.",
            "arguments": [["name": "code", "required": true], ["name": "language", "required": false]],
        ],
    ]

    func readResource(id: JSONRPCID, uri: String?) -> Outcome {
        guard let uri else {
            return error(id, JSONRPCErrorCode.invalidParams, "Invalid params: \"uri\" must be a string")
        }
        if let resource = Self.resources.first(where: { $0.uri == uri }) {
            return reply(
                id,
                [
                    "contents": [
                        ["uri": .string(uri), "mimeType": .string(resource.mimeType), "text": .string(resource.text)]
                    ]
                ])
        }
        let prefix = "demo://greeting/"
        if uri.hasPrefix(prefix), uri.count > prefix.count {
            let name = uri.dropFirst(prefix.count).removingPercentEncodingIfPossible
            return reply(
                id, ["contents": [["uri": .string(uri), "mimeType": "text/plain", "text": .string("Hello, \(name)!")]]])
        }
        return error(id, JSONRPCErrorCode.resourceNotFound, "Resource not found: \(uri)", data: ["uri": .string(uri)])
    }

    func getPrompt(id: JSONRPCID, name: String?, arguments: JSONValue?) -> Outcome {
        let arguments = arguments?.objectValue ?? [:]
        func message(_ text: String) -> Outcome {
            reply(id, ["messages": [["role": "user", "content": ["type": "text", "text": .string(text)]]]])
        }
        switch name {
        case "greet":
            guard let who = arguments["name"]?.stringValue else {
                return error(id, JSONRPCErrorCode.invalidParams, "Missing required argument: name")
            }
            return message("Please write a short, warm greeting for \(who).")
        case "review":
            guard let code = arguments["code"]?.stringValue else {
                return error(id, JSONRPCErrorCode.invalidParams, "Missing required argument: code")
            }
            let language = arguments["language"]?.stringValue.map { " (\($0))" } ?? ""
            return message("Please review this code\(language):\n\(code)")
        default:
            return error(id, JSONRPCErrorCode.invalidParams, "Unknown prompt: \(name ?? "")")
        }
    }

    func complete(id: JSONRPCID, message: JSONRPCMessage) -> Outcome {
        let ref = message.paramValue("ref")
        let argument = message.paramValue("argument")
        let known =
            (ref?["type"] == "ref/prompt" && ref?["name"] == "greet")
            || (ref?["type"] == "ref/resource" && ref?["uri"] == "demo://greeting/{name}")
        guard known, argument?["name"] == "name" else {
            return reply(id, ["completion": ["values": [], "hasMore": false]])
        }
        let typed = argument?["value"]?.stringValue?.lowercased() ?? ""
        let values = Self.names.filter { $0.lowercased().hasPrefix(typed) }
        return reply(
            id,
            [
                "completion": [
                    "values": .array(values.map { .string($0) }), "total": .number(JSONNumber(values.count)),
                    "hasMore": false,
                ]
            ])
    }
}

extension Substring {
    /// Decodes `%XX` escapes when they form valid UTF-8; otherwise returns the text unchanged.
    var removingPercentEncodingIfPossible: String {
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self) ?? String(self)
    }
}
