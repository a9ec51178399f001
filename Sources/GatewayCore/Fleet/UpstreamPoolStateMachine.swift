/// Every decision about one server's instances, as a value without I/O: which instance takes a call (strategy,
/// session affinity, health, circuit breaker), and what a call's or a probe's outcome changes.
///
/// Instances are identified by their index in ``members`` for the call being chosen and by id afterwards, so an
/// instance removed while its calls are in flight is simply not found when they finish.
///
/// An instance is *eligible* when its connection is up (the caller says so) and its breaker is closed. A breaker
/// opens after ``unhealthyThreshold`` consecutive failures of calls or probes; while open, the health checker's
/// probe is the half-open trial, and one success closes it, as does a fresh handshake. When no instance is eligible
/// the gateway does not refuse: it tries the instances whose breakers are open (those with a connection up first),
/// so a single-instance server is never cut off by its own breaker.
public struct UpstreamPoolStateMachine: Sendable {
    public enum Breaker: String, Sendable, Equatable {
        case closed
        /// Out of the rotation until a probe (or a handshake) succeeds.
        case open
        /// Out of the rotation; the probe that decides is in flight.
        case halfOpen = "half_open"
    }

    /// What the pool knows about one instance.
    public struct Member: Sendable {
        public let id: String
        public var weight: Int
        public fileprivate(set) var inFlight = 0
        public fileprivate(set) var consecutiveFailures = 0
        public fileprivate(set) var breaker = Breaker.closed
        /// 0…1: an exponentially weighted share of recent calls and probes that succeeded.
        public fileprivate(set) var score = 1.0
        public fileprivate(set) var calls = 0
        public fileprivate(set) var failures = 0
        /// The reason of the latest failure, for health reports.
        public fileprivate(set) var lastFailure: String?
        /// Being removed: takes no new calls while those in flight finish.
        public fileprivate(set) var retiring = false
        /// Smooth weighted round robin's running weight.
        fileprivate var currentWeight = 0.0

        public init(id: String, weight: Int = 1) {
            self.id = id
            self.weight = max(1, weight)
        }
    }

    public enum Outcome: Sendable, Equatable {
        case success
        case failure(String)
        /// The call ended for a reason that says nothing about the instance (the client cancelled it).
        case neutral
    }

    /// A change worth logging and counting.
    public enum Transition: Sendable, Equatable {
        case ejected(id: String, reason: String)
        case restored(id: String)
    }

    public private(set) var members: [Member]
    public var strategy: LoadBalancingStrategy
    public var unhealthyThreshold: Int
    /// Which instance each client session is bound to.
    public private(set) var affinity: [String: String] = [:]
    private var cursor = 0

    /// How much one outcome moves the health score.
    static let scoreStep = 0.2
    /// The least share a `health_based` instance keeps, so it can show it recovered.
    static let scoreFloor = 0.05

    public init(members: [Member], strategy: LoadBalancingStrategy = .roundRobin, unhealthyThreshold: Int = 3) {
        self.members = members
        self.strategy = strategy
        self.unhealthyThreshold = max(1, unhealthyThreshold)
    }

    // MARK: Choosing

    /// Picks the instance for one call and counts it in flight; `nil` when every instance is excluded.
    ///
    /// - Parameters:
    ///   - key: the client session, whose bound instance is kept while it is eligible (and bound anew otherwise).
    ///   - excluded: instances this request already failed on.
    ///   - isUp: whether the instance at an index has its connection up now.
    public mutating func choose(
        affinity key: String? = nil,
        excluding excluded: [String] = [],
        isUp: (Int) -> Bool,
        using generator: inout some RandomNumberGenerator
    ) -> Int? {
        // 2: eligible; 1: a connection up but the breaker open; 0: neither; -1: excluded.
        let count = members.count
        return withUnsafeTemporaryAllocation(of: Int8.self, capacity: max(count, 1)) { levels in
            var best: Int8 = -1
            for index in 0..<count {
                let member = members[index]
                let level: Int8 =
                    member.retiring || (!excluded.isEmpty && excluded.contains(member.id))
                    ? -1 : isUp(index) ? (member.breaker == .closed ? 2 : 1) : 0
                levels[index] = level
                best = max(best, level)
            }
            if let key, let bound = affinity[key], let index = members.firstIndex(where: { $0.id == bound }),
                levels[index] == 2
            {
                return started(index)
            }
            guard best >= 0, let chosen = pick({ levels[$0] >= best }, using: &generator) else { return nil }
            if let key { affinity[key] = members[chosen].id }
            return started(chosen)
        }
    }

    private mutating func started(_ index: Int) -> Int {
        members[index].inFlight += 1
        members[index].calls += 1
        return index
    }

