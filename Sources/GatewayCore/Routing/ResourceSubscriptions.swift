import Synchronization

/// How many clients (legacy sessions and 2026 listen streams) want updates of each upstream resource.
///
/// Upstream sessions are shared by every client, so `resources/subscribe` goes upstream only for the first
/// subscriber of a URI and `resources/unsubscribe` only after the last one left: one client's unsubscribe never
/// ends another's updates. After a server restarts, ``uris(of:)`` lists what to subscribe again.
public final class ResourceSubscriptions: Sendable {
    private struct Key: Hashable {
        let server: String
        let uri: String
    }

    private let counts = Mutex<[Key: Int]>([:])

    public init() {}

    /// Counts one more subscriber; `true` when it is the first (the gateway must subscribe upstream).
    public func acquire(server: String, uri: String) -> Bool {
        counts.withLock { counts in
            counts[Key(server: server, uri: uri), default: 0] += 1
            return counts[Key(server: server, uri: uri)] == 1
        }
    }

    /// Counts one subscriber less; `true` when it was the last (the gateway must unsubscribe upstream).
    public func release(server: String, uri: String) -> Bool {
        counts.withLock { counts in
            let key = Key(server: server, uri: uri)
            guard let count = counts[key] else { return false }
            if count > 1 {
                counts[key] = count - 1
                return false
            }
            counts[key] = nil
            return true
        }
    }

    /// The URIs of `server` that someone is subscribed to.
    public func uris(of server: String) -> [String] {
        counts.withLock { counts in counts.keys.filter { $0.server == server }.map(\.uri).sorted() }
    }

    public func count(server: String, uri: String) -> Int {
        counts.withLock { $0[Key(server: server, uri: uri)] ?? 0 }
    }
}
