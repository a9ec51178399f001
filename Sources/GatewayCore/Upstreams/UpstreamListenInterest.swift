import GatewayWire
import Synchronization

/// What the gateway's own `subscriptions/listen` stream to a 2026-07-28 upstream asks for: changes of the lists the
/// server has, and every resource someone is subscribed to.
///
/// A 2026-07-28 server has no `resources/subscribe`; the router's subscribe and unsubscribe requests (counted
/// across clients, one per resource) change this set instead, and the transport reopens its listen stream with it.
/// Each change bumps a version, which a transport waits past (``change(after:)``); waiting is cancellable and any
/// number of waits may come and go.
public final class UpstreamListenInterest: Sendable {
    private struct State {
        var uris: Set<String> = []
        var version = 0
        var finished = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Takes `resources/subscribe` or `resources/unsubscribe` here and answers it (`{}` under the request's id);
    /// `nil` for any other request.
    public func absorb(_ request: UpstreamRequest) -> MCPReply? {
        let method = request.method
        guard method == "resources/subscribe" || method == "resources/unsubscribe" else { return nil }
        let uri: String?
        switch request.body {
        case .forward: uri = request.modern.name
        case .synthesized(_, let params): uri = params?["uri"]?.stringValue
        }
        guard let uri else {
            return .response(
                GatewayError(.invalidParams, "Invalid params: \"uri\" must be a string").jsonRPCResponse(
                    id: request.clientID))
        }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let changed =
                method == "resources/subscribe" ? state.uris.insert(uri).inserted : state.uris.remove(uri) != nil
            guard changed else { return [] }
            state.version += 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
        return .response(JSONRPCMessage.encodeResponse(id: request.clientID ?? JSONRPCID(0), result: Array("{}".utf8)))
    }

    /// The `subscriptions/listen` params for a server that declared `capabilities` (`nil` when there is nothing to
    /// listen for), and the version they reflect. Every list the server has is asked for, `listChanged` or not
    /// (servers such as the Python SDK's announce changes without declaring it); the acknowledgement says what the
    /// server will send.
    public func listenParams(capabilities: JSONObject) -> (params: JSONValue?, version: Int) {
        var notifications: JSONObject = [:]
        for (capability, flag) in [
            ("tools", "toolsListChanged"), ("prompts", "promptsListChanged"), ("resources", "resourcesListChanged"),
        ] where capabilities[capability] != nil {
            notifications[flag] = true
        }
        let (subscribed, version) = state.withLock { ($0.uris.sorted(), $0.version) }
        if !subscribed.isEmpty { notifications["resourceSubscriptions"] = .array(subscribed.map { .string($0) }) }
        return (notifications.isEmpty ? nil : ["notifications": .object(notifications)], version)
    }

    /// Returns once the set changed after `version`, the interest was finished, or the caller was cancelled;
    /// `true` only for a change.
    public func change(after version: Int) async -> Bool {
        let token = state.withLock { state -> Int in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    guard state.version == version, !state.finished, !Task.isCancelled else { return true }
                    state.waiters[token] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: token) }?.resume()
        }
        return state.withLock { $0.version != version }
    }

    public func finish() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.finished = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }
}
