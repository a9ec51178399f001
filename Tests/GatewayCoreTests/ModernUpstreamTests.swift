import Foundation
import GatewayWire
import Logging
import Synchronization
import Testing

@testable import GatewayCore

/// 2026-07-28 upstreams: the per-request `_meta` the gateway writes for them, the listen interest that replaces
/// `resources/subscribe`, and both directions of `input_required` through the router.
@Suite("2026-07-28 upstreams")
struct ModernUpstreamTests {
    private func forward(_ text: String) throws -> UpstreamRequest {
        UpstreamRequest(
            .forward(try JSONRPCMessage.parse(Array(text.utf8)), edits: []), owner: "s1", idleTimeout: .seconds(1),
            maxDuration: .seconds(1))
    }

    @Test("a session client's request gets the version, its capabilities, the gateway as client and its log level")
    func sessionClientMeta() throws {
        var request = try forward(
            #"{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"t","_meta":{"progressToken":"p","x":1}}}"#
        )
        request.modern.clientCapabilities = ["sampling": [:]]
        request.modern.logLevel = .warning
        let sent = try JSONParser.parse(request.encoded(upstreamID: 9, era: .modern))
        #expect(sent["id"] == 9)
        #expect(
            sent["params"]?["_meta"]
                == [
                    "progressToken": 9, "x": 1, "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": ["sampling": [:]],
                    "io.modelcontextprotocol/clientInfo": UpstreamRequest.gatewayClientInfo,
                    "io.modelcontextprotocol/logLevel": "warning",
                ])
        // Without a _meta of its own, one is inserted, and the rest of the params stay as they were.
        let bare = try forward(#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p"}}"#)
        let inserted = try JSONParser.parse(bare.encoded(upstreamID: 3, era: .modern))
        #expect(inserted["params"]?["name"] == "p")
        #expect(inserted["params"]?["_meta"]?["io.modelcontextprotocol/clientCapabilities"] == [:])
        #expect(inserted["params"]?["_meta"]?["io.modelcontextprotocol/logLevel"] == nil)
        // The session-based encoding is untouched.
        #expect(try JSONParser.parse(bare.encoded(upstreamID: 3))["params"] == ["name": "p"])
    }

