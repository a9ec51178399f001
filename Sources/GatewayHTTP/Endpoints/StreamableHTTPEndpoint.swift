import GatewayCore
import GatewayWire
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `POST`/`GET`/`DELETE` on `/mcp` and `/mcp/{server}`: the Streamable HTTP transport of MCP 2025-03-26 through
/// 2025-11-25 (2024-11-05 clients that `initialize` here are served too).
///
/// Transport checks (Origin 403, Content-Type 415, Accept 406, body size 413) come first and end the exchange with a
/// status. Sessions are bound to the caller's identity; an unknown or foreign session id gets 404, as the spec's
/// re-initialise signal. Requests are answered as JSON unless the upstream sends something before its answer, in
/// which case the answer becomes an SSE stream.
public struct StreamableHTTPEndpoint: Sendable {
    let router: MCPRouter
    let checks: RequestChecks
    let limits: LimitsConfiguration
    let keepAlive: Duration

    public init(router: MCPRouter, configuration: GatewayConfiguration, keepAlive: Duration = .seconds(15)) {
        self.router = router
        self.checks = RequestChecks(origins: configuration.origins)
        self.limits = configuration.limits
        self.keepAlive = keepAlive
    }

    var sessions: SessionRegistry { router.sessions }

    /// The scope of `/mcp/{server}`, or 404 for a server that is not configured.
    func scope(server name: String?) throws(GatewayError) -> EndpointScope {
        guard let name else { return .aggregate }
        guard router.directory.server(named: name) != nil else {
            throw GatewayError(.unknownServer, "Unknown server: \(name)")
        }
        return .server(name)
    }

    // MARK: POST

    public func post(_ request: Request, context: GatewayRequestContext, server: String?) async -> Response {
        do throws(GatewayError) {
            let scope = try scope(server: server)
            try checks.checkOrigin(request)
            try checks.checkContentType(request)
            try checks.checkPostAccept(request)
            let identity = try authenticated(context)
            let body = try await readBody(request)
            let payload: JSONRPCPayload
            do throws(JSONRPCDecodingError) {
                payload = try JSONRPCPayload.parse(body)
            } catch {
                return GatewayError(error).httpResponse(id: error.id)
            }
            switch payload {
            case .single(let message) where message.method == "initialize":
                return try await initialize(message, request: request, identity: identity, scope: scope)
            case .single(let message):
                let session = try session(for: request, identity: identity, scope: scope)
                let mcpContext = requestContext(session, context: context)
                guard message.kind == .request else {
                    await router.handleNotification(message, context: mcpContext)
                    return Response(status: .accepted)
                }
                switch await router.handle(message, context: mcpContext) {
                case .response(let bytes):
                    return .json(.ok, bytes)
                case .stream(let first, let rest):
                    return SSEResponse.reply(first: first, rest: rest, id: message.id, keepAlive: keepAlive)
                }
            case .batch(let elements):
                let session = try session(for: request, identity: identity, scope: scope)
                guard MCPProtocolVersion.allowsBatches(session.protocolVersion) else {
                    throw GatewayError(
                        .invalidRequest,
                        "Invalid Request: JSON-RPC batches are only allowed at protocol 2025-03-26, this session uses \(session.protocolVersion)"
                    )
                }
                return await batch(elements, context: requestContext(session, context: context))
            }
        } catch {
            return error.httpResponse()
        }
    }

    private func initialize(
        _ message: JSONRPCMessage,
        request: Request,
        identity: Identity,
        scope: EndpointScope
    ) async throws(GatewayError) -> Response {
        guard message.kind == .request, let id = message.id else {
            throw GatewayError(.invalidRequest, "Invalid Request: initialize must be a request")
        }
        guard request.headers[MCPHeaders.sessionID] == nil else {
            throw GatewayError(
                .invalidRequest, "Invalid Request: initialize starts a new session; send it without Mcp-Session-Id")
        }
        let (version, result) = await router.initializeResult(
            requestedVersion: message.paramString("protocolVersion"),
            scope: scope
        )
        let session = try sessions.create(
            identity: identity,
            scope: scope,
            protocolVersion: version,
            clientCapabilities: message.paramValue("capabilities") ?? [:],
            clientInfo: message.paramValue("clientInfo")
        )
        var headers = HTTPFields()
        headers[MCPHeaders.sessionID] = session.id
        return .json(.ok, JSONRPCMessage.encodeResponse(id: id, result: result), headers: headers)
    }

