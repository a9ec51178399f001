import GatewayWire
import Synchronization
import Testing

@testable import GatewayCore

/// An instance whose answers the test scripts: success naming the instance, or a given failure.
final class ScriptedInstance: UpstreamTransport {
    let instanceID: String
    let failure = Mutex<GatewayError?>(nil)
    let methods = Mutex<[String]>([])

    /// "run" when its connection job starts, "stopped" when that job was cancelled.
    let lifecycle: AsyncStream<String>
    private let lifecycleContinuation: AsyncStream<String>.Continuation

    init(_ id: String) {
        instanceID = id
        (lifecycle, lifecycleContinuation) = AsyncStream.makeStream(of: String.self)
    }

    var status: UpstreamStatus { .ready }
    var currentHandshake: UpstreamHandshake? {
        UpstreamHandshake(result: ["protocolVersion": "2025-11-25", "capabilities": ["tools": [:]]])
    }
    func run() async {
        lifecycleContinuation.yield("run")
        // Until the job is stopped: a sleep of an hour that cancellation ends.
        try? await Task.sleep(for: .seconds(3600))
        lifecycleContinuation.yield("stopped")
    }
    func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake { currentHandshake! }
    func cancel(owner: String, clientID: JSONRPCID?) async {}

    func send(_ request: UpstreamRequest) async throws(GatewayError) -> MCPReply {
        methods.withLock { $0.append(request.method) }
        if let failure = failure.withLock({ $0 }) { throw failure }
        let message = try! JSONRPCMessage.parse(request.encoded(upstreamID: 7))
        let result: JSONValue =
            request.method == "tools/list"
            ? ["tools": [["name": "echo", "inputSchema": ["type": "object"], "annotations": ["readOnlyHint": true]]]]
            : ["content": [["type": "text", "text": .string(instanceID)]]]
        let answer = JSONRPCMessage.encodeResponse(id: message.id!, result: result)
        return .response(request.restoring(try! JSONRPCMessage.parse(answer)))
    }

    var calls: Int { methods.withLock { $0.count } }
}

/// An instance whose replies are streams the test feeds: a progress notification first, then what the test yields.
final class StreamingInstance: UpstreamTransport {
    let instanceID = "s"
    let feeds = Mutex<[AsyncThrowingStream<[UInt8], any Error>.Continuation]>([])

    var status: UpstreamStatus { .ready }
    var currentHandshake: UpstreamHandshake? {
        UpstreamHandshake(result: ["protocolVersion": "2025-11-25", "capabilities": ["tools": [:]]])
    }
    func run() async {}
    func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake { currentHandshake! }
    func cancel(owner: String, clientID: JSONRPCID?) async {}

    func send(_ request: UpstreamRequest) async throws(GatewayError) -> MCPReply {
        let (rest, feed) = AsyncThrowingStream.makeStream(of: [UInt8].self)
        feeds.withLock { $0.append(feed) }
        let progress = JSONRPCMessage.encodeNotification(method: "notifications/progress", params: ["progress": 1])
        return .stream(first: progress, rest: rest)
    }

    var lastFeed: AsyncThrowingStream<[UInt8], any Error>.Continuation { feeds.withLock { $0.last! } }
}

@Suite("failover between instances")
struct UpstreamFailoverTests {
    static func server(
        _ instances: [ScriptedInstance],
        configure: (inout LoadBalancerConfiguration) -> Void = { _ in }
    ) -> UpstreamServer {
        var balancing = LoadBalancerConfiguration()
        configure(&balancing)
        let configuration = ServerConfiguration(
            name: "fleet",
            instances: instances.map {
                UpstreamInstanceConfiguration(id: $0.instanceID, transport: .stdio(StdioCommand(command: "unused")))
            })
        return UpstreamServer(configuration: configuration, transports: instances, balancing: balancing)
    }

    static let exited = GatewayError.upstream(.upstreamExited, server: "fleet", "exited with status 1")
    static let call = UpstreamRequest.Body.synthesized(method: "tools/call", params: ["name": "echo"])
    static let list = UpstreamRequest.Body.synthesized(method: "tools/list", params: nil)

    @Test("a list that fails on one instance is answered by the next")
    func listRetried() async throws {
        let (a, b) = (ScriptedInstance("a"), ScriptedInstance("b"))
        a.failure.withLock { $0 = Self.exited }
        let server = Self.server([a, b])
        let reply = try await server.send(Self.list, owner: "o")
        #expect(try JSONRPCMessage.parse(try await reply.finalMessage()).kind == .response)
        #expect(a.calls == 1 && b.calls == 1)
    }

    @Test("a tool call that may have reached the instance is not repeated")
    func callNotRepeated() async {
        let (a, b) = (ScriptedInstance("a"), ScriptedInstance("b"))
        a.failure.withLock { $0 = Self.exited }
        let server = Self.server([a, b])
        await #expect(throws: GatewayError.self) { _ = try await server.send(Self.call, owner: "o") }
        #expect(a.calls == 1 && b.calls == 0)
    }

