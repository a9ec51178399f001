import GatewayWire
import Logging
import Synchronization

/// Routes client messages to upstream servers and merges what must be merged.
///
/// Forwarded requests (`tools/call`, `prompts/get`, `resources/read`, `completion/complete`) are byte splices of the
/// client's message: only the routed name or URI (and, in the transport, the id and progress token) change. Lists
/// fan out to every visible server and are merged with gateway-minted, signed cursors.
public final class MCPRouter: Sendable {
    public let directory: UpstreamDirectory
    public let sessions: SessionRegistry
    let names: QualifiedNames
    let cursors: CursorCodec
    let policy: any AccessPolicy
    let gatewayVersion: String

    /// The 2026 listen streams; list changes and resource updates reach them through the relay.
    public let listeners: ListenStreams
    /// Upstream resource subscriptions, counted across every client.
    public let subscriptions = ResourceSubscriptions()
    /// Requests upstreams sent to clients, waiting for their answers.
    public let serverRequests = ServerRequestRoutes()
    /// 2026-07-28 calls waiting for the client's retry with the answers to `input_required`.
    let parked: ParkedReplies
    /// Session clients' calls to 2026-07-28 upstreams waiting for the client's answers.
    let inputRounds = InputRounds()
    /// 2026-07-28 upstreams' `requestState`, wrapped for 2026-07-28 clients.
    let upstreamStates: UpstreamRequestStates
    /// How long a merged list waits for each server.
    let listDeadline: Duration

    public init(
        directory: UpstreamDirectory,
        sessions: SessionRegistry,
        names: QualifiedNames,
        cursors: CursorCodec,
        policy: any AccessPolicy,
        gatewayVersion: String,
        relay: NotificationRelay? = nil,
        listDeadline: Duration = .seconds(5)
    ) {
        self.listDeadline = listDeadline
        self.directory = directory
        self.sessions = sessions
        self.names = names
        self.cursors = cursors
        self.parked = ParkedReplies(codec: cursors)
        self.upstreamStates = UpstreamRequestStates(codec: cursors)
        self.policy = policy
        self.gatewayVersion = gatewayVersion
        self.listeners = relay?.listeners ?? ListenStreams()
        sessions.onSessionClosed { [weak self] session in
            for target in session.takeSubscriptions() { self?.releaseSubscription(target) }
            self?.serverRequests.drop(owner: session.id)
            self?.inputRounds.cancel(owner: session.id, clientID: nil)
            // Nothing can reach the client any more: its calls in flight end, and the servers hear so.
            guard let servers = self?.directory.servers else { return }
            for server in servers { server.forget(affinity: session.id) }
            Task { for server in servers { await server.cancel(owner: session.id, clientID: nil) } }
        }
        relay?.onServerReady { [weak self] server in self?.resubscribe(server) }
    }

    /// Answers one request. Never throws: failures become JSON-RPC errors carrying the client's id.
    public func handle(_ message: JSONRPCMessage, context: MCPRequestContext) async -> MCPReply {
        guard let id = message.id, let method = message.method else {
            return .response(
                GatewayError(.invalidRequest, "Invalid Request: expected a request").jsonRPCResponse(id: message.id))
        }
        do throws(GatewayError) {
            return try await route(message, method: method, context: context)
        } catch {
            let level: Logger.Level = error.jsonRPCCode == JSONRPCErrorCode.internalError ? .warning : .debug
            context.logger.log(
                level: level,
                "request failed",
                metadata: [
                    "mcp.method": "\(method)", "error": "\(error)",
                    "gateway.session.id": "\(context.session.map { String($0.id.prefix(8)) } ?? "-")",
                ]
            )
            return .response(error.jsonRPCResponse(id: id, era: context.era))
        }
    }

