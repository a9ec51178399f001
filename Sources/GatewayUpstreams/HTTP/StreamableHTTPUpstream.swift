import Foundation
import GatewayCore
import GatewayWire
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// A session with one Streamable HTTP MCP server (2025-03-26 and later).
///
/// One upstream session is shared by all clients, with gateway-minted ids and progress tokens as for stdio. Each
/// request is its own POST on a pooled keep-alive connection; the server's answer may be JSON or an SSE stream, and
/// a stream is handed to the client as soon as the server sends anything before its response. A `404` for the
/// session means it expired: the gateway initialises a new one and retries the request once. Closing sends `DELETE`.
public final class StreamableHTTPUpstream: UpstreamTransport {
    public let instanceID: String
    let server: ServerConfiguration
    let endpoint: HTTPEndpoint
    let maxMessageBytes: Int
    let events: UpstreamEvents
    let logger: Logger
    let gate = ReadinessGate<UpstreamHandshake>()
    private let pool: Result<UpstreamHTTPConnectionPool, UpstreamHTTPError>
    private let path: String

    private struct Session {
        var id: String?
        var protocolVersion: String?
        var generation = 0
        var reconnecting = false
    }

    /// An exchange in flight: who asked (for cancellation), when it times out, and how to stop it.
    private struct InFlight {
        var owner: String?
        var clientID: JSONRPCID?
        var method: String
        var idleTimeout: Duration
        var deadline: ContinuousClock.Instant
        var hardDeadline: ContinuousClock.Instant
        var channel: (any Channel)?
        var promise: EventLoopPromise<UpstreamHTTPResponse>?
    }

    private let session = Mutex(Session())
    private let state = Mutex<UpstreamStatus>(.starting)
    private let nextID = Atomic<Int>(1)
    private let inFlight = Mutex<[Int: InFlight]>([:])

    public init(
        server: ServerConfiguration,
        instanceID: String,
        endpoint: HTTPEndpoint,
        maxMessageBytes: Int,
        events: UpstreamEvents,
        logger: Logger
    ) {
        self.server = server
        self.instanceID = instanceID
        self.endpoint = endpoint
        self.maxMessageBytes = maxMessageBytes
        self.events = events
        self.logger = logger
        let components = URLComponents(string: endpoint.url)
        let path = components?.percentEncodedPath ?? ""
        let query = components?.percentEncodedQuery.map { "?" + $0 } ?? ""
        self.path = (path.isEmpty ? "/" : path) + query
        do {
            guard let url = URL(string: endpoint.url) else { throw UpstreamHTTPError.connectFailed("invalid URL") }
            self.pool = .success(try UpstreamHTTPConnectionPool(url: url, maxBodyBytes: maxMessageBytes))
        } catch let error as UpstreamHTTPError {
            self.pool = .failure(error)
        } catch {
            self.pool = .failure(.connectFailed("\(error)"))
        }
    }

    public var status: UpstreamStatus { state.withLock { $0 } }

    public var currentHandshake: UpstreamHandshake? { status == .ready ? gate.value : nil }

    public func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake {
        try await gate.wait(timeout: timeout, timeoutError: unavailable("did not become ready within \(timeout)"))
    }

    // MARK: Lifecycle

    public func run() async {
        var backoff = RestartBackoff()
        var generator = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            do throws(GatewayError) {
                try await connect()
                break
            } catch {
                state.withLock { $0 = .down(error.message) }
                gate.fail(error)
                logger.warning("HTTP server unreachable; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff.delay(afterRunningFor: .zero, using: &generator))
                gate.reset()
            }
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            await expireOverdueExchanges()
        }
        await closeSession()
        state.withLock { $0 = .stopped }
        gate.fail(unavailable("the gateway is shutting down"))
        if case .success(let pool) = pool { await pool.shutdown() }
    }

