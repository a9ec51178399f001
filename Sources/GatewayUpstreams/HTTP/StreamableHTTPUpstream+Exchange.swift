import GatewayCore
import GatewayWire
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

// MARK: - Exchanges with the server

extension StreamableHTTPUpstream {
    /// POSTs one request and reads the answer up to the first message for it. Client requests can be cancelled
    /// while in flight; everything has a time limit.
    func exchange(
        _ bytes: [UInt8],
        upstreamID: Int,
        request: UpstreamRequest?,
        sessionHeaders: Bool,
        modern: ModernRequestHeaders? = nil
    ) async throws(GatewayError) -> (HTTPHeaders, MCPReply) {
        let pool: UpstreamHTTPConnectionPool
        switch self.pool {
        case .success(let connections): pool = connections
        case .failure(let error): throw unavailable("\(error)").unsent()
        }
        let method = request?.method ?? "initialize"
        let idle = request?.idleTimeout ?? server.connectTimeout
        if let request, let clientID = request.clientID {
            inFlight.withLock { $0[upstreamID] = InFlight(owner: request.owner, clientID: clientID) }
        }
        let finished: @Sendable () -> Void = { [self] in _ = inFlight.withLock { $0.removeValue(forKey: upstreamID) } }
        let abandoned = self.abandoned.continuation
        var onAbandoned: (@Sendable () -> Void)? = nil
        if request?.clientID != nil { onAbandoned = { @Sendable in _ = abandoned.yield(upstreamID) } }
        let onExchange: (any Channel, EventLoopPromise<UpstreamHTTPResponse>) -> Void = { channel, promise in
            self.inFlight.withLock { inFlight in
                inFlight[upstreamID]?.channel = channel
                inFlight[upstreamID]?.promise = promise
            }
        }
        let head = requestHead(method: .POST, bodyLength: bytes.count, sessionHeaders: sessionHeaders, modern: modern)
        let response: UpstreamHTTPResponse
        do {
            response = try await pool.execute(
                head,
                body: ByteBuffer(bytes: bytes),
                idleTimeout: idle,
                deadline: request?.maxDuration ?? server.connectTimeout,
                retryable: method != "tools/call",
                onAbandoned: onAbandoned,
                onExchange: onExchange
            )
        } catch {
            finished()
            throw failure(error, method: method, idle: idle)
        }
        let contentType = response.headers.first(name: "content-type")?.lowercased() ?? ""
        switch (response.status, response.body) {
        case (200, .complete(let body)) where contentType.hasPrefix("application/json"):
            finished()
            guard let message = try? JSONRPCMessage.parse(Array(body.readableBytesView)),
                message.kind == .response || message.kind == .errorResponse, message.id?.intValue == upstreamID
            else {
                throw GatewayError.upstream(
                    .upstreamProtocolError, server: server.name,
                    "answered \(method) with something other than its response")
            }
            return (response.headers, .response(request?.restoring(message) ?? message.bytes))
        case (200, .stream(let body)):
            let reader = SSEMessageReader(body: body, maxEventBytes: maxMessageBytes)
            do {
                return (
                    response.headers,
                    try await firstEvent(from: reader, upstreamID: upstreamID, request: request, finished: finished)
                )
            } catch {
                finished()
                throw failure(error, method: method, idle: idle)
            }
        case (404, _) where sessionHeaders && session.withLock({ $0.id }) != nil:
            finished()
            throw GatewayError(.sessionNotFound, "session expired")
        default:
            finished()
            let body = (try? await response.collect(limit: maxMessageBytes)) ?? []
            // 2026-07-28 servers answer errors with a 4xx status and the JSON-RPC error as the body.
            if (400..<500).contains(response.status), contentType.hasPrefix("application/json"),
                let message = try? JSONRPCMessage.parse(body),
                message.kind == .errorResponse, message.id?.intValue == upstreamID
            {
                return (response.headers, .response(request?.restoring(message) ?? message.bytes))
            }
            let text = String(decoding: body.prefix(2048), as: UTF8.self)
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
    private func firstEvent(
        from reader: SSEMessageReader,
        upstreamID: Int,
        request: UpstreamRequest?,
        finished: @escaping @Sendable () -> Void
    ) async throws -> MCPReply {
        let name = server.name
        let method = request?.method ?? "initialize"
        let idle = request?.idleTimeout ?? server.connectTimeout
        @Sendable func nextForClient() async throws -> (bytes: [UInt8], final: Bool)? {
            while let message = try await reader.next() {
                switch message.kind {
                case .response, .errorResponse:
                    guard message.id?.intValue == upstreamID else { continue }
                    return (request?.restoring(message) ?? message.bytes, true)
                case .notification where Self.serverWide.contains(message.method ?? ""):
                    // Not about this request: every session that sees the server hears it (and caches are cleared).
                    events.onNotification(name, message)
                case .notification:
                    return (request?.restoring(message) ?? message.bytes, false)
                case .request:
                    let outcome = ServerInitiatedRequest.route(
                        message,
                        sink: request?.serverRequests,
                        unrouted:
                            ServerInitiatedRequest.notAskable
                    ) { [self] answer in try? await post(notification: answer) }
                    switch outcome {
                    case .toClient(let bytes): return (bytes, false)
                    case .toUpstream(let reply): try? await post(notification: reply)
                    case nil: break
                    }
                }
            }
            return nil
        }
        guard let first = try await nextForClient() else {
            throw GatewayError.upstream(
                .upstreamProtocolError, server: name, "closed the event stream without answering")
        }
        if first.final {
            finished()
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
                    finished()
                }
                return next.bytes
            } catch {
                finished()
                throw failure(error, method: method, idle: idle)
            }
        }
        return .stream(first: first.bytes, rest: rest)
    }