    @Test("a 2026-07-28 client's own _meta goes to a 2026-07-28 upstream as it wrote it, with the gateway's token")
    func statelessClientMeta() throws {
        var request = try forward(
            #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":{"#
                + #""io.modelcontextprotocol/protocolVersion":"2026-07-28","#
                + #""io.modelcontextprotocol/clientCapabilities":{"roots":{}},"#
                + #""io.modelcontextprotocol/logLevel":"error","progressToken":5}}}"#)
        request.bridgesStatelessClient = true
        let meta = try JSONParser.parse(request.encoded(upstreamID: 2, era: .modern))["params"]?["_meta"]
        #expect(meta?["io.modelcontextprotocol/clientCapabilities"] == ["roots": [:]])
        #expect(meta?["io.modelcontextprotocol/logLevel"] == "error")
        #expect(meta?["io.modelcontextprotocol/clientInfo"] == nil)
        #expect(meta?["progressToken"] == 2)
    }

    @Test("a server/discover result is a handshake only with a version the gateway speaks statelessly")
    func discoverHandshake() {
        let result: JSONValue = [
            "supportedVersions": ["2026-07-28"], "capabilities": ["tools": [:]],
            "_meta": ["io.modelcontextprotocol/serverInfo": ["name": "s"]],
        ]
        let handshake = UpstreamHandshake(discoverResult: result)
        #expect(handshake?.era == .modern)
        #expect(handshake?.serverInfo?["name"] == "s")
        #expect(UpstreamHandshake(discoverResult: ["supportedVersions": ["2027-01-01"], "capabilities": [:]]) == nil)
        #expect(UpstreamHandshake(discoverResult: ["capabilities": [:]]) == nil)
    }

    @Test("subscribe and unsubscribe change the listen interest; the listen asks for every list the server has")
    func listenInterest() throws {
        let interest = UpstreamListenInterest()
        #expect(interest.listenParams(capabilities: [:]).params == nil)
        var subscribe = try forward(
            #"{"jsonrpc":"2.0","id":4,"method":"resources/subscribe","params":{"uri":"pfx+u://a"}}"#)
        subscribe.modern.name = "u://a"
        guard case .response(let answer) = try #require(interest.absorb(subscribe)) else {
            Issue.record("no plain answer")
            return
        }
        #expect(try JSONParser.parse(answer) == ["jsonrpc": "2.0", "id": 4, "result": [:]])
        let params = interest.listenParams(capabilities: ["tools": ["listChanged": false], "resources": [:]]).params
        #expect(
            params == [
                "notifications": [
                    "toolsListChanged": true, "resourcesListChanged": true, "resourceSubscriptions": ["u://a"],
                ]
            ])
        let unsubscribe = UpstreamRequest(
            .synthesized(method: "resources/unsubscribe", params: ["uri": "u://a"]), owner: "gateway",
            idleTimeout: .seconds(1), maxDuration: .seconds(1))
        _ = interest.absorb(unsubscribe)
        #expect(
            interest.listenParams(capabilities: ["resources": [:]]).params
                == ["notifications": ["resourcesListChanged": true]]
        )
        #expect(interest.absorb(try forward(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#)) == nil)
    }

    @Test("waiting for a change survives cancelled waits, so a listen is reissued after any number of restarts")
    func changeWaits() async throws {
        let interest = UpstreamListenInterest()
        let version = interest.listenParams(capabilities: [:]).version
        for _ in 0..<3 {
            let cancelled = Task { await interest.change(after: version) }
            cancelled.cancel()
            #expect(await cancelled.value == false)
        }
        let waiting = Task { await interest.change(after: version) }
        let subscribe = UpstreamRequest(
            .synthesized(method: "resources/subscribe", params: ["uri": "u://x"]), owner: "gateway",
            idleTimeout: .seconds(1), maxDuration: .seconds(1))
        _ = interest.absorb(subscribe)
        #expect(await waiting.value)
        let now = interest.listenParams(capabilities: [:]).version
        #expect(now == version + 1)
        // Subscribing again changes nothing, so a wait from the current version would go on.
        _ = interest.absorb(subscribe)
        #expect(interest.listenParams(capabilities: [:]).version == now)
        interest.finish()
        #expect(await interest.change(after: now) == false)
    }

    @Test("a session client's own requestState or inputResponses is refused, never forwarded")
    func sessionClientStateRefused() async throws {
        let upstream = Self.askingServer()
        let router = makeRouter([("m", nil, upstream)])
        let session = try router.sessions.create(
            identity: .anonymous, scope: .aggregate, protocolVersion: "2025-11-25", clientCapabilities: [:],
            clientInfo: nil)
        let context = MCPRequestContext(session: session, logger: Logger(label: "test"))
        for extra in [#""requestState":"upstream-state""#, #""inputResponses":{}"#] {
            let answer = try await router.call(
                #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"m__ask",\#(extra)}}"#, context)
            #expect(answer.error?["code"] == -32602)
        }
        #expect(upstream.received.withLock { $0.filter { $0.method == "tools/call" } }.isEmpty)
    }

    @Test("header values: visible ASCII as written, anything else (or sentinel-like text) in the base64 form")
    func headerValues() {
        #expect(MirroredHeaderValue.encode("eu-west") == "eu-west")
        for value in ["Zürich", " padded", "=?base64?abc?=", "line\nbreak"] {
            let encoded = MirroredHeaderValue.encode(value)
            #expect(encoded.hasPrefix("=?base64?"))
            #expect(MirroredHeaderValue.decode(encoded) == value)
        }
    }

    // MARK: input_required both ways, through the router

    /// A 2026-07-28 tool server whose `ask` tool answers `input_required` until the retry brings the answer.
    private static func askingServer() -> FakeUpstream {
        FakeUpstream("modern", era: .modern) { method, params throws(GatewayError) in
            switch method {
            case "tools/list":
                return ["tools": [["name": "ask", "inputSchema": ["type": "object"]]]]
            case "tools/call" where params?["requestState"] == nil:
                return [
                    "resultType": "input_required", "requestState": "upstream-state",
                    "inputRequests": ["q": ["method": "roots/list"]],
                ]
            case "tools/call":
                guard params?["requestState"] == "upstream-state" else {
                    throw GatewayError(.invalidParams, "bad state")
                }
                let roots = params?["inputResponses"]?["q"]?["roots"] ?? .null
                return [
                    "resultType": "complete", "content": [["type": "text", "text": .string(roots.serializedString)]],
                ]
            default:
                throw GatewayError(.methodNotFound, method)
            }
        }
    }

    @Test("a session client is asked on the call's stream and the call is retried with its answer and the state")
    func sessionClientOverModernUpstream() async throws {
        let upstream = Self.askingServer()
        let router = makeRouter([("m", nil, upstream)])
        let session = try router.sessions.create(
            identity: .anonymous, scope: .aggregate, protocolVersion: "2025-11-25",
            clientCapabilities: ["roots": [:]], clientInfo: nil)
        let context = MCPRequestContext(session: session, logger: Logger(label: "test"))
        let call = try JSONRPCMessage.parse(
            Array(#"{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"m__ask"}}"#.utf8))
        guard case .stream(let first, let rest) = await router.handle(call, context: context) else {
            Issue.record("the call was not answered with a stream")
            return
        }
        let asked = try JSONRPCMessage.parse(first)
        #expect(asked.method == "roots/list")
        let answer = JSONRPCMessage.encodeResponse(id: asked.id!, result: ["roots": [["uri": "file:///r"]]])
        await router.handleNotification(try JSONRPCMessage.parse(answer), context: context)
        var final: JSONValue?
        for try await message in rest { final = try JSONParser.parse(message) }
        #expect(final?["id"] == "c1")
        #expect(final?["result"]?["content"]?.arrayValue?.first?["text"] == #"[{"uri":"file:///r"}]"#)
        let retry = try #require(upstream.lastRequest)
        #expect(retry.paramValue("requestState") == "upstream-state")
        #expect(retry.paramValue("_meta")?["io.modelcontextprotocol/clientCapabilities"] == ["roots": [:]])
    }

    @Test("a 2026-07-28 client gets the upstream's input_required with the state wrapped, bound to its principal")
    func modernClientOverModernUpstream() async throws {
        let upstream = Self.askingServer()
        let router = makeRouter([("m", nil, upstream)])
        func modernContext(_ principal: String) -> MCPRequestContext {
            MCPRequestContext(
                identity: Identity(principal: principal, kind: .clientToken), scope: .aggregate,
                protocolVersion: "2026-07-28",
                session: nil, clientCapabilities: ["roots": [:]], logger: Logger(label: "test"))
        }
        let meta =
            #""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","#
            + #""io.modelcontextprotocol/clientCapabilities":{"roots":{}}}"#
        let first = try await router.call(
            #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"m__ask",\#(meta)}}"#, modernContext("a"))
        let result = try #require(first.result)
        #expect(result["resultType"] == "input_required")
        #expect(result["inputRequests"] == ["q": ["method": "roots/list"]])
        let state = try #require(result["requestState"]?.stringValue)
        #expect(state != "upstream-state")
        func retry(_ state: String, principal: String) async throws -> JSONRPCMessage {
            try await router.call(
                #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"m__ask","#
                    + #""inputResponses":{"q":{"roots":[]}},"requestState":"\#(state)",\#(meta)}}"#,
                modernContext(principal))
        }
        #expect(try await retry(state, principal: "b").error?["code"] == -32602)
        #expect(try await retry("upstream-state", principal: "a").error?["code"] == -32602)
        let done = try await retry(state, principal: "a")
        #expect(done.result?["content"]?.arrayValue?.first?["text"] == "[]")
        #expect(upstream.lastRequest?.paramValue("requestState") == "upstream-state")
    }

    @Test("a wrapped state is refused for other params, another server, and after its lifetime")
    func wrappedStateBounds() throws {
        let states = UpstreamRequestStates(codec: CursorCodec(secret: "k"))
        let call = try JSONRPCMessage.parse(
            Array(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"a":1}}}"#.utf8))
        let other = try JSONRPCMessage.parse(
            Array(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"arguments":{"a":2},"name":"t"}}"#.utf8))
        let wrapped = states.wrap("inner", request: call, server: "s", principal: "p", lifetime: .seconds(60))
        #expect(try states.unwrap(wrapped, request: call, server: "s", principal: "p") == "inner")
        #expect(throws: GatewayError.self) { try states.unwrap(wrapped, request: other, server: "s", principal: "p") }
        #expect(throws: GatewayError.self) { try states.unwrap(wrapped, request: call, server: "t", principal: "p") }
        let stale = states.wrap(
            "inner", request: call, server: "s", principal: "p", lifetime: .seconds(60),
            now: Date.now.addingTimeInterval(-120))
        #expect(throws: GatewayError.self) { try states.unwrap(stale, request: call, server: "s", principal: "p") }
    }
}
