import GatewayWire

/// The one place where gateway errors become wire errors.
extension GatewayError {
    /// The JSON-RPC error code for `error.code`.
    public var jsonRPCCode: Int {
        switch code.base {
        case .parseError: JSONRPCErrorCode.parseError
        case .invalidRequest, .originNotAllowed, .notAcceptable, .unsupportedMediaType, .payloadTooLarge,
            .methodNotAllowed, .sessionRequired, .sessionNotFound:
            JSONRPCErrorCode.invalidRequest
        case .methodNotFound: JSONRPCErrorCode.methodNotFound
        case .invalidParams, .unknownTool, .unknownPrompt, .unknownServer, .invalidCursor,
            .unsupportedProtocolVersion:
            JSONRPCErrorCode.invalidParams
        case .unknownResource: JSONRPCErrorCode.resourceNotFound
        case .unauthorized: JSONRPCErrorCode.unauthorized
        case .internalError, .upstreamUnavailable, .upstreamTimeout, .upstreamExited, .upstreamProtocolError,
            .upstreamRejected, .overloaded:
            JSONRPCErrorCode.internalError
        }
    }

    /// The HTTP status to answer with when the error ends the HTTP exchange. Errors inside a well-formed JSON-RPC
    /// exchange (unknown tool, upstream failure) travel in a 200 response, as the 2025 transports expect.
    public var httpStatus: Int {
        switch code.base {
        case .parseError, .invalidRequest, .sessionRequired, .unsupportedProtocolVersion: 400
        case .unauthorized: 401
        case .originNotAllowed: 403
        case .sessionNotFound, .unknownServer: 404
        case .methodNotAllowed: 405
        case .notAcceptable: 406
        case .payloadTooLarge: 413
        case .unsupportedMediaType: 415
        case .overloaded: 503
        case .methodNotFound, .invalidParams, .internalError, .unknownTool, .unknownPrompt, .unknownResource,
            .invalidCursor, .upstreamUnavailable, .upstreamTimeout, .upstreamExited, .upstreamProtocolError,
            .upstreamRejected:
            200
        }
    }

    /// A JSON-RPC error response carrying `id` (or `null`).
    public func jsonRPCResponse(id: JSONRPCID?) -> [UInt8] {
        JSONRPCMessage.encodeError(id: id, code: jsonRPCCode, message: message, data: data)
    }
}
