import GatewayCore

/// What choosing an instance costs, in process: one ``UpstreamPoolStateMachine/choose`` and the matching
/// ``UpstreamPoolStateMachine/finished(_:_:)`` over 16 instances, per strategy, with a session affinity key on every
/// fourth call (the work `UpstreamServer.send` does under its lock for each request).
struct PoolChoiceBenchmark {
    /// Nanoseconds per choice, by strategy: the median of `rounds` rounds of `iterations` choices.
    static func run(instances: Int = 16, iterations: Int = 200_000, rounds: Int = 5) throws -> [(String, Double)] {
        let clock = ContinuousClock()
        let keys = (0..<64).map { "session-\($0)" }
        var results: [(String, Double)] = []
        for strategy in LoadBalancingStrategy.allCases {
            var pool = UpstreamPoolStateMachine(
                members: (0..<instances).map { .init(id: "instance-\($0)", weight: 1 + $0 % 3) }, strategy: strategy)
            var generator = SystemRandomNumberGenerator()
            var perChoice: [Double] = []
            var missing = 0
            for _ in 0..<rounds {
                let elapsed = clock.measure {
                    for iteration in 0..<iterations {
                        let key = iteration % 4 == 0 ? keys[iteration % keys.count] : nil
                        guard let index = pool.choose(affinity: key, isUp: { $0 != 5 }, using: &generator) else {
                            missing += 1
                            continue
                        }
                        pool.finished(pool.members[index].id, .success)
                    }
                }
                perChoice.append(nanoseconds(elapsed) / Double(iterations))
            }
            guard missing == 0, pool.members.allSatisfy({ $0.inFlight == 0 }) else {
                throw BenchmarkError("the pool lost track of calls while benchmarking \(strategy.rawValue)")
            }
            results.append((strategy.rawValue, perChoice.sorted()[rounds / 2]))
        }
        return results
    }

    private static func nanoseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9
    }
}
