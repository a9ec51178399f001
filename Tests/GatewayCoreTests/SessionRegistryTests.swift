import GatewayWire
import Testing

@testable import GatewayCore

@Suite("Sessions")
struct SessionRegistryTests {
    func makeSession(_ registry: SessionRegistry, _ identity: Identity = .anonymous) throws -> ClientSession {
        try registry.create(
            identity: identity, scope: .aggregate, protocolVersion: "2025-11-25", clientCapabilities: [:],
            clientInfo: nil)
    }

    @Test("ids are 128-bit hex, unique, and bound to the principal that made them")
    func binding() throws {
        let registry = SessionRegistry(maxSessions: 10, idleTimeout: .seconds(60))
        let session = try makeSession(registry)
        #expect(session.id.count == 32 && session.id.allSatisfy(\.isHexDigit))
        #expect(try makeSession(registry).id != session.id)
        let mallory = Identity(principal: "client:mallory", kind: .clientToken)
        #expect(registry.session(id: session.id, for: mallory) == nil)
        #expect(!registry.remove(id: session.id, for: mallory))
        #expect(registry.session(id: session.id, for: .anonymous) === session)
        #expect(registry.remove(id: session.id, for: .anonymous))
        #expect(registry.session(id: session.id, for: .anonymous) == nil)
    }

    @Test("the session cap is enforced with an overload error")
    func cap() throws {
        let registry = SessionRegistry(maxSessions: 2, idleTimeout: .seconds(60))
        _ = try makeSession(registry)
        _ = try makeSession(registry)
        let error = #expect(throws: GatewayError.self) { try makeSession(registry) }
        #expect(error?.httpStatus() == 503)
    }

    @Test("idle sessions are swept and their streams end")
    func sweep() async throws {
        let registry = SessionRegistry(maxSessions: 10, idleTimeout: .seconds(60))
        let session = try makeSession(registry)
        let stream = session.openPushStream()
        #expect(registry.sweepIdle(now: .now + .seconds(61)) == 1)
        var iterator = stream.makeAsyncIterator()
        #expect(await iterator.next() == nil)
        #expect(registry.count == 0)
    }

    @Test("a new standalone stream replaces the old one; messages go to exactly one")
    func pushStreams() async throws {
        let session = try makeSession(SessionRegistry(maxSessions: 1, idleTimeout: .seconds(60)))
        #expect(!session.push([1]))
        let first = session.openPushStream()
        let second = session.openPushStream()
        #expect(session.push([2]))
        var firstIterator = first.makeAsyncIterator()
        #expect(await firstIterator.next() == nil)
        var secondIterator = second.makeAsyncIterator()
        #expect(await secondIterator.next()?.bytes == [2])
    }

    @Test("a GET stream resumed after a message starts with the kept messages after it, numbered as before")
    func resumePushStream() async throws {
        let session = try makeSession(SessionRegistry(maxSessions: 1, idleTimeout: .seconds(60)))
        for byte in UInt8(1)...3 { session.push([byte]) }
        let resumed = try #require(session.resumePushStream(after: 1))
        session.push([4])
        var iterator = resumed.makeAsyncIterator()
        for expected in 2...4 {
            let message = await iterator.next()
            #expect(message?.eventID == "g-\(expected)")
            #expect(message?.bytes == [UInt8(expected)])
        }
        #expect(session.resumePushStream(after: 9) == nil)
        for _ in 0..<ClientSession.pushedKept { session.push([0]) }
        #expect(session.resumePushStream(after: 1) == nil)
    }
}
