import GatewayWire
import Synchronization

/// What the gateway's own `subscriptions/listen` stream to a 2026-07-28 upstream asks for: changes of the lists the
/// server has, and every resource someone is subscribed to.
///
/// A 2026-07-28 server has no `resources/subscribe`; the router's subscribe and unsubscribe requests (counted
/// across clients, one per resource) change this set instead, and the transport reopens its listen stream with it.
public final class UpstreamListenInterest: Sendable {
    private let uris = Mutex<Set<String>>([])
    private let signal: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)

    public init() {
        signal = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Yields once after every change of the subscribed resources.
    public var changes: AsyncStream<Void> { signal.stream }

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
        let changed = uris.withLock { uris in
            method == "resources/subscribe" ? uris.insert(uri).inserted : uris.remove(uri) != nil
        }
        if changed { signal.continuation.yield() }
        return .response(JSONRPCMessage.encodeResponse(id: request.clientID ?? JSONRPCID(0), result: Array("{}".utf8)))
    }

    /// The `subscriptions/listen` params for a server that declared `capabilities`, or `nil` when there is nothing
    /// to listen for. Every list the server has is asked for, `listChanged` or not (servers such as the Python
    /// SDK's announce changes without declaring it); the acknowledgement says what the server will send.
    public func listenParams(capabilities: JSONObject) -> JSONValue? {
        var notifications: JSONObject = [:]
        for (capability, flag) in [
            ("tools", "toolsListChanged"), ("prompts", "promptsListChanged"), ("resources", "resourcesListChanged"),
        ] where capabilities[capability] != nil {
            notifications[flag] = true
        }
        let subscribed = uris.withLock { $0.sorted() }
        if !subscribed.isEmpty { notifications["resourceSubscriptions"] = .array(subscribed.map { .string($0) }) }
        return notifications.isEmpty ? nil : ["notifications": .object(notifications)]
    }

    public func finish() { signal.continuation.finish() }
}