    /// Answers one request, or throws what the gateway itself refused or failed with (an error the server sent is
    /// an answer). For callers without a JSON-RPC envelope to put errors in (the REST routes).
    public func route(
        _ message: JSONRPCMessage,
        method: String,
        context: MCPRequestContext
    ) async throws(GatewayError) -> MCPReply {
        let id = message.id ?? JSONRPCID(0)
        switch context.era {
        case .modern where !MCPMethods.stateless.contains(method),
            .legacy where method == "server/discover" || method == "subscriptions/listen":
            throw GatewayError(.methodNotFound, "Method not found: \(method)")
        default: break
        }
        switch method {
        case "server/discover":
            return .response(JSONRPCMessage.encodeResponse(id: id, result: await discoverResult(scope: context.scope)))
        case "subscriptions/listen":
            return try await listen(message, context: context)
        case "ping":
            return .response(JSONRPCMessage.encodeResponse(id: id, result: Array("{}".utf8)))
        case "tools/list", "prompts/list", "resources/list", "resources/templates/list":
            return .response(try await list(ListKind(method: method)!, message, context: context))
        case "tools/call":
            return try await callTool(message, context: context)
        case "prompts/get":
            return try await getPrompt(message, context: context)
        case "resources/read", "resources/subscribe", "resources/unsubscribe":
            return try await forwardResourceRequest(message, context: context)
        case "completion/complete":
            return try await complete(message, context: context)
        case "logging/setLevel":
            return .response(try setLogLevel(message, context: context))
        case "initialize":
            throw GatewayError(
                .invalidRequest, "Invalid Request: initialize is only valid as the first request of a session")
        default:
            throw GatewayError(.methodNotFound, "Method not found: \(method)")
        }
    }

    /// Handles a client notification, or a client's answer to a request an upstream sent it.
    public func handleNotification(_ message: JSONRPCMessage, context: MCPRequestContext) async {
        if message.kind == .response || message.kind == .errorResponse {
            await relayAnswer(message, context: context)
            return
        }
        switch message.method {
        case "notifications/cancelled":
            guard let requestID = message.param("requestId").map({ message.slice($0) }) else { return }
            let clientID = JSONRPCID(lexeme: requestID, kind: requestID.first == UInt8(ascii: "\"") ? .string : .number)
            inputRounds.cancel(owner: context.owner, clientID: clientID)
            for server in visibleServers(context) {
                await server.cancel(owner: context.owner, clientID: clientID)
            }
        default:
            // notifications/initialized and roots/list_changed need no action (the upstream session is shared).
            break
        }
    }

    // MARK: Forwarded requests

    func callTool(_ message: JSONRPCMessage, context: MCPRequestContext) async throws(GatewayError) -> MCPReply {
        guard let name = message.paramString("name") else {
            throw GatewayError(.invalidParams, "Invalid params: \"name\" must be a string")
        }
        let (server, tool) = try await resolve(.tool, name: name, context: context)
        await learnNamesIfNeeded(.tools, of: server, context: context)
        guard isCallable(tool, on: server, context: context) else {
            throw GatewayError(.unknownTool, "Unknown tool: \(name)")
        }
        if let refusal = argumentsRefusal(message, tool: tool, on: server, name: name, context: context) {
            return refusal
        }
        return try await forward(
            message, edits: rename(message.param("name"), from: name, to: tool), to: server, context, routed: tool,
            tool: tool)
    }

    func getPrompt(_ message: JSONRPCMessage, context: MCPRequestContext) async throws(GatewayError) -> MCPReply {
        guard let name = message.paramString("name") else {
            throw GatewayError(.invalidParams, "Invalid params: \"name\" must be a string")
        }
        let (server, prompt) = try await resolve(.prompt, name: name, context: context)
        await learnNamesIfNeeded(.prompts, of: server, context: context)
        guard !server.catalog.withLock({ $0.prompts.lacks(prompt) }) else {
            throw GatewayError(.unknownPrompt, "Unknown prompt: \(name)")
        }
        return try await forward(
            message, edits: rename(message.param("name"), from: name, to: prompt), to: server, context, routed: prompt)
    }

