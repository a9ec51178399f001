import GatewayWire
import Logging
import Synchronization
import Testing

@testable import GatewayCore

/// Builds ``ScriptedInstance``s and records which ones were started and stopped.
final class ScriptedFactory: UpstreamTransportFactory {
    let built = Mutex<[String: ScriptedInstance]>([:])

    func makeTransport(
        server: ServerConfiguration, instance: UpstreamInstanceConfiguration, events: UpstreamEvents, logger: Logger
    ) -> any UpstreamTransport {
        let transport = ScriptedInstance(instance.id)
        built.withLock { $0["\(server.name)/\(instance.id)"] = transport }
        return transport
    }
}

/// A registry store in memory, which can be told to fail.
final class MemoryRegistryStore: RegistryStore {
    let saved = Mutex<[InstanceRegistration]>([])
    let failing = Mutex(false)
    let unreadable = Mutex(false)

    func load() throws(GatewayError) -> [InstanceRegistration] {
        if unreadable.withLock({ $0 }) { throw GatewayError(.internalError, "not JSON") }
        return saved.withLock { $0 }
    }

    func save(_ registrations: [InstanceRegistration]) throws(GatewayError) {
        if failing.withLock({ $0 }) { throw GatewayError(.internalError, "disk full") }
        saved.withLock { $0 = registrations }
    }
}

@Suite("live upstream directory")
struct UpstreamDirectoryTests {
    static func registration(_ server: String, _ id: String, url: String = "http://127.0.0.1:9/mcp")
        -> InstanceRegistration
    {
        InstanceRegistration(
            server: server, instance: UpstreamInstanceConfiguration(id: id, transport: .http(HTTPEndpoint(url: url))))
    }

    static func directory(store: (any RegistryStore)? = nil) -> (UpstreamDirectory, ScriptedFactory) {
        var configuration = GatewayConfiguration()
        configuration.servers = [
            ServerConfiguration(
                name: "fixed",
                instances: [UpstreamInstanceConfiguration(id: "f1", transport: .stdio(StdioCommand(command: "x")))])
        ]
        let factory = ScriptedFactory()
        let builder = UpstreamDirectory.Builder(
            factory: factory, events: UpstreamEvents(onNotification: { _, _ in }), configuration: configuration,
            logger: Logger(label: "test"))
        return (UpstreamDirectory(builder: builder, store: store, removalGrace: .milliseconds(200)), factory)
    }

    @Test("registering adds an instance to its server, or a new server after the configured ones")
    func register() throws {
        let store = MemoryRegistryStore()
        let (directory, factory) = Self.directory(store: store)
        try directory.register(Self.registration("fixed", "f2"))
        try directory.register(Self.registration("added", "a1"))
        #expect(directory.servers.map(\.name) == ["fixed", "added"])
        #expect(directory.server(named: "fixed")?.members.map(\.member.id) == ["f1", "f2"])
        #expect(directory.server(prefix: "added")?.name == "added")
        #expect(store.saved.withLock { $0.map(\.instance.id) } == ["f2", "a1"])
        #expect(factory.built.withLock { Set($0.keys) } == ["fixed/f1", "fixed/f2", "added/a1"])
    }

    @Test("a taken id, a bad server name and a store that cannot write change nothing")
    func refusals() throws {
        let store = MemoryRegistryStore()
        let (directory, _) = Self.directory(store: store)
        let taken = #expect(throws: GatewayError.self) { try directory.register(Self.registration("fixed", "f1")) }
        #expect(taken?.code == .conflict)
        let badName = #expect(throws: GatewayError.self) { try directory.register(Self.registration("a b", "x")) }
        #expect(badName?.code == .invalidParams)
        #expect(badName?.message.contains("a b") == true)
        store.failing.withLock { $0 = true }
        let unsaved = #expect(throws: GatewayError.self) { try directory.register(Self.registration("new", "n1")) }
        #expect(unsaved?.code == .internalError)
        #expect(directory.servers.map(\.name) == ["fixed"])
        #expect(directory.registrations.isEmpty)
    }

