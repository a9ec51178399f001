import GatewayWire
import Synchronization

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
        server: UpstreamServer
    ) async -> MCPReply {
        guard case .stream(let first, let rest) = reply else {
            // A plain answer is parsed again only when it may be an `input_required` whose state needs wrapping.
            guard case .response(let bytes) = reply, server.servesStatelessly,
                InputRequiredRetries.asksForInput(bytes), let message = try? JSONRPCMessage.parse(bytes)
            else { return reply }
            return .response(wrappingUpstreamState(message, for: request, context: context, server: server))
        }
        return await round(ReplyReader(first: first, rest: rest), for: request, context: context, server: server)
    }

    /// A retry carrying `requestState`: the parked call's answer goes upstream, and the call goes on.
    func resumeParked(
        _ request: JSONRPCMessage,
        state: String,
        server: UpstreamServer,
        context: MCPRequestContext
    ) async throws(GatewayError) -> MCPReply {
        let parked = try parked.take(
            for: request, server: server.name, state: state, principal: context.identity.principal)
        let answer = request.paramValue("inputResponses")?[parked.routeID.description]
        await answerUpstream(parked.routeID, owner: context.owner, with: answer)
        return await round(
            parked.reader, for: request, context: context, server: server)
    }

    /// Reads the reply for `request`: notifications pass, the final response goes out under the request's id, and a
    /// request from the upstream ends this round with `input_required`.
    private func round(
        _ reader: ReplyReader,
        for request: JSONRPCMessage,
        context: MCPRequestContext,
        server: UpstreamServer
    ) async -> MCPReply {
        let id = request.id!
        let number = await reader.beginRound()
        let ended = RoundFlag()
        @Sendable func step() async throws -> [UInt8]? {
            guard !ended.isSet else { return nil }
            func endRound() async {
                ended.set()
                await reader.endRound(number)
            }
            guard let bytes = try await reader.next(in: number), let message = try? JSONRPCMessage.parse(bytes) else {
                await endRound()
                return GatewayError(.upstreamProtocolError, "The upstream ended the call without answering")
                    .jsonRPCResponse(id: id, era: .modern)
            }
            switch message.kind {
            case .notification:
                return bytes
            case .response, .errorResponse:
                await endRound()
                return wrappingUpstreamState(message, for: request, context: context, server: server)
            case .request:
                await endRound()
                return inputRequired(message, reader: reader, for: request, context: context, server: server)
            }
        }
        do {
            guard let first = try await step() else {
                return .response(GatewayError(.internalError, "empty reply").jsonRPCResponse(id: id))
            }
            if ended.isSet { return .response(first) }
            return .stream(first: first, rest: AsyncThrowingStream(unfolding: step))
        } catch {
            let failure = error as? GatewayError ?? GatewayError(.internalError, "\(error)")
            return .response(failure.jsonRPCResponse(id: id, era: .modern))
        }
    }

    /// A final response under the request's id; a 2026-07-28 upstream's `input_required` passes to the client with
    /// its `requestState` wrapped (``UpstreamRequestStates``), so the retry can only come from the same principal.
    private func wrappingUpstreamState(
        _ message: JSONRPCMessage,
        for request: JSONRPCMessage,
        context: MCPRequestContext,
        server: UpstreamServer
    ) -> [UInt8] {
        let answer = message.replacingID(with: request.id!).map { message.splicing([$0]) } ?? message.bytes
        guard server.servesStatelessly, InputRequiredRetries.asksForInput(message.bytes),
            let restored = try? JSONRPCMessage.parse(answer),
            let wrapped = upstreamStates.wrapping(
                restored, request: request, server: server.name, principal: context.identity.principal,
                lifetime: server.configuration.maxCallDuration)
        else { return answer }
        return wrapped
    }

    /// Sends the client's `answer` to the upstream request `routeID`, or without one, an error saying none came.
    private func answerUpstream(_ routeID: JSONRPCID, owner: String, with answer: JSONValue?) async {
        guard let route = serverRequests.take(owner: owner, id: routeID) else { return }
        await route.answer(
            answer.map { JSONRPCMessage.encodeResponse(id: route.upstreamID, result: $0) }
                ?? GatewayError(.invalidRequest, "The client gave no answer to \(route.method)")
                .jsonRPCResponse(id: route.upstreamID))
    }

    /// The `InputRequiredResult` for the upstream's `serverRequest` (already under its gateway id), parking `reader`.
    private func inputRequired(
        _ serverRequest: JSONRPCMessage,
        reader: ReplyReader,
        for request: JSONRPCMessage,
        context: MCPRequestContext,
        server: UpstreamServer
    ) -> [UInt8] {
        let routeID = serverRequest.id!
        let owner = context.owner
        let state = parked.park(
            reader, routeID: routeID, request: request, server: server.name, principal: context.identity.principal,
            lifetime: server.configuration.maxCallDuration
        ) { [weak self] expired in await self?.answerUpstream(expired, owner: owner, with: nil) }
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

/// Set once a round has had its last message.
private final class RoundFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