    func forwardResourceRequest(
        _ message: JSONRPCMessage,
        context: MCPRequestContext
    ) async throws(GatewayError) -> MCPReply {
        guard let uri = message.paramString("uri") else {
            throw GatewayError(.invalidParams, "Invalid params: \"uri\" must be a string")
        }
        let (server, original) = try await resolveResource(uri, context: context)
        let edits = rename(message.param("uri"), from: uri, to: original)
        let forward: UpstreamRequest.Body = .forward(message, edits: edits)
        let target = ResourceTarget(server: server.name, uri: original)
        var modern = UpstreamRequest.ModernFields()
        modern.name = original
        let empty = MCPReply.response(JSONRPCMessage.encodeResponse(id: message.id!, result: Array("{}".utf8)))
        switch message.method {
        case "resources/subscribe":
            // The upstream session is shared: only the first subscriber subscribes there.
            guard let session = context.session, session.subscribe(uri, target: target) else { return empty }
            guard subscriptions.acquire(server: target.server, uri: target.uri) else { return empty }
            let answer: [UInt8]
            do {
                answer = try await server.send(
                    forward, owner: context.owner, affinity: context.affinity, modern: modern
                ).finalMessage()
            } catch {
                answer = (error as? GatewayError ?? GatewayError(.internalError, "\(error)")).jsonRPCResponse(
                    id: message.id)
            }
            if (try? JSONRPCMessage.parse(answer))?.kind != .response {
                _ = session.unsubscribe(uri)
                _ = subscriptions.release(server: target.server, uri: target.uri)
            }
            return .response(answer)
        case "resources/unsubscribe":
            guard let session = context.session, let target = session.unsubscribe(uri),
                subscriptions.release(server: target.server, uri: target.uri)
            else { return empty }
            return try await server.send(forward, owner: context.owner, affinity: context.affinity, modern: modern)
        default:
            return try await self.forward(message, edits: edits, to: server, context, routed: original)
        }
    }

    func complete(_ message: JSONRPCMessage, context: MCPRequestContext) async throws(GatewayError) -> MCPReply {
        guard let refRange = message.param("ref"), let ref = message.paramValue("ref")?.objectValue else {
            throw GatewayError(.invalidParams, "Invalid params: \"ref\" must be an object")
        }
        let members = message.members(at: refRange)
        func range(_ key: String) -> Range<Int>? { members.first { $0.key == key }?.value }
        switch ref["type"]?.stringValue {
        case "ref/prompt":
            guard let name = ref["name"]?.stringValue else {
                throw GatewayError(.invalidParams, "Invalid params: \"ref.name\" must be a string")
            }
            let (server, prompt) = try await resolve(.prompt, name: name, context: context)
            return try await forward(message, edits: rename(range("name"), from: name, to: prompt), to: server, context)
        case "ref/resource":
            guard let uri = ref["uri"]?.stringValue else {
                throw GatewayError(.invalidParams, "Invalid params: \"ref.uri\" must be a string")
            }
            let (server, original) = try await resolveResource(uri, context: context)
            return try await forward(message, edits: rename(range("uri"), from: uri, to: original), to: server, context)
        default:
            throw GatewayError(.invalidParams, "Invalid params: \"ref.type\" must be ref/prompt or ref/resource")
        }
    }

