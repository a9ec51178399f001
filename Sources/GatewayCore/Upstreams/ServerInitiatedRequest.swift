import GatewayWire

/// What becomes of a request an upstream sends to its client (the gateway): `ping` is answered here; sampling,
/// elicitation and roots go to the client whose call is in flight, through that call's ``ServerRequestSink``; a
/// request with no client to ask is refused at once with the reason, so the server never waits for nothing.
public enum ServerInitiatedRequest {
    public enum Outcome: Sendable {
        /// Put this on the call's stream to the client.
        case toClient([UInt8])
        /// Send this back to the upstream (the answer to `ping`, or a refusal).
        case toUpstream([UInt8])
    }

    /// Routes `message` through `sink`; without one, refuses it saying `unrouted`. `nil` if it is not a request.
    public static func route(
        _ message: JSONRPCMessage,
        sink: ServerRequestSink?,
        unrouted: @autoclosure () -> String,
        answer: @escaping ServerRequestSink.Answer
    ) -> Outcome? {
        guard message.kind == .request, let id = message.id, let method = message.method else { return nil }
        if method == "ping" { return .toUpstream(JSONRPCMessage.encodeResponse(id: id, result: Array("{}".utf8))) }
        guard let sink else { return .toUpstream(refusal(id: id, method: method, unrouted())) }
        switch sink.forward(message, answer: answer) {
        case .success(let bytes): return .toClient(bytes)
        case .failure(let error): return .toUpstream(error.jsonRPCResponse(id: id))
        }
    }

    /// Why a request is refused when the call in flight has no sink.
    public static let notAskable =
        "the client of the request in flight cannot be asked during it (a batch element, or a 2026-07-28 request other than a call, prompt or read)"

    /// The error an upstream gets for a request no client can answer.
    public static func refusal(id: JSONRPCID, method: String, _ reason: String) -> [UInt8] {
        GatewayError(.methodNotFound, "The gateway cannot relay \(method): \(reason)").jsonRPCResponse(id: id)
    }
}