    /// A 2025-03-26 batch: each element handled in order, the answers returned as one JSON array.
    private func batch(
        _ elements: [Result<JSONRPCMessage, JSONRPCDecodingError>],
        context: MCPRequestContext
    ) async -> Response {
        var answers: [[UInt8]] = []
        for element in elements {
            switch element {
            case .failure(let error):
                answers.append(GatewayError(error).jsonRPCResponse(id: error.id))
            case .success(let message) where message.method == "initialize":
                answers.append(
                    GatewayError(.invalidRequest, "Invalid Request: initialize must not be part of a batch")
                        .jsonRPCResponse(id: message.id)
                )
            case .success(let message) where message.kind == .request:
                let reply = await router.handle(message, context: context)
                do {
                    answers.append(try await reply.finalMessage())
                } catch {
                    let failure = error as? GatewayError ?? GatewayError(.internalError, "\(error)")
                    answers.append(failure.jsonRPCResponse(id: message.id))
                }
            case .success(let message):
                await router.handleNotification(message, context: context)
            }
        }
        guard !answers.isEmpty else { return Response(status: .accepted) }
        return .json(.ok, Array("[".utf8) + Array(answers.joined(separator: [UInt8(ascii: ",")])) + Array("]".utf8))
    }

    // MARK: GET and DELETE

    /// Opens the session's standalone stream for messages not tied to a request (list changes, log messages).
    public func get(_ request: Request, context: GatewayRequestContext, server: String?) async -> Response {
        do throws(GatewayError) {
            let scope = try scope(server: server)
            try checks.checkOrigin(request)
            try checks.checkStreamAccept(request)
            let session = try session(for: request, identity: try authenticated(context), scope: scope)
            return SSEResponse.standalone(session.openPushStream(), keepAlive: keepAlive)
        } catch {
            return error.httpResponse()
        }
    }

    /// Ends a session; later requests with its id get 404.
    public func delete(_ request: Request, context: GatewayRequestContext, server: String?) async -> Response {
        do throws(GatewayError) {
            let scope = try scope(server: server)
            try checks.checkOrigin(request)
            let identity = try authenticated(context)
            let session = try session(for: request, identity: identity, scope: scope)
            sessions.remove(id: session.id, for: identity)
            return Response(status: .ok)
        } catch {
            return error.httpResponse()
        }
    }

    // MARK: Helpers

    private func authenticated(_ context: GatewayRequestContext) throws(GatewayError) -> Identity {
        guard let identity = context.identity else { throw GatewayError(.unauthorized, "Unauthorized") }
        return identity
    }

    /// The session named by `Mcp-Session-Id`, checked against the caller, the endpoint and `MCP-Protocol-Version`.
    private func session(
        for request: Request,
        identity: Identity,
        scope: EndpointScope
    ) throws(GatewayError) -> ClientSession {
        guard let id = request.headers[MCPHeaders.sessionID] else {
            throw GatewayError(
                .sessionRequired, "Bad Request: Mcp-Session-Id header is required; send initialize first")
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

    private func requestContext(_ session: ClientSession, context: GatewayRequestContext) -> MCPRequestContext {
        MCPRequestContext(
            identity: session.identity,
            scope: session.scope,
            protocolVersion: session.protocolVersion,
            session: session,
            logger: context.logger
        )
    }

    /// The body, refusing more than the limit with 413: at once from `Content-Length`, else while reading.
    private func readBody(_ request: Request) async throws(GatewayError) -> [UInt8] {
        let limit = limits.maxRequestBodyBytes
        let tooLarge = GatewayError(.payloadTooLarge, "Payload Too Large: the request body exceeds \(limit) bytes")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch {
            throw GatewayError(.invalidRequest, "Bad Request: the request body could not be read")
        }
    }
}
