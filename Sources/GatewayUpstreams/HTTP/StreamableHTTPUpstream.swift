import Foundation
import GatewayCore
import GatewayWire
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// A connection to one Streamable HTTP MCP server: a session (2025-03-26 … 2025-11-25), or stateless requests
/// (2026-07-28).
///
/// The era is probed each time the instance connects (``UpstreamEraChoice``): `server/discover` first, and
/// `initialize` if the answer is not a 2026-07-28 one. In a session, one upstream session is shared by all clients,
/// with gateway-minted ids and progress tokens as for stdio; a standalone GET stream carries what the server sends
/// unprompted; a `404` for the session means it expired, and the gateway initialises a new one and retries the
/// request once; closing sends `DELETE`. Served statelessly, every request carries its `_meta` and the `Mcp-Method`,
/// `Mcp-Name` and `Mcp-Param-*` headers, cancelling closes its stream, and the gateway's own `subscriptions/listen`
/// stream carries list changes and resource updates. Either way each request is its own POST on a pooled keep-alive
/// connection, with its own time limits; the server's answer may be JSON or an SSE stream, and a stream is handed
/// to the client as soon as the server sends anything before its response.
public final class StreamableHTTPUpstream: UpstreamTransport {
    public let instanceID: String
    let server: ServerConfiguration
    let endpoint: HTTPEndpoint
    let maxMessageBytes: Int
    let events: UpstreamEvents
    let logger: Logger
    let gate = ReadinessGate<UpstreamHandshake>()
    let pool: Result<UpstreamHTTPConnectionPool, UpstreamHTTPError>
    let path: String

    struct Session {
        var id: String?
        var protocolVersion: String?
        var generation = 0
        var reconnecting = false
        /// Set when re-initialising failed; the supervision loop then reconnects with backoff.
        var lost = false
        /// `.modern` when the server answered `server/discover`: no session, every request stateless.
        var era = MCPEra.legacy
    }

    /// An exchange that a client may still cancel.
    struct InFlight {
        var owner: String
        var clientID: JSONRPCID
        var channel: (any Channel)?
        var promise: EventLoopPromise<UpstreamHTTPResponse>?
    }

    let session = Mutex(Session())
    private let state = Mutex<UpstreamStatus>(.starting)
    let nextID = Atomic<Int>(1)
    let inFlight = Mutex<[Int: InFlight]>([:])
    /// Upstream ids whose client went away mid-stream; `run()` tells the server.
    let abandoned: (stream: AsyncStream<Int>, continuation: AsyncStream<Int>.Continuation)
    /// What the listen stream asks a 2026-07-28 server for.
    let interest = UpstreamListenInterest()
    /// Told when the server refused both probes with 404 or 405 (it may speak HTTP+SSE instead).
    let onRefusedPOST: (@Sendable () -> Void)?

