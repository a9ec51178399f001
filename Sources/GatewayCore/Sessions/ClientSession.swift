import GatewayWire
import Synchronization

/// One client's MCP session (2024-11-05 … 2025-11-25): what `initialize` negotiated, and the channel for messages
/// the server sends unprompted (the standalone GET stream).
public final class ClientSession: Sendable {
    public let id: String
    public let identity: Identity
    public let scope: EndpointScope
    public let protocolVersion: String
    public let clientCapabilities: JSONValue
    public let clientInfo: JSONValue?

    private struct State {
        var lastUsed: ContinuousClock.Instant
        var logLevel: LogLevel?
        var subscriptions: Set<String> = []
        var push: AsyncStream<[UInt8]>.Continuation?
        var pushGeneration = 0
    }

    private let state: Mutex<State>

    init(
        id: String,
        identity: Identity,
        scope: EndpointScope,
        protocolVersion: String,
        clientCapabilities: JSONValue,
        clientInfo: JSONValue?
    ) {
        self.id = id
        self.identity = identity
        self.scope = scope
        self.protocolVersion = protocolVersion
        self.clientCapabilities = clientCapabilities
        self.clientInfo = clientInfo
        self.state = Mutex(State(lastUsed: .now))
    }

    public func touch() { state.withLock { $0.lastUsed = .now } }

    public var lastUsed: ContinuousClock.Instant { state.withLock { $0.lastUsed } }

    /// The level set by `logging/setLevel`; log notifications below it are not delivered.
    public var logLevel: LogLevel? {
        get { state.withLock { $0.logLevel } }
        set { state.withLock { $0.logLevel = newValue } }
    }

    /// Resource URIs (as the client names them) the client subscribed to.
    public func subscribe(_ uri: String) { _ = state.withLock { $0.subscriptions.insert(uri) } }

    public func unsubscribe(_ uri: String) { _ = state.withLock { $0.subscriptions.remove(uri) } }

    public func isSubscribed(to uri: String) -> Bool { state.withLock { $0.subscriptions.contains(uri) } }

    /// Opens the standalone stream, closing any earlier one: each message goes to exactly one stream.
    /// The stream buffers at most `capacity` messages; under a slow reader the oldest are dropped.
    public func openPushStream(capacity: Int = 256) -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: [UInt8].self, bufferingPolicy: .bufferingNewest(capacity))
        let (previous, generation) = state.withLock { state in
            let previous = state.push
            state.push = continuation
            state.pushGeneration += 1
            return (previous, state.pushGeneration)
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { if $0.pushGeneration == generation { $0.push = nil } }
        }
        previous?.finish()
        return stream
    }

    /// Queues a message on the standalone stream; `false` when the client has none open.
    @discardableResult
    public func push(_ message: [UInt8]) -> Bool {
        guard let push = state.withLock({ $0.push }) else { return false }
        if case .terminated = push.yield(message) { return false }
        return true
    }

    /// Ends the standalone stream (session deleted or expired).
    func close() {
        let push = state.withLock { state in
            defer { state.push = nil }
            return state.push
        }
        push?.finish()
    }
}

/// RFC 5424 severities, as MCP's `logging/setLevel` uses them.
public enum LogLevel: String, Sendable, CaseIterable, Comparable {
    case debug, info, notice, warning, error, critical, alert, emergency

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
