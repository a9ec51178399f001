import GatewayCore
import GatewayWire
import Hummingbird
import Logging

/// The MCP Platform gateway's REST shape of one server, with the same authentication and policy as `/mcp/{server}`:
/// `GET …/tools/list` → `{"tools", "count"}`, `POST …/tools/call` `{"name", "arguments"}` → the tool's result,
/// `GET …/resources/list`, `POST …/resources/read` `{"uri"}`, `GET …/prompts/list`, `POST …/prompts/get`
/// `{"name", "arguments"}`.
///
/// Each is one MCP request through the router, without a session (so any instance may take it); lists are followed
/// through every page. Errors are `{"error": {"code", "message", "data"?}}`: 400 for bad input, 404 for an unknown
/// server, tool, prompt or resource, 502/504 when the server failed.
public struct MCPRESTEndpoint: Sendable {
    let router: MCPRouter
    let checks: RequestChecks
    let logger: Logger

    public init(router: MCPRouter, configuration: GatewayConfiguration, logger: Logger = Logger(label: "mcp-gateway")) {
        self.router = router
        self.checks = RequestChecks(origins: configuration.origins, limits: configuration.limits)
        self.logger = logger
    }

    var maxBodyBytes: Int { checks.limits.maxRequestBodyBytes }

    enum Operation: String, CaseIterable {
        case listTools = "tools/list"
        case callTool = "tools/call"
        case listResources = "resources/list"
        case readResource = "resources/read"
        case listPrompts = "prompts/list"
        case getPrompt = "prompts/get"

        var isList: Bool { self == .listTools || self == .listResources || self == .listPrompts }

        /// The key of a list result's items.
        var itemsKey: String { String(rawValue.prefix { $0 != "/" }) }
    }

    func handle(_ operation: Operation, _ request: Request, context: GatewayRequestContext, server name: String?) async
        -> Response
    {
        do throws(GatewayError) {
            // As on /mcp: a browser page of another origin may not call tools (nor, with DNS rebinding, read them),
            // and a POST must say it is JSON, which a page cannot send without a preflight.
            try checks.checkOrigin(request)
            if !operation.isList { try checks.checkContentType(request) }
            guard let identity = context.identity else { throw GatewayError(.unauthorized, "Unauthorized") }
            guard let name, router.server(named: name, for: identity) != nil else {
                throw GatewayError(.unknownServer, "Unknown server: \(name ?? "")")
            }
            var mcpContext = MCPRequestContext(
                identity: identity, scope: .server(name), protocolVersion: MCPProtocolVersion.latestSessionBased,
                session: nil, logger: logger)
            mcpContext.acceptsServerRequests = false
            if operation.isList { return try await list(operation, context: mcpContext) }
            let params = try await arguments(of: request, for: operation)
            let result = try await send(operation.rawValue, params: params, context: mcpContext)
            return .json(.ok, result.serialized())
        } catch {
            return error.restResponse()
        }
    }

    /// Every page of a list, as `{"<items>": [...], "count": N}`.
    private func list(_ operation: Operation, context: MCPRequestContext) async throws(GatewayError) -> Response {
        var items: [JSONValue] = []
        var cursor: JSONValue?
        for _ in 0..<100 {
            let result = try await send(operation.rawValue, params: cursor.map { ["cursor": $0] }, context: context)
            items += result[operation.itemsKey]?.arrayValue ?? []
            guard let next = result["nextCursor"], !next.isNull else { break }
            cursor = next
        }
        let body: JSONValue = [operation.itemsKey: .array(items), "count": .number(JSONNumber(items.count))]
        return .json(.ok, body.serialized())
    }

    /// The JSON body as the request's params, checked for what the operation needs.
    private func arguments(of request: Request, for operation: Operation) async throws(GatewayError) -> JSONValue {
        let bytes: [UInt8]
        do {
            bytes = Array(try await request.body.collect(upTo: maxBodyBytes).readableBytesView)
        } catch {
            throw GatewayError(.payloadTooLarge, "Payload Too Large: the request body exceeds \(maxBodyBytes) bytes")
        }
        let body: JSONValue
        do throws(JSONParseError) {
            body = try JSONParser.parse(bytes)
        } catch {
            throw GatewayError(.parseError, "The body is not JSON: \(error)")
        }
        guard case .object(let fields) = body else {
            throw GatewayError(.invalidParams, "The body must be a JSON object")
        }
        let required = operation == .readResource ? "uri" : "name"
        guard fields[required]?.stringValue != nil else {
            throw GatewayError(.invalidParams, "\"\(required)\" is required and must be a string")
        }
        if let arguments = fields["arguments"], !arguments.isNull, arguments.objectValue == nil {
            throw GatewayError(.invalidParams, "\"arguments\" must be an object")
        }
        return body
    }

    /// One request through the router; its result, or its error as a ``GatewayError``.
    private func send(_ method: String, params: JSONValue?, context: MCPRequestContext) async throws(GatewayError)
        -> JSONValue
    {
        // Random, so concurrent REST requests of one principal never share an id.
        let id = JSONRPCID(Int.random(in: 1...Int(Int32.max)))
        let bytes = JSONRPCMessage.encodeRequest(id: id, method: method, params: params)
        let message: JSONRPCMessage
        do throws(JSONRPCDecodingError) {
            message = try JSONRPCMessage.parse(bytes)
        } catch {
            throw GatewayError(error)
        }
        let reply: [UInt8]
        do {
            reply = try await router.route(message, method: method, context: context).finalMessage()
        } catch {
            throw error as? GatewayError ?? GatewayError(.internalError, "\(error)")
        }
        guard let answer = try? JSONRPCMessage.parse(reply) else {
            throw GatewayError(.internalError, "the answer could not be read")
        }
        if let error = answer.error { throw Self.serverError(error) }
        return answer.result ?? [:]
    }

    /// A JSON-RPC error the server answered with, as a REST error: its code decides the status (invalid params 400,
    /// resource not found 404, anything else 502), its message and data are kept.
    static func serverError(_ error: JSONValue) -> GatewayError {
        let code: GatewayError.Code =
            switch error["code"]?.numberValue?.intValue {
            case JSONRPCErrorCode.invalidParams: .invalidParams
            case JSONRPCErrorCode.resourceNotFound: .unknownResource
            default: .upstreamRejected
            }
        return GatewayError(code, error["message"]?.stringValue ?? "error", data: error["data"])
    }
}
