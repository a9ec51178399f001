import GatewayWire
import Logging

/// The one place every client transport hands its messages to: Streamable HTTP (both eras), HTTP+SSE, and later
/// WebSocket and the stdio bridge. Transports keep only their own concerns (framing, headers, streams, status
/// codes); the protocol (handshake, batches, requests, notifications, the client's answers) is decided here.
public struct MCPDispatcher: Sendable {
    public let router: MCPRouter

    public init(router: MCPRouter) {
        self.router = router
    }

    public var sessions: SessionRegistry { router.sessions }

    /// `initialize` opening a new Streamable HTTP session: the session and the response to send.
    public func initialize(
        _ message: JSONRPCMessage,
        identity: Identity,
        scope: EndpointScope
    ) async throws(GatewayError) -> (session: ClientSession, response: [UInt8]) {
        let id = try initializeID(message)
        let (version, result) = await router.initializeResult(
            requestedVersion: message.paramString("protocolVersion"), scope: scope)
        let session = try sessions.create(
            identity: identity,
            scope: scope,
            protocolVersion: version,
            clientCapabilities: message.paramValue("capabilities") ?? [:],
            clientInfo: message.paramValue("clientInfo")
        )
        return (session, JSONRPCMessage.encodeResponse(id: id, result: result))
    }

    /// `initialize` inside a session that exists already (HTTP+SSE, whose session starts with its GET).
    public func initialize(_ message: JSONRPCMessage, in session: ClientSession) async throws(GatewayError)
        -> [UInt8]
    {
        let id = try initializeID(message)
        let (version, result) = await router.initializeResult(
            requestedVersion: message.paramString("protocolVersion"), scope: session.scope)
        guard
            session.completeHandshake(
                protocolVersion: version,
                clientCapabilities: message.paramValue("capabilities") ?? [:],
                clientInfo: message.paramValue("clientInfo")
            )
        else {
            throw GatewayError(.invalidRequest, "Invalid Request: the session is initialised already")
        }
        return JSONRPCMessage.encodeResponse(id: id, result: result)
    }

    private func initializeID(_ message: JSONRPCMessage) throws(GatewayError) -> JSONRPCID {
        guard message.kind == .request, let id = message.id else {
            throw GatewayError(.invalidRequest, "Invalid Request: initialize must be a request")
        }
        return id
    }

    /// One message other than `initialize`: a request gets its reply; a notification or the client's answer to a
    /// server request gets `nil`.
    public func dispatch(_ message: JSONRPCMessage, context: MCPRequestContext) async -> MCPReply? {
        guard message.kind == .request else {
            await router.handleNotification(message, context: context)
            return nil
        }
        return await router.handle(message, context: context)
    }

    /// A 2025-03-26 batch: each element handled in order; the answers to its requests, in order (none if it held
    /// only notifications and responses).
    public func dispatchBatch(
        _ elements: [Result<JSONRPCMessage, JSONRPCDecodingError>],
        context: MCPRequestContext
    ) async -> [[UInt8]] {
        // The answers are collected into one array: nothing can reach the client before them.
        var context = context
        context.acceptsServerRequests = false
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
            case .success(let message):
                guard let reply = await dispatch(message, context: context) else { continue }
                do {
                    answers.append(try await reply.finalMessage())
                } catch {
                    let failure = error as? GatewayError ?? GatewayError(.internalError, "\(error)")
                    answers.append(failure.jsonRPCResponse(id: message.id))
                }
            }
        }
        return answers
    }

    // MARK: Connection transports

    /// One message body (already parsed) from a client whose session is a connection (HTTP+SSE, WebSocket):
    /// everything that answers it (replies, progress, log messages the session's level admits, errors) is pushed
    /// onto the session's one stream, in order.
    ///
    /// `beforeAnswer` runs just before the final answer is pushed (a connection's count of requests in flight drops
    /// there, so a client that sends its next request on seeing the answer finds the place free).
    public func receive(
        _ payload: JSONRPCPayload,
        in session: ClientSession,
        logger: Logger,
        beforeAnswer: @Sendable () -> Void = {}
    ) async {
        switch payload {
        case .single(let message):
            await receive(message, in: session, logger: logger, beforeAnswer: beforeAnswer)
        case .batch(let elements):
            guard MCPProtocolVersion.allowsBatches(session.protocolVersion) else {
                beforeAnswer()
                session.push(
                    GatewayError.batchNotAllowed(protocolVersion: session.protocolVersion).jsonRPCResponse(id: nil))
                return
            }
            let answers = await dispatchBatch(elements, context: MCPRequestContext(session: session, logger: logger))
            beforeAnswer()
            if !answers.isEmpty { session.push(JSONRPCMessage.encodeBatch(answers)) }
        }
    }

    /// One message of a connection session, answered on the session's stream.
    public func receive(
        _ message: JSONRPCMessage,
        in session: ClientSession,
        logger: Logger,
        beforeAnswer: @Sendable () -> Void = {}
    ) async {
        func answer(_ bytes: [UInt8]) {
            beforeAnswer()
            session.push(bytes)
        }
        if message.method == "initialize" {
            do throws(GatewayError) {
                answer(try await initialize(message, in: session))
            } catch {
                answer(error.jsonRPCResponse(id: message.id))
            }
            return
        }
        if message.kind == .request, !session.isInitialized, message.method != "ping" {
            answer(
                GatewayError(.invalidRequest, "Invalid Request: send initialize first").jsonRPCResponse(id: message.id))
            return
        }
        let context = MCPRequestContext(session: session, logger: logger)
        guard let reply = await dispatch(message, context: context) else {
            beforeAnswer()
            return
        }
        switch reply {
        case .response(let bytes):
            answer(bytes)
        case .stream(let first, let rest):
            let filter = LogFilter(context)
            // The response is the answer; what comes before it (progress, log messages, the server's requests to the
            // client) goes out as it comes.
            var answered = false
            func relay(_ bytes: [UInt8]) {
                let kind = (try? JSONRPCMessage.parse(bytes))?.kind
                if !answered, kind == .response || kind == .errorResponse {
                    answered = true
                    answer(bytes)
                } else if filter.admits(bytes) {
                    session.push(bytes)
                }
            }
            relay(first)
            do {
                for try await next in rest { relay(next) }
                if !answered { beforeAnswer() }
            } catch {
                let failure = error as? GatewayError ?? GatewayError(.internalError, "\(error)")
                if answered {
                    session.push(failure.jsonRPCResponse(id: message.id))
                } else {
                    answer(failure.jsonRPCResponse(id: message.id))
                }
            }
        }
    }
}
