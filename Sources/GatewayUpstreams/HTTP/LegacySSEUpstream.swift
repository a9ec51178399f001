import Foundation
import GatewayCore
import GatewayWire
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// A session with one server on the deprecated HTTP+SSE transport of MCP 2024-11-05 (`transport: sse`).
///
/// The gateway GETs the server's event stream; its first event, `endpoint`, names the URI for the gateway's
/// messages, each POSTed there on its own; every answer and notification arrives on the one event stream. That
/// makes it a multiplexed connection like a stdio process: requests get gateway-minted ids (``PendingCalls``),
/// shared by every client. When the stream ends, calls in flight fail at once and the gateway reconnects with
/// backoff.
public final class LegacySSEUpstream: UpstreamTransport {
    public let instanceID: String
    let server: ServerConfiguration
    let endpoint: HTTPEndpoint
    let maxMessageBytes: Int
    let events: UpstreamEvents
    let logger: Logger
    let pending = PendingCalls()
    let gate = ReadinessGate<UpstreamHandshake>()
    let pool: Result<UpstreamHTTPConnectionPool, UpstreamHTTPError>
    let streamPath: String
    private let state = Mutex<UpstreamStatus>(.starting)
    /// The path (and query) the server's `endpoint` event named, once it arrived.
    private let messagesPath = Mutex<String?>(nil)

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
        let target = UpstreamHTTPTarget(endpoint: endpoint, maxBodyBytes: maxMessageBytes)
        self.pool = target.pool
        self.streamPath = target.path
        pending.onAbandoned { [weak self] id in
            self?.postInBackground(GatewayClientInfo.cancellation(of: id, reason: "the client went away"))
        }
    }

    public var status: UpstreamStatus { state.withLock { $0 } }

    public var currentHandshake: UpstreamHandshake? { status == .ready ? gate.value : nil }

    public func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake {
        try await gate.wait(timeout: timeout, timeoutError: unavailable("did not become ready within \(timeout)"))
    }

    public func send(_ request: UpstreamRequest) async throws(GatewayError) -> MCPReply {
        _ = try await gate.wait(
            timeout: request.readinessWait,
            timeoutError: unavailable("did not become ready within \(request.readinessWait)")
        )
        return try await pending.call(request) { [weak self] bytes in
            self?.postInBackground(bytes)
            return nil
        }
    }

    public func cancel(owner: String, clientID: JSONRPCID?) async {
        for id in pending.cancel(owner: owner, clientID: clientID) {
            postInBackground(GatewayClientInfo.cancellation(of: id, reason: "cancelled by the client"))
        }
    }

    // MARK: Supervision

    public func run() async {
        var backoff = RestartBackoff()
        var generator = SystemRandomNumberGenerator()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await self.pending.expireOverdue(server: self.server.name) { id in
                    self.postInBackground(GatewayClientInfo.cancellation(of: id, reason: "timed out"))
                }
            }
            while !Task.isCancelled {
                let started = ContinuousClock.now
                let failure = await connectAndServe()
                if Task.isCancelled { break }
                state.withLock { $0 = .down(failure.message) }
                pending.failAll(failure, close: true)
                gate.fail(failure)
                logger.warning("HTTP+SSE server stream ended; reconnecting", metadata: ["error": "\(failure)"])
                try? await Task.sleep(for: backoff.delay(afterRunningFor: .now - started, using: &generator))
            }
            group.cancelAll()
        }
        let stopped = unavailable("the gateway is shutting down")
        state.withLock { $0 = .stopped }
        pending.failAll(stopped, close: true)
        gate.fail(stopped)
        if case .success(let pool) = pool { await pool.shutdown() }
    }

    /// Opens the event stream, waits for the endpoint, shakes hands, and reads until the stream ends; returns why
    /// it ended.
    private func connectAndServe() async -> GatewayError {
        gate.reset()
        pending.reopen()
        messagesPath.withLock { $0 = nil }
        state.withLock { $0 = .starting }
        guard case .success(let pool) = pool else {
            if case .failure(let error) = pool { return unavailable("\(error)") }
            return unavailable("no connection")
        }
        var head = requestHead(method: .GET, path: streamPath, bodyLength: 0)
        head.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
        head.headers.remove(name: "Content-Type")
        let response: UpstreamHTTPResponse
        do {
            response = try await pool.execute(
                head, body: ByteBuffer(), idleTimeout: nil, deadline: nil, retryable: true)
        } catch {
            return unavailable("\(error)")
        }
        guard response.status == 200, case .stream(let body) = response.body else {
            return .upstream(
                .upstreamRejected, server: server.name,
                "answered the event stream GET with HTTP \(response.status), not an event stream")
        }
        var parser = SSEParser(maxEventSize: maxMessageBytes)
        var handshake: Task<Void, Never>? = nil
        defer { handshake?.cancel() }
        do {
            for try await chunk in body {
                try parser.append(chunk.readableBytesView)
                while let event = parser.nextEvent() {
                    if event.type == "endpoint" {
                        guard messagesPath.withLock({ $0 }) == nil else { continue }
                        let path = try messagesPath(from: event.data)
                        messagesPath.withLock { $0 = path }
                        handshake = Task { await self.performHandshake() }
                    } else if event.type == "message", !event.data.isEmpty {
                        handle(event.data)
                    }
                }
            }
            return unavailable("closed its event stream")
        } catch let error as GatewayError {
            return error
        } catch {
            return unavailable("event stream failed: \(error)")
        }
    }

    /// The path of the `endpoint` event's URI, which must be on the server's own origin.
    private func messagesPath(from data: [UInt8]) throws(GatewayError) -> String {
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard let base = URL(string: endpoint.url), let resolved = URL(string: text, relativeTo: base)?.absoluteURL,
            resolved.scheme == base.scheme, resolved.host == base.host, resolved.port == base.port,
            let components = URLComponents(url: resolved, resolvingAgainstBaseURL: false)
        else {
            throw .upstream(
                .upstreamProtocolError, server: server.name,
                "sent an endpoint event that is not a URI on its own origin: \(text.prefix(200))")
        }
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        return path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    private func performHandshake() async {
        let request = UpstreamRequest(
            .synthesized(method: "initialize", params: GatewayClientInfo.initializeParams),
            owner: UpstreamRequest.gatewayOwner,
            idleTimeout: server.connectTimeout,
            maxDuration: server.connectTimeout
        )
        do {
            let reply = try await pending.call(request) { [weak self] bytes in
                self?.postInBackground(bytes)
                return nil
            }
            let handshake = try GatewayClientInfo.handshake(from: try await reply.finalMessage(), server: server.name)
            try await post(JSONRPCMessage.encodeNotification(method: "notifications/initialized", params: nil))
            state.withLock { $0 = .ready }
            gate.open(handshake)
            events.onReady(server.name, instanceID)
            logger.info("HTTP+SSE server ready", metadata: ["mcp.protocol": "\(handshake.protocolVersion)"])
        } catch {
            guard !Task.isCancelled else { return }
            let failure = error as? GatewayError ?? unavailable("initialize failed: \(error)")
            state.withLock { $0 = .down(failure.message) }
            gate.fail(failure)
            logger.error("HTTP+SSE server failed to initialize", metadata: ["error": "\(failure)"])
        }
    }

    private func handle(_ data: [UInt8]) {
        guard let message = try? JSONRPCMessage.parse(data) else {
            logger.warning("HTTP+SSE server sent an event that is not JSON-RPC; ignored")
            return
        }
        switch message.kind {
        case .response, .errorResponse:
            pending.deliver(message)
        case .notification:
            if !pending.deliver(message) { events.onNotification(server.name, message) }
        case .request:
            let reply = pending.relayServerRequest(message) { [weak self] answer in try? await self?.post(answer) }
            if let reply { postInBackground(reply, failsCall: false) }
        }
    }

    // MARK: Posting

    /// POSTs a message without waiting; if it is one of our requests (`failsCall`) and the POST fails, its call
    /// fails at once.
    private func postInBackground(_ bytes: [UInt8], failsCall: Bool = true) {
        Task {
            do throws(GatewayError) {
                try await post(bytes)
            } catch {
                guard failsCall, let id = (try? JSONRPCMessage.parse(bytes))?.id?.intValue else { return }
                pending.fail(id, error)
            }
        }
    }

    /// POSTs one message to the endpoint the server named; it answers 2xx (202, usually) and replies on the stream.
    private func post(_ bytes: [UInt8]) async throws(GatewayError) {
        guard case .success(let pool) = pool, let path = messagesPath.withLock({ $0 }) else {
            throw unavailable("is not connected")
        }
        let response: UpstreamHTTPResponse
        do {
            response = try await pool.execute(
                requestHead(method: .POST, path: path, bodyLength: bytes.count),
                body: ByteBuffer(bytes: bytes),
                idleTimeout: server.callTimeout,
                deadline: server.callTimeout,
                retryable: false
            )
        } catch {
            throw unavailable("\(error)")
        }
        guard (200..<300).contains(response.status) else {
            throw .upstream(
                .upstreamRejected, server: server.name, "answered a message POST with HTTP \(response.status)",
                details: [("httpStatus", .number(JSONNumber(response.status)))])
        }
    }

    private func requestHead(method: HTTPMethod, path: String, bodyLength: Int) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        for (name, value) in endpoint.headers { headers.add(name: name, value: value) }
        if case .success(let pool) = pool { headers.replaceOrAdd(name: "Host", value: pool.hostHeader) }
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        headers.replaceOrAdd(name: "Content-Length", value: String(bodyLength))
        return HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
    }

    private func unavailable(_ reason: String) -> GatewayError {
        .upstream(.upstreamUnavailable, server: server.name, reason)
    }
}