    func setLogLevel(_ message: JSONRPCMessage, context: MCPRequestContext) throws(GatewayError) -> [UInt8] {
        guard let text = message.paramString("level"), let level = LogLevel(rawValue: text) else {
            throw GatewayError(
                .invalidParams,
                "Invalid params: \"level\" must be one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        context.session?.logLevel = level
        return JSONRPCMessage.encodeResponse(id: message.id!, result: Array("{}".utf8))
    }

    /// Lists a server's tools or prompts once (after start, restart or `list_changed`), so names it does not have
    /// are refused here with the name the client used. Concurrent first callers do not wait for it.
    func learnNamesIfNeeded(_ kind: ListKind, of server: UpstreamServer, context: MCPRequestContext) async {
        let complete = server.catalog.withLock { kind == .tools ? $0.tools.complete : $0.prompts.complete }
        guard !complete, server.beginLearning(kind.method) else { return }
        await learnAll(kind, from: server, context: context)
        server.endLearning(kind.method)
    }

    /// Sends a client's request, edited, to `server`, as the client's era and transport need it. `routed` is the
    /// name or URI as the server knows it (`Mcp-Name`), `tool` the tool whose mirrored arguments become headers.
    private func forward(
        _ message: JSONRPCMessage,
        edits: [ByteEdit],
        to server: UpstreamServer,
        _ context: MCPRequestContext,
        routed: String? = nil,
        tool: String? = nil
    ) async throws(GatewayError) -> MCPReply {
        let method = message.method ?? ""
        let modern = context.era == .modern
        var edits = edits
        if !modern, Self.inputRequiredMethods.contains(method),
            message.param("requestState") != nil || message.param("inputResponses") != nil
        {
            // Only the gateway writes these towards a 2026-07-28 upstream, for a session client; one the client wrote
            // would reach the upstream unchecked.
            throw GatewayError(
                .invalidParams,
                "Invalid params: requestState and inputResponses belong to 2026-07-28 requests, not to a session at \(context.protocolVersion)"
            )
        }
        if modern, Self.inputRequiredMethods.contains(method), let state = message.paramString("requestState") {
            guard
                let inner = try upstreamStates.unwrap(
                    state, request: message, server: server.name, principal: context.identity.principal),
                let range = message.param("requestState")
            else { return try await resumeParked(message, state: state, server: server, context: context) }
            edits.append(ByteEdit(range: range, replacement: JSONValue.quoted(inner)))
        }
        let sink = serverRequestSink(for: context, method: method, server: server)
        var fields = UpstreamRequest.ModernFields()
        fields.name = routed
        let stateless = server.servesStatelessly
        if let tool, stateless { fields.mirroredHeaders = mirroredHeaders(of: message, tool: tool, on: server) }
        if !modern {
            fields.clientCapabilities = sink != nil ? context.clientCapabilities : [:]
            // A session that set no level gets every message, as session-based servers send them.
            fields.logLevel = context.session?.logLevel ?? .debug
        }
        let repeatable = tool.map { tool in server.catalog.withLock { $0.repeatableTools[tool] ?? false } } ?? false
        let reply = try await server.send(
            .forward(message, edits: edits), owner: context.owner, affinity: context.affinity, repeatable: repeatable,
            statelessClient: modern, serverRequests: sink, modern: fields)
        if modern {
            guard sink != nil else { return reply }
            return await bridgingInputRequests(reply, for: message, context: context, server: server)
        }
        guard stateless else { return reply }
        return await InputRequiredRetries.bridging(
            reply, request: message, edits: edits, server: server, owner: context.owner, sink: sink, modern: fields,
            waiting: inputRounds)
    }

    /// The edit that puts `new` where `old` stood, or none when they are equal.
    private func rename(_ range: Range<Int>?, from old: String, to new: String) -> [ByteEdit] {
        guard let range, old != new else { return [] }
        return [ByteEdit(range: range, replacement: JSONValue.quoted(new))]
    }

    // MARK: Visibility

    /// The server `name`, if `identity` may use it.
    public func server(named name: String, for identity: Identity) -> UpstreamServer? {
        directory.server(named: name).flatMap { policy.allows(identity, server: name) ? $0 : nil }
    }

    /// The servers the request may reach: the endpoint's scope, filtered by policy, in declaration order.
    func visibleServers(_ context: MCPRequestContext) -> [UpstreamServer] {
        let scoped: [UpstreamServer] =
            switch context.scope {
            case .aggregate: directory.servers
            case .server(let name): directory.server(named: name).map { [$0] } ?? []
            }
        return scoped.filter { policy.allows(context.identity, server: $0.name) }
    }
}
