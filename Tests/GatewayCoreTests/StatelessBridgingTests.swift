import GatewayWire
import Testing

@testable import GatewayCore

@Suite("2026-07-28 clients over session-based upstreams")
struct StatelessBridgingTests {
    private func request(_ text: String) throws -> UpstreamRequest {
        var request = UpstreamRequest(
            .forward(try JSONRPCMessage.parse(Array(text.utf8)), edits: []),
            owner: "principal:test",
            idleTimeout: .seconds(1),
            maxDuration: .seconds(1)
        )
        request.bridgesStatelessClient = true
        return request
    }

    @Test("the per-request _meta members are left out upstream; the progress token is replaced, the rest kept")
    func metaStripped() throws {
        let request = try request(
            #"{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},"#
                + #""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","#
                + #""io.modelcontextprotocol/clientCapabilities":{},"progressToken":"p","trace":1}}}"#)
        let sent = try JSONParser.parse(request.encoded(upstreamID: 7))
        #expect(sent["id"] == 7)
        #expect(sent["params"]?["_meta"] == ["progressToken": 7, "trace": 1])
        #expect(sent["params"]?["arguments"] == ["text": "x"])
    }

    @Test("results gain resultType (and caching hints for resources/read) unless the upstream wrote them")
    func resultDecorated() throws {
        let call = try request(#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"a"}}"#)
        let answer = try JSONRPCMessage.parse(Array(#"{"jsonrpc":"2.0","id":7,"result":{"content":[]}}"#.utf8))
        #expect(
            String(decoding: call.restoring(answer), as: UTF8.self)
                == #"{"jsonrpc":"2.0","id":3,"result":{"resultType":"complete","content":[]}}"#)
        let read = try request(#"{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"u"}}"#)
        let empty = try JSONRPCMessage.parse(Array(#"{"jsonrpc":"2.0","id":8,"result":{}}"#.utf8))
        #expect(
            try JSONParser.parse(read.restoring(empty))["result"]
                == ["resultType": "complete", "ttlMs": 0, "cacheScope": "private"])
        let typed = try JSONRPCMessage.parse(
            Array(#"{"jsonrpc":"2.0","id":7,"result":{"resultType":"input_required","requestState":"s"}}"#.utf8))
        #expect(try JSONParser.parse(call.restoring(typed))["result"]?["resultType"] == "input_required")
        let failure = try JSONRPCMessage.parse(
            Array(#"{"jsonrpc":"2.0","id":7,"error":{"code":-1,"message":"m"}}"#.utf8))
        #expect(
            String(decoding: call.restoring(failure), as: UTF8.self)
                == #"{"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"m"}}"#)
    }

    @Test("resource subscriptions are counted: upstream hears only the first subscribe and the last unsubscribe")
    func subscriptionCounts() {
        let subscriptions = ResourceSubscriptions()
        #expect(subscriptions.acquire(server: "s", uri: "u"))
        #expect(!subscriptions.acquire(server: "s", uri: "u"))
        #expect(subscriptions.uris(of: "s") == ["u"])
        #expect(!subscriptions.release(server: "s", uri: "u"))
        #expect(subscriptions.release(server: "s", uri: "u"))
        #expect(!subscriptions.release(server: "s", uri: "u"))
        #expect(subscriptions.uris(of: "s").isEmpty)
    }
}
