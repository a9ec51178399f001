import AsyncHTTPClient
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
/// request is its own POST; the server's answer may be JSON or an SSE stream, and a stream is handed to the client
/// as soon as the server sends anything before its response. A `404` for the session means it expired: the gateway
/// initialises a new one and retries the request once. Closing sends `DELETE`.
public final class StreamableHTTPUpstream: UpstreamTransport {
    public let instanceID: String
    let server: ServerConfiguration
    let endpoint: HTTPEndpoint
    let maxMessageBytes: Int
    let events: UpstreamEvents
    let logger: Logger
    let client: HTTPClient
    let gate = ReadinessGate<UpstreamHandshake>()

    private struct Session {
        var id: String?
        var protocolVersion: String?
        var generation = 0
        var reconnecting = false
    }

    private let session = Mutex(Session())
    private let state = Mutex<UpstreamStatus>(.starting)
    private let nextID = Atomic<Int>(1)
    /// Requests in flight: upstream id → (owner, client id), for client cancellations.
    private let inFlight = Mutex<[Int: (owner: String, clientID: JSONRPCID)]>([:])

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
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5), read: TimeAmount(server.callTimeout)),
            decompression: .disabled
        )
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 128)
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
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
        await waitUntilCancelled()
        await closeSession()
        state.withLock { $0 = .stopped }
        gate.fail(unavailable("the gateway is shutting down"))
        try? await client.shutdown()
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
        guard let id = session.withLock({ $0.id }) else { return }
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .DELETE
        applyHeaders(to: &request, sessionHeaders: true)
        _ = try? await client.execute(request, timeout: .seconds(2))
        logger.debug("HTTP server session closed", metadata: ["mcp.session": "\(id)"])
    }

    private func waitUntilCancelled() async {
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
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
        if let clientID = request.clientID { inFlight.withLock { $0[id] = (request.owner, clientID) } }
        do throws(GatewayError) {
            let (_, reply) = try await exchange(
                request.encoded(upstreamID: id), upstreamID: id, request: request, sessionHeaders: true)
            if case .response = reply { inFlight.withLock { _ = $0.removeValue(forKey: id) } }
            return reply
        } catch {
            inFlight.withLock { _ = $0.removeValue(forKey: id) }
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
        var httpRequest = HTTPClientRequest(url: endpoint.url)
        httpRequest.method = .POST
        applyHeaders(to: &httpRequest, sessionHeaders: sessionHeaders)
        httpRequest.body = .bytes(ByteBuffer(bytes: bytes))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(
                httpRequest, timeout: .seconds(Int64(server.callTimeout.components.seconds) + 1))
        } catch {
            throw unavailable("\(error)")
        }
        let contentType = response.headers.first(name: "content-type")?.lowercased() ?? ""
        switch response.status.code {
        case 200 where contentType.hasPrefix("application/json"):
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: maxMessageBytes)
            } catch {
                throw GatewayError.upstream(
                    .upstreamProtocolError, server: server.name,
                    "response body unreadable or over \(maxMessageBytes) bytes")
            }
            guard let message = try? JSONRPCMessage.parse(Array(body.readableBytesView)) else {
                throw GatewayError.upstream(
                    .upstreamProtocolError, server: server.name, "answered with invalid JSON-RPC")
            }
            return (response.headers, .response(request?.restoring(message) ?? message.bytes))
        case 200 where contentType.hasPrefix("text/event-stream"):
            let reader = SSEMessageReader(body: response.body, maxEventBytes: maxMessageBytes)
            do {
                return (response.headers, try await firstEvent(from: reader, upstreamID: upstreamID, request: request))
            } catch let error as GatewayError {
                throw error
            } catch {
                throw GatewayError.upstream(
                    .upstreamProtocolError, server: server.name, "event stream failed: \(error)")
            }
        case 404 where sessionHeaders && session.withLock({ $0.id }) != nil:
            throw GatewayError(.sessionNotFound, "session expired")
        default:
            let body = (try? await response.body.collect(upTo: 2048)).map { String(buffer: $0) } ?? ""
            throw GatewayError.upstream(
                .upstreamRejected,
                server: server.name,
                "answered HTTP \(response.status.code)\(body.isEmpty ? "" : ": \(body.prefix(200))")",
                details: [("httpStatus", .number(JSONNumber(Int(response.status.code))))]
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
        if first.final { return .response(first.bytes) }
        let rest = AsyncThrowingStream<[UInt8], any Error> { [self] in
            guard !reader.finished else { return nil }
            guard let next = try await nextForClient() else {
                inFlight.withLock { _ = $0.removeValue(forKey: upstreamID) }
                throw GatewayError.upstream(
                    .upstreamProtocolError, server: name, "closed the event stream without answering")
            }
            if next.final {
                reader.finished = true
                inFlight.withLock { _ = $0.removeValue(forKey: upstreamID) }
            }
            return next.bytes
        }
        return .stream(first: first.bytes, rest: rest)
    }

    /// POSTs a notification or a response (expects 202).
    private func post(notification bytes: [UInt8]) async throws(GatewayError) {
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        applyHeaders(to: &request, sessionHeaders: true)
        request.body = .bytes(ByteBuffer(bytes: bytes))
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(response.status.code) else {
                throw GatewayError.upstream(
                    .upstreamRejected, server: server.name, "answered a notification with HTTP \(response.status.code)")
            }
        } catch let error as GatewayError {
            throw error
        } catch {
            throw unavailable("\(error)")
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

    private func applyHeaders(to request: inout HTTPClientRequest, sessionHeaders: Bool) {
        for (name, value) in endpoint.headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
        guard sessionHeaders else { return }
        let (id, version) = session.withLock { ($0.id, $0.protocolVersion) }
        if let id { request.headers.replaceOrAdd(name: "Mcp-Session-Id", value: id) }
        if let version { request.headers.replaceOrAdd(name: "MCP-Protocol-Version", value: version) }
    }

    private func unavailable(_ reason: String) -> GatewayError {
        .upstream(.upstreamUnavailable, server: server.name, reason)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(Int64((duration / .nanoseconds(1)).rounded()))
    }
}