    public init(
        server: ServerConfiguration,
        instanceID: String,
        endpoint: HTTPEndpoint,
        maxMessageBytes: Int,
        events: UpstreamEvents,
        logger: Logger,
        onRefusedPOST: (@Sendable () -> Void)? = nil
    ) {
        self.onRefusedPOST = onRefusedPOST
        self.server = server
        self.instanceID = instanceID
        self.endpoint = endpoint
        self.maxMessageBytes = maxMessageBytes
        self.events = events
        self.logger = logger
        self.abandoned = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1024))
        let target = UpstreamHTTPTarget(endpoint: endpoint, maxBodyBytes: maxMessageBytes)
        self.pool = target.pool
        self.path = target.path
    }

    public var status: UpstreamStatus { state.withLock { $0 } }

    public var currentHandshake: UpstreamHandshake? { status == .ready ? gate.value : nil }

    public func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake {
        try await gate.wait(timeout: timeout, timeoutError: unavailable("did not become ready within \(timeout)"))
    }

    // MARK: Lifecycle

    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.announceAbandonedRequests() }
            group.addTask { await self.listenForServerMessages() }
            // Runs until the gateway stops; the helpers may finish earlier (a server without a standalone stream).
            await superviseSession()
            group.cancelAll()
        }
        abandoned.continuation.finish()
        interest.finish()
        await closeSession()
        state.withLock { $0 = .stopped }
        gate.fail(unavailable("the gateway is shutting down"))
        if case .success(let pool) = pool { await pool.shutdown() }
    }

    /// Connects, and connects again with backoff whenever the session is lost; closes stale idle connections.
    private func superviseSession() async {
        var backoff = RestartBackoff()
        var generator = SystemRandomNumberGenerator()
        var connected = false
        while !Task.isCancelled {
            if !connected || session.withLock({ $0.lost }) {
                if connected, era == .modern {
                    state.withLock { $0 = .starting }
                    gate.reset()
                }
                do throws(GatewayError) {
                    try await connect()
                    connected = true
                    session.withLock { $0.lost = false }
                    // Reached again: the next outage starts from the shortest delay.
                    backoff = RestartBackoff()
                } catch {
                    if let onRefusedPOST, let status = error.data?["httpStatus"]?.numberValue?.intValue,
                        status == 404 || status == 405
                    {
                        onRefusedPOST()
                    }
                    state.withLock { $0 = .down(error.message) }
                    gate.fail(error)
                    logger.warning("HTTP server unreachable; retrying", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: backoff.delay(afterRunningFor: .zero, using: &generator))
                    gate.reset()
                    continue
                }
            }
            if case .success(let pool) = pool { pool.evictIdle(olderThan: .seconds(4)) }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Tells a session that a client went away mid-stream (a 2026-07-28 server saw its stream close, which says it).
    private func announceAbandonedRequests() async {
        for await id in abandoned.stream where era == .legacy {
            try? await post(notification: GatewayClientInfo.cancellation(of: id, reason: "the client went away"))
        }
    }

    var era: MCPEra { session.withLock { $0.era } }

    /// Finds the server's era (``UpstreamEraChoice``) and opens the gate: `server/discover` for a 2026-07-28
    /// server, else `initialize` and `notifications/initialized`.
    private func connect() async throws(GatewayError) {
        if server.era != .legacy {
            if let handshake = try await discover() {
                let generation = session.withLock { session in
                    session.id = nil
                    session.protocolVersion = handshake.protocolVersion
                    session.era = .modern
                    session.generation += 1
                    return session.generation
                }
                becomeReady(handshake, generation: generation)
                return
            }
            if server.era == .modern {
                throw GatewayError.upstream(
                    .upstreamProtocolError, server: server.name,
                    "did not answer server/discover as a 2026-07-28 server (era: modern)")
            }
        }
        try await initialize()
    }

    /// `server/discover` with the gateway's own `_meta`: the handshake of a 2026-07-28 server, or `nil` when the
    /// answer shows another era (an error, a 4xx, a result without a version the gateway speaks). Only failing to
    /// reach the server throws.
    private func discover() async throws(GatewayError) -> UpstreamHandshake? {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let request = UpstreamRequest(
            .synthesized(method: "server/discover", params: nil), owner: UpstreamRequest.gatewayOwner,
            idleTimeout: server.connectTimeout, maxDuration: server.connectTimeout)
        do throws(GatewayError) {
            let (_, reply) = try await exchange(
                request.encoded(upstreamID: id, era: .modern), upstreamID: id, request: request,
                sessionHeaders: false, modern: ModernRequestHeaders(request))
            let bytes = try await finalMessage(reply)
            return (try? JSONRPCMessage.parse(bytes))?.result.flatMap(UpstreamHandshake.init(discoverResult:))
        } catch  where error.code == .upstreamUnavailable || error.code == .upstreamTimeout {
            throw error
        } catch {
            logger.debug("HTTP server is not a 2026-07-28 server", metadata: ["reason": "\(error.message)"])
            return nil
        }
    }

    private func becomeReady(_ handshake: UpstreamHandshake, generation: Int) {
        state.withLock { $0 = .ready }
        gate.open(handshake)
        events.onReady(server.name, instanceID)
        logger.info(
            "HTTP server ready",
            metadata: ["mcp.protocol": "\(handshake.protocolVersion)", "mcp.session.generation": "\(generation)"]
        )
    }

    /// `initialize`, then `notifications/initialized`.
    private func initialize() async throws(GatewayError) {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let bytes = JSONRPCMessage.encodeRequest(
            id: JSONRPCID(id),
            method: "initialize",
            params: GatewayClientInfo.initializeParams
        )
        let (headers, reply) = try await exchange(bytes, upstreamID: id, request: nil, sessionHeaders: false)
        let handshake = try GatewayClientInfo.handshake(from: try await finalMessage(reply), server: server.name)
        let generation = session.withLock { session in
            session.id = headers.first(name: "mcp-session-id")
            session.protocolVersion = handshake.protocolVersion
            session.era = .legacy
            session.generation += 1
            return session.generation
        }
        try await post(
            notification: JSONRPCMessage.encodeNotification(method: "notifications/initialized", params: nil))
        becomeReady(handshake, generation: generation)
    }

    /// Re-initialises after the server forgot the session, unless another request already did. If that fails, the
    /// session is marked lost and the supervision loop keeps trying with backoff.
    private func reconnect(after generation: Int) async throws(GatewayError) {
        let mine = session.withLock { session in
            guard session.generation == generation, !session.reconnecting else { return false }
            session.reconnecting = true
            return true
        }
        guard mine else {
            _ = try await gate.wait(
                timeout: server.connectTimeout, timeoutError: unavailable("could not re-initialise"))
            return
        }
        defer { session.withLock { $0.reconnecting = false } }
        gate.reset()
        logger.info("HTTP server session expired; initialising a new one")
        do throws(GatewayError) {
            try await connect()
        } catch {
            state.withLock { $0 = .down(error.message) }
            session.withLock { $0.lost = true }
            gate.fail(error)
            throw error
        }
    }

    private func closeSession() async {
        guard session.withLock({ $0.id }) != nil, case .success(let pool) = pool else { return }
        let head = requestHead(method: .DELETE, bodyLength: 0, sessionHeaders: true)
        _ = try? await pool.execute(
            head, body: ByteBuffer(), idleTimeout: .seconds(2), deadline: .seconds(2), retryable: true)
    }

    // MARK: Requests

    public func send(_ request: UpstreamRequest) async throws(GatewayError) -> MCPReply {
        _ = try await gate.wait(
            timeout: request.readinessWait,
            timeoutError: unavailable("did not become ready within \(request.readinessWait)")
        )
        let (generation, era) = session.withLock { ($0.generation, $0.era) }
        if era == .modern, let answer = interest.absorb(request) { return answer }
        do throws(GatewayError) {
            return try await attempt(request)
        } catch let error where error.code == .sessionNotFound {
            try await reconnect(after: generation)
        }
        do throws(GatewayError) {
            return try await attempt(request)
        } catch let error where error.code == .sessionNotFound {
            throw unavailable("rejected the session right after it was created")
        }
    }

    /// One POST of the request. A `sessionNotFound` error means the server forgot the session.
    private func attempt(_ request: UpstreamRequest) async throws(GatewayError) -> MCPReply {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let era = self.era
        do throws(GatewayError) {
            let (_, reply) = try await exchange(
                request.encoded(upstreamID: id, era: era),
                upstreamID: id,
                request: request,
                sessionHeaders: true,
                modern: era == .modern ? ModernRequestHeaders(request) : nil
            )
            return reply
        } catch {
            // A 2026-07-28 server has no session to lose; a server that cannot be reached may come back as anything,
            // so its era is probed again (the supervision loop reconnects).
            if era == .modern, error.code == .upstreamUnavailable { session.withLock { $0.lost = true } }
            throw error
        }
    }

    /// Stops the client's request here (its caller gets an error at once) and tells the server: a session hears
    /// `notifications/cancelled`; for a 2026-07-28 server, closing the request's stream is the cancellation.
    public func cancel(owner: String, clientID: JSONRPCID?) async {
        let era = self.era
        let matches = inFlight.withLock { inFlight -> [(Int, InFlight)] in
            let ids = inFlight.filter { $0.value.owner == owner && (clientID == nil || $0.value.clientID == clientID) }
                .keys
            return ids.compactMap { id in inFlight.removeValue(forKey: id).map { (id, $0) } }
        }
        for (id, entry) in matches {
            if case .success(let pool) = pool, let channel = entry.channel, let promise = entry.promise {
                pool.cancel(promise, on: channel)
            }
            guard era == .legacy else { continue }
            try? await post(notification: GatewayClientInfo.cancellation(of: id, reason: "cancelled by the client"))
        }
    }

    func unavailable(_ reason: String) -> GatewayError {
        .upstream(.upstreamUnavailable, server: server.name, reason)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(Int64((duration / .nanoseconds(1)).rounded()))
    }
}
