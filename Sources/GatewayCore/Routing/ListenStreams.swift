import GatewayWire
import Synchronization

/// The open `subscriptions/listen` streams of 2026-07-28 clients, and what each one asked to hear.
///
/// Change notifications from any upstream reach every stream whose endpoint shows that server and that opted in to
/// the notification type, each carrying the stream's own `io.modelcontextprotocol/subscriptionId`. A stream whose
/// client stops reading is ended with an error rather than losing notifications.
public final class ListenStreams: Sendable {
    /// What one listen request asked for, resolved to upstream servers.
    public struct Filter: Sendable {
        public var toolsListChanged = false
        public var promptsListChanged = false
        public var resourcesListChanged = false
        /// Resource URIs as the client names them, with the server and URI they map to.
        public var resources: [(client: String, server: String, uri: String)] = []

        public init() {}

        func wants(_ method: String) -> Bool {
            switch method {
            case "notifications/tools/list_changed": toolsListChanged
            case "notifications/prompts/list_changed": promptsListChanged
            case "notifications/resources/list_changed": resourcesListChanged
            default: false
            }
        }
    }

    struct Listener {
        let subscriptionID: JSONValue
        let scope: EndpointScope
        let filter: Filter
        let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation
    }

    private let listeners = Mutex<[Int: Listener]>([:])
    private let nextToken = Atomic<Int>(0)
    /// Notifications a stream may hold unread before it is ended.
    let capacity: Int

    public init(capacity: Int = 256) {
        self.capacity = capacity
    }

    public var count: Int { listeners.withLock { $0.count } }

    /// Registers a stream for the listen request `id`; `onEnd` runs once when it ends (the client closed it).
    func open(
        id: JSONRPCID,
        scope: EndpointScope,
        filter: Filter,
        onEnd: @escaping @Sendable () -> Void
    ) -> AsyncThrowingStream<[UInt8], any Error> {
        let token = nextToken.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: [UInt8].self, throwing: (any Error).self, bufferingPolicy: .bufferingOldest(capacity))
        let subscriptionID = (try? JSONParser.parse(id.lexeme)) ?? .string(id.description)
        continuation.onTermination = { [weak self] _ in
            _ = self?.listeners.withLock { $0.removeValue(forKey: token) }
            onEnd()
        }
        listeners.withLock {
            $0[token] = Listener(
                subscriptionID: subscriptionID, scope: scope, filter: filter, continuation: continuation)
        }
        return stream
    }

    /// Delivers a list change of `server` to the streams that opted in to it.
    func listChanged(_ method: String, server: String) {
        for listener in listeners(seeing: server) where listener.filter.wants(method) {
            deliver(
                JSONRPCMessage.encodeNotification(method: method, params: ["_meta": meta(listener)]),
                to: listener
            )
        }
    }

    /// Delivers an update of `uri` on `server` to the streams subscribed to it, under the URI each client used.
    func resourceUpdated(server: String, uri: String) {
        for listener in listeners(seeing: server) {
            for entry in listener.filter.resources where entry.server == server && entry.uri == uri {
                let params: JSONValue = ["uri": .string(entry.client), "_meta": meta(listener)]
                deliver(
                    JSONRPCMessage.encodeNotification(method: "notifications/resources/updated", params: params),
                    to: listener
                )
            }
        }
    }

    /// The first message of a stream: which of the requested notifications the gateway will send.
    static func acknowledgement(id: JSONRPCID, honoured filter: Filter) -> [UInt8] {
        var notifications: JSONObject = [:]
        if filter.toolsListChanged { notifications["toolsListChanged"] = true }
        if filter.promptsListChanged { notifications["promptsListChanged"] = true }
        if filter.resourcesListChanged { notifications["resourcesListChanged"] = true }
        if !filter.resources.isEmpty {
            notifications["resourceSubscriptions"] = .array(filter.resources.map { .string($0.client) })
        }
        let subscriptionID = (try? JSONParser.parse(id.lexeme)) ?? .string(id.description)
        return JSONRPCMessage.encodeNotification(
            method: "notifications/subscriptions/acknowledged",
            params: [
                "notifications": .object(notifications),
                "_meta": ["io.modelcontextprotocol/subscriptionId": subscriptionID],
            ]
        )
    }

    /// The response that ends a listen stream gracefully (the gateway is shutting down).
    public static func closingResponse(id: JSONRPCID) -> [UInt8] {
        let subscriptionID = (try? JSONParser.parse(id.lexeme)) ?? .string(id.description)
        return JSONRPCMessage.encodeResponse(
            id: id,
            result: ["resultType": "complete", "_meta": ["io.modelcontextprotocol/subscriptionId": subscriptionID]]
        )
    }

    private func meta(_ listener: Listener) -> JSONValue {
        ["io.modelcontextprotocol/subscriptionId": listener.subscriptionID]
    }

    private func listeners(seeing server: String) -> [Listener] {
        listeners.withLock { listeners in listeners.values.filter { $0.scope.shows(server) } }
    }

    private func deliver(_ bytes: [UInt8], to listener: Listener) {
        if case .dropped = listener.continuation.yield(bytes) {
            listener.continuation.finish(
                throwing: GatewayError(.overloaded, "The listen stream was ended: the client stopped reading it"))
        }
    }
}