    @Test("deregistering removes the instance, and the server with its last one; unknown ones are 404")
    func deregister() async throws {
        let store = MemoryRegistryStore()
        let (directory, _) = Self.directory(store: store)
        try directory.register(Self.registration("added", "a1"))
        try directory.register(Self.registration("added", "a2"))
        try await directory.deregister(server: "added", instance: "a1")
        #expect(directory.server(named: "added")?.members.map(\.member.id) == ["a2"])
        try await directory.deregister(server: "added", instance: "a2")
        #expect(directory.server(named: "added") == nil)
        #expect(store.saved.withLock { $0.isEmpty })
        let unknown = await #expect(throws: GatewayError.self) {
            try await directory.deregister(server: "added", instance: "a2")
        }
        #expect(unknown?.code == .unknownServer)
        // A configured instance can be removed too (it is not in the store).
        try await directory.deregister(server: "fixed", instance: "f1")
        #expect(directory.servers.isEmpty)
    }

    @Test("what the store kept is registered again at start; an entry that no longer fits is left out")
    func reload() throws {
        let store = MemoryRegistryStore()
        store.saved.withLock {
            $0 = [Self.registration("kept", "k1"), Self.registration("fixed", "f1"), Self.registration("kept", "k2")]
        }
        let (directory, _) = Self.directory(store: store)
        #expect(directory.server(named: "kept")?.members.map(\.member.id) == ["k1", "k2"])
        #expect(directory.server(named: "fixed")?.members.map(\.member.id) == ["f1"])
        #expect(directory.registrations.map(\.instance.id) == ["k1", "k2"])
    }

    @Test(
        "the fleet runs until cancelled even with no server; it starts what is registered and stops what is not",
        .timeLimit(.minutes(1)))
    func runner() async throws {
        let (directory, factory) = Self.directory()
        try await directory.deregister(server: "fixed", instance: "f1")
        let running = Task { await directory.run() }
        try directory.register(Self.registration("late", "l1"))
        let instance = try #require(factory.built.withLock { $0["late/l1"] })
        var lifecycle = instance.lifecycle.makeAsyncIterator()
        #expect(await lifecycle.next() == "run")
        try await directory.deregister(server: "late", instance: "l1")
        #expect(await lifecycle.next() == "stopped")
        running.cancel()
        await running.value
    }

    @Test("stopping the fleet stops every instance", .timeLimit(.minutes(1)))
    func shutdown() async throws {
        let (directory, factory) = Self.directory()
        let running = Task { await directory.run() }
        let instance = try #require(factory.built.withLock { $0["fixed/f1"] })
        var lifecycle = instance.lifecycle.makeAsyncIterator()
        #expect(await lifecycle.next() == "run")
        running.cancel()
        await running.value
        #expect(await lifecycle.next() == "stopped")
    }
}

extension UpstreamDirectoryTests {
    @Test("two removals at once of a server's last two instances take the server away")
    func overlappingRemovals() async throws {
        let (directory, _) = Self.directory()
        try directory.register(Self.registration("pair", "p1"))
        try directory.register(Self.registration("pair", "p2"))
        async let first: Void = directory.deregister(server: "pair", instance: "p1")
        async let second: Void = directory.deregister(server: "pair", instance: "p2")
        _ = try await (first, second)
        #expect(directory.server(named: "pair") == nil)
        // The name is free again: a new server, with its own health checks.
        try directory.register(Self.registration("pair", "p3"))
        #expect(directory.server(named: "pair")?.members.map(\.member.id) == ["p3"])
    }

    @Test("a store that cannot be read refuses changes, so nothing it holds is overwritten")
    func unreadableStore() async throws {
        let store = MemoryRegistryStore()
        store.saved.withLock { $0 = [Self.registration("kept", "k1")] }
        store.unreadable.withLock { $0 = true }
        let (directory, _) = Self.directory(store: store)
        #expect(directory.server(named: "kept") == nil)
        let refused = #expect(throws: GatewayError.self) { try directory.register(Self.registration("new", "n1")) }
        #expect(refused?.message.contains("could not be read") == true)
        await #expect(throws: GatewayError.self) { try await directory.deregister(server: "fixed", instance: "f1") }
        #expect(store.saved.withLock { $0.map(\.instance.id) } == ["k1"])
    }

