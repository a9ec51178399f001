import GatewayWire

/// The one place where gateway errors become wire errors.
///
/// The era matters in two places: 2026-07-28 reports a missing resource as `-32602` (earlier revisions use
/// `-32002`), and its transport rules give request-level failures their own HTTP statuses (400 for header, version
/// and metadata failures, 404 for an unknown method) where the 2025 transports answer 200.
extension GatewayError {
    /// The JSON-RPC error code for `error.code`, as a client of `era` expects it.
    public func jsonRPCCode(era: MCPEra = .legacy) -> Int {
        switch code.base {
        case .parseError: JSONRPCErrorCode.parseError
        case .invalidRequest, .originNotAllowed, .notAcceptable, .unsupportedMediaType, .payloadTooLarge,
            .methodNotAllowed, .sessionRequired, .sessionNotFound, .upgradeRequired:
            JSONRPCErrorCode.invalidRequest
        case .methodNotFound: JSONRPCErrorCode.methodNotFound
        case .invalidParams, .unknownTool, .unknownPrompt, .unknownServer, .invalidCursor, .missingRequestMetadata,
            .conflict:
            JSONRPCErrorCode.invalidParams
        case .unknownResource:
            era == .modern ? JSONRPCErrorCode.invalidParams : JSONRPCErrorCode.resourceNotFound
        case .unsupportedProtocolVersion: JSONRPCErrorCode.unsupportedProtocolVersion
        case .headerMismatch: JSONRPCErrorCode.headerMismatch
        case .missingClientCapability: JSONRPCErrorCode.missingClientCapability
        case .unauthorized: JSONRPCErrorCode.unauthorized
        case .internalError, .upstreamUnavailable, .upstreamTimeout, .upstreamExited, .upstreamProtocolError,
            .upstreamRejected, .overloaded:
            JSONRPCErrorCode.internalError
        }
    }

    /// The legacy-era code, for logs and metrics.
    public var jsonRPCCode: Int { jsonRPCCode(era: .legacy) }

    /// The HTTP status to answer with when the error ends the HTTP exchange. Errors inside a well-formed JSON-RPC
    /// exchange (unknown tool, upstream failure) travel in a 200 response, as both eras' transports expect; only
    /// 2026-07-28 answers an unknown method with 404.
    public func httpStatus(era: MCPEra = .legacy) -> Int {
        switch code.base {
        case .parseError, .invalidRequest, .sessionRequired, .unsupportedProtocolVersion, .headerMismatch,
            .missingClientCapability, .missingRequestMetadata:
            400
        case .unauthorized: 401
        case .originNotAllowed: 403
        case .sessionNotFound, .unknownServer: 404
        case .methodNotFound: era == .modern ? 404 : 200
        case .methodNotAllowed: 405
        case .notAcceptable: 406
        case .payloadTooLarge: 413
        case .unsupportedMediaType: 415
        case .upgradeRequired: 426
        case .conflict: 409
        case .overloaded: 503
        case .invalidParams, .internalError, .unknownTool, .unknownPrompt, .unknownResource, .invalidCursor,
            .upstreamUnavailable, .upstreamTimeout, .upstreamExited, .upstreamProtocolError, .upstreamRejected:
            200
        }
    }

    /// The status of the REST and management routes, which have no JSON-RPC envelope to carry the error in.
    public var restStatus: Int {
        switch code.base {
        case .invalidParams, .invalidRequest, .parseError, .invalidCursor, .missingRequestMetadata: 400
        case .unauthorized: 401
        case .originNotAllowed: 403
        case .unknownServer, .unknownTool, .unknownPrompt, .unknownResource, .sessionNotFound: 404
        case .methodNotFound, .methodNotAllowed: 405
        case .conflict: 409
        case .payloadTooLarge: 413
        case .unsupportedMediaType: 415
        case .upstreamUnavailable, .upstreamExited, .upstreamProtocolError, .upstreamRejected: 502
        case .overloaded: 503
        case .upstreamTimeout: 504
        default: httpStatus() == 200 ? 500 : httpStatus()
        }
    }

    /// The body of a REST or management error: `{"error": {"code", "message", "data"?}}`.
    public var restBody: [UInt8] {
        var error: JSONObject = ["code": .string(code.description), "message": .string(message)]
        if let data { error["data"] = data }
        return JSONValue.object(["error": .object(error)]).serialized()
    }

    /// A JSON-RPC error response carrying `id` (or `null`), in the codes of `era`.
    public func jsonRPCResponse(id: JSONRPCID?, era: MCPEra = .legacy) -> [UInt8] {
        JSONRPCMessage.encodeError(id: id, code: jsonRPCCode(era: era), message: message, data: data)
    }
}
