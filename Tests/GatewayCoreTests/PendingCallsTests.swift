import GatewayWire
import Synchronization
import Testing

@testable import GatewayCore

/// Stands in for a stdio server on the far side of a ``PendingCalls`` table: collects what was written and
/// answers every request by echoing its params, in shuffled order, after a progress notification when asked.
final class ShufflingEchoUpstream: Sendable {
    let pending = PendingCalls()
    private let written = Mutex<[[UInt8]]>([])

    func write(_ bytes: [UInt8]) -> GatewayError? {
        written.withLock { $0.append(bytes) }
        return nil
    }

    /// Answers everything written so far; returns how many requests it answered.
    @discardableResult
    func answerAll(seed: UInt64) throws -> Int {
        var requests = written.withLock { written in
            defer { written.removeAll() }
            return written
        }
        var generator = SplitMix(seed: seed)
        requests.shuffle(using: &generator)
        for bytes in requests {
            let request = try JSONRPCMessage.parse(bytes)
            if let token = request.progressTokenRange {
                let progress = JSONRPCMessage.encodeNotification(
                    method: "notifications/progress",
                    params: ["progressToken": try JSONParser.parse(request.slice(token)), "progress": 1]
                )
                pending.deliver(try JSONRPCMessage.parse(progress))
            }
            let response = JSONRPCMessage.encodeResponse(id: request.id!, result: ["echo": request.params ?? .null])
            pending.deliver(try JSONRPCMessage.parse(response))
        }
        return requests.count
    }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func forward(_ text: String, owner: String = "s", idle: Duration = .seconds(30)) throws -> UpstreamRequest {
    UpstreamRequest(
        .forward(try JSONRPCMessage.parse(Array(text.utf8)), edits: []), owner: owner, idleTimeout: idle,
        maxDuration: .seconds(60))
}

@Suite("Pending calls: id and progress-token rewriting")
struct PendingCallsTests {
    @Test("50 clients with the same id and token each get their own answer, with their id and token back")
    func collidingIDs() async throws {
        let upstream = ShufflingEchoUpstream()
        try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            for client in 0..<50 {
                group.addTask {
                    let request = try forward(
                        #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"nonce":\#(client)}}}"#
                    )
                    let reply = try await upstream.pending.call(request, write: upstream.write)
                    return (client, try await reply.finalMessage())
                }
            }
            while upstream.pending.count < 50 { await Task.yield() }
            #expect(try upstream.answerAll(seed: 7) == 50)
            var seen = Set<Int>()
            for try await (client, bytes) in group {
                let message = try JSONRPCMessage.parse(bytes)
                #expect(message.id == JSONRPCID(1))
                #expect(message.result?["echo"]?["arguments"]?["nonce"] == .number(JSONNumber(client)))
                seen.insert(client)
            }
            #expect(seen.count == 50)
        }
        #expect(upstream.pending.count == 0)
    }

