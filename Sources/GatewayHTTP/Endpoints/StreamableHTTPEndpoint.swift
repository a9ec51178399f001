import GatewayCore
import GatewayWire
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `POST`/`GET`/`DELETE` on `/mcp` and `/mcp/{server}`: Streamable HTTP in both eras on one endpoint.
///
/// The era is chosen per request, as the 2026-07-28 dual-era rules say: `initialize`, or a request carrying
/// `Mcp-Session-Id`, is session-based (2025-03-26 … 2025-11-25, and 2024-11-05 clients that `initialize` here); a
/// request whose `_meta` (or `MCP-Protocol-Version` header) names a stateless version is served without a session
/// (2026-07-28), after its mirrored headers (`Mcp-Method`, `Mcp-Name`, and the tool's `Mcp-Param-*`) were checked
/// against the body.
///
/// Transport checks (Origin 403, Content-Type 415, Accept 406, body size 413) come first and end the exchange with a
/// status. Sessions are bound to the caller's identity; an unknown or foreign session id gets 404, as the spec's
/// re-initialise signal. Requests are answered as JSON unless the upstream sends something before its answer, in
/// which case the answer becomes an SSE stream.
public struct StreamableHTTPEndpoint: Sendable {
    let dispatcher: MCPDispatcher
    let checks: RequestChecks
    let limits: LimitsConfiguration
    let keepAlive: Duration

    public init(router: MCPRouter, configuration: GatewayConfiguration, keepAlive: Duration = .seconds(15)) {
        self.dispatcher = MCPDispatcher(router: router)
        self.checks = RequestChecks(origins: configuration.origins, limits: configuration.limits)
        self.limits = configuration.limits
        self.keepAlive = keepAlive
    }

    var sessions: SessionRegistry { dispatcher.sessions }

    // MARK: POST

    public func post(_ request: Request, context: GatewayRequestContext, server: String?) async -> Response {
        do throws(GatewayError) {
            let scope = try checks.scope(server: server, in: dispatcher.router.directory)
            try checks.checkOrigin(request)
            try checks.checkContentType(request)
            try checks.checkPostAccept(request)
            let identity = try checks.authenticated(context)
            let body = try await checks.readBody(request)
            let payload: JSONRPCPayload
            do throws(JSONRPCDecodingError) {
                payload = try JSONRPCPayload.parse(body)
            } catch {
                return GatewayError(error).httpResponse(id: error.id)
            }
            switch payload {
            case .single(let message) where message.method == "initialize":
                guard request.headers[MCPHeaders.sessionID] == nil else {
                    throw GatewayError(
                        .invalidRequest,
                        "Invalid Request: initialize starts a new session; send it without Mcp-Session-Id")
                }
                let (session, response) = try await dispatcher.initialize(message, identity: identity, scope: scope)
                var headers = HTTPFields()
                headers[MCPHeaders.sessionID] = session.id
                return .json(.ok, response, headers: headers)
            case .single(let message)
            where request.headers[MCPHeaders.sessionID] == nil
                && StatelessRequestCheck.isStateless(message, headers: request.headers):
                return await stateless(message, request: request, identity: identity, scope: scope, context: context)
            case .single(let message):
                let session = try session(for: request, identity: identity, scope: scope)
                return await answer(
                    message, context: MCPRequestContext(session: session, logger: context.logger), era: .legacy)
            case .batch(let elements):
                let session = try session(for: request, identity: identity, scope: scope)
                guard MCPProtocolVersion.allowsBatches(session.protocolVersion) else {
                    throw GatewayError.batchNotAllowed(protocolVersion: session.protocolVersion)
                }
                let answers = await dispatcher.dispatchBatch(
                    elements, context: MCPRequestContext(session: session, logger: context.logger))
                guard !answers.isEmpty else { return Response(status: .accepted) }
                return .json(
                    .ok, JSONRPCMessage.encodeBatch(answers))
            }
        } catch {
            return error.httpResponse()
        }
    }

    /// A 2026-07-28 request: checked against its headers, then dispatched without a session. Request-level
    /// failures get the revision's statuses (400, 404 for an unknown method).
    private func stateless(
        _ message: JSONRPCMessage,
        request: Request,
        identity: Identity,
        scope: EndpointScope,
        context: GatewayRequestContext
    ) async -> Response {
        do throws(GatewayError) {
            let mcpContext = try StatelessRequestCheck.context(
                for: message, headers: request.headers, identity: identity, scope: scope, logger: context.logger)
            if message.kind == .request, let method = message.method, !MCPMethods.stateless.contains(method) {
                throw GatewayError(.methodNotFound, "Method not found: \(method)")
            }
            try await dispatcher.router.checkMirroredParameters(message, context: mcpContext)
            return await answer(message, context: mcpContext, era: .modern)
        } catch {
            return error.httpResponse(id: message.id, era: .modern)
        }
    }

    /// Dispatches one message and writes its answer: 202 for notifications and responses, JSON for a single
    /// reply, SSE when the upstream streamed.
    private func answer(_ message: JSONRPCMessage, context: MCPRequestContext, era: MCPEra) async -> Response {
        guard let reply = await dispatcher.dispatch(message, context: context) else {
            return Response(status: .accepted)
        }
        switch reply {
        case .response(let bytes):
            return .json(.ok, bytes)
        case .stream(let first, let rest):
            if era == .legacy, let session = context.session, let events = session.resumableReply() {
                let keep = LogFilter(context).admits
                let id = message.id
                // The answer is read into the session's stream by a task of its own, so a client whose connection
                // breaks can resume it (GET with Last-Event-ID) instead of losing it.
                let pump = Task { await Self.pump(first: first, rest: rest, into: events, keep: keep, id: id) }
                events.produced(by: pump)
                guard let reader = events.read(after: 0) else {
                    return GatewayError(.sessionNotFound, "Session not found").httpResponse(id: message.id)
                }
                return SSEResponse.resumable(reader, priming: primingID(events, session), keepAlive: keepAlive)
            }
            let closing = message.method == "subscriptions/listen" ? message.id.map(ListenStreams.closingResponse) : nil
            return SSEResponse.reply(
                first: first,
                rest: rest,
                id: message.id,
                era: era,
                keepAlive: keepAlive,
                keep: LogFilter(context).admits,
                closingOnShutdown: closing
            )
        }
    }