    @Test("a tool call that never left the gateway, or that is safe to repeat, goes to the next instance")
    func callRepeatedWhenSafe() async throws {
        let (a, b) = (ScriptedInstance("a"), ScriptedInstance("b"))
        let server = Self.server([a, b])
        a.failure.withLock { $0 = Self.exited.unsent() }
        _ = try await server.send(Self.call, owner: "o")
        a.failure.withLock { $0 = Self.exited }
        _ = try await server.send(Self.call, owner: "o", repeatable: true)
        #expect(a.calls == 2 && b.calls == 2)
    }

    @Test("maxRetries bounds the instances tried, and an error of the client's own is never retried")
    func retryBounds() async {
        let instances = (0..<4).map { ScriptedInstance("i\($0)") }
        for instance in instances { instance.failure.withLock { $0 = Self.exited } }
        let server = Self.server(instances) { $0.maxRetries = 1 }
        await #expect(throws: GatewayError.self) { _ = try await server.send(Self.list, owner: "o") }
        #expect(instances.map(\.calls).reduce(0, +) == 2)
        let fresh = (ScriptedInstance("x"), ScriptedInstance("y"))
        fresh.0.failure.withLock { $0 = GatewayError(.invalidParams, "bad") }
        fresh.1.failure.withLock { $0 = GatewayError(.invalidParams, "bad") }
        let other = Self.server([fresh.0, fresh.1])
        await #expect(throws: GatewayError.self) { _ = try await other.send(Self.list, owner: "o") }
        #expect(fresh.0.calls + fresh.1.calls == 1)
    }

    @Test("an instance that keeps failing leaves the rotation, and a successful probe brings it back")
    func ejectionAndRecovery() async throws {
        let (a, b) = (ScriptedInstance("a"), ScriptedInstance("b"))
        a.failure.withLock { $0 = Self.exited }
        let server = Self.server([a, b]) { $0.maxRetries = 0 }
        for _ in 0..<6 { _ = try? await server.send(Self.call, owner: "o") }
        #expect(a.calls == 3, "three consecutive failures eject the instance")
        #expect(server.members.first { $0.member.id == "a" }?.member.breaker == .open)
        for _ in 0..<4 { _ = try await server.send(Self.call, owner: "o") }
        #expect(a.calls == 3)
        a.failure.withLock { $0 = nil }
        #expect(await server.probeInstances().isEmpty)
        #expect(a.methods.withLock { $0.last } == "ping")
        #expect(server.members.first { $0.member.id == "a" }?.member.breaker == .closed)
        for _ in 0..<4 { _ = try await server.send(Self.call, owner: "o") }
        #expect(a.calls == 6)
    }

    @Test("the router repeats a call of a tool its server annotated read-only")
    func annotatedToolRepeated() async throws {
        let (a, b) = (ScriptedInstance("a"), ScriptedInstance("b"))
        let directory = UpstreamDirectory(servers: [Self.server([a, b])])
        let router = MCPRouter(
            directory: directory, sessions: SessionRegistry(maxSessions: 10, idleTimeout: .seconds(60)),
            names: QualifiedNames(), cursors: CursorCodec(secret: "t"), policy: AllowAllPolicy(),
            gatewayVersion: "t")
        _ = try await router.call(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        a.failure.withLock { $0 = Self.exited }
        b.failure.withLock { $0 = nil }
        // Whichever instance the rotation reaches first, the call ends on b.
        for id in 2...3 {
            let answer = try await router.call(
                #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"fleet__echo"}}"#)
            #expect(answer.kind == .response)
            #expect(answer.result?["content"]?.arrayValue?.first?["text"]?.stringValue == "b")
        }
    }

    @Test(
        "a streamed reply is in flight until its response, fails the instance if it breaks, and is released if dropped")
    func streamedReplies() async throws {
        let instance = StreamingInstance()
        let server = UpstreamServer(
            configuration: ServerConfiguration(
                name: "s", instances: [.init(id: "s", transport: .stdio(StdioCommand(command: "unused")))]),
            transports: [instance])
        func member() -> UpstreamPoolStateMachine.Member { server.members[0].member }
        let response = JSONRPCMessage.encodeResponse(id: JSONRPCID(1), result: ["ok": true])

        // Read to the end: success.
        let read = try await server.send(Self.call, owner: "o")
        #expect(member().inFlight == 1)
        instance.lastFeed.yield(response)
        instance.lastFeed.finish()
        #expect(try await read.finalMessage() == response)
        #expect(member().inFlight == 0 && member().failures == 0)

        // Broken mid-stream: a failure of the instance.
        let broken = try await server.send(Self.call, owner: "o")
        instance.lastFeed.finish(throwing: GatewayError.upstream(.upstreamExited, server: "s", "exited"))
        await #expect(throws: (any Error).self) { _ = try await broken.finalMessage() }
        #expect(member().inFlight == 0 && member().failures == 1)

        // Dropped unread (the client went away): released, neither success nor failure.
        var dropped: MCPReply? = try await server.send(Self.call, owner: "o")
        #expect(member().inFlight == 1)
        _ = dropped
        dropped = nil
        #expect(member().inFlight == 0 && member().failures == 1 && member().consecutiveFailures == 1)
    }
}
