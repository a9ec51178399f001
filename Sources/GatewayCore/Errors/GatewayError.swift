import GatewayWire

/// Every failure the gateway reports, as one growable type. ``GatewayError+Wire.swift`` maps it to HTTP statuses
/// and JSON-RPC errors in one place.
public struct GatewayError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a bounded set usable as a metric label.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case parseError, invalidRequest, methodNotFound, invalidParams, internalError
            case unknownTool, unknownPrompt, unknownResource, unknownServer, invalidCursor
            case upstreamUnavailable, upstreamTimeout, upstreamExited, upstreamProtocolError, upstreamRejected
            case unauthorized, originNotAllowed, notAcceptable, unsupportedMediaType, payloadTooLarge
            case methodNotAllowed, sessionRequired, sessionNotFound, unsupportedProtocolVersion, overloaded
            case headerMismatch, missingClientCapability, missingRequestMetadata, upgradeRequired
            case conflict
        }

        let base: Base

        public static let parseError = Code(base: .parseError)
        public static let invalidRequest = Code(base: .invalidRequest)
        public static let methodNotFound = Code(base: .methodNotFound)
        public static let invalidParams = Code(base: .invalidParams)
        public static let internalError = Code(base: .internalError)
        public static let unknownTool = Code(base: .unknownTool)
        public static let unknownPrompt = Code(base: .unknownPrompt)
        public static let unknownResource = Code(base: .unknownResource)
        public static let unknownServer = Code(base: .unknownServer)
        public static let invalidCursor = Code(base: .invalidCursor)
        /// No instance of the server can take the request now (not started, crashed, backing off, refused).
        public static let upstreamUnavailable = Code(base: .upstreamUnavailable)
        public static let upstreamTimeout = Code(base: .upstreamTimeout)
        /// A stdio server exited while the request was in flight.
        public static let upstreamExited = Code(base: .upstreamExited)
        /// The server answered with something that is not MCP.
        public static let upstreamProtocolError = Code(base: .upstreamProtocolError)
        /// The server answered with an HTTP error.
        public static let upstreamRejected = Code(base: .upstreamRejected)
        public static let unauthorized = Code(base: .unauthorized)
        public static let originNotAllowed = Code(base: .originNotAllowed)
        public static let notAcceptable = Code(base: .notAcceptable)
        public static let unsupportedMediaType = Code(base: .unsupportedMediaType)
        public static let payloadTooLarge = Code(base: .payloadTooLarge)
        public static let methodNotAllowed = Code(base: .methodNotAllowed)
        /// A plain request on a path that speaks only WebSocket.
        public static let upgradeRequired = Code(base: .upgradeRequired)
        public static let sessionRequired = Code(base: .sessionRequired)
        public static let sessionNotFound = Code(base: .sessionNotFound)
        public static let unsupportedProtocolVersion = Code(base: .unsupportedProtocolVersion)
        public static let overloaded = Code(base: .overloaded)
        /// A management change that collides with the current state (an instance id already taken).
        public static let conflict = Code(base: .conflict)
        /// 2026-07-28: a mirrored HTTP header (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`) is
        /// missing or disagrees with the body.
        public static let headerMismatch = Code(base: .headerMismatch)
        /// 2026-07-28: serving the request needs a client capability the request did not declare.
        public static let missingClientCapability = Code(base: .missingClientCapability)
        /// 2026-07-28: a required `params._meta` member (protocol version, client capabilities) is missing.
        public static let missingRequestMetadata = Code(base: .missingRequestMetadata)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// A sentence for the client: what was wrong, naming the thing (server, tool, header) it concerns.
    public var message: String
    /// Extra detail for JSON-RPC `error.data`, e.g. `{"server":"fs","reason":"…"}`.
    public var data: JSONValue?
    /// Set by a transport that knows the request never left the gateway (no connection, the process not running),
    /// so trying it on another instance cannot run anything twice.
    public var neverSent = false

    public init(_ code: Code, _ message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var description: String { "\(code): \(message)" }
}

extension GatewayError {
    /// An upstream failure, with the server named in the message and in `error.data`.
    public static func upstream(
        _ code: Code,
        server: String,
        _ reason: String,
        details: [(String, JSONValue)] = []
    ) -> GatewayError {
        var data: JSONObject = ["server": .string(server), "reason": .string(reason)]
        for (key, value) in details { data[key] = value }
        return GatewayError(code, "Upstream server '\(server)' failed: \(reason)", data: .object(data))
    }

    /// This error, marked as one whose request never left the gateway.
    public func unsent() -> GatewayError {
        var error = self
        error.neverSent = true
        return error
    }

    /// A JSON-RPC batch in a session whose revision has none (only 2025-03-26 has batches).
    public static func batchNotAllowed(protocolVersion: String) -> GatewayError {
        GatewayError(
            .invalidRequest,
            "Invalid Request: JSON-RPC batches are only allowed at protocol 2025-03-26, this session uses \(protocolVersion)"
        )
    }

    public init(_ error: JSONRPCDecodingError) {
        let code: Code =
            switch error.code {
            case JSONRPCErrorCode.parseError: .parseError
            case JSONRPCErrorCode.invalidParams: .invalidParams
            default: .invalidRequest
            }
        self.init(code, error.message)
    }
}
