import Synchronization

/// How a server has the directory build, run and stop transports it needs on its own: per-session processes, and
/// processes of `pool.start: lazy` started at the first request.
public struct InstanceLauncher: Sendable {
    public var make: @Sendable (UpstreamInstanceConfiguration) -> any UpstreamTransport
    public var start: @Sendable (any UpstreamTransport) -> Void
    public var stop: @Sendable (any UpstreamTransport) async -> Void

    public init(
        make: @escaping @Sendable (UpstreamInstanceConfiguration) -> any UpstreamTransport,
        start: @escaping @Sendable (any UpstreamTransport) -> Void,
        stop: @escaping @Sendable (any UpstreamTransport) async -> Void
    ) {
        self.make = make
        self.start = start
        self.stop = stop
    }
}

/// The processes of a `pool.isolation: per-session` server that belong to one client session each: made at the
/// session's first request to the server, stopped when the session ends or has been idle (nothing in flight) for
/// `idleTimeout`, at most `maxProcesses` at once.
final class SessionProcesses: Sendable {
    private struct Entry {
        let transport: any UpstreamTransport
        var lastUsed: ContinuousClock.Instant
        var inFlight: Int
    }

    let maxProcesses: Int
    let idleTimeout: Duration
    private let entries = Mutex<[String: Entry]>([:])

    init(maxProcesses: Int, idleTimeout: Duration) {
        self.maxProcesses = maxProcesses
        self.idleTimeout = idleTimeout
    }

    var count: Int { entries.withLock { $0.count } }

    var transports: [any UpstreamTransport] { entries.withLock { $0.values.map(\.transport) } }

    /// The session's process, counted in flight until ``finished(_:)``; made with `make` (and then to be started by
    /// the caller, `created`) when the session has none.
    /// - Throws: `overloaded` when `maxProcesses` sessions have one already.
    func checkOut(
        _ key: String,
        server: String,
        make: () -> any UpstreamTransport
    ) throws(GatewayError) -> (transport: any UpstreamTransport, created: Bool) {
        try entries.withLock { entries throws(GatewayError) in
            let now = ContinuousClock.now
            if var entry = entries[key] {
                entry.lastUsed = now
                entry.inFlight += 1
                entries[key] = entry
                return (entry.transport, false)
            }
            guard entries.count < maxProcesses else {
                throw GatewayError.upstream(
                    .overloaded, server: server,
                    "has \(maxProcesses) per-session processes already, the most pool.maxSessions allows")
            }
            let transport = make()
            entries[key] = Entry(transport: transport, lastUsed: now, inFlight: 1)
            return (transport, true)
        }
    }

    func finished(_ key: String) {
        entries.withLock { entries in
            guard var entry = entries[key] else { return }
            entry.inFlight = max(0, entry.inFlight - 1)
            entry.lastUsed = .now
            entries[key] = entry
        }
    }

    /// The session's process, removed (its session ended).
    func remove(_ key: String) -> (any UpstreamTransport)? {
        entries.withLock { $0.removeValue(forKey: key)?.transport }
    }

    /// The processes idle for `idleTimeout` or longer, removed.
    func removeIdle(now: ContinuousClock.Instant = .now) -> [any UpstreamTransport] {
        entries.withLock { entries in
            let idle = entries.filter { $0.value.inFlight == 0 && now - $0.value.lastUsed >= idleTimeout }
            for key in idle.keys { entries[key] = nil }
            return idle.values.map(\.transport)
        }
    }

    func removeAll() -> [any UpstreamTransport] {
        entries.withLock { entries in
            defer { entries = [:] }
            return entries.values.map(\.transport)
        }
    }

    func transport(of key: String) -> (any UpstreamTransport)? { entries.withLock { $0[key]?.transport } }
}