    /// `initialize`, then `notifications/initialized`; opens the gate.
    private func connect() async throws(GatewayError) {
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
            session.generation += 1
            return session.generation
        }
        try await post(
            notification: JSONRPCMessage.encodeNotification(method: "notifications/initialized", params: nil))
        state.withLock { $0 = .ready }
        gate.open(handshake)
        events.onReady(server.name)
        logger.info(
            "HTTP server ready",
            metadata: ["mcp.protocol": "\(handshake.protocolVersion)", "mcp.session.generation": "\(generation)"]
        )
    }

    /// Re-initialises after the server forgot the session, unless another request already did.
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
            gate.fail(error)
            throw error
        }
    }

    private func closeSession() async {
        guard session.withLock({ $0.id }) != nil, case .success(let pool) = pool else { return }
        let head = requestHead(method: .DELETE, bodyLength: 0, sessionHeaders: true)
        _ = try? await pool.execute(head, body: ByteBuffer())
    }

    // MARK: Requests

    public func send(_ request: UpstreamRequest) async throws(GatewayError) -> MCPReply {
        _ = try await gate.wait(
            timeout: request.readinessWait,
            timeoutError: unavailable("did not become ready within \(request.readinessWait)")
        )
        let generation = session.withLock { $0.generation }
        do throws(SessionExpired) {
            return try await attempt(request)
        } catch {
            try await reconnect(after: generation)
        }
        do throws(SessionExpired) {
            return try await attempt(request)
        } catch {
            throw unavailable("rejected the session right after it was created")
        }
    }

    private struct SessionExpired: Error {}

    private func attempt(_ request: UpstreamRequest) async throws(SessionExpired) -> MCPReply {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        do throws(GatewayError) {
            let (_, reply) = try await exchange(
                request.encoded(upstreamID: id),
                upstreamID: id,
                request: request,
                sessionHeaders: true
            )
            return reply
        } catch {
            if error.code == .sessionNotFound { throw SessionExpired() }
            return .response(error.jsonRPCResponse(id: request.clientID))
        }
    }

    public func cancel(owner: String, clientID: JSONRPCID) async {
        let id = inFlight.withLock { inFlight -> Int? in
            guard let id = inFlight.first(where: { $0.value.owner == owner && $0.value.clientID == clientID })?.key
            else { return nil }
            inFlight.removeValue(forKey: id)
            return id
        }
        guard let id else { return }
        try? await post(notification: StdioProcessSupervisor.cancellation(of: id, reason: "cancelled by the client"))
    }

    /// POSTs one request and reads the answer up to the first message for it.
    private func exchange(
        _ bytes: [UInt8],
        upstreamID: Int,
        request: UpstreamRequest?,
        sessionHeaders: Bool
    ) async throws(GatewayError) -> (HTTPHeaders, MCPReply) {
        let pool: UpstreamHTTPConnectionPool
        switch self.pool {
        case .success(let connections): pool = connections
        case .failure(let error): throw unavailable("\(error)")
        }
        let now = ContinuousClock.now
        let idle = request?.idleTimeout ?? server.connectTimeout
        inFlight.withLock {
            $0[upstreamID] = InFlight(
                owner: request?.owner,
                clientID: request?.clientID,
                method: request?.method ?? "initialize",
                idleTimeout: idle,
                deadline: now + idle,
                hardDeadline: now + (request?.maxDuration ?? idle)
            )
        }
        let response: UpstreamHTTPResponse
        do {
            response = try await pool.execute(
                requestHead(method: .POST, bodyLength: bytes.count, sessionHeaders: sessionHeaders),
                body: ByteBuffer(bytes: bytes)
            ) { channel, promise in
                inFlight.withLock { inFlight in
                    inFlight[upstreamID]?.channel = channel
                    inFlight[upstreamID]?.promise = promise
                }
            }
        } catch {
            inFlight.withLock { _ = $0.removeValue(forKey: upstreamID) }
            throw failure(error, method: request?.method ?? "initialize", idle: idle)
        }
        let contentType = response.headers.first(name: "content-type")?.lowercased() ?? ""
        switch (response.status, response.body) {
        case (200, .complete(let body)) where contentType.hasPrefix("application/json"):
            inFlight.withLock { _ = $0.removeValue(forKey: upstreamID) }
            guard let message = try? JSONRPCMessage.parse(Array(body.readableBytesView)) else {
                throw GatewayError.upstream(
                    .upstreamProtocolError, server: server.name, "answered with invalid JSON-RPC")
            }
            return (response.headers, .response(request?.restoring(message) ?? message.bytes))
        case (200, .stream(let body)):
            let reader = SSEMessageReader(body: body, maxEventBytes: maxMessageBytes)
            do {
                return (response.headers, try await firstEvent(from: reader, upstreamID: upstreamID, request: request))
            } catch let error as GatewayError {
                inFlight.withLock { _ = $0.removeValue(forKey: upstreamID) }
                throw error
            } catch {
                inFlight.withLock { _ = $0.removeValue(forKey: upstreamID) }
                throw failure(error, method: request?.method ?? "initialize", idle: idle)
            }
        case (404, _) where sessionHeaders && session.withLock({ $0.id }) != nil:
            inFlight.withLock { _ = $0.removeValue(forKey: upstreamID) }
            throw GatewayError(.sessionNotFound, "session expired")
        default:
            inFlight.withLock { _ = $0.removeValue(forKey: upstreamID) }
            let text = String(decoding: (try? await response.collect(limit: 2048)) ?? [], as: UTF8.self)
            throw GatewayError.upstream(
                .upstreamRejected,
                server: server.name,
                "answered HTTP \(response.status)\(text.isEmpty ? "" : ": \(text.prefix(200))")",
                details: [("httpStatus", .number(JSONNumber(response.status)))]
            )
        }
    }

    /// Reads an SSE answer until its first message for this request: the response (plain reply) or a notification
    /// (a stream that ends with the response).
    private func firstEvent(from reader: SSEMessageReader, upstreamID: Int, request: UpstreamRequest?) async throws
        -> MCPReply
    {
        let name = server.name
        @Sendable func nextForClient() async throws -> (bytes: [UInt8], final: Bool)? {
            while let message = try await reader.next() {
                switch message.kind {
                case .response, .errorResponse:
                    guard message.id?.intValue == upstreamID else { continue }
                    return (request?.restoring(message) ?? message.bytes, true)
                case .notification:
                    extendDeadline(of: upstreamID)
                    return (request?.restoring(message) ?? message.bytes, false)
                case .request:
                    if let reply = ServerInitiatedRequest.reply(to: message) { try? await post(notification: reply) }
                }
            }
            return nil
        }
        guard let first = try await nextForClient() else {
            throw GatewayError.upstream(
                .upstreamProtocolError, server: name, "closed the event stream without answering")
        }
        if first.final {
            inFlight.withLock { _ = $0.removeValue(forKey: upstreamID) }
            return .response(first.bytes)
        }
        let rest = AsyncThrowingStream<[UInt8], any Error> { [self] in
            guard !reader.finished else { return nil }
            do {
                guard let next = try await nextForClient() else {
                    throw GatewayError.upstream(
                        .upstreamProtocolError, server: name, "closed the event stream without answering")
                }
                if next.final {
                    reader.finished = true
                    inFlight.withLock { _ = $0.removeValue(forKey: upstreamID) }
                }
                return next.bytes
            } catch {
                inFlight.withLock { _ = $0.removeValue(forKey: upstreamID) }
                throw error as? GatewayError
                    ?? GatewayError.upstream(.upstreamProtocolError, server: name, "event stream ended: \(error)")
            }
        }
        return .stream(first: first.bytes, rest: rest)
    }

    /// POSTs a notification or a response (expects a 2xx).
    private func post(notification bytes: [UInt8]) async throws(GatewayError) {
        guard case .success(let pool) = pool else { throw unavailable("no connection") }
        let response: UpstreamHTTPResponse
        do {
            response = try await pool.execute(
                requestHead(method: .POST, bodyLength: bytes.count, sessionHeaders: true),
                body: ByteBuffer(bytes: bytes)
            )
        } catch {
            throw failure(error, method: "notification", idle: server.callTimeout)
        }
        guard (200..<300).contains(response.status) else {
            throw GatewayError.upstream(
                .upstreamRejected, server: server.name, "answered a notification with HTTP \(response.status)")
        }
    }

    // MARK: Timeouts

    /// A progress notification or log message is a sign of life: it pushes the idle deadline out.
    private func extendDeadline(of upstreamID: Int) {
        inFlight.withLock { inFlight in
            guard var entry = inFlight[upstreamID] else { return }
            entry.deadline = min(ContinuousClock.now + entry.idleTimeout, entry.hardDeadline)
            inFlight[upstreamID] = entry
        }
    }

    /// Stops exchanges past their deadline (their callers get a timeout) and tells the server.
    private func expireOverdueExchanges() async {
        let now = ContinuousClock.now
        let expired = inFlight.withLock { inFlight -> [(Int, InFlight)] in
            let due = inFlight.filter { $0.value.deadline <= now }
            for (id, _) in due { inFlight.removeValue(forKey: id) }
            return Array(due)
        }
        for (id, entry) in expired {
            entry.promise?.fail(UpstreamHTTPError.timedOut)
            entry.channel?.close(promise: nil)
            logger.warning(
                "HTTP server request timed out",
                metadata: ["mcp.method": "\(entry.method)", "timeout": "\(entry.idleTimeout)"]
            )
            if entry.clientID != nil {
                try? await post(notification: StdioProcessSupervisor.cancellation(of: id, reason: "timed out"))
            }
        }
    }

    // MARK: Helpers

    private func requestHead(method: HTTPMethod, bodyLength: Int, sessionHeaders: Bool) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(8 + endpoint.headers.count)
        for (name, value) in endpoint.headers { headers.add(name: name, value: value) }
        if case .success(let pool) = pool { headers.replaceOrAdd(name: "Host", value: pool.hostHeader) }
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
        headers.replaceOrAdd(name: "Content-Length", value: String(bodyLength))
        if sessionHeaders {
            let (id, version) = session.withLock { ($0.id, $0.protocolVersion) }
            if let id { headers.replaceOrAdd(name: "Mcp-Session-Id", value: id) }
            if let version { headers.replaceOrAdd(name: "MCP-Protocol-Version", value: version) }
        }
        return HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
    }

    private func failure(_ error: any Error, method: String, idle: Duration) -> GatewayError {
        switch error {
        case let error as GatewayError: error
        case UpstreamHTTPError.timedOut:
            .upstream(.upstreamTimeout, server: server.name, "\(method) got no response within \(idle)")
        default:
            unavailable("\(error)")
        }
    }

    private func finalMessage(_ reply: MCPReply) async throws(GatewayError) -> [UInt8] {
        do {
            return try await reply.finalMessage()
        } catch let error as GatewayError {
            throw error
        } catch {
            throw unavailable("\(error)")
        }
    }

    private func unavailable(_ reason: String) -> GatewayError {
        .upstream(.upstreamUnavailable, server: server.name, reason)
    }
}
