import GatewayWire
import Synchronization

/// Delivers what upstreams send unprompted to the sessions that can see the server: list changes (and the
/// router's cached names are forgotten), resource updates to the sessions subscribed to that URI, and log messages
/// at or above each session's level.
public final class NotificationRelay: Sendable {
    private let sessions: SessionRegistry
    private let directory = Mutex<UpstreamDirectory?>(nil)

    public init(sessions: SessionRegistry) {
        self.sessions = sessions
    }

    /// Connects the relay to the servers whose catalogs it invalidates (they are built with ``events``).
    public func attach(_ directory: UpstreamDirectory) {
        self.directory.withLock { $0 = directory }
    }

    public var events: UpstreamEvents {
        UpstreamEvents(
            onNotification: { [weak self] server, message in self?.relay(message, from: server) },
            onReady: { [weak self] server in self?.announceReady(server) }
        )
    }

    /// A server that (re)started may offer different tools than before, or was missing from lists a client already
    /// fetched: forget its names and tell its sessions to list again.
    func announceReady(_ server: String) {
        directory.withLock { $0 }?.server(named: server)?.forgetCatalog()
        let sessions = sessions.sessions(seeing: server)
        guard !sessions.isEmpty else { return }
        for method in Self.listChanged {
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
        case "notifications/resources/updated":
            guard let uri = message.paramString("uri") else { return }
            let gatewayURI = GatewayResourceURI.make(server: server, uri: uri)
            for session in sessions.sessions(seeing: server) {
                if session.isSubscribed(to: uri) {
                    session.push(message.bytes)
                } else if session.scope == .aggregate, session.isSubscribed(to: gatewayURI),
                    let range = message.param("uri")
                {
                    session.push(message.splicing([ByteEdit(range: range, replacement: JSONValue.quoted(gatewayURI))]))
                }
            }
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
