import GatewayWire
import Logging
import Synchronization

/// One client's MCP session (2024-11-05 … 2025-11-25): what `initialize` negotiated, and the channel for messages
/// the server sends unprompted (the standalone GET stream of Streamable HTTP, or the one stream of HTTP+SSE).
public final class ClientSession: Sendable {
    /// Which client transport the session belongs to; a session id is only valid on its own transport.
    public enum Transport: Sendable, Hashable {
        case streamableHTTP
        /// The 2024-11-05 HTTP+SSE transport: every answer travels on the session's one event stream.
        case serverSentEvents
        /// MCP over WebSocket: the session is the connection, and every answer travels on it.
        case webSocket
    }

    public let id: String
    public let identity: Identity
    public let scope: EndpointScope
    public let transport: Transport

    private struct Handshake {
        var protocolVersion: String
        var clientCapabilities: JSONValue
        var clientInfo: JSONValue?
        var complete: Bool
    }

    private struct State {
        var handshake: Handshake
        var lastUsed: ContinuousClock.Instant
        var logLevel: LogLevel?
        /// Client URI → the server and upstream URI it maps to.
        var subscriptions: [String: ResourceTarget] = [:]
        var push: AsyncStream<PushedMessage>.Continuation?
        var pushGeneration = 0
        /// The last messages pushed (Streamable HTTP sessions), for a GET that resumes with `Last-Event-ID`.
        var pushed: [PushedMessage] = []
        var pushSeq = 0
        /// Answer streams a client may resume, oldest first.
        var replies: [ResumableEvents] = []
        var replyCount = 0
        var closed = false
    }

    /// A message of the session's stream and its place in it; on the GET stream its event id is `g-{seq}`.
    public struct PushedMessage: Sendable {
        public let seq: Int
        public let bytes: [UInt8]
        public var eventID: String { "g-\(seq)" }
    }

    /// Messages of the GET stream kept for a GET that resumes after one of them.
    static let pushedKept = 256

    /// Finished answer streams kept for a late `Last-Event-ID` (unfinished ones are kept until they finish).
    static let finishedRepliesKept = 16

    private let state: Mutex<State>

    init(
        id: String,
        identity: Identity,
        scope: EndpointScope,
        transport: Transport,
        protocolVersion: String,
        clientCapabilities: JSONValue,
        clientInfo: JSONValue?,
        handshakeComplete: Bool
    ) {
        self.id = id
        self.identity = identity
        self.scope = scope
        self.transport = transport
        let handshake = Handshake(
            protocolVersion: protocolVersion,
            clientCapabilities: clientCapabilities,
            clientInfo: clientInfo,
            complete: handshakeComplete
        )
        self.state = Mutex(State(handshake: handshake, lastUsed: .now))
    }

    /// The negotiated version (for an HTTP+SSE session that has not sent `initialize` yet, `2024-11-05`).
    public var protocolVersion: String { state.withLock { $0.handshake.protocolVersion } }
    public var clientCapabilities: JSONValue { state.withLock { $0.handshake.clientCapabilities } }
    public var clientInfo: JSONValue? { state.withLock { $0.handshake.clientInfo } }
    /// Whether `initialize` was answered; HTTP+SSE sessions exist from their GET on, before it.
    public var isInitialized: Bool { state.withLock { $0.handshake.complete } }

    /// Records what a later `initialize` negotiated (HTTP+SSE sessions). Returns `false` if the session was
    /// initialised already: a second `initialize` is refused.
    public func completeHandshake(protocolVersion: String, clientCapabilities: JSONValue, clientInfo: JSONValue?)
        -> Bool
    {
        state.withLock { state in
            guard !state.handshake.complete else { return false }
            state.handshake = Handshake(
                protocolVersion: protocolVersion,
                clientCapabilities: clientCapabilities,
                clientInfo: clientInfo,
                complete: true
            )
            return true
        }
    }

    public func touch() { state.withLock { $0.lastUsed = .now } }

    public var lastUsed: ContinuousClock.Instant { state.withLock { $0.lastUsed } }

    /// The level set by `logging/setLevel`; log notifications below it are not delivered.
    public var logLevel: LogLevel? {
        get { state.withLock { $0.logLevel } }
        set { state.withLock { $0.logLevel = newValue } }
    }

    /// Records a subscription to `uri` (as the client names it); `false` if the session had it already.
    public func subscribe(_ uri: String, target: ResourceTarget) -> Bool {
        state.withLock { state in
            guard state.subscriptions[uri] == nil else { return false }
            state.subscriptions[uri] = target
            return true
        }
    }

    /// Forgets a subscription; returns what it mapped to, or `nil` if the session had none.
    public func unsubscribe(_ uri: String) -> ResourceTarget? {
        state.withLock { $0.subscriptions.removeValue(forKey: uri) }
    }

    public func isSubscribed(to uri: String) -> Bool { state.withLock { $0.subscriptions[uri] != nil } }

    /// The client URIs subscribed to `target`.
    public func subscribedURIs(for target: ResourceTarget) -> [String] {
        state.withLock { state in state.subscriptions.filter { $0.value == target }.map(\.key) }
    }

    /// Every subscription, emptied (the session is ending).
    func takeSubscriptions() -> [ResourceTarget] {
        state.withLock { state in
            defer { state.subscriptions = [:] }
            return Array(state.subscriptions.values)
        }
    }

