import GatewayCore
import GatewayWire
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

// MARK: - Exchanges with the server: requests, their answers, timeouts

extension StreamableHTTPUpstream {
    /// POSTs one request and reads the answer up to the first message for it.
    func exchange(
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
    func firstEvent(from reader: SSEMessageReader, upstreamID: Int, request: UpstreamRequest?) async throws
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
    func post(notification bytes: [UInt8]) async throws(GatewayError) {
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
    func extendDeadline(of upstreamID: Int) {
        inFlight.withLock { inFlight in
            guard var entry = inFlight[upstreamID] else { return }
            entry.deadline = min(ContinuousClock.now + entry.idleTimeout, entry.hardDeadline)
            inFlight[upstreamID] = entry
        }
    }

    /// Stops exchanges past their deadline (their callers get a timeout) and tells the server.
    func expireOverdueExchanges() async {
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

    func requestHead(method: HTTPMethod, bodyLength: Int, sessionHeaders: Bool) -> HTTPRequestHead {
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

    func failure(_ error: any Error, method: String, idle: Duration) -> GatewayError {
        switch error {
        case let error as GatewayError: error
        case UpstreamHTTPError.timedOut:
            .upstream(.upstreamTimeout, server: server.name, "\(method) got no response within \(idle)")
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