    /// POSTs a notification or a response (expects a 2xx).
    func post(notification bytes: [UInt8]) async throws(GatewayError) {
        guard case .success(let pool) = pool else { throw unavailable("no connection") }
        let response: UpstreamHTTPResponse
        do {
            response = try await pool.execute(
                requestHead(method: .POST, bodyLength: bytes.count, sessionHeaders: true),
                body: ByteBuffer(bytes: bytes),
                idleTimeout: server.callTimeout,
                deadline: server.callTimeout,
                retryable: true
            )
        } catch {
            throw failure(error, method: "notification", idle: server.callTimeout)
        }
        guard (200..<300).contains(response.status) else {
            throw GatewayError.upstream(
                .upstreamRejected, server: server.name, "answered a notification with HTTP \(response.status)")
        }
    }

    // MARK: The standalone stream

    /// Keeps the session's GET stream open and relays what arrives on it (list changes, resource updates, log
    /// messages). A server answering 405 offers none; a stream that ends is reopened with backoff.
    func listenForServerMessages() async {
        var backoff = RestartBackoff()
        backoff.cap = .seconds(30)
        var generator = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            guard let handshake = try? await gate.wait(timeout: .seconds(3600), timeoutError: unavailable("not ready")),
                case .success(let pool) = pool
            else {
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            let started = ContinuousClock.now
            if era == .modern {
                if await listen(pool, capabilities: handshake.capabilities) {
                    backoff = RestartBackoff()
                    backoff.cap = .seconds(30)
                    continue
                }
                try? await Task.sleep(for: backoff.delay(afterRunningFor: .now - started, using: &generator))
                continue
            }
            do {
                var head = requestHead(method: .GET, bodyLength: 0, sessionHeaders: true)
                head.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
                head.headers.remove(name: "Content-Type")
                let response = try await pool.execute(
                    head, body: ByteBuffer(), idleTimeout: nil, deadline: nil, retryable: true)
                if response.status == 405 {
                    logger.debug("HTTP server offers no standalone stream")
                    return
                }
                if case .stream(let body) = response.body, response.status == 200 {
                    let reader = SSEMessageReader(body: body, maxEventBytes: maxMessageBytes)
                    while let message = try await reader.next() {
                        switch message.kind {
                        case .notification: events.onNotification(server.name, message)
                        case .request:
                            let outcome = ServerInitiatedRequest.route(
                                message,
                                sink: nil,
                                unrouted:
                                    "it came on the session's standalone stream, which no one client's request owns"
                            ) { _ in }
                            if case .toUpstream(let reply) = outcome { try? await post(notification: reply) }
                        default: break
                        }
                    }
                }
            } catch {
                logger.debug("HTTP server standalone stream ended", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: backoff.delay(afterRunningFor: .now - started, using: &generator))
        }
    }

    /// A 2026-07-28 server's `subscriptions/listen` stream, asking for what ``interest`` holds, until it ends or
    /// the subscribed resources change. Returns `true` when it ended for a change (reopen at once), `false` when the
    /// server ended it or failed (reopen with backoff). With nothing to listen for, waits for a subscription.
    func listen(_ pool: UpstreamHTTPConnectionPool, capabilities: JSONObject) async -> Bool {
        let (listenParams, version) = interest.listenParams(capabilities: capabilities)
        guard let params = listenParams else { return await interest.change(after: version) }
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let request = UpstreamRequest(
            .synthesized(method: "subscriptions/listen", params: params), owner: UpstreamRequest.gatewayOwner,
            idleTimeout: .seconds(3600), maxDuration: .seconds(3600))
        let bytes = request.encoded(upstreamID: id, era: .modern)
        let head = requestHead(
            method: .POST, bodyLength: bytes.count, sessionHeaders: true, modern: ModernRequestHeaders(request))
        let exchange = ListenExchange()
        return await withTaskGroup(of: Void.self) { group in
            group.addTask { [interest] in
                guard await interest.change(after: version) else { return }
                exchange.changed.store(true, ordering: .relaxed)
                // The exchange may not be written yet, and a cancellation before it is lost: repeat until the
                // stream has ended (this task is then cancelled).
                while !Task.isCancelled {
                    if let (channel, promise) = exchange.current.withLock({ $0 }) {
                        pool.cancel(promise, on: channel)
                    }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            do {
                let response = try await pool.execute(
                    head, body: ByteBuffer(bytes: bytes), idleTimeout: nil, deadline: nil, retryable: true,
                    onExchange: { channel, promise in exchange.current.withLock { $0 = (channel, promise) } })
                if case .stream(let body) = response.body, response.status == 200 {
                    let reader = SSEMessageReader(body: body, maxEventBytes: maxMessageBytes)
                    while let message = try await reader.next(), message.kind == .notification {
                        if message.method != "notifications/subscriptions/acknowledged" {
                            events.onNotification(server.name, message)
                        }
                    }
                } else {
                    let text = String(decoding: (try? await response.collect(limit: 512)) ?? [], as: UTF8.self)
                    logger.debug(
                        "HTTP server refused subscriptions/listen",
                        metadata: ["http.status": "\(response.status)", "body": "\(text)"])
                }
            } catch {
                logger.debug("HTTP server listen stream ended", metadata: ["error": "\(error)"])
            }
            group.cancelAll()
            return exchange.changed.load(ordering: .relaxed)
        }
    }

    // MARK: Helpers

    /// Notifications about the server as a whole, relayed to every session even when they arrive on a request's stream.
    static let serverWide: Set<String> = [
        "notifications/tools/list_changed", "notifications/prompts/list_changed",
        "notifications/resources/list_changed", "notifications/resources/updated",
    ]

    func requestHead(
        method: HTTPMethod,
        bodyLength: Int,
        sessionHeaders: Bool,
        modern: ModernRequestHeaders? = nil
    ) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(8 + endpoint.headers.count)
        for (name, value) in endpoint.headers { headers.add(name: name, value: value) }
        if case .success(let pool) = pool { headers.replaceOrAdd(name: "Host", value: pool.hostHeader) }
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
        headers.replaceOrAdd(name: "Content-Length", value: String(bodyLength))
        if let modern {
            modern.write(into: &headers)
        } else if sessionHeaders {
            let (id, version) = session.withLock { ($0.id, $0.protocolVersion) }
            if let id { headers.replaceOrAdd(name: "Mcp-Session-Id", value: id) }
            if let version { headers.replaceOrAdd(name: "MCP-Protocol-Version", value: version) }
        }
        return HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
    }

    func failure(_ error: any Error, method: String, idle: Duration) -> GatewayError {
        switch error {
        case let error as GatewayError: error
        case UpstreamHTTPError.timedOut:
            .upstream(.upstreamTimeout, server: server.name, "\(method) got no response within \(idle)")
        case UpstreamHTTPError.cancelled:
            GatewayError(.internalError, "request cancelled")
        case UpstreamHTTPError.connectFailed, UpstreamHTTPError.poolClosed:
            unavailable("\(error)").unsent()
        default:
            unavailable("\(error)")
        }
    }

    func finalMessage(_ reply: MCPReply) async throws(GatewayError) -> [UInt8] {
        do {
            return try await reply.finalMessage()
        } catch let error as GatewayError {
            throw error
        } catch {
            throw unavailable("\(error)")
        }
    }
}

/// The exchange of a listen stream, so a change of the subscriptions can end it.
private final class ListenExchange: Sendable {
    let current = Mutex<(any Channel, EventLoopPromise<UpstreamHTTPResponse>)?>(nil)
    let changed = Atomic<Bool>(false)
}
