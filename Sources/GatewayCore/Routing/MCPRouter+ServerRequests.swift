import GatewayWire
import Logging

/// Requests upstreams send to clients (sampling, elicitation, roots) and the clients' answers.
///
/// Each forwarded request of a client that can be asked carries a sink: what the upstream asks while it is in
/// flight reaches that client, on the request's own stream, under a gateway-minted id (so requests from several
/// servers never collide), and only if the client declared the capability. The client's answer, a response it
/// POSTs (or sends on its HTTP+SSE session), goes back to the upstream that asked, with the upstream's own id.
extension MCPRouter {
    /// The sink for `method` of this client: a session's requests, or a 2026-07-28 client's calls that may end with
    /// `input_required`.
    func serverRequestSink(for context: MCPRequestContext, method: String, server: UpstreamServer)
        -> ServerRequestSink?
    {
        let askable = context.era == .legacy ? context.session != nil : Self.inputRequiredMethods.contains(method)
        guard context.acceptsServerRequests, askable else { return nil }
        let owner = context.owner
        let capabilities = context.clientCapabilities
        let lifetime = server.configuration.maxCallDuration
        let routes = serverRequests
        return ServerRequestSink { message, answer in
            guard let id = message.id, let method = message.method, let idEdit = message.replacingID(with: id) else {
                return .failure(GatewayError(.invalidRequest, "Invalid Request: expected a request"))
            }
            if let missing = Self.missingCapability(for: method, params: message.params, in: capabilities) {
                return .failure(GatewayError(.methodNotFound, "The client cannot answer \(method): \(missing)"))
            }
            let minted = routes.add(owner: owner, upstreamID: id, method: method, lifetime: lifetime, answer: answer)
            return .success(message.splicing([ByteEdit(range: idEdit.range, replacement: minted.lexeme)]))
        }
    }

    /// Sends a client's answer to the upstream whose request it answers. An answer to nothing (late, unknown, or
    /// for a request sent to another client) is dropped.
    func relayAnswer(_ message: JSONRPCMessage, context: MCPRequestContext) async {
        guard let id = message.id, let route = serverRequests.take(owner: context.owner, id: id),
            let edit = message.replacingID(with: route.upstreamID)
        else {
            context.logger.debug(
                "client answer to no request in flight dropped",
                metadata: ["jsonrpc.id": "\(message.id?.description ?? "null")"])
            return
        }
        await route.answer(message.splicing([edit]))
    }

    /// Why a client with `capabilities` cannot be sent `method`, or `nil` if it can.
    static func missingCapability(for method: String, params: JSONValue?, in capabilities: JSONValue) -> String? {
        switch method {
        case "sampling/createMessage":
            guard let sampling = capabilities["sampling"] else { return "it did not declare the sampling capability" }
            if params?["tools"] != nil, sampling["tools"] == nil {
                return "it did not declare sampling.tools, and the request offers tools"
            }
            return nil
        case "elicitation/create":
            guard let elicitation = capabilities["elicitation"]?.objectValue else {
                return "it did not declare the elicitation capability"
            }
            let mode = params?["mode"]?.stringValue ?? "form"
            // An empty elicitation capability means form mode only.
            let declared = elicitation.isEmpty ? ["form"] : Set(elicitation.keys)
            return declared.contains(mode) ? nil : "it did not declare elicitation.\(mode)"
        case "roots/list":
            return capabilities["roots"] == nil ? "it did not declare the roots capability" : nil
        default:
            return "the gateway relays only sampling, elicitation and roots requests"
        }
    }
}