    @Test("an entry that no longer fits stays in the store through later saves")
    func retainedEntries() throws {
        let store = MemoryRegistryStore()
        // "fixed" already has f1: this entry cannot be applied.
        store.saved.withLock { $0 = [Self.registration("fixed", "f1")] }
        let (directory, _) = Self.directory(store: store)
        try directory.register(Self.registration("new", "n1"))
        #expect(store.saved.withLock { $0.map(\.instance.id) } == ["f1", "n1"])
    }

    @Test("removing an instance waits for its call in flight, and it takes no new call meanwhile")
    func drain() async throws {
        let streaming = StreamingInstance()
        let other = ScriptedInstance("t")
        let configuration = ServerConfiguration(
            name: "fleet",
            instances: ["s", "t"].map { .init(id: $0, transport: .stdio(StdioCommand(command: "unused"))) })
        let server = UpstreamServer(configuration: configuration, transports: [streaming, other])
        let directory = UpstreamDirectory(servers: [server], removalGrace: .seconds(30))
        let call = UpstreamRequest.Body.synthesized(method: "tools/call", params: ["name": "x"])
        let reply = try await server.send(call, owner: "o")
        #expect(streaming.feeds.withLock { $0.count } == 1)
        let removal = Task { try await directory.deregister(server: "fleet", instance: "s") }
        while server.members.first(where: { $0.member.id == "s" })?.member.retiring != true { await Task.yield() }
        // Retiring: new calls go to the other instance, the one in flight goes on.
        _ = try await server.send(call, owner: "o")
        #expect(other.calls == 1 && streaming.feeds.withLock { $0.count } == 1)
        #expect(server.members.map(\.member.id) == ["s", "t"])
        streaming.lastFeed.yield(JSONRPCMessage.encodeResponse(id: JSONRPCID(1), result: [:]))
        streaming.lastFeed.finish()
        _ = try await reply.finalMessage()
        try await removal.value
        #expect(server.members.map(\.member.id) == ["t"])
    }
}

@Suite("instance registrations")
struct InstanceRegistrationTests {
    func decode(_ text: String) throws(ConfigurationError) -> InstanceRegistration {
        try InstanceRegistration(json: try! JSONParser.parse(text)) { "\($0)-new" }
    }

    @Test("the MCP Platform shape: template or server, endpoint or command, working_dir; a round trip keeps it")
    func shapes() throws {
        let http = try decode(#"{"template":"fs","instance":{"endpoint":"http://10.0.0.5:7071/mcp","weight":3}}"#)
        #expect(http.server == "fs" && http.instance.id == "fs-new" && http.instance.weight == 3)
        let stdio = try decode(
            #"{"server":"fs","instance":{"id":"fs-9","command":"python","args":["s.py"],"working_dir":"/app","env":{"A":"1"},"metadata":{"zone":"b"}}}"#
        )
        #expect(
            stdio.instance.transport
                == .stdio(
                    StdioCommand(
                        command: "python", arguments: ["s.py"], environment: ["A": "1"], workingDirectory: "/app")
                ))
        #expect(stdio.instance.metadata?["zone"]?.stringValue == "b")
        for registration in [http, stdio] {
            #expect(try InstanceRegistration(json: registration.json) { _ in "unused" } == registration)
        }
    }

    @Test(
        "bad registrations name the field",
        arguments: [
            (#"{"instance":{"endpoint":"http://h/mcp"}}"#, "server"),
            (#"{"server":"fs"}"#, "instance"),
            (#"{"server":"fs","instance":{"endpoint":"ftp://h"}}"#, "instance.endpoint"),
            (#"{"server":"fs","instance":{"command":""}}"#, "instance.command"),
            (#"{"server":"fs","instance":{}}"#, "instance"),
            (#"{"server":"fs","instance":{"command":"x","weight":0}}"#, "instance.weight"),
            (#"{"server":"fs","instance":{"command":"x","colour":"red"}}"#, "instance.colour"),
            (#"{"server":"fs","instance":{"id":"a/b","command":"x"}}"#, "instance.id"),
            (#"{"server":"fs","template":"other","instance":{"command":"x"}}"#, "server"),
        ])
    func refusals(text: String, field: String) {
        let error = #expect(throws: ConfigurationError.self) { try decode(text) }
        #expect(error?.path == field)
    }
}
