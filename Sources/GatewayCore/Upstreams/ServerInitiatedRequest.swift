import GatewayWire

/// Answers for requests an upstream sends to its client (the gateway). `ping` is answered; sampling, elicitation
/// and roots are not relayed to clients yet, so the server gets a clear error instead of waiting forever.
public enum ServerInitiatedRequest {
    public static func reply(to message: JSONRPCMessage) -> [UInt8]? {
        guard message.kind == .request, let id = message.id, let method = message.method else { return nil }
        if method == "ping" { return JSONRPCMessage.encodeResponse(id: id, result: Array("{}".utf8)) }
        return JSONRPCMessage.encodeError(
            id: id,
            code: JSONRPCErrorCode.methodNotFound,
            message: "The gateway does not relay \(method) to clients yet"
        )
    }
}
