import GatewayWire
import Logging
import Synchronization

/// Delivers what upstreams send unprompted to the clients that can see the server: list changes (and the router's
/// cached names are forgotten) to every legacy session and to the 2026 listen streams that opted in, resource
/// updates to the sessions and streams subscribed to that resource.
///
/// A log message that reaches the relay named no request (those that did travel on their request's stream). The
/// upstream session is shared by every client, so it could be about any client's work: it goes to the gateway's own
/// log, never to clients, so that one principal's log output cannot reach another.
public final class NotificationRelay: Sendable {
    private let sessions: SessionRegistry
    let listeners: ListenStreams
    private let directory = Mutex<UpstreamDirectory?>(nil)
    /// Called when a server (re)started, to subscribe again to what clients are subscribed to.
    private let readyHandler = Mutex<(@Sendable (String) -> Void)?>(nil)

    private let logger: Logger

    public init(
        sessions: SessionRegistry,
        listeners: ListenStreams = ListenStreams(),
        logger: Logger = Logger(label: "mcp-gateway")
    ) {
        self.sessions = sessions
        self.listeners = listeners
        self.logger = logger
    }

    /// Connects the relay to the servers whose catalogs it invalidates (they are built with ``events``).
    public func attach(_ directory: UpstreamDirectory) {
        self.directory.withLock { $0 = directory }
    }

    public func onServerReady(_ handler: @escaping @Sendable (String) -> Void) {
        readyHandler.withLock { $0 = handler }
    }

    public var events: UpstreamEvents {
        UpstreamEvents(
            onNotification: { [weak self] server, message in self?.relay(message, from: server) },
            onReady: { [weak self] server, instance in self?.announceReady(server, instance: instance) }
        )
    }

    /// A server that (re)started may offer different tools than before, or was missing from lists a client already
    /// fetched: forget its names and tell its clients to list again.
    func announceReady(_ server: String, instance: String) {
        let upstream = directory.withLock { $0 }?.server(named: server)
        // A session's own process (pool.isolation: per-session) starting changes nothing the other clients see.
        if let upstream, !upstream.isPoolMember(instance) { return }
        upstream?.instanceReady(instance)
        upstream?.forgetCatalog()
        readyHandler.withLock { $0 }?(server)
        let sessions = sessions.sessions(seeing: server)
        for method in Self.listChanged {
            listeners.listChanged(method, server: server)
            let notification = JSONRPCMessage.encodeNotification(method: method, params: nil)
            for session in sessions { session.push(notification) }
        }
    }

    static let listChanged = [
        "notifications/tools/list_changed", "notifications/prompts/list_changed",
        "notifications/resources/list_changed",
    ]

    func relay(_ message: JSONRPCMessage, from server: String) {
        guard message.kind == .notification, let method = message.method else { return }
        switch method {
        case "notifications/tools/list_changed", "notifications/prompts/list_changed",
            "notifications/resources/list_changed":
            directory.withLock { $0 }?.server(named: server)?.forgetCatalog()
            for session in sessions.sessions(seeing: server) { session.push(message.bytes) }
            listeners.listChanged(method, server: server)
        case "notifications/resources/updated":
            guard let uri = message.paramString("uri"), let range = message.param("uri") else { return }
            let target = ResourceTarget(server: server, uri: uri)
            for session in sessions.sessions(seeing: server) {
                for clientURI in session.subscribedURIs(for: target) {
                    session.push(
                        clientURI == uri
                            ? message.bytes
                            : message.splicing([ByteEdit(range: range, replacement: JSONValue.quoted(clientURI))]))
                }
            }
            listeners.resourceUpdated(server: server, uri: uri)
        case "notifications/message":
            logger.info(
                "upstream log message for no request",
                metadata: [
                    "gateway.upstream": "\(server)", "mcp.log.level": "\(message.paramString("level") ?? "info")",
                    "mcp.log.data":
                        "\(String(decoding: message.param("data").map(message.slice) ?? [], as: UTF8.self).prefix(500))",
                ]
            )
        default:
            // Progress for finished requests, cancellations of server requests and unknown notifications: dropped.
            break
        }
    }
}