    /// The strategy's pick among the instances `allowed` admits.
    private mutating func pick(_ allowed: (Int) -> Bool, using generator: inout some RandomNumberGenerator) -> Int? {
        let count = members.count
        guard count > 0 else { return nil }
        switch strategy {
        case .roundRobin:
            for offset in 0..<count {
                let index = (cursor + offset) % count
                if allowed(index) {
                    cursor = (index + 1) % count
                    return index
                }
            }
            return nil
        case .leastConnections:
            var best: Int?
            for offset in 0..<count {
                let index = (cursor + offset) % count
                guard allowed(index) else { continue }
                // Fewest in flight per unit of weight; ties go to the next in turn.
                if let current = best,
                    members[index].inFlight * members[current].weight >= members[current].inFlight
                        * members[index].weight
                {
                    continue
                }
                best = index
            }
            if let best { cursor = (best + 1) % count }
            return best
        case .weighted, .healthBased:
            var total = 0.0
            var best: Int?
            for index in 0..<count where allowed(index) {
                let weight = effectiveWeight(members[index])
                members[index].currentWeight += weight
                total += weight
                if best == nil || members[index].currentWeight > members[best!].currentWeight { best = index }
            }
            if let best { members[best].currentWeight -= total }
            return best
        case .random:
            var allowedCount = 0
            for index in 0..<count where allowed(index) { allowedCount += 1 }
            guard allowedCount > 0 else { return nil }
            var remaining = Int.random(in: 0..<allowedCount, using: &generator)
            for index in 0..<count where allowed(index) {
                if remaining == 0 { return index }
                remaining -= 1
            }
            return nil
        }
    }

    private func effectiveWeight(_ member: Member) -> Double {
        let weight = Double(member.weight)
        return strategy == .healthBased ? weight * max(member.score, Self.scoreFloor) : weight
    }

    // MARK: Outcomes

    /// A call chosen by ``choose`` ended.
    @discardableResult
    public mutating func finished(_ id: String, _ outcome: Outcome) -> Transition? {
        guard let index = members.firstIndex(where: { $0.id == id }) else { return nil }
        members[index].inFlight = max(0, members[index].inFlight - 1)
        return record(outcome, at: index)
    }

    /// The health checker is about to probe `id`: an open breaker becomes half-open.
    public mutating func probeStarted(_ id: String) {
        guard let index = members.firstIndex(where: { $0.id == id }), members[index].breaker == .open else { return }
        members[index].breaker = .halfOpen
    }

    @discardableResult
    public mutating func probeFinished(_ id: String, _ outcome: Outcome) -> Transition? {
        guard let index = members.firstIndex(where: { $0.id == id }) else { return nil }
        if members[index].breaker == .halfOpen, outcome == .neutral { members[index].breaker = .open }
        return record(outcome, at: index)
    }

    /// The instance completed a handshake (started, restarted, reconnected): whatever failed before, it works now.
    @discardableResult
    public mutating func handshakeCompleted(_ id: String) -> Transition? {
        guard let index = members.firstIndex(where: { $0.id == id }) else { return nil }
        return record(.success, at: index)
    }

    private mutating func record(_ outcome: Outcome, at index: Int) -> Transition? {
        switch outcome {
        case .neutral:
            return nil
        case .success:
            members[index].consecutiveFailures = 0
            members[index].score += (1 - members[index].score) * Self.scoreStep
            guard members[index].breaker != .closed else { return nil }
            members[index].breaker = .closed
            return .restored(id: members[index].id)
        case .failure(let reason):
            members[index].consecutiveFailures += 1
            members[index].failures += 1
            members[index].lastFailure = reason
            members[index].score -= members[index].score * Self.scoreStep
            switch members[index].breaker {
            case .halfOpen:
                members[index].breaker = .open
                return nil
            case .open:
                return nil
            case .closed:
                guard members[index].consecutiveFailures >= unhealthyThreshold else { return nil }
                members[index].breaker = .open
                return .ejected(id: members[index].id, reason: reason)
            }
        }
    }

    // MARK: Membership

    /// Forgets a client session's binding (the session ended).
    public mutating func forget(affinity key: String) {
        affinity.removeValue(forKey: key)
    }

    public mutating func add(_ member: Member) {
        members.removeAll { $0.id == member.id }
        members.append(member)
    }

    /// Stops giving `id` new calls; those in flight go on (``Member/inFlight`` says how many are left).
    public mutating func retire(_ id: String) {
        guard let index = members.firstIndex(where: { $0.id == id }) else { return }
        members[index].retiring = true
    }

    /// Removes an instance; sessions bound to it are bound anew on their next call.
    public mutating func remove(_ id: String) {
        members.removeAll { $0.id == id }
        if !members.isEmpty { cursor %= members.count } else { cursor = 0 }
    }
}
