import GatewayWire
import Synchronization

/// The upstream requests waiting for a client's answer, by the id the gateway gave them on the client's side.
///
/// Ids are minted here, unique across the gateway, so requests from any number of servers (whose own ids collide)
/// can be in flight to one client at once. An answer is taken only by the client the request was sent to; one that
/// never comes is forgotten once the call that caused the request could no longer be running.
public final class ServerRequestRoutes: Sendable {
    public struct Route: Sendable {
        let owner: String
        let upstreamID: JSONRPCID
        let method: String
        let answer: ServerRequestSink.Answer
        let expires: ContinuousClock.Instant
    }

    private struct State {
        var nextID = 1
        var routes: [Int: Route] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var count: Int { state.withLock { $0.routes.count } }

    /// Records a request sent to `owner`; returns the id it travels under to that client.
    func add(
        owner: String,
        upstreamID: JSONRPCID,
        method: String,
        lifetime: Duration,
        answer: @escaping ServerRequestSink.Answer,
        now: ContinuousClock.Instant = .now
    ) -> JSONRPCID {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            state.routes = state.routes.filter { $0.value.expires > now }
            state.routes[state.nextID] = Route(
                owner: owner, upstreamID: upstreamID, method: method, answer: answer, expires: now + lifetime)
            return state.nextID
        }
        return JSONRPCID(id)
    }

    /// The route of the request `id`, removed, if `owner` is the client it was sent to.
    func take(owner: String, id: JSONRPCID) -> Route? {
        guard let key = id.intValue else { return nil }
        return state.withLock { state in
            guard let route = state.routes[key], route.owner == owner else { return nil }
            return state.routes.removeValue(forKey: key)
        }
    }

    /// Forgets every request sent to `owner` (its session ended).
    func drop(owner: String) {
        state.withLock { state in state.routes = state.routes.filter { $0.value.owner != owner } }
    }
}
