import GatewayWire
import Logging
import Synchronization
import Testing

@testable import GatewayCore

/// A server with one tool per schema, named by the key, that answers every call.
private func schemaServer(_ tools: [(String, JSONValue)]) -> FakeUpstream.Handler {
    { method, _ throws(GatewayError) in
        switch method {
        case "tools/list":
            return ["tools": .array(tools.map { ["name": .string($0.0), "inputSchema": $0.1] })]
        case "tools/call":
            return ["content": [["type": "text", "text": "ran"]]]
        default:
            throw GatewayError(.methodNotFound, "Method not found: \(method)")
        }
    }
}

private let forecast: JSONValue = try! JSONParser.parse(
    #"{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":14},"region":{"type":"string","x-mcp-header":"Region"},"opts":{"type":"object","properties":{"metric":{"type":"boolean","x-mcp-header":"Metric"}}}},"required":["city"],"additionalProperties":false}"#
)

private func modernContext(_ headers: [String: [String]] = [:]) -> MCPRequestContext {
    var context = MCPRequestContext(
        identity: .anonymous, scope: .aggregate, protocolVersion: "2026-07-28", session: nil,
        clientCapabilities: [:], logger: Logger(label: "test"))
    context.mirroredParameters = headers
    return context
}

private func call(_ arguments: String, tool: String = "w__forecast") -> String {
    #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"\#(tool)","arguments":\#(arguments)}}"#
}

