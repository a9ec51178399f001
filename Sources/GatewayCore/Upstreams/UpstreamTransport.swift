import GatewayWire
import Logging

/// What an upstream said about itself: its `initialize` result (session-based revisions), or its `server/discover`
/// result (2026-07-28, served statelessly).
public struct UpstreamHandshake: Sendable {
    public let protocolVersion: String
    public let capabilities: JSONObject
    public let serverInfo: JSONValue?
    public let instructions: String?

    public init(result: JSONValue) {
        protocolVersion = result["protocolVersion"]?.stringValue ?? MCPProtocolVersion.latestSessionBased
        capabilities = result["capabilities"]?.objectValue ?? [:]
        serverInfo = result["serverInfo"]
        instructions = result["instructions"]?.stringValue
    }

    /// A `server/discover` result, or `nil` when it does not offer a version the gateway speaks statelessly.
    public init?(discoverResult result: JSONValue) {
        let offered = result["supportedVersions"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard let version = MCPProtocolVersion.stateless.first(where: offered.contains),
            let capabilities = result["capabilities"]?.objectValue
        else { return nil }
        protocolVersion = version
        self.capabilities = capabilities
        serverInfo = result["_meta"]?["io.modelcontextprotocol/serverInfo"] ?? result["serverInfo"]
        instructions = result["instructions"]?.stringValue
    }

    /// `.modern` for an instance served statelessly (it answered `server/discover`).
    public var era: MCPEra { MCPProtocolVersion.era(of: protocolVersion) }
}

/// How one instance is doing, for health reporting and error messages.
public enum UpstreamStatus: Sendable, Equatable {
    case starting
    case ready
    /// Not usable now; the reason names what happened (exit status, stderr tail, HTTP error).
    case down(String)
    case stopped

    /// `starting`, `ready`, `down` or `stopped`, for reports.
    public var name: String {
        switch self {
        case .starting: "starting"
        case .ready: "ready"
        case .down: "down"
        case .stopped: "stopped"
        }
    }
}

/// A live connection to one instance of an upstream server: a supervised process or an HTTP session.
public protocol UpstreamTransport: AnyObject, Sendable {
    var instanceID: String { get }
    var status: UpstreamStatus { get }
    /// The handshake of the running connection, if it is up.
    var currentHandshake: UpstreamHandshake? { get }

    /// Runs the connection (spawning, reading, restarting) until the task is cancelled.
    func run() async

    /// The instance's `initialize` result, waiting up to `timeout` for it to start.
    func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake

    /// Sends a request; returns when the first message for it arrives.
    func send(_ request: UpstreamRequest) async throws(GatewayError) -> MCPReply

    /// Stops the request `clientID` of `owner` and tells the server (a client's `notifications/cancelled`); with
    /// `nil`, every request of `owner` (its session ended).
    func cancel(owner: String, clientID: JSONRPCID?) async
}

/// Receives what upstreams send that is not tied to a request: list changes, resource updates, log messages.
public struct UpstreamEvents: Sendable {
    public var onNotification: @Sendable (_ server: String, _ message: JSONRPCMessage) -> Void
    /// An instance finished its handshake (at start, or after a restart or reconnection).
    public var onReady: @Sendable (_ server: String, _ instance: String) -> Void

    public init(
        onNotification: @escaping @Sendable (_ server: String, _ message: JSONRPCMessage) -> Void,
        onReady: @escaping @Sendable (_ server: String, _ instance: String) -> Void = { _, _ in }
    ) {
        self.onNotification = onNotification
        self.onReady = onReady
    }
}

/// Builds transports for configured instances. Core knows only this protocol; the concrete stdio and HTTP
/// transports live in GatewayUpstreams.
public protocol UpstreamTransportFactory: Sendable {
    func makeTransport(
        server: ServerConfiguration,
        instance: UpstreamInstanceConfiguration,
        events: UpstreamEvents,
        logger: Logger
    ) -> any UpstreamTransport
}