    /// Reads a reply into its resumable stream; messages `keep` refuses are left out, and a failure of the reply
    /// becomes a JSON-RPC error for `id`. Stops reading (which abandons the upstream call) when no reader came back.
    static func pump(
        first: [UInt8],
        rest: AsyncThrowingStream<[UInt8], any Error>,
        into events: ResumableEvents,
        keep: @escaping @Sendable ([UInt8]) -> Bool,
        id: JSONRPCID?
    ) async {
        defer { events.finish() }
        if keep(first) { guard await events.append(first) else { return } }
        do {
            for try await message in rest where keep(message) {
                guard await events.append(message) else { return }
            }
        } catch {
            let failure = error as? GatewayError ?? GatewayError(.internalError, "\(error)")
            _ = await events.append(failure.jsonRPCResponse(id: id))
        }
    }

    /// Priming events are a 2025-11-25 addition; clients of earlier revisions get none.
    private func primingID(_ events: ResumableEvents, _ session: ClientSession) -> String? {
        session.protocolVersion >= "2025-11-25" ? events.primingID : nil
    }

    // MARK: GET and DELETE

    /// Opens the session's standalone stream for messages not tied to a request (list changes, log messages), or
    /// with `Last-Event-ID`, resumes the answer stream that event belongs to from the event after it.
    public func get(_ request: Request, context: GatewayRequestContext, server: String?) async -> Response {
        do throws(GatewayError) {
            let scope = try checks.scope(server: server, in: dispatcher.router.directory)
            try checks.checkOrigin(request)
            try refuseStateless(request)
            try checks.checkStreamAccept(request)
            let session = try session(for: request, identity: try checks.authenticated(context), scope: scope)
            let priming =
                session.protocolVersion >= "2025-11-25"
                ? [SSEResponse.Event.raw(Array("id: g-0\ndata: \n\n".utf8))] : []
            if let lastEventID = request.headers[MCPHeaders.lastEventID], lastEventID.hasPrefix("g-") {
                guard let seq = Int(lastEventID.dropFirst(2)), let stream = session.resumePushStream(after: seq) else {
                    throw GatewayError(
                        .invalidRequest,
                        "Bad Request: Last-Event-ID \(lastEventID): the session's stream no longer holds the messages after it"
                    )
                }
                return SSEResponse.standalone(stream, identified: true, keepAlive: keepAlive)
            }
            if let lastEventID = request.headers[MCPHeaders.lastEventID] {
                guard let (events, after) = session.resumableReply(lastEventID: lastEventID),
                    let reader = events.read(after: after)
                else {
                    throw GatewayError(
                        .invalidRequest,
                        "Bad Request: Last-Event-ID \(lastEventID) names no stream of this session that can be resumed from there"
                    )
                }
                return SSEResponse.resumable(reader, priming: nil, keepAlive: keepAlive)
            }
            return SSEResponse.standalone(
                session.openPushStream(), identified: true, preamble: priming, keepAlive: keepAlive)
        } catch {
            return error.httpResponse()
        }
    }

    /// Ends a session; later requests with its id get 404.
    public func delete(_ request: Request, context: GatewayRequestContext, server: String?) async -> Response {
        do throws(GatewayError) {
            let scope = try checks.scope(server: server, in: dispatcher.router.directory)
            try checks.checkOrigin(request)
            try refuseStateless(request)
            let identity = try checks.authenticated(context)
            let session = try session(for: request, identity: identity, scope: scope)
            sessions.remove(id: session.id, for: identity)
            return Response(status: .ok)
        } catch {
            return error.httpResponse()
        }
    }

    /// GET and DELETE belong to sessions; 2026-07-28 has neither, so a stateless client gets 405.
    private func refuseStateless(_ request: Request) throws(GatewayError) {
        guard request.headers[MCPHeaders.sessionID] == nil, let version = request.headers[MCPHeaders.protocolVersion],
            MCPProtocolVersion.era(of: version) == .modern
        else { return }
        throw GatewayError(
            .methodNotAllowed,
            "Method Not Allowed: protocol \(version) has no sessions, so no GET stream and no DELETE; use POST")
    }

    // MARK: Helpers

    /// The session named by `Mcp-Session-Id`, checked against the caller, the endpoint and `MCP-Protocol-Version`.
    private func session(
        for request: Request,
        identity: Identity,
        scope: EndpointScope
    ) throws(GatewayError) -> ClientSession {
        guard let id = request.headers[MCPHeaders.sessionID] else {
            throw GatewayError(
                .sessionRequired,
                "Bad Request: Mcp-Session-Id header is required; send initialize first, or a 2026-07-28 request with its _meta"
            )
        }
        guard let session = sessions.session(id: id, for: identity), session.scope == scope else {
            throw GatewayError(.sessionNotFound, "Session not found")
        }
        if let version = request.headers[MCPHeaders.protocolVersion], version != session.protocolVersion {
            throw GatewayError(
                .invalidRequest,
                "Bad Request: MCP-Protocol-Version \(version) does not match the session's version \(session.protocolVersion)"
            )
        }
        return session
    }
}
