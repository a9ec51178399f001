import GatewayWire
import Synchronization
import Testing

@testable import GatewayCore

@Suite("Router: merged lists, naming and forwarding")
struct MCPRouterTests {
    @Test("tools from every server are merged under their prefixes, in declaration order")
    func mergedToolList() async throws {
        let router = makeRouter([
            ("filesystem", "fs", FakeUpstream("fs", handler: toolServer(["read", "write"]))),
            ("time", nil, FakeUpstream("time", handler: toolServer(["now"]))),
        ])
        let reply = try await router.call(#"{"jsonrpc":"2.0","id":"l1","method":"tools/list"}"#)
        #expect(reply.id == JSONRPCID(string: "l1"))
        let names = reply.result?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(names == ["fs__read", "fs__write", "time__now"])
        #expect(reply.result?["nextCursor"] == nil)
        #expect(reply.result?["tools"]?.arrayValue?.first?["inputSchema"] == ["type": "object"])
    }

    @Test("a failing server is left out of a merged list; if all fail, the list fails naming the server")
    func failingServerOmitted() async throws {
        let router = makeRouter([
            ("good", nil, FakeUpstream("good", handler: toolServer(["a"]))),
            ("bad", nil, FakeUpstream("bad", down: true, handler: toolServer([]))),
        ])
        let reply = try await router.call(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        #expect(reply.result?["tools"]?.arrayValue?.count == 1)
        let single = try await router.call(#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#, context(.server("bad")))
        #expect(single.error?["code"] == -32603)
        #expect(single.error?["data"]?["server"] == "bad")
    }

    @Test("pagination: the gateway cursor resumes only the servers that have more, and is bound to the principal")
    func pagination() async throws {
        let router = makeRouter([
            ("a", nil, FakeUpstream("a", handler: toolServer(["t1", "t2", "t3"], pageSize: 2))),
            ("b", nil, FakeUpstream("b", handler: toolServer(["u1"]))),
        ])
        let first = try await router.call(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        #expect(first.result?["tools"]?.arrayValue?.count == 3)
        let cursor = try #require(first.result?["nextCursor"]?.stringValue)
        let second = try await router.call(
            #"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"\#(cursor)"}}"#)
        #expect(second.result?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["a__t3"])
        #expect(second.result?["nextCursor"] == nil)
        let stolen = try await router.call(
            #"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"cursor":"\#(cursor)"}}"#,
            context(identity: Identity(principal: "client:eve", kind: .clientToken))
        )
        #expect(stolen.error?["code"] == -32602)
        let wrongList = try await router.call(
            #"{"jsonrpc":"2.0","id":4,"method":"prompts/list","params":{"cursor":"\#(cursor)"}}"#)
        #expect(wrongList.error?["code"] == -32602)
    }

    @Test("tools/call strips the prefix, keeps the client's id and everything else byte for byte")
    func callForwarding() async throws {
        let upstream = FakeUpstream("fs", handler: toolServer(["read"]))
        let router = makeRouter([("filesystem", "fs", upstream)])
        let request =
            #"{"jsonrpc":"2.0","id":12345678901234567890,"method":"tools/call","params":{"name":"fs__read","arguments":{"n":1.0,"s":"data:,x"}}}"#
        let reply = try await router.call(request)
        #expect(reply.id?.description == "12345678901234567890")
        let sent = try #require(upstream.lastRequest)
        #expect(
            String(decoding: sent.bytes, as: UTF8.self)
                == #"{"jsonrpc":"2.0","id":4242,"method":"tools/call","params":{"name":"read","arguments":{"n":1.0,"s":"data:,x"}}}"#
        )
    }

    @Test("unknown, unprefixed and filtered tools are -32602 naming the tool")
    func unknownTools() async throws {
        let router = makeRouter(
            [("fs", nil, FakeUpstream("fs", handler: toolServer(["read"])))], filter: ToolFilter(deny: ["secret*"]))
        for name in ["nope__read", "read", "fs__secret_x"] {
            let reply = try await router.call(
                #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\#(name)"}}"#)
            #expect(reply.error?["code"] == -32602)
            #expect(reply.error?["message"]?.stringValue == "Unknown tool: \(name)")
        }
        let list = try await router.call(#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
        #expect(list.result?["tools"]?.arrayValue?.count == 1)
        let missingName = try await router.call(#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{}}"#)
        #expect(missingName.error?["code"] == -32602)
    }

    @Test("a name over 64 characters gets an alias that routes back, even before any list")
    func aliases() async throws {
        let long = String(repeating: "x", count: 70)
        let upstream = FakeUpstream("s", handler: toolServer([long]))
        let router = makeRouter([("server", nil, upstream)])
        let alias = QualifiedNames().qualified(prefix: "server", name: long)
        let reply = try await router.call(
            #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\#(alias)"}}"#)
        #expect(reply.kind == .response)
        #expect(upstream.lastRequest?.paramString("name") == long)
        let list = try await router.call(#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
        #expect(list.result?["tools"]?.arrayValue?.first?["name"]?.stringValue == alias)
    }

    @Test("a single-server endpoint keeps the server's own names")
    func singleServerScope() async throws {
        let upstream = FakeUpstream("fs", handler: toolServer(["read"]))
        let router = makeRouter([("fs", nil, upstream), ("other", nil, FakeUpstream("o", handler: toolServer(["z"])))])
        let list = try await router.call(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, context(.server("fs")))
        #expect(list.result?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["read"])
        _ = try await router.call(
            #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read"}}"#, context(.server("fs")))
        #expect(upstream.lastRequest?.paramString("name") == "read")
    }

    @Test("two servers with the same resource URI: the later one's is renamed and reads route back to it")
    func resourceCollisions() async throws {
        func resources(_ label: String) -> FakeUpstream.Handler {
            { method, params throws(GatewayError) in
                switch method {
                case "resources/list": return ["resources": [["uri": "file:///README", "name": .string(label)]]]
                case "resources/templates/list": return ["resourceTemplates": []]
                case "resources/read": return ["contents": [["uri": params?["uri"] ?? .null, "text": .string(label)]]]
                default: throw GatewayError(.methodNotFound, method)
                }
            }
        }
        let router = makeRouter([
            ("one", nil, FakeUpstream("1", handler: resources("one"))),
            ("two", nil, FakeUpstream("2", handler: resources("two"))),
        ])
        let list = try await router.call(#"{"jsonrpc":"2.0","id":1,"method":"resources/list"}"#)
        let uris = list.result?["resources"]?.arrayValue?.compactMap { $0["uri"]?.stringValue }
        #expect(uris == ["file:///README", "mcp-gateway://two/file:///README"])
        let one = try await router.call(
            #"{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///README"}}"#)
        #expect(one.result?["contents"]?.arrayValue?.first?["text"] == "one")
        let two = try await router.call(
            #"{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"mcp-gateway://two/file:///README"}}"#)
        #expect(two.result?["contents"]?.arrayValue?.first?["text"] == "two")
        let missing = try await router.call(
            #"{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"file:///nowhere"}}"#)
        #expect(missing.error?["code"] == -32002)
    }

    @Test("ping is answered locally; unknown methods are -32601")
    func localAnswers() async throws {
        let router = makeRouter([("fs", nil, FakeUpstream("fs", handler: toolServer([])))])
        #expect(try await router.call(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).result == [:])
        #expect(try await router.call(#"{"jsonrpc":"2.0","id":2,"method":"nope/nope"}"#).error?["code"] == -32601)
    }

    @Test("upstream JSON-RPC errors pass through with their code and message")
    func upstreamErrorsPassThrough() async throws {
        let router = makeRouter([("fs", nil, FakeUpstream("fs", handler: toolServer([])))])
        let reply = try await router.call(#"{"jsonrpc":"2.0","id":9,"method":"prompts/get","params":{"name":"fs__p"}}"#)
        #expect(reply.id == JSONRPCID(9))
        #expect(reply.error?["code"] == -32601)
    }

    @Test("a tool the server does not have is refused with the client's name; the call never reaches the server")
    func unknownToolWithKnownPrefix() async throws {
        let upstream = FakeUpstream("fs", handler: toolServer(["read"]))
        let router = makeRouter([("fs", nil, upstream)])
        let reply = try await router.call(
            #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fs__nope"}}"#)
        #expect(reply.error?["code"] == -32602)
        #expect(reply.error?["message"] == "Unknown tool: fs__nope")
        #expect(upstream.received.withLock { $0.compactMap(\.method) } == ["tools/list"])
        _ = try await router.call(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"fs__read"}}"#)
        #expect(upstream.received.withLock { $0.compactMap(\.method) } == ["tools/list", "tools/call"])
    }

    @Test("a listing is complete only after its last page, starting from the first")
    func nameSetCompleteness() {
        var names = NameSet()
        names.record(["b"], firstPage: false, lastPage: true)
        #expect(!names.complete && !names.lacks("zzz"))
        names.record(["a"], firstPage: true, lastPage: false)
        #expect(!names.complete)
        names.record(["b"], firstPage: false, lastPage: true)
        #expect(names.complete && !names.lacks("a") && !names.lacks("b") && names.lacks("c"))
    }

    @Test("the same URI template on two servers: the later one is renamed and reads route back")
    func templateCollisions() async throws {
        func templates(_ label: String) -> FakeUpstream.Handler {
            { method, params throws(GatewayError) in
                switch method {
                case "resources/templates/list":
                    return ["resourceTemplates": [["uriTemplate": "mem://{key}", "name": .string(label)]]]
                case "resources/list": return ["resources": []]
                case "resources/read": return ["contents": [["uri": params?["uri"] ?? .null, "text": .string(label)]]]
                default: throw GatewayError(.methodNotFound, method)
                }
            }
        }
        let router = makeRouter([
            ("one", nil, FakeUpstream("1", handler: templates("one"))),
            ("two", nil, FakeUpstream("2", handler: templates("two"))),
        ])
        let list = try await router.call(#"{"jsonrpc":"2.0","id":1,"method":"resources/templates/list"}"#)
        let names = list.result?["resourceTemplates"]?.arrayValue?.compactMap { $0["uriTemplate"]?.stringValue }
        #expect(names == ["mem://{key}", "mcp-gateway://two/mem://{key}"])
        let two = try await router.call(
            #"{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"mcp-gateway://two/mem://x"}}"#)
        #expect(two.result?["contents"]?.arrayValue?.first?["text"] == "two")
        let one = try await router.call(
            #"{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"mem://x"}}"#)
        #expect(one.result?["contents"]?.arrayValue?.first?["text"] == "one")
    }
}
