import GatewayWire
import Logging
import Synchronization

/// One server at run time: its instances' transports, the pool state machine that chooses among them, and the
/// catalog the router keeps for it.
///
/// Each request goes to the instance ``UpstreamPoolStateMachine`` picks (strategy, session affinity, health). A
/// request that fails on an instance is tried on another, up to `maxRetries` more, when repeating it cannot do
/// harm: lists, reads, discovery and the like always; `tools/call` only when the request provably never reached the
/// instance or the tool is annotated `readOnlyHint` or `idempotentHint`.
public final class UpstreamServer: Sendable {
    public let configuration: ServerConfiguration
    public let balancing: LoadBalancerConfiguration
    private struct Fleet: Sendable {
        var machine: UpstreamPoolStateMachine
        /// In the order of `machine.members`.
        var transports: [any UpstreamTransport]
        /// How each instance was declared or registered, by id.
        var instances: [String: UpstreamInstanceConfiguration]
        var generator = SystemRandomNumberGenerator()
        var latencies = LatencyWindow()
    }

    private let fleet: Mutex<Fleet>
    /// Set by the directory, which runs what the server makes on its own.
    private let launcher = Mutex<InstanceLauncher?>(nil)
    /// `pool.isolation: per-session`: each session's own process.
    let sessionProcesses: SessionProcesses?
    /// `pool.start: lazy`: whether the configured processes were started yet.
    private let lazilyStarted = Atomic<Bool>(false)
    let catalog = Mutex(ServerCatalog())
    /// Lists being learnt right now, so concurrent callers do not repeat them.
    private let learning = Mutex<Set<String>>([])
    private let logger: Logger

    /// Methods that change nothing on the server, so a failed attempt may be repeated on another instance.
    static let repeatableMethods: Set<String> = [
        "tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read", "prompts/get",
        "completion/complete", "server/discover", "ping", "resources/subscribe", "resources/unsubscribe",
    ]

