import GatewayWire
import Synchronization

/// All live client sessions, keyed by id and bound to the identity that created them.
///
/// A lookup by another principal gets the same `nil` as an unknown id, so a leaked session id is useless to anyone
/// else and the answer is no oracle.
public final class SessionRegistry: Sendable {
    private let sessions = Mutex<[String: ClientSession]>([:])
    public let maxSessions: Int
    public let idleTimeout: Duration

    public init(maxSessions: Int, idleTimeout: Duration) {
        self.maxSessions = maxSessions
        self.idleTimeout = idleTimeout
    }

    public func create(
        identity: Identity,
        scope: EndpointScope,
        protocolVersion: String,
        clientCapabilities: JSONValue,
        clientInfo: JSONValue?
    ) throws(GatewayError) -> ClientSession {
        let session = ClientSession(
            id: Self.newSessionID(),
            identity: identity,
            scope: scope,
            protocolVersion: protocolVersion,
            clientCapabilities: clientCapabilities,
            clientInfo: clientInfo
        )
        let added = sessions.withLock { sessions in
            guard sessions.count < maxSessions else { return false }
            sessions[session.id] = session
            return true
        }
        guard added else {
            throw GatewayError(.overloaded, "The gateway holds its maximum of \(maxSessions) sessions; try again later")
        }
        return session
    }

    /// The session `id` if it exists and belongs to `identity`; refreshes its idle timer.
    public func session(id: String, for identity: Identity) -> ClientSession? {
        guard let session = sessions.withLock({ $0[id] }), session.identity.principal == identity.principal else {
            return nil
        }
        session.touch()
        return session
    }

    /// Ends a session; `false` if there was none for this identity.
    @discardableResult
    public func remove(id: String, for identity: Identity) -> Bool {
        let removed = sessions.withLock { sessions -> ClientSession? in
            guard let session = sessions[id], session.identity.principal == identity.principal else { return nil }
            return sessions.removeValue(forKey: id)
        }
        removed?.close()
        return removed != nil
    }

    /// Drops sessions idle for longer than ``idleTimeout``; returns how many.
    @discardableResult
    public func sweepIdle(now: ContinuousClock.Instant = .now) -> Int {
        let expired = sessions.withLock { sessions -> [ClientSession] in
            let stale = sessions.values.filter { now - $0.lastUsed > idleTimeout }
            for session in stale { sessions.removeValue(forKey: session.id) }
            return stale
        }
        for session in expired { session.close() }
        return expired.count
    }

    public var count: Int { sessions.withLock { $0.count } }

    /// Sessions whose endpoint shows `server`.
    public func sessions(seeing server: String) -> [ClientSession] {
        sessions.withLock { sessions in
            sessions.values.filter {
                switch $0.scope {
                case .aggregate: true
                case .server(let name): name == server
                }
            }
        }
    }

    /// 128 random bits from the system CSPRNG, as 32 hex digits (visible ASCII, as the spec requires).
    static func newSessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
