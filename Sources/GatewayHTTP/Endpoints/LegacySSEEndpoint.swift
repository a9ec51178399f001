import GatewayCore
import GatewayWire
import HTTPTypes
import Hummingbird
import Logging

/// The HTTP+SSE transport of MCP 2024-11-05, for clients that still use it: `GET /sse` (or `/mcp/{server}/sse`)
/// opens the session's one event stream, whose first event names the endpoint for the client's messages
/// (`/messages?sessionId=…`); every POST there is accepted with 202 and answered on the stream.
///
/// The session is bound to the caller like a Streamable HTTP one, and lives exactly as long as its stream.
public struct LegacySSEEndpoint: Sendable {
    let dispatcher: MCPDispatcher
    let checks: RequestChecks
    let keepAlive: Duration

    public init(router: MCPRouter, configuration: GatewayConfiguration, keepAlive: Duration = .seconds(15)) {
        self.dispatcher = MCPDispatcher(router: router)
        self.checks = RequestChecks(origins: configuration.origins, limits: configuration.limits)
        self.keepAlive = keepAlive
    }

    /// The version an HTTP+SSE session has until its `initialize` negotiates one.
    static let transportVersion = "2024-11-05"

    // MARK: GET: the event stream

    public func stream(_ request: Request, context: GatewayRequestContext, server: String?) async -> Response {
        do throws(GatewayError) {
            let scope = try checks.scope(server: server, in: dispatcher.router.directory)
            try checks.checkOrigin(request)
            try checks.checkStreamAccept(request)
            let identity = try checks.authenticated(context)
            let session = try dispatcher.sessions.create(
                identity: identity,
                scope: scope,
                transport: .serverSentEvents,
                protocolVersion: Self.transportVersion,
                clientCapabilities: [:],
                clientInfo: nil,
                handshakeComplete: false
            )
            let messages = server.map { "/mcp/\($0)/messages" } ?? "/messages"
            let endpoint = SSEEncoder.event(Array("\(messages)?sessionId=\(session.id)".utf8), type: "endpoint")
            let sessions = dispatcher.sessions
            context.logger.debug("HTTP+SSE session opened", metadata: ["gateway.session.id": "\(session.id.prefix(8))"])
            return SSEResponse.standalone(
                session.openPushStream(),
                preamble: [.raw(endpoint)],
                keepAlive: keepAlive,
                onEnd: { sessions.remove(id: session.id, for: identity) }
            )
        } catch {
            return error.httpResponse()
        }
    }

    // MARK: POST: the client's messages

    public func post(_ request: Request, context: GatewayRequestContext, server: String?) async -> Response {
        do throws(GatewayError) {
            let scope = try checks.scope(server: server, in: dispatcher.router.directory)
            try checks.checkOrigin(request)
            try checks.checkContentType(request)
            let identity = try checks.authenticated(context)
            let query = request.uri.queryParameters
            guard let id = query.get("sessionId") ?? query.get("session_id") else {
                throw GatewayError(.sessionRequired, "Bad Request: the sessionId query parameter is required")
            }
            guard let session = dispatcher.sessions.session(id: id, for: identity, transport: .serverSentEvents),
                session.scope == scope
            else {
                throw GatewayError(.sessionNotFound, "Session not found")
            }
            let body = try await checks.readBody(request)
            let payload: JSONRPCPayload
            do throws(JSONRPCDecodingError) {
                payload = try JSONRPCPayload.parse(body)
            } catch {
                return GatewayError(error).httpResponse(id: error.id)
            }
            let dispatcher = dispatcher
            let logger = context.logger
            switch payload {
            case .single(let message):
                Task { await Self.handle(message, in: session, dispatcher: dispatcher, logger: logger) }
            case .batch(let elements):
                guard MCPProtocolVersion.allowsBatches(session.protocolVersion) else {
                    throw GatewayError(
                        .invalidRequest,
                        "Invalid Request: JSON-RPC batches are only allowed at protocol 2025-03-26, this session uses \(session.protocolVersion)"
                    )
                }
                Task {
                    let answers = await dispatcher.dispatchBatch(
                        elements, context: MCPRequestContext(session: session, logger: logger))
                    if !answers.isEmpty {
                        session.push(
                            JSONRPCMessage.encodeBatch(answers))
                    }
                }
            }
            return Response(status: .accepted, body: ResponseBody(byteBuffer: .init(string: "Accepted")))
        } catch {
            return error.httpResponse()
        }
    }

    /// Handles one message and pushes whatever answers it onto the session's stream, in order.
    private static func handle(
        _ message: JSONRPCMessage,
        in session: ClientSession,
        dispatcher: MCPDispatcher,
        logger: Logger
    ) async {
        if message.method == "initialize" {
            do throws(GatewayError) {
                session.push(try await dispatcher.initialize(message, in: session))
            } catch {
                session.push(error.jsonRPCResponse(id: message.id))
            }
            return
        }
        if message.kind == .request, !session.isInitialized, message.method != "ping" {
            session.push(
                GatewayError(.invalidRequest, "Invalid Request: send initialize first").jsonRPCResponse(id: message.id))
            return
        }
        let context = MCPRequestContext(session: session, logger: logger)
        guard let reply = await dispatcher.dispatch(message, context: context) else { return }
        switch reply {
        case .response(let bytes):
            session.push(bytes)
        case .stream(let first, let rest):
            let filter = LogFilter(context)
            if filter.admits(first) { session.push(first) }
            do {
                for try await next in rest where filter.admits(next) { session.push(next) }
            } catch {
                let failure = error as? GatewayError ?? GatewayError(.internalError, "\(error)")
                session.push(failure.jsonRPCResponse(id: message.id))
            }
        }
    }
}
