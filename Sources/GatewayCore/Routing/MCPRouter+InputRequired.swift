import GatewayWire

/// A 2026-07-28 client over a session-based upstream that asks it something during a call (MRTR bridging).
///
/// The client has no channel for requests from the server; it gets `input_required` instead. When the upstream sends
/// a request on the call (through the call's sink, which checked the client's declared capabilities and minted an
/// id), the client's reply ends with an `InputRequiredResult` carrying that request under `inputRequests` and a
/// signed `requestState`; the upstream call is parked, still waiting. The client's retry (a new request, same method
/// and params, plus `inputResponses` and the state) sends its answer upstream and continues the parked call, whose
/// further messages and final result come back on the retry's stream, under the retry's id.
extension MCPRouter {
    static let inputRequiredMethods: Set<String> = ["tools/call", "prompts/get", "resources/read"]

    /// The reply as a 2026-07-28 client gets it. A plain response (no request from the upstream) passes untouched.
    func bridgingInputRequests(
        _ reply: MCPReply,
        for request: JSONRPCMessage,
        context: MCPRequestContext,
        lifetime: Duration
    ) async -> MCPReply {
        guard case .stream(let first, let rest) = reply else { return reply }
        return await round(ReplyReader(first: first, rest: rest), for: request, context: context, lifetime: lifetime)
    }

    /// A retry carrying `requestState`: the parked call's answer goes upstream, and the call goes on.
    func resumeParked(
        _ request: JSONRPCMessage,
        state: String,
        server: UpstreamServer,
        context: MCPRequestContext
    ) async throws(GatewayError) -> MCPReply {
        let parked = try parked.take(for: request, state: state, principal: context.identity.principal)
        if let route = serverRequests.take(owner: context.owner, id: parked.routeID) {
            let answer = request.paramValue("inputResponses")?[parked.routeID.description]
            await route.answer(
                answer.map { JSONRPCMessage.encodeResponse(id: route.upstreamID, result: $0) }
                    ?? GatewayError(.invalidRequest, "The client gave no answer to \(route.method)")
                    .jsonRPCResponse(id: route.upstreamID))
        }
        await parked.reader.beginRound()
        return await round(
            parked.reader, for: request, context: context, lifetime: server.configuration.maxCallDuration)
    }

    /// Reads the reply for `request`: notifications pass, the final response goes out under the request's id, and a
    /// request from the upstream ends this round with `input_required`.
    private func round(
        _ reader: ReplyReader,
        for request: JSONRPCMessage,
        context: MCPRequestContext,
        lifetime: Duration
    ) async -> MCPReply {
        let id = request.id!
        @Sendable func step() async throws -> [UInt8]? {
            guard await !reader.roundEnded else { return nil }
            guard let bytes = try await reader.next(), let message = try? JSONRPCMessage.parse(bytes) else {
                await reader.endRound()
                return GatewayError(.upstreamProtocolError, "The upstream ended the call without answering")
                    .jsonRPCResponse(id: id, era: .modern)
            }
            switch message.kind {
            case .notification:
                return bytes
            case .response, .errorResponse:
                await reader.endRound()
                return message.replacingID(with: id).map { message.splicing([$0]) } ?? bytes
            case .request:
                await reader.endRound()
                return inputRequired(message, reader: reader, for: request, context: context, lifetime: lifetime)
            }
        }
        do {
            guard let first = try await step() else {
                return .response(GatewayError(.internalError, "empty reply").jsonRPCResponse(id: id))
            }
            if await reader.roundEnded { return .response(first) }
            return .stream(first: first, rest: AsyncThrowingStream(unfolding: step))
        } catch {
            let failure = error as? GatewayError ?? GatewayError(.internalError, "\(error)")
            return .response(failure.jsonRPCResponse(id: id, era: .modern))
        }
    }

    /// The `InputRequiredResult` for the upstream's `serverRequest` (already under its gateway id), parking `reader`.
    private func inputRequired(
        _ serverRequest: JSONRPCMessage,
        reader: ReplyReader,
        for request: JSONRPCMessage,
        context: MCPRequestContext,
        lifetime: Duration
    ) -> [UInt8] {
        let routeID = serverRequest.id!
        let routes = serverRequests
        let owner = context.owner
        let state = parked.park(
            reader, routeID: routeID, request: request, principal: context.identity.principal, lifetime: lifetime
        ) { expired in
            guard let route = routes.take(owner: owner, id: expired) else { return }
            Task {
                await route.answer(
                    GatewayError(.invalidRequest, "The client did not answer \(route.method) in time")
                        .jsonRPCResponse(id: route.upstreamID))
            }
        }
        var entry: JSONObject = ["method": .string(serverRequest.method ?? "")]
        if let params = serverRequest.params { entry["params"] = params }
        let result: JSONValue = [
            "resultType": "input_required",
            "inputRequests": .object(JSONObject(members: [(key: routeID.description, value: .object(entry))])),
            "requestState": .string(state),
        ]
        return JSONRPCMessage.encodeResponse(id: request.id!, result: result)
    }
}
