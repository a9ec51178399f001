import GatewayWire
import Logging
import Synchronization

/// One configured server at run time: its instances' transports, chosen round-robin among the ready ones, and
/// the catalog the router keeps for it.
public final class UpstreamServer: Sendable {
    public let configuration: ServerConfiguration
    public let transports: [any UpstreamTransport]
    private let nextIndex = Atomic<Int>(0)
    let catalog = Mutex(ServerCatalog())
    /// Lists being learnt right now, so concurrent callers do not repeat them.
    private let learning = Mutex<Set<String>>([])

    public init(configuration: ServerConfiguration, transports: [any UpstreamTransport]) {
        precondition(!transports.isEmpty, "a server has at least one instance")
        self.configuration = configuration
        self.transports = transports
    }

    public var name: String { configuration.name }

    /// The next transport in round-robin order, preferring ready ones.
    func nextTransport() -> any UpstreamTransport {
        let start = nextIndex.add(1, ordering: .relaxed).oldValue
        for offset in 0..<transports.count {
            let transport = transports[(start + offset) % transports.count]
            if transport.status == .ready { return transport }
        }
        return transports[start % transports.count]
    }

    /// Sends a request to the next instance. An instance that is still starting is waited for at most the
    /// request's idle timeout (and at most `readinessWait`), never the whole start-up time.
    public func send(
        _ body: UpstreamRequest.Body,
        owner: String,
        readinessWait: Duration? = nil,
        statelessClient: Bool = false,
        serverRequests: ServerRequestSink? = nil,
        modern: UpstreamRequest.ModernFields = .init()
    ) async throws(GatewayError) -> MCPReply {
        var request = UpstreamRequest(
            body,
            owner: owner,
            idleTimeout: configuration.callTimeout,
            maxDuration: configuration.maxCallDuration,
            readinessWait: min(
                readinessWait ?? .seconds(Int64.max), configuration.callTimeout, configuration.connectTimeout)
        )
        request.bridgesStatelessClient = statelessClient
        request.serverRequests = serverRequests
        request.modern = modern
        return try await nextTransport().send(request)
    }

    /// The first instance's handshake that becomes available within `timeout`.
    public func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake {
        if let ready = transports.first(where: { $0.status == .ready }) {
            return try await ready.handshake(timeout: timeout)
        }
        return try await transports[0].handshake(timeout: timeout)
    }

    /// The handshake of a running instance, if any is up.
    public var currentHandshake: UpstreamHandshake? {
        transports.lazy.compactMap(\.currentHandshake).first
    }

    /// Whether any running instance is served statelessly (2026-07-28), and so may answer `input_required`.
    var servesStatelessly: Bool {
        transports.contains { $0.currentHandshake?.era == .modern }
    }

    /// Whether the server declared `capability` (`tools`, `prompts`, …); `nil` while no instance is up.
    func declares(_ capability: String) -> Bool? {
        currentHandshake.map { $0.capabilities[capability] != nil }
    }

    public func cancel(owner: String, clientID: JSONRPCID?) async {
        for transport in transports { await transport.cancel(owner: owner, clientID: clientID) }
    }

    func beginLearning(_ list: String) -> Bool { learning.withLock { $0.insert(list).inserted } }

    func endLearning(_ list: String) { _ = learning.withLock { $0.remove(list) } }

    func forgetCatalog() {
        catalog.withLock { $0 = ServerCatalog(generation: $0.generation + 1) }
    }
}