@Suite("Tool arguments: inputSchema and mirrored headers")
struct ToolArgumentTests {
    @Test("arguments that break the schema are a tool error naming the argument, and never reach the server")
    func schemaViolation() async throws {
        let upstream = FakeUpstream("w", handler: schemaServer([("forecast", forecast)]))
        let router = makeRouter([("w", nil, upstream)])
        let reply = try await router.call(call(#"{"city":"Oslo","days":15}"#))
        #expect(reply.result?["isError"] == true)
        let text = reply.result?["content"]?.arrayValue?.first?["text"]?.stringValue
        #expect(text == "Invalid arguments for tool w__forecast: /days: must be at most 14")
        #expect(upstream.received.withLock { $0.allSatisfy { $0.method != "tools/call" } })

        let missing = try await router.call(
            #"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"w__forecast"}}"#)
        #expect(
            missing.result?["content"]?.arrayValue?.first?["text"]?.stringValue?.hasSuffix(
                #"missing required property "city""#) == true)

        let fine = try await router.call(call(#"{"city":"Oslo","days":3}"#))
        #expect(fine.result?["content"]?.arrayValue?.first?["text"] == "ran")
        #expect(upstream.lastRequest?.method == "tools/call")
    }

    @Test("a 2026-07-28 refusal is a complete result")
    func modernRefusal() async throws {
        let router = makeRouter([("w", nil, FakeUpstream("w", handler: schemaServer([("forecast", forecast)])))])
        let reply = try await router.call(call(#"{"city":3}"#), modernContext())
        #expect(reply.result?["isError"] == true)
        #expect(reply.result?["resultType"] == "complete")
    }

    @Test("tools.validateArguments: false forwards what the client sent")
    func validationOff() async throws {
        let upstream = FakeUpstream("w", handler: schemaServer([("forecast", forecast)]))
        let router = makeRouter([("w", nil, upstream)]) { $0.validatesToolArguments = false }
        let reply = try await router.call(call(#"{"city":3}"#))
        #expect(reply.result?["content"]?.arrayValue?.first?["text"] == "ran")
    }

    @Test("a schema the gateway cannot compile leaves the call to the server")
    func uncompilableSchema() async throws {
        // Compiled, the schema would refuse the call (no "b"); uncompiled, the server judges.
        let odd: JSONValue = [
            "type": "object", "required": ["b"], "properties": ["a": ["$ref": "https://example.com/a.json"]],
        ]
        let upstream = FakeUpstream("w", handler: schemaServer([("odd", odd)]))
        let router = makeRouter([("w", nil, upstream)])
        let reply = try await router.call(call(#"{"a":1}"#, tool: "w__odd"))
        #expect(reply.result?["content"]?.arrayValue?.first?["text"] == "ran")
    }

    @Test("a tool whose x-mcp-header annotations are invalid is hidden from 2026-07-28 clients only")
    func invalidAnnotations() async throws {
        let nested: JSONValue = [
            "type": "object",
            "properties": ["list": ["type": "array", "items": ["type": "string", "x-mcp-header": "X"]]],
        ]
        let router = makeRouter([
            ("w", nil, FakeUpstream("w", handler: schemaServer([("forecast", forecast), ("bad", nested)])))
        ])
        let listing = #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#
        let modern = try await router.call(listing, modernContext())
        #expect(modern.result?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["w__forecast"])
        let refused = try await router.call(call("{}", tool: "w__bad"), modernContext())
        #expect(refused.error?["code"] == -32602)
        // The annotation means nothing to the session-based revisions: their clients keep the tool.
        let legacy = try await router.call(listing)
        #expect(
            legacy.result?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["w__forecast", "w__bad"])
        let served = try await router.call(call("{}", tool: "w__bad"))
        #expect(served.result?["content"]?.arrayValue?.first?["text"] == "ran")
    }

    @Test("null arguments count as none, and JSON in a string counts as the value it spells, as servers read them")
    func serverReadings() async throws {
        let router = makeRouter([("w", nil, FakeUpstream("w", handler: schemaServer([("forecast", forecast)])))])
        let null = try await router.call(
            #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"w__forecast","arguments":null}}"#)
        #expect(
            null.result?["content"]?.arrayValue?.first?["text"]?.stringValue?.hasSuffix(
                #"missing required property "city""#) == true)
        let stringified = try await router.call(call(#"{"city":"Oslo","days":"3","opts":"{\"metric\":true}"}"#))
        #expect(stringified.result?["content"]?.arrayValue?.first?["text"] == "ran")
        let stillWrong = try await router.call(call(#"{"city":"Oslo","days":"30"}"#))
        #expect(stillWrong.result?["isError"] == true)
    }

    @Test(
        "x-mcp-header is valid only on primitive properties reached through properties, with unique token names",
        arguments: [
            (#"{"properties":{"a":{"type":"string","x-mcp-header":"A"}}}"#, true),
            (#"{"properties":{"a":{"type":"object","properties":{"b":{"type":"integer","x-mcp-header":"B"}}}}}"#, true),
            (#"{"properties":{"a":{"type":"number","x-mcp-header":"A"}}}"#, false),
            (#"{"properties":{"a":{"x-mcp-header":"A"}}}"#, false),
            (#"{"properties":{"a":{"type":"string","x-mcp-header":""}}}"#, false),
            (#"{"properties":{"a":{"type":"string","x-mcp-header":"A B"}}}"#, false),
            (
                #"{"properties":{"a":{"type":"string","x-mcp-header":"A"},"b":{"type":"string","x-mcp-header":"a"}}}"#,
                false
            ),
            (#"{"anyOf":[{"properties":{"a":{"type":"string","x-mcp-header":"A"}}}]}"#, false),
            (#"{"$defs":{"a":{"type":"string","x-mcp-header":"A"}}}"#, false),
            (#"{"type":"string","x-mcp-header":"Root"}"#, false),
            (#"{"properties":{"x-mcp-header":{"type":"string"}}}"#, true),
        ])
    func annotationRules(_ schema: String, _ valid: Bool) throws {
        let parameters = try? MirroredParameter.all(in: JSONParser.parse(schema))
        #expect((parameters != nil) == valid)
    }

    @Test("2026-07-28: every mirrored argument in the body needs its Mcp-Param header with the same value")
    func mirroredHeaders() async throws {
        let router = makeRouter([("w", nil, FakeUpstream("w", handler: schemaServer([("forecast", forecast)])))])
        func check(_ arguments: String, _ headers: [String: [String]]) async throws -> String? {
            do throws(GatewayError) {
                try await router.checkMirroredParameters(
                    try! JSONRPCMessage.parse(Array(call(arguments).utf8)), context: modernContext(headers))
                return nil
            } catch {
                #expect(error.code == .headerMismatch)
                return error.message
            }
        }
        #expect(try await check(#"{"city":"Oslo"}"#, [:]) == nil)
        #expect(try await check(#"{"city":"Oslo","region":null}"#, [:]) == nil)
        #expect(
            try await check(#"{"region":"eu-1","opts":{"metric":true}}"#, ["region": ["eu-1"], "metric": ["true"]])
                == nil)
        #expect(try await check(#"{"region":"Zürich"}"#, ["region": ["=?base64?WsO8cmljaA==?="]]) == nil)
        #expect(
            try await check(#"{"region":"eu-1"}"#, [:])
                == "Header mismatch: the Mcp-Param-Region header is required, arguments.region is present")
        #expect(
            try await check(#"{"region":"eu-1"}"#, ["region": ["us-1"]])
                == #"Header mismatch: Mcp-Param-Region header value 'us-1' does not match body value "eu-1""#)
        #expect(try await check(#"{"city":"Oslo"}"#, ["metric": ["false"]]) != nil)
        #expect(try await check(#"{"opts":{"metric":false}}"#, ["metric": ["true"]]) != nil)
        #expect(try await check(#"{"region":"eu-1"}"#, ["region": ["eu-1", "eu-1"]]) != nil)
        #expect(try await check(#"{"region":"eu-1"}"#, ["region": ["=?base64?!!?="]]) != nil)
        // Headers for arguments the tool does not mirror are not the gateway's business.
        #expect(try await check(#"{"city":"Oslo"}"#, ["other": ["x"]]) == nil)
    }

    @Test("integers compare by value")
    func integerHeaders() async throws {
        let schema: JSONValue = ["type": "object", "properties": ["n": ["type": "integer", "x-mcp-header": "N"]]]
        let router = makeRouter([("w", nil, FakeUpstream("w", handler: schemaServer([("count", schema)])))])
        let message = try JSONRPCMessage.parse(Array(call(#"{"n":42.0}"#, tool: "w__count").utf8))
        try await router.checkMirroredParameters(message, context: modernContext(["n": ["42"]]))
        await #expect(throws: GatewayError.self) {
            try await router.checkMirroredParameters(message, context: modernContext(["n": ["41"]]))
        }
    }
}
