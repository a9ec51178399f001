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
    /// Told about every session that ends (deleted, expired, stream closed), to release what it held upstream.
    private let closedHandler = Mutex<(@Sendable (ClientSession) -> Void)?>(nil)

    public init(maxSessions: Int, idleTimeout: Duration) {
        self.maxSessions = maxSessions
        self.idleTimeout = idleTimeout
    }

    /// A new session. Streamable HTTP sessions are created by `initialize`, with what it negotiated; HTTP+SSE
    /// sessions by their GET, before the client's `initialize` arrives (see ``ClientSession/completeHandshake``).
    public func create(
        identity: Identity,
        scope: EndpointScope,
        transport: ClientSession.Transport = .streamableHTTP,
        protocolVersion: String,
        clientCapabilities: JSONValue,
        clientInfo: JSONValue?,
        handshakeComplete: Bool = true
    ) throws(GatewayError) -> ClientSession {
        let session = ClientSession(
            id: Self.newSessionID(),
            identity: identity,
            scope: scope,
            transport: transport,
            protocolVersion: protocolVersion,
            clientCapabilities: clientCapabilities,
            clientInfo: clientInfo,
            handshakeComplete: handshakeComplete
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

    /// The session `id` if it exists, belongs to `identity` and to `transport`; refreshes its idle timer.
    public func session(
        id: String,
        for identity: Identity,
        transport: ClientSession.Transport = .streamableHTTP
    ) -> ClientSession? {
        guard let session = sessions.withLock({ $0[id] }), session.identity.principal == identity.principal,
            session.transport == transport
        else {
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
        if let removed { end(removed) }
        return removed != nil
    }

    /// Drops Streamable HTTP sessions idle for longer than ``idleTimeout``; returns how many. HTTP+SSE sessions
    /// live exactly as long as their event stream, which removes them when it closes.
    @discardableResult
    public func sweepIdle(now: ContinuousClock.Instant = .now) -> Int {
        let expired = sessions.withLock { sessions -> [ClientSession] in
            let stale = sessions.values.filter { $0.transport == .streamableHTTP && now - $0.lastUsed > idleTimeout }
            for session in stale { sessions.removeValue(forKey: session.id) }
            return stale
        }
        for session in expired { end(session) }
        return expired.count
    }

    public func onSessionClosed(_ handler: @escaping @Sendable (ClientSession) -> Void) {
        closedHandler.withLock { $0 = handler }
    }

    private func end(_ session: ClientSession) {
        session.close()
        closedHandler.withLock { $0 }?(session)
    }

    public var count: Int { sessions.withLock { $0.count } }

    /// Sessions whose endpoint shows `server`.
    public func sessions(seeing server: String) -> [ClientSession] {
        sessions.withLock { sessions in sessions.values.filter { $0.scope.shows(server) } }
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
