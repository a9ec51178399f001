import Testing

@testable import GatewayCore

@Suite("upstream pool state machine")
final class UpstreamPoolStateMachineTests {
    /// Deterministic (``SplitMix``), so `random` is tested without flakiness.
    var generator = SplitMix(seed: 42)

    static func pool(
        _ weights: [Int] = [1, 1, 1],
        strategy: LoadBalancingStrategy = .roundRobin
    ) -> UpstreamPoolStateMachine {
        UpstreamPoolStateMachine(
            members: weights.enumerated().map { .init(id: "i\($0.offset)", weight: $0.element) }, strategy: strategy)
    }

    /// Chooses `count` times (finishing each call at once, successfully) and returns the chosen ids.
    func picks(
        _ pool: inout UpstreamPoolStateMachine,
        _ count: Int,
        affinity: String? = nil,
        up: Set<Int>? = nil
    ) -> [String] {
        (0..<count).compactMap { _ in
            guard let index = pool.choose(affinity: affinity, isUp: { up?.contains($0) ?? true }, using: &generator)
            else { return nil }
            let id = pool.members[index].id
            pool.finished(id, .success)
            return id
        }
    }

    @Test("round robin takes each instance in turn, skipping those whose connection is down")
    func roundRobin() {
        var pool = Self.pool()
        #expect(picks(&pool, 6) == ["i0", "i1", "i2", "i0", "i1", "i2"])
        #expect(picks(&pool, 4, up: [0, 2]) == ["i0", "i2", "i0", "i2"])
    }

    @Test("weighted is smooth: shares follow the weights exactly and the heavy instance is interleaved")
    func weighted() {
        var pool = Self.pool([5, 1, 1], strategy: .weighted)
        #expect(picks(&pool, 7) == ["i0", "i0", "i1", "i0", "i2", "i0", "i0"])
        let many = picks(&pool, 700)
        #expect(many.filter { $0 == "i0" }.count == 500)
        #expect(many.filter { $0 == "i1" }.count == 100)
        #expect(many.filter { $0 == "i2" }.count == 100)
    }

    @Test("least connections picks the instance with the fewest calls in flight for its weight")
    func leastConnections() {
        var pool = Self.pool([1, 1, 2], strategy: .leastConnections)
        let first = pool.choose(isUp: { _ in true }, using: &generator)!
        let second = pool.choose(isUp: { _ in true }, using: &generator)!
        let third = pool.choose(isUp: { _ in true }, using: &generator)!
        // One call each on i0 and i1 (load 1 per weight), one on i2 (load 1/2): i2 is least loaded next.
        #expect(Set([first, second, third]) == [0, 1, 2])
        #expect(pool.choose(isUp: { _ in true }, using: &generator) == 2)
        // i2 now has 2 for weight 2, like i0 and i1 with 1 each; finishing i1's call makes it the least loaded.
        pool.finished("i1", .success)
        #expect(pool.choose(isUp: { _ in true }, using: &generator) == 1)
        #expect(pool.members.map(\.inFlight) == [1, 1, 2])
    }

    @Test("random picks only usable instances, about evenly")
    func random() {
        var pool = Self.pool([1, 1, 1, 1], strategy: .random)
        let chosen = picks(&pool, 4000, up: [0, 1, 3])
        #expect(!chosen.contains("i2"))
        for id in ["i0", "i1", "i3"] {
            let share = Double(chosen.filter { $0 == id }.count) / 4000
            #expect(abs(share - 1.0 / 3) < 0.05, "share of \(id) was \(share)")
        }
    }

    @Test("health_based gives an instance that failed recently a smaller share, and more again as it recovers")
    func healthBased() {
        var pool = Self.pool([1, 1], strategy: .healthBased)
        for _ in 0..<2 { pool.probeFinished("i1", .failure("timed out")) }
        let scoreAfterFailures = pool.members[1].score
        let shares = picks(&pool, 100)
        let degraded = shares.filter { $0 == "i1" }.count
        #expect(degraded > 0 && degraded < 50, "i1 got \(degraded) of 100")
        // Its own successful calls (every pick above succeeded) raised its score again.
        #expect(pool.members[1].score > scoreAfterFailures)
    }

