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
            if case .batch = payload, !MCPProtocolVersion.allowsBatches(session.protocolVersion) {
                throw GatewayError.batchNotAllowed(protocolVersion: session.protocolVersion)
            }
            // Answered on the session's stream; each message on its own, so a slow call does not hold up the next.
            let (dispatcher, logger) = (dispatcher, context.logger)
            Task { await dispatcher.receive(payload, in: session, logger: logger) }
            return Response(status: .accepted, body: ResponseBody(byteBuffer: .init(string: "Accepted")))
        } catch {
            return error.httpResponse()
        }
    }
}
