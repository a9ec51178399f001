import GatewayWire
import Synchronization

/// Delivers what upstreams send unprompted to the clients that can see the server: list changes (and the router's
/// cached names are forgotten) to every legacy session and to the 2026 listen streams that opted in, resource
/// updates to the sessions and streams subscribed to that resource, and log messages at or above each session's
/// level.
public final class NotificationRelay: Sendable {
    private let sessions: SessionRegistry
    let listeners: ListenStreams
    private let directory = Mutex<UpstreamDirectory?>(nil)
    /// Called when a server (re)started, to subscribe again to what clients are subscribed to.
    private let readyHandler = Mutex<(@Sendable (String) -> Void)?>(nil)

    public init(sessions: SessionRegistry, listeners: ListenStreams = ListenStreams()) {
        self.sessions = sessions
        self.listeners = listeners
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
            onReady: { [weak self] server in self?.announceReady(server) }
        )
    }

    /// A server that (re)started may offer different tools than before, or was missing from lists a client already
    /// fetched: forget its names and tell its clients to list again.
    func announceReady(_ server: String) {
        directory.withLock { $0 }?.server(named: server)?.forgetCatalog()
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
            let level = message.paramString("level").flatMap(LogLevel.init(rawValue:)) ?? .info
            for session in sessions.sessions(seeing: server) where level >= (session.logLevel ?? .debug) {
                session.push(message.bytes)
            }
        default:
            // Progress for finished requests, cancellations of server requests and unknown notifications: dropped.
            break
        }
    }
}