    /// Opens the session's stream, closing any earlier one: each message goes to exactly one stream.
    ///
    /// The stream holds at most `capacity` messages the client has not read yet. Messages are never dropped: a
    /// client that falls that far behind has its stream ended (it reconnects, or for HTTP+SSE starts over), and
    /// the gateway logs why.
    public func openPushStream(capacity: Int = 1024) -> AsyncStream<PushedMessage> {
        // Without a position to resume from, opening cannot fail.
        open(capacity: capacity, resumingAfter: nil)!
    }

    /// The session's stream, starting with the kept messages after `seq` (a GET with `Last-Event-ID: g-{seq}`);
    /// `nil` when they are no longer all kept.
    public func resumePushStream(after seq: Int, capacity: Int = 1024) -> AsyncStream<PushedMessage>? {
        open(capacity: capacity, resumingAfter: seq)
    }

    private func open(capacity: Int, resumingAfter seq: Int?) -> AsyncStream<PushedMessage>? {
        let (stream, continuation) = AsyncStream.makeStream(
            of: PushedMessage.self, bufferingPolicy: .bufferingOldest(capacity))
        let opened = state.withLock { state -> (AsyncStream<PushedMessage>.Continuation?, Int)? in
            if let seq {
                let oldest = state.pushed.first?.seq ?? state.pushSeq + 1
                guard seq >= oldest - 1, seq <= state.pushSeq else { return nil }
                for message in state.pushed where message.seq > seq { continuation.yield(message) }
            }
            let previous = state.push
            state.push = continuation
            state.pushGeneration += 1
            return (previous, state.pushGeneration)
        }
        guard let (previous, generation) = opened else { return nil }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { if $0.pushGeneration == generation { $0.push = nil } }
        }
        previous?.finish()
        return stream
    }

    /// Queues a message on the session's stream; `false` when the client has none open, or is so far behind that
    /// its stream was ended instead of losing the message.
    @discardableResult
    public func push(_ message: [UInt8]) -> Bool {
        // Numbered, kept (Streamable HTTP) and queued under one lock, so the order is the same everywhere.
        let outcome = state.withLock {
            state -> (AsyncStream<PushedMessage>.Continuation, AsyncStream<PushedMessage>.Continuation.YieldResult)? in
            state.pushSeq += 1
            let pushed = PushedMessage(seq: state.pushSeq, bytes: message)
            if transport == .streamableHTTP {
                state.pushed.append(pushed)
                if state.pushed.count > Self.pushedKept {
                    state.pushed.removeFirst(state.pushed.count - Self.pushedKept)
                }
            }
            return state.push.map { ($0, $0.yield(pushed)) }
        }
        guard let (push, result) = outcome else { return false }
        switch result {
        case .enqueued: return true
        case .dropped:
            Logger(label: "mcp-gateway.session").warning(
                "client stream ended: the client stopped reading",
                metadata: ["gateway.session.id": "\(id.prefix(8))"]
            )
            push.finish()
            return false
        case .terminated: return false
        @unknown default: return false
        }
    }

    /// Ends the session's stream and its resumable answers (session deleted or expired).
    func close() {
        let (push, replies) = state.withLock { state in
            defer { (state.push, state.replies, state.closed) = (nil, [], true) }
            return (state.push, state.replies)
        }
        push?.finish()
        for reply in replies { reply.abandon() }
    }

    /// A new answer stream the client can resume with `Last-Event-ID` (Streamable HTTP sessions), or `nil` once the
    /// session ended.
    public func resumableReply() -> ResumableEvents? {
        let (reply, dropped) = state.withLock { state -> (ResumableEvents?, [ResumableEvents]) in
            guard !state.closed else { return (nil, []) }
            state.replyCount += 1
            let reply = ResumableEvents(key: "r\(state.replyCount)")
            state.replies.append(reply)
            var dropped: [ResumableEvents] = []
            let finished = state.replies.filter(\.isIdle)
            if finished.count > Self.finishedRepliesKept {
                let old = Set(finished.prefix(finished.count - Self.finishedRepliesKept).map(\.key))
                dropped = state.replies.filter { old.contains($0.key) }
                state.replies.removeAll { old.contains($0.key) }
            }
            return (reply, dropped)
        }
        for old in dropped { old.abandon() }
        return reply
    }

    /// The answer stream an event id (`r3-7`) belongs to, and the position after that event; `nil` for an id this
    /// session did not send.
    public func resumableReply(lastEventID: String) -> (ResumableEvents, after: Int)? {
        guard let dash = lastEventID.lastIndex(of: "-"), let seq = Int(lastEventID[lastEventID.index(after: dash)...])
        else { return nil }
        let key = String(lastEventID[..<dash])
        return state.withLock { state in state.replies.first { $0.key == key } }.map { ($0, seq) }
    }
}

/// One upstream resource: the server and the URI it knows the resource by.
public struct ResourceTarget: Sendable, Hashable {
    public let server: String
    public let uri: String

    public init(server: String, uri: String) {
        self.server = server
        self.uri = uri
    }
}

/// RFC 5424 severities, as MCP's `logging/setLevel` uses them.
public enum LogLevel: String, Sendable, CaseIterable, Comparable {
    case debug, info, notice, warning, error, critical, alert, emergency

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
