import Testing

@testable import GatewayWire

@Suite("JSON-RPC envelope")
struct JSONRPCMessageTests {
    func parse(_ text: String) throws -> JSONRPCMessage { try JSONRPCMessage.parse(Array(text.utf8)) }

    func decodingError(_ text: String) -> JSONRPCDecodingError? {
        #expect(throws: JSONRPCDecodingError.self) { try parse(text) }
    }

    @Test("requests, notifications and responses are told apart")
    func kinds() throws {
        let request = try parse(#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo"}}"#)
        #expect(request.kind == .request)
        #expect(request.id == JSONRPCID(7))
        #expect(request.method == "tools/call")
        #expect(request.paramString("name") == "echo")
        #expect(try parse(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).kind == .notification)
        #expect(try parse(#"{"jsonrpc":"2.0","id":"a","result":{}}"#).kind == .response)
        let error = try parse(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#)
        #expect(error.kind == .errorResponse)
        #expect(error.id == nil)
    }

    @Test("ids are kept exactly as written", arguments: ["9007199254740993", "1.5", "-0", "\"x\\u0041\"", "1e3"])
    func idsKeptExactly(id: String) throws {
        let message = try parse(#"{"jsonrpc":"2.0","id":\#(id),"method":"ping"}"#)
        #expect(message.id?.description == id)
        let reply = JSONRPCMessage.encodeResponse(id: message.id!, result: Array("{}".utf8))
        #expect(String(decoding: reply, as: UTF8.self) == #"{"jsonrpc":"2.0","id":\#(id),"result":{}}"#)
    }

    @Test("bad envelopes get the JSON-RPC code the spec names")
    func badEnvelopes() {
        #expect(decodingError("not json")?.code == JSONRPCErrorCode.parseError)
        #expect(decodingError(#"{"jsonrpc":"2.0","id":1,"method":"x""#)?.code == JSONRPCErrorCode.parseError)
        #expect(decodingError("[]")?.code == JSONRPCErrorCode.invalidRequest)
        #expect(decodingError("\"text\"")?.code == JSONRPCErrorCode.invalidRequest)
        #expect(decodingError(#"{"jsonrpc":"1.0","id":1,"method":"x"}"#)?.id == JSONRPCID(1))
        #expect(decodingError(#"{"jsonrpc":"2.0","id":1}"#)?.code == JSONRPCErrorCode.invalidRequest)
        #expect(decodingError(#"{"jsonrpc":"2.0","id":null,"method":"x"}"#)?.code == JSONRPCErrorCode.invalidRequest)
        #expect(decodingError(#"{"jsonrpc":"2.0","id":{},"method":"x"}"#)?.code == JSONRPCErrorCode.invalidRequest)
        #expect(decodingError(#"{"jsonrpc":"2.0","id":1,"method":5}"#)?.code == JSONRPCErrorCode.invalidRequest)
        #expect(
            decodingError(#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#)?.code == JSONRPCErrorCode.invalidParams)
        #expect(
            decodingError(#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#)?.code
                == JSONRPCErrorCode.invalidParams)
        #expect(
            decodingError(#"{"jsonrpc":"2.0","id":1,"result":1,"error":{}}"#)?.code == JSONRPCErrorCode.invalidRequest)
        #expect(
            decodingError(#"{"jsonrpc":"2.0","id":1,"method":"a","method":"b"}"#)?.code
                == JSONRPCErrorCode.invalidRequest)
        let deep = #"{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"# + String(repeating: "[", count: 500)
        #expect(decodingError(deep)?.code == JSONRPCErrorCode.invalidRequest)
    }

    @Test("params and _meta members are indexed; splices touch only their ranges")
    func splicing() throws {
        let text =
            #"{ "jsonrpc" : "2.0", "id" : "c-1", "method":"tools/call", "params" : { "name" : "fs__read", "#
            + #""arguments":{"path":"/x","n":1.0}, "_meta": {"progressToken": "tok"} } }"#
        let message = try parse(text)
        #expect(message.paramString("name") == "fs__read")
        #expect(message.progressTokenRange.map { message.slice($0) } == Array(#""tok""#.utf8))
        let edits = [
            message.replacingID(with: JSONRPCID(42))!,
            ByteEdit(range: message.param("name")!, replacement: JSONValue.quoted("read")),
            ByteEdit(range: message.progressTokenRange!, replacement: Array("9".utf8)),
        ]
        let rewritten = String(decoding: message.splicing(edits), as: UTF8.self)
        let expected =
            #"{ "jsonrpc" : "2.0", "id" : 42, "method":"tools/call", "params" : { "name" : "read", "#
            + #""arguments":{"path":"/x","n":1.0}, "_meta": {"progressToken": 9} } }"#
        #expect(rewritten == expected)
    }

    @Test("an identity splice of any random message leaves it byte-identical")
    func identitySpliceProperty() throws {
        var random = RandomJSON(seed: 42)
        for round in 0..<500 {
            var bytes: [UInt8] = []
            let arguments = random.value()
            bytes += Array(#"{"jsonrpc":"2.0","id":"#.utf8) + Array(String(round).utf8)
            bytes += Array(#","method":"tools/call","params":{"name":"x","arguments":"#.utf8)
            random.write(arguments, into: &bytes)
            bytes += Array(#","_meta":{"progressToken":"#.utf8)
            random.write(.string(random.string()), into: &bytes)
            bytes += Array("}}}".utf8)
            let message = try JSONRPCMessage.parse(bytes)
            let same = [
                message.replacingID(with: message.id!)!,
                ByteEdit(range: message.param("arguments")!, replacement: message.slice(message.param("arguments")!)),
                ByteEdit(range: message.progressTokenRange!, replacement: message.slice(message.progressTokenRange!)),
            ]
            #expect(message.splicing(same) == bytes)
            #expect(message.paramValue("arguments") == arguments)
        }
    }

    @Test("batches decode element by element")
    func batches() throws {
        let payload = try JSONRPCPayload.parse(Array(#" [{"jsonrpc":"2.0","id":1,"method":"ping"}, 5]"#.utf8))
        guard case .batch(let elements) = payload else {
            Issue.record("expected a batch")
            return
        }
        #expect(elements.count == 2)
        #expect((try? elements[0].get())?.method == "ping")
        #expect(throws: JSONRPCDecodingError.self) { try elements[1].get() }
        #expect(throws: JSONRPCDecodingError.self) { try JSONRPCPayload.parse(Array("[]".utf8)) }
    }

    @Test("error responses encode data and escape messages")
    func errorEncoding() throws {
        let bytes = JSONRPCMessage.encodeError(
            id: nil, code: -32602, message: "Unknown tool: \"x\"", data: ["server": "a"])
        let message = try JSONRPCMessage.parse(bytes)
        #expect(message.kind == .errorResponse)
        #expect(message.error?["message"] == "Unknown tool: \"x\"")
        #expect(message.error?["data"]?["server"] == "a")
    }
}
