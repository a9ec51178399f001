import GatewayWire

/// Where a request an upstream sends its client (`sampling/createMessage`, `elicitation/create`, `roots/list`) goes
/// while one client call is in flight on that upstream: the router makes one per call it forwards, for clients that
/// can be asked (a session client on the request's stream, or a 2026-07-28 client through `input_required`).
///
/// The transport hands it the request and a way to send the answer upstream; it gets back the message for the
/// call's stream to the client (the request under a gateway-minted id), or the error to answer the upstream with.
public struct ServerRequestSink: Sendable {
    /// Sends the client's answer (already carrying the upstream's id) to the upstream that asked.
    public typealias Answer = @Sendable (_ response: [UInt8]) async -> Void

    private let route: @Sendable (JSONRPCMessage, @escaping Answer) -> Result<[UInt8], GatewayError>

    public init(_ route: @escaping @Sendable (JSONRPCMessage, @escaping Answer) -> Result<[UInt8], GatewayError>) {
        self.route = route
    }

    public func forward(_ message: JSONRPCMessage, answer: @escaping Answer) -> Result<[UInt8], GatewayError> {
        route(message, answer)
    }
}