    @Test("a session keeps its instance while it is eligible, and is moved when it is not")
    func affinity() {
        var pool = Self.pool()
        let bound = picks(&pool, 1, affinity: "s1")[0]
        #expect(picks(&pool, 5, affinity: "s1") == Array(repeating: bound, count: 5))
        // Another session starts elsewhere in the rotation.
        #expect(picks(&pool, 1, affinity: "s2")[0] != bound)
        let boundIndex = pool.members.firstIndex { $0.id == bound }!
        let moved = picks(&pool, 3, affinity: "s1", up: Set([0, 1, 2]).subtracting([boundIndex]))
        #expect(!moved.contains(bound) && Set(moved).count == 1)
        // Back up, the session stays where it was moved.
        #expect(picks(&pool, 2, affinity: "s1") == [moved[0], moved[0]])
        pool.forget(affinity: "s1")
        #expect(pool.affinity["s1"] == nil)
    }

    @Test("consecutive failures open the breaker; a success in between resets the count")
    func passiveEjection() {
        var pool = Self.pool()
        #expect(pool.finished("i0", .failure("refused")) == nil)
        #expect(pool.finished("i0", .failure("refused")) == nil)
        pool.finished("i0", .success)
        #expect(pool.finished("i0", .failure("refused")) == nil)
        #expect(pool.finished("i0", .failure("refused")) == nil)
        #expect(pool.finished("i0", .failure("refused")) == .ejected(id: "i0", reason: "refused"))
        #expect(pool.members[0].breaker == .open)
        #expect(!picks(&pool, 10).contains("i0"))
        // Neutral outcomes (a client that cancelled) say nothing about the instance.
        #expect(pool.finished("i1", .neutral) == nil)
        #expect(pool.members[1].consecutiveFailures == 0)
    }

    @Test("an open breaker half-opens for a probe; the probe's success closes it, its failure keeps it open")
    func halfOpen() {
        var pool = Self.pool()
        for _ in 0..<3 { pool.probeFinished("i2", .failure("timed out")) }
        #expect(pool.members[2].breaker == .open)
        pool.probeStarted("i2")
        #expect(pool.members[2].breaker == .halfOpen)
        #expect(pool.probeFinished("i2", .failure("timed out")) == nil)
        #expect(pool.members[2].breaker == .open)
        pool.probeStarted("i2")
        #expect(pool.probeFinished("i2", .success) == .restored(id: "i2"))
        #expect(pool.members[2].breaker == .closed)
        #expect(picks(&pool, 3).contains("i2"))
    }

    @Test("a fresh handshake closes the breaker")
    func handshakeRestores() {
        var pool = Self.pool()
        for _ in 0..<3 { pool.finished("i1", .failure("exited")) }
        #expect(pool.handshakeCompleted("i1") == .restored(id: "i1"))
        #expect(pool.members[1].consecutiveFailures == 0)
    }

    @Test("with every breaker open the instances are still tried, those with a connection up first")
    func panicMode() {
        var pool = Self.pool()
        for id in ["i0", "i1", "i2"] { for _ in 0..<3 { pool.finished(id, .failure("refused")) } }
        #expect(picks(&pool, 4, up: [1]) == ["i1", "i1", "i1", "i1"])
        #expect(picks(&pool, 3, up: []).count == 3)
    }

    @Test("instances a request already failed on are not chosen again; with all of them tried there is none")
    func exclusion() {
        var pool = Self.pool()
        let index = pool.choose(excluding: ["i0", "i2"], isUp: { _ in true }, using: &generator)
        #expect(index == 1)
        #expect(pool.choose(excluding: ["i0", "i1", "i2"], isUp: { _ in true }, using: &generator) == nil)
    }

    @Test("removing an instance mid-call: its call finishing later changes nothing; sessions bound to it move")
    func removal() {
        var pool = Self.pool()
        let bound = picks(&pool, 1, affinity: "s")[0]
        let index = pool.choose(affinity: "s", isUp: { _ in true }, using: &generator)!
        #expect(pool.members[index].id == bound)
        pool.remove(bound)
        #expect(pool.finished(bound, .failure("gone")) == nil)
        #expect(pool.members.count == 2)
        #expect(!picks(&pool, 4, affinity: "s").contains(bound))
        pool.add(.init(id: "i9", weight: 2))
        #expect(picks(&pool, 6).contains("i9"))
    }
}