    public init(
        configuration: ServerConfiguration,
        transports: [any UpstreamTransport],
        balancing: LoadBalancerConfiguration = .init(),
        logger: Logger = Logger(label: "mcp-gateway")
    ) {
        precondition(!transports.isEmpty, "a server has at least one instance")
        self.configuration = configuration
        self.balancing = balancing
        let instances = Dictionary(
            configuration.instances.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.fleet = Mutex(
            Fleet(
                machine: UpstreamPoolStateMachine(
                    members: transports.map { .init(id: $0.instanceID, weight: instances[$0.instanceID]?.weight ?? 1) },
                    strategy: balancing.strategy,
                    unhealthyThreshold: balancing.unhealthyThreshold
                ),
                transports: transports,
                instances: instances
            ))
        var logger = logger
        logger[metadataKey: "gateway.upstream"] = "\(configuration.name)"
        self.logger = logger
        if case .perSession(let maxProcesses, let idleTimeout) = configuration.isolation {
            sessionProcesses = SessionProcesses(maxProcesses: maxProcesses, idleTimeout: idleTimeout)
        } else {
            sessionProcesses = nil
        }
    }

    /// Hands the server what it needs to run processes it makes itself; starts the configured ones unless they
    /// start lazily.
    func attach(_ launcher: InstanceLauncher) {
        self.launcher.withLock { $0 = launcher }
        if !configuration.startsLazily { startConfiguredInstances() }
    }

    private func startConfiguredInstances() {
        guard !lazilyStarted.exchange(true, ordering: .acquiringAndReleasing),
            let launcher = launcher.withLock({ $0 })
        else { return }
        for transport in transports { launcher.start(transport) }
    }

    public var name: String { configuration.name }

    public var transports: [any UpstreamTransport] { fleet.withLock { $0.transports } }

    /// The configured transports and the per-session ones.
    private var allTransports: [any UpstreamTransport] { transports + (sessionProcesses?.transports ?? []) }

    /// The pool's view of every instance, with its transport and configuration, for health reports.
    public var members:
        [(
            member: UpstreamPoolStateMachine.Member, transport: any UpstreamTransport,
            instance: UpstreamInstanceConfiguration?
        )]
    {
        fleet.withLock { fleet in
            zip(fleet.machine.members, fleet.transports).map { ($0, $1, fleet.instances[$0.id]) }
        }
    }

    // MARK: Membership

    /// Adds an instance whose transport the caller runs.
    /// - Returns: `false` when the server already has an instance with that id.
    func add(_ instance: UpstreamInstanceConfiguration, transport: any UpstreamTransport) -> Bool {
        fleet.withLock { fleet in
            guard fleet.instances[instance.id] == nil else { return false }
            fleet.machine.add(.init(id: instance.id, weight: instance.weight))
            fleet.transports.append(transport)
            fleet.instances[instance.id] = instance
            return true
        }
    }

    /// Takes `id` out of the rotation: it gets no new calls. `false` for an unknown or already retiring id.
    func retire(_ id: String) -> Bool {
        fleet.withLock { fleet in
            guard fleet.machine.members.contains(where: { $0.id == id && !$0.retiring }) else { return false }
            fleet.machine.retire(id)
            return true
        }
    }

    /// Waits until the calls in flight on `id` are done, at most `grace` (less if the waiting task is cancelled).
    func drain(_ id: String, grace: Duration) async {
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline, !Task.isCancelled,
            fleet.withLock({ $0.machine.members.first { $0.id == id }?.inFlight ?? 0 }) > 0
        {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The transport of `id`.
    func transport(of id: String) -> (any UpstreamTransport)? {
        fleet.withLock { fleet in
            fleet.machine.members.firstIndex { $0.id == id }.map { fleet.transports[$0] }
        }
    }

    /// Removes `id` (retired and drained) from the server.
    func removeRetired(_ id: String) {
        fleet.withLock { fleet in
            guard let index = fleet.machine.members.firstIndex(where: { $0.id == id }) else { return }
            fleet.machine.remove(id)
            fleet.instances[id] = nil
            fleet.transports.remove(at: index)
        }
    }

    /// How many instances take new calls (retiring ones left out).
    var activeInstanceCount: Int { fleet.withLock { $0.machine.members.count { !$0.retiring } } }

    /// Stops every session's process (the server is being removed).
    func stopSessionProcesses() async {
        guard let sessionProcesses, let launcher = launcher.withLock({ $0 }) else { return }
        for transport in sessionProcesses.removeAll() { await launcher.stop(transport) }
    }

    /// How many instances the server has (retiring ones included).
    public var instanceCount: Int { fleet.withLock { $0.transports.count } }

    /// Sends a request to the instance the pool picks, and to others while a failure allows it. An instance that is
    /// still starting is waited for at most the request's idle timeout (and at most `readinessWait`), never the
    /// whole start-up time.
    ///
    /// - Parameters:
    ///   - affinity: the client session, which keeps its instance while that instance is healthy.
    ///   - repeatable: the request may be repeated even if it reached an instance (a tool annotated read-only or
    ///     idempotent).
    public func send(
        _ body: UpstreamRequest.Body,
        owner: String,
        affinity: String? = nil,
        repeatable: Bool = false,
        readinessWait: Duration? = nil,
        statelessClient: Bool = false,
        serverRequests: ServerRequestSink? = nil,
        modern: UpstreamRequest.ModernFields = .init()
    ) async throws(GatewayError) -> MCPReply {
        var request = UpstreamRequest(
            body,
            owner: owner,
            idleTimeout: configuration.callTimeout,
            maxDuration: configuration.maxCallDuration,
            readinessWait: min(
                readinessWait ?? .seconds(Int64.max), configuration.callTimeout, configuration.connectTimeout)
        )
        request.bridgesStatelessClient = statelessClient
        request.serverRequests = serverRequests
        request.modern = modern
        if let sessionProcesses, let affinity {
            return try await sendToSessionProcess(request, key: affinity, in: sessionProcesses)
        }
        startConfiguredInstances()
        let mayRepeat = repeatable || Self.repeatableMethods.contains(request.method)
        let started = ContinuousClock.now
        var tried: [String] = []
        while true {
            guard let (id, transport) = choose(affinity: affinity, excluding: tried) else {
                throw GatewayError.upstream(.upstreamUnavailable, server: name, "no instance is left to try")
            }
            do throws(GatewayError) {
                return track(try await transport.send(request), on: id, started: started)
            } catch {
                tried.append(id)
                let retrying =
                    Self.isInstanceFailure(error) && (mayRepeat || error.neverSent)
                    && tried.count <= balancing.maxRetries && hasUntried(tried)
                finished(id, Self.outcome(of: error), started: retrying ? nil : started)
                guard retrying else { throw error }
                logger.debug(
                    "retrying on another instance",
                    metadata: ["gateway.instance": "\(id)", "mcp.method": "\(request.method)", "error": "\(error)"])
            }
        }
    }

    /// A session's request to its own process (made and started at its first request); never retried elsewhere,
    /// since no other process is the session's.
    private func sendToSessionProcess(
        _ request: UpstreamRequest,
        key: String,
        in processes: SessionProcesses
    ) async throws(GatewayError) -> MCPReply {
        guard let launcher = launcher.withLock({ $0 }), let template = configuration.instances.first else {
            throw GatewayError.upstream(.upstreamUnavailable, server: name, "cannot start a process for the session")
        }
        let (transport, created) = try processes.checkOut(key, server: name) {
            var instance = template
            instance.id = "\(template.id)@\(key.prefix(8))"
            return launcher.make(instance)
        }
        if created {
            logger.info("starting a process for a session", metadata: ["gateway.instance": "\(transport.instanceID)"])
            launcher.start(transport)
        }
        let reply: MCPReply
        do throws(GatewayError) {
            reply = try await transport.send(request)
        } catch {
            processes.finished(key)
            throw error
        }
        switch reply {
        case .response:
            processes.finished(key)
            return reply
        case .stream(let first, let rest):
            let completion = CallCompletion { _ in processes.finished(key) }
            return .stream(first: first, rest: completion.observing(rest))
        }
    }

    /// Stops the processes of sessions idle for `pool.idleTimeout`.
    func reapIdleSessionProcesses() async {
        guard let sessionProcesses, let launcher = launcher.withLock({ $0 }) else { return }
        for transport in sessionProcesses.removeIdle() {
            logger.info("stopping an idle session's process", metadata: ["gateway.instance": "\(transport.instanceID)"])
            await launcher.stop(transport)
        }
    }

    private func choose(affinity: String?, excluding tried: [String]) -> (String, any UpstreamTransport)? {
        fleet.withLock { fleet in
            let transports = fleet.transports
            guard
                let index = fleet.machine.choose(
                    affinity: affinity, excluding: tried, isUp: { transports[$0].status == .ready },
                    using: &fleet.generator)
            else { return nil }
            return (fleet.machine.members[index].id, transports[index])
        }
    }

    private func hasUntried(_ tried: [String]) -> Bool {
        fleet.withLock { fleet in fleet.machine.members.contains { !tried.contains($0.id) } }
    }

    /// Counts the call as finished when its reply is complete: at once for a response, at the end for a stream.
    private func track(_ reply: MCPReply, on id: String, started: ContinuousClock.Instant) -> MCPReply {
        switch reply {
        case .response:
            finished(id, .success, started: started)
            return reply
        case .stream(let first, let rest):
            let completion = CallCompletion { [weak self] outcome in self?.finished(id, outcome, started: started) }
            return .stream(first: first, rest: completion.observing(rest))
        }
    }

    /// Records how a call on `id` ended; with `started`, the request as a whole ended too (for the statistics).
    func finished(_ id: String, _ outcome: UpstreamPoolStateMachine.Outcome, started: ContinuousClock.Instant?) {
        let now = started.map { _ in ContinuousClock.now }
        let transition = fleet.withLock { fleet in
            if let started, let now {
                fleet.latencies.record(now - started, failed: { if case .failure = outcome { true } else { false } }())
            }
            return fleet.machine.finished(id, outcome)
        }
        if let transition { log(transition) }
    }

    /// Whether `error` says something about the instance (rather than the client or the gateway). An HTTP status of
    /// 4xx is about the request (too large for a proxy, not authorised), except 408 and 429.
    static func isInstanceFailure(_ error: GatewayError) -> Bool {
        switch error.code {
        case .upstreamUnavailable, .upstreamTimeout, .upstreamExited, .upstreamProtocolError: return true
        case .upstreamRejected:
            guard let status = error.data?["httpStatus"]?.numberValue?.intValue else { return true }
            return !(400..<500).contains(status) || status == 408 || status == 429
        default: return false
        }
    }

    static func outcome(of error: any Error) -> UpstreamPoolStateMachine.Outcome {
        guard let error = error as? GatewayError, isInstanceFailure(error) else { return .neutral }
        return .failure(error.data?["reason"]?.stringValue ?? error.message)
    }

    // MARK: Health

    /// Probes the instances every `healthCheckInterval` until cancelled. After a failed probe the next round comes
    /// within a second, until the instance is out of the rotation or answers again, so an instance that died
    /// without traffic leaves the rotation about one interval after it died. While an instance is out, rounds come
    /// every half interval, so it is back within one interval of answering again.
    public func runHealthChecks() async {
        let interval = balancing.healthCheckInterval
        var next = interval
        while !Task.isCancelled {
            try? await Task.sleep(for: next)
            if Task.isCancelled { return }
            await reapIdleSessionProcesses()
            let failed = await probeInstances()
            let (suspects, out) = fleet.withLock { fleet in
                (
                    fleet.machine.members.contains { failed.contains($0.id) && $0.breaker == .closed },
                    fleet.machine.members.contains { $0.breaker != .closed }
                )
            }
            next = suspects ? min(interval, .seconds(1)) : out ? interval / 2 : interval
        }
    }

    /// Probes every instance whose connection is up, at once, each bounded by `healthTimeout`: `ping`, or
    /// `server/discover` for a 2026-07-28 instance. Returns the ids whose probe failed.
    @discardableResult
    public func probeInstances() async -> [String] {
        let targets = fleet.withLock { fleet in
            zip(fleet.machine.members, fleet.transports).filter { $0.1.status == .ready }.map { ($0.0.id, $0.1) }
        }
        return await withTaskGroup(of: String?.self) { group in
            for (id, transport) in targets {
                group.addTask { await self.probe(id, transport) ? nil : id }
            }
            var failed: [String] = []
            for await id in group { if let id { failed.append(id) } }
            return failed
        }
    }

    /// One probe of one instance; `true` when it answered.
    func probe(_ id: String, _ transport: any UpstreamTransport) async -> Bool {
        let modern = transport.currentHandshake?.era == .modern
        let method = modern ? "server/discover" : "ping"
        let timeout = balancing.healthTimeout
        // The transport adds the `_meta` a 2026-07-28 instance needs.
        let request = UpstreamRequest(
            .synthesized(method: method, params: nil),
            owner: UpstreamRequest.gatewayOwner, idleTimeout: timeout, maxDuration: timeout, readinessWait: .zero)
        fleet.withLock { $0.machine.probeStarted(id) }
        let outcome: UpstreamPoolStateMachine.Outcome
        do {
            let answer = try await transport.send(request).finalMessage()
            // Any JSON-RPC answer shows the instance is alive, an error too (a server without `ping`).
            let kind = (try? JSONRPCMessage.parse(answer))?.kind
            outcome =
                kind == .response || kind == .errorResponse
                ? .success : .failure("answered \(method) with something that is not a JSON-RPC answer")
        } catch {
            // Whatever stopped the probe, the instance did not answer it.
            let failure = error as? GatewayError
            outcome = .failure(failure?.data?["reason"]?.stringValue ?? failure?.message ?? "\(error)")
        }
        let transition = fleet.withLock { $0.machine.probeFinished(id, outcome) }
        if let transition { log(transition) }
        return outcome == .success
    }

    /// An instance completed a handshake: it is in the rotation again whatever failed before.
    public func instanceReady(_ id: String) {
        let transition = fleet.withLock { $0.machine.handshakeCompleted(id) }
        if let transition { log(transition) }
    }

    /// The client session ended: its binding to an instance goes.
    public func forget(affinity key: String) {
        fleet.withLock { $0.machine.forget(affinity: key) }
        if let transport = sessionProcesses?.remove(key), let launcher = launcher.withLock({ $0 }) {
            logger.info(
                "stopping an ended session's process", metadata: ["gateway.instance": "\(transport.instanceID)"])
            Task { await launcher.stop(transport) }
        }
    }

    /// Whether `id` is one of the configured (or registered) instances, rather than a session's own process.
    func isPoolMember(_ id: String) -> Bool {
        fleet.withLock { fleet in fleet.machine.members.contains { $0.id == id } }
    }

    private func log(_ transition: UpstreamPoolStateMachine.Transition) {
        switch transition {
        case .ejected(let id, let reason):
            logger.warning(
                "instance left the rotation", metadata: ["gateway.instance": "\(id)", "reason": "\(reason)"])
        case .restored(let id):
            logger.notice("instance is back in the rotation", metadata: ["gateway.instance": "\(id)"])
        }
    }

    // MARK: Handshakes

    /// The first instance's handshake that becomes available within `timeout`.
    public func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake {
        startConfiguredInstances()
        let transports = self.transports
        if let ready = transports.first(where: { $0.status == .ready }) {
            return try await ready.handshake(timeout: timeout)
        }
        guard let first = transports.first else {
            throw GatewayError.upstream(.upstreamUnavailable, server: name, "has no instances")
        }
        return try await first.handshake(timeout: timeout)
    }

    /// The handshake of a running instance, if any is up.
    public var currentHandshake: UpstreamHandshake? {
        transports.lazy.compactMap(\.currentHandshake).first
    }

    /// Whether any running instance is served statelessly (2026-07-28), and so may answer `input_required`.
    var servesStatelessly: Bool {
        transports.contains { $0.currentHandshake?.era == .modern }
    }

    /// Whether the server declared `capability` (`tools`, `prompts`, …); `nil` while no instance is up.
    func declares(_ capability: String) -> Bool? {
        currentHandshake.map { $0.capabilities[capability] != nil }
    }

    public func cancel(owner: String, clientID: JSONRPCID?) async {
        for transport in transports { await transport.cancel(owner: owner, clientID: clientID) }
        await sessionProcesses?.transport(of: owner)?.cancel(owner: owner, clientID: clientID)
    }

    func beginLearning(_ list: String) -> Bool { learning.withLock { $0.insert(list).inserted } }

    func endLearning(_ list: String) { _ = learning.withLock { $0.remove(list) } }

    func forgetCatalog() {
        catalog.withLock { $0 = ServerCatalog(generation: $0.generation + 1) }
    }
}

extension UpstreamServer {
    /// The server's health as `GET /mcp/{server}/health` reports it (the MCP Platform shape, with the pool's view of
    /// each instance added). An instance is healthy when its connection is up and its breaker closed.
    public func healthReport() -> JSONValue {
        var instances = JSONObject()
        var healthy = 0
        let members = self.members
        for (member, transport, _) in members {
            let status = transport.status
            let isHealthy = status == .ready && member.breaker == .closed && !member.retiring
            if isHealthy { healthy += 1 }
            var entry: JSONObject = [
                "healthy": .bool(isHealthy),
                "status": .string(member.retiring ? "draining" : status.name),
                "breaker": .string(member.breaker.rawValue),
                "weight": .number(JSONNumber(member.weight)),
                "in_flight": .number(JSONNumber(member.inFlight)),
                "calls": .number(JSONNumber(member.calls)),
                "failures": .number(JSONNumber(member.failures)),
                "consecutive_failures": .number(JSONNumber(member.consecutiveFailures)),
                "health_score": .number(JSONNumber((member.score * 1000).rounded() / 1000)),
            ]
            if case .down(let reason) = status { entry["reason"] = .string(reason) }
            if let failure = member.lastFailure { entry["last_failure"] = .string(failure) }
            if let handshake = transport.currentHandshake {
                entry["protocol_version"] = .string(handshake.protocolVersion)
            }
            instances[member.id] = .object(entry)
        }
        let percentage = members.isEmpty ? 0 : (Double(healthy) * 1000 / Double(members.count)).rounded() / 10
        var report: JSONObject = [
            "template_name": .string(name),
            "strategy": .string(balancing.strategy.rawValue),
            "total_instances": .number(JSONNumber(members.count)),
            "healthy_instances": .number(JSONNumber(healthy)),
            "health_percentage": .number(JSONNumber(percentage)),
            "instances": .object(instances),
        ]
        if let sessionProcesses {
            report["session_processes"] = [
                "running": .number(JSONNumber(sessionProcesses.count)),
                "max": .number(JSONNumber(sessionProcesses.maxProcesses)),
            ]
        }
        return .object(report)
    }
}

extension UpstreamServer {
    /// The server's part of `GET /gateway/stats`: requests and instance failures since start, latency percentiles of
    /// the latest 1,024 requests, how the calls were spread over the instances, and the health checker's state.
    public func statsReport() -> JSONValue {
        let (window, members) = fleet.withLock { ($0.latencies, $0.machine.members) }
        let sorted = window.sortedSamples
        var latency: JSONObject = ["window": .number(JSONNumber(sorted.count))]
        for (label, quantile) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
            if let value = window.percentile(quantile, sorted: sorted) {
                latency[label] = .number(JSONNumber((value * 1000).rounded() / 1000))
            }
        }
        let totalCalls = members.reduce(0) { $0 + $1.calls }
        var instances = JSONObject()
        for member in members {
            let share = totalCalls == 0 ? 0 : (Double(member.calls) * 1000 / Double(totalCalls)).rounded() / 10
            instances[member.id] = [
                "calls": .number(JSONNumber(member.calls)),
                "share_percentage": .number(JSONNumber(share)),
                "failures": .number(JSONNumber(member.failures)),
                "in_flight": .number(JSONNumber(member.inFlight)),
                "breaker": .string(member.breaker.rawValue),
                "consecutive_failures": .number(JSONNumber(member.consecutiveFailures)),
                "health_score": .number(JSONNumber((member.score * 1000).rounded() / 1000)),
            ]
        }
        func milliseconds(_ duration: Duration) -> JSONValue {
            .number(
                JSONNumber(
                    Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)))
        }
        return [
            "requests": .number(JSONNumber(window.total)),
            "errors": .number(JSONNumber(window.failed)),
            "latency_ms": .object(latency),
            "strategy": .string(balancing.strategy.rawValue),
            "instances": .object(instances),
            "health_checks": [
                "interval_ms": milliseconds(balancing.healthCheckInterval),
                "timeout_ms": milliseconds(balancing.healthTimeout),
                "unhealthy_threshold": .number(JSONNumber(balancing.unhealthyThreshold)),
            ],
        ]
    }
}