    @Test("a call with a progress token becomes a stream: progress with the client's token, then the response")
    func progressStreams() async throws {
        let upstream = ShufflingEchoUpstream()
        async let reply = upstream.pending.call(
            try forward(
                #"{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"_meta":{"progressToken":"tok-1"}}}"#),
            write: upstream.write
        )
        while upstream.pending.count < 1 { await Task.yield() }
        try upstream.answerAll(seed: 1)
        guard case .stream(let first, let rest) = try await reply else {
            Issue.record("expected a stream")
            return
        }
        let progress = try JSONRPCMessage.parse(first)
        #expect(progress.method == "notifications/progress")
        #expect(progress.paramString("progressToken") == "tok-1")
        var remaining: [[UInt8]] = []
        for try await message in rest { remaining.append(message) }
        #expect(remaining.count == 1)
        #expect(try JSONRPCMessage.parse(remaining[0]).id == JSONRPCID(string: "abc"))
    }

    @Test("unknown and late responses are not delivered to anyone")
    func unknownResponses() throws {
        let pending = PendingCalls()
        #expect(!pending.deliver(try JSONRPCMessage.parse(Array(#"{"jsonrpc":"2.0","id":77,"result":{}}"#.utf8))))
    }

    @Test("failAll fails every caller at once and refuses new calls until reopened")
    func failAll() async throws {
        let upstream = ShufflingEchoUpstream()
        async let reply = upstream.pending.call(
            try forward(#"{"jsonrpc":"2.0","id":1,"method":"x"}"#), write: upstream.write)
        while upstream.pending.count < 1 { await Task.yield() }
        upstream.pending.failAll(
            GatewayError.upstream(.upstreamExited, server: "demo", "exited with status 3"), close: true)
        var error: GatewayError?
        do { _ = try await reply } catch let caught as GatewayError { error = caught }
        #expect(error?.code == .upstreamExited)
        #expect(error?.data?["server"] == "demo")
        await #expect(throws: GatewayError.self) {
            try await upstream.pending.call(
                try forward(#"{"jsonrpc":"2.0","id":2,"method":"x"}"#), write: upstream.write)
        }
        upstream.pending.reopen()
        async let again = upstream.pending.call(
            try forward(#"{"jsonrpc":"2.0","id":3,"method":"x"}"#), write: upstream.write)
        while upstream.pending.count < 1 { await Task.yield() }
        try upstream.answerAll(seed: 2)
        #expect(try JSONRPCMessage.parse(try await again.finalMessage()).id == JSONRPCID(3))
    }

    @Test("expired calls fail with a timeout and are reported for cancellation")
    func expiry() async throws {
        let upstream = ShufflingEchoUpstream()
        let start = ContinuousClock.now
        async let reply = upstream.pending.call(
            try forward(#"{"jsonrpc":"2.0","id":1,"method":"x"}"#, idle: .seconds(2)),
            now: start,
            write: upstream.write
        )
        while upstream.pending.count < 1 { await Task.yield() }
        #expect(
            upstream.pending.expire(now: start + .seconds(1)) { _, _ in GatewayError(.upstreamTimeout, "t") }.isEmpty)
        let expired = upstream.pending.expire(now: start + .seconds(3)) { _, _ in GatewayError(.upstreamTimeout, "t") }
        #expect(expired.count == 1)
        var failed = false
        do { _ = try await reply } catch let error as GatewayError { failed = error.code == .upstreamTimeout }
        #expect(failed)
    }

    @Test("a client's cancellation finds its own call, not another client's with the same id")
    func cancellationByOwner() async throws {
        let upstream = ShufflingEchoUpstream()
        async let mine = upstream.pending.call(
            try forward(#"{"jsonrpc":"2.0","id":5,"method":"x"}"#, owner: "a"), write: upstream.write)
        async let theirs = upstream.pending.call(
            try forward(#"{"jsonrpc":"2.0","id":5,"method":"x"}"#, owner: "b"), write: upstream.write)
        while upstream.pending.count < 2 { await Task.yield() }
        #expect(upstream.pending.cancel(owner: "a", clientID: JSONRPCID(5)).count == 1)
        var cancelled = false
        do { _ = try await mine } catch { cancelled = true }
        #expect(cancelled)
        try upstream.answerAll(seed: 3)
        #expect(try JSONRPCMessage.parse(try await theirs.finalMessage()).kind == .response)
    }

    @Test("an ended session's calls are all cancelled; another client's stay")
    func cancellationOfAnOwner() async throws {
        let upstream = ShufflingEchoUpstream()
        async let first = upstream.pending.call(
            try forward(#"{"jsonrpc":"2.0","id":1,"method":"x"}"#, owner: "a"), write: upstream.write)
        async let second = upstream.pending.call(
            try forward(#"{"jsonrpc":"2.0","id":"two","method":"x"}"#, owner: "a"), write: upstream.write)
        async let theirs = upstream.pending.call(
            try forward(#"{"jsonrpc":"2.0","id":1,"method":"x"}"#, owner: "b"), write: upstream.write)
        while upstream.pending.count < 3 { await Task.yield() }
        #expect(upstream.pending.cancel(owner: "a", clientID: nil).count == 2)
        var cancelled = 0
        do { _ = try await first } catch { cancelled += 1 }
        do { _ = try await second } catch { cancelled += 1 }
        #expect(cancelled == 2)
        try upstream.answerAll(seed: 4)
        #expect(try JSONRPCMessage.parse(try await theirs.finalMessage()).kind == .response)
    }
}
