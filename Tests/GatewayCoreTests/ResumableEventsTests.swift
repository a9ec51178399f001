import GatewayWire
import Testing

@testable import GatewayCore

@Suite("Resumable answer streams")
struct ResumableEventsTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func collect(_ stream: AsyncStream<ResumableEvents.Event>) async -> [String] {
        var ids: [String] = []
        for await event in stream { ids.append(event.id + "=" + String(decoding: event.bytes, as: UTF8.self)) }
        return ids
    }

    @Test("a reader gets every event in order; a later reader resumes after the id it names")
    func resume() async throws {
        let events = ResumableEvents(key: "r1")
        for text in ["a", "b", "c"] { #expect(await events.append(bytes(text))) }
        events.finish()
        #expect(await collect(try #require(events.read(after: 0))) == ["r1-1=a", "r1-2=b", "r1-3=c"])
        #expect(await collect(try #require(events.read(after: 2))) == ["r1-3=c"])
        #expect(await collect(try #require(events.read(after: 3))) == [])
        #expect(events.read(after: 4) == nil)
        #expect(events.read(after: -1) == nil)
    }

    @Test("the producer waits for the reader once it is a lead ahead, so nothing is dropped")
    func backpressure() async throws {
        let events = ResumableEvents(key: "r2")
        let total = ResumableEvents.lead * 3
        let producer = Task {
            for index in 1...total { _ = await events.append(bytes(String(index))) }
            events.finish()
        }
        let reader = try #require(events.read(after: 0))
        var seen = 0
        for await event in reader {
            seen += 1
            #expect(event.id == "r2-\(seen)")
        }
        await producer.value
        #expect(seen == total)
    }

    @Test("a newer reader takes over; the older one ends")
    func takeover() async throws {
        let events = ResumableEvents(key: "r3")
        _ = await events.append(bytes("a"))
        let old = try #require(events.read(after: 0))
        var oldIterator = old.makeAsyncIterator()
        #expect(await oldIterator.next()?.id == "r3-1")
        let new = try #require(events.read(after: 0))
        #expect(await oldIterator.next() == nil)
        events.finish()
        #expect(await collect(new) == ["r3-1=a"])
    }

    @Test("abandoning ends readers and stops the producer")
    func abandon() async throws {
        let events = ResumableEvents(key: "r4")
        let reader = try #require(events.read(after: 0))
        let waiting = Task { await collect(reader) }
        events.abandon()
        #expect(await waiting.value == [])
        #expect(await events.append(bytes("late")) == false)
        #expect(events.read(after: 0) == nil)
    }

    @Test("a session hands out streams with their own keys and finds them by event id")
    func sessionStreams() throws {
        let registry = SessionRegistry(maxSessions: 4, idleTimeout: .seconds(60))
        let session = try registry.create(
            identity: .anonymous, scope: .aggregate, protocolVersion: "2025-11-25", clientCapabilities: [:],
            clientInfo: nil)
        let first = try #require(session.resumableReply())
        let second = try #require(session.resumableReply())
        #expect(first.key != second.key)
        #expect(session.resumableReply(lastEventID: "\(second.key)-0")?.0.key == second.key)
        #expect(session.resumableReply(lastEventID: "\(second.key)-0")?.after == 0)
        #expect(session.resumableReply(lastEventID: "x-1") == nil)
        #expect(session.resumableReply(lastEventID: "garbage") == nil)
        _ = registry.remove(id: session.id, for: .anonymous)
        #expect(session.resumableReply() == nil)
        #expect(second.read(after: 0) == nil)
    }
}
