import GatewayCore
import GatewayWire
import HTTPTypes
import Hummingbird
import Logging

/// The request rules of MCP 2026-07-28 over Streamable HTTP, checked before the body is trusted for routing.
///
/// The version, method and name travel twice, in the body and in headers (`MCP-Protocol-Version`, `Mcp-Method`,
/// `Mcp-Name`) that intermediaries route on; the two must agree (400 + -32020), because two components acting on
/// different sources of truth are an authorization bypass. `Mcp-Name` may carry the `=?base64?…?=` sentinel form.
/// An unserved version gets 400 + -32022 listing what is served; missing `_meta` members get 400 + -32602.
struct StatelessRequestCheck {
    static let versionKey = "io.modelcontextprotocol/protocolVersion"
    static let capabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
    static let logLevelKey = "io.modelcontextprotocol/logLevel"

    /// Whether a POST without a session is a stateless request: its body declares a version in `_meta`, or its
    /// `MCP-Protocol-Version` header names a version that is not session-based.
    static func isStateless(_ message: JSONRPCMessage, headers: HTTPFields) -> Bool {
        if message.meta(versionKey) != nil { return true }
        guard let version = headers[MCPHeaders.protocolVersion] else { return false }
        return MCPProtocolVersion.era(of: version) == .modern
    }

    /// The request's context, or the error that refuses it.
    static func context(
        for message: JSONRPCMessage,
        headers: HTTPFields,
        identity: Identity,
        scope: EndpointScope,
        logger: Logger
    ) throws(GatewayError) -> MCPRequestContext {
        let header = headers[MCPHeaders.protocolVersion]
        guard let range = message.meta(versionKey), case .string(let version) = message.value(at: range) else {
            throw GatewayError(
                .missingRequestMetadata,
                "Invalid params: params._meta[\"\(versionKey)\"] must be a string naming the protocol version")
        }
        guard let header else {
            throw GatewayError(.headerMismatch, "Header mismatch: the MCP-Protocol-Version header is required")
        }
        guard header == version else {
            throw GatewayError(
                .headerMismatch,
                "Header mismatch: MCP-Protocol-Version header value '\(header)' does not match body value '\(version)'")
        }
        guard MCPProtocolVersion.stateless.contains(version) else {
            throw GatewayError(
                .unsupportedProtocolVersion,
                "Unsupported protocol version: \(version)",
                data: [
                    "supported": .array(MCPProtocolVersion.all.map { .string($0) }), "requested": .string(version),
                ]
            )
        }
        guard let capabilitiesRange = message.meta(capabilitiesKey),
            case .object(let capabilities) = message.value(at: capabilitiesRange)
        else {
            throw GatewayError(
                .missingRequestMetadata, "Invalid params: params._meta[\"\(capabilitiesKey)\"] must be an object")
        }
        var logLevel: LogLevel? = nil
        if let levelRange = message.meta(logLevelKey) {
            guard let text = message.value(at: levelRange).stringValue, let level = LogLevel(rawValue: text) else {
                throw GatewayError(
                    .invalidParams,
                    "Invalid params: params._meta[\"\(logLevelKey)\"] must be one of "
                        + LogLevel.allCases.map(\.rawValue).joined(separator: ", "))
            }
            logLevel = level
        }
        if message.kind == .request { try checkMirroredHeaders(message, headers: headers) }
        var context = MCPRequestContext(
            identity: identity,
            scope: scope,
            protocolVersion: version,
            session: nil,
            clientCapabilities: .object(capabilities),
            logLevel: logLevel,
            logger: logger
        )
        for field in headers where field.name.canonicalName.hasPrefix(mirroredParameterPrefix) {
            let name = String(field.name.canonicalName.dropFirst(mirroredParameterPrefix.count))
            context.mirroredParameters[name, default: []].append(field.value)
        }
        return context
    }

    /// `Mcp-Param-*`, as HTTPTypes spells header names (lowercase).
    static let mirroredParameterPrefix = "mcp-param-"

    /// `Mcp-Method` on every request, `Mcp-Name` where the method names a tool, prompt or resource.
    private static func checkMirroredHeaders(_ message: JSONRPCMessage, headers: HTTPFields) throws(GatewayError) {
        let method = message.method ?? ""
        guard let methodHeader = headers[MCPHeaders.method] else {
            throw GatewayError(.headerMismatch, "Header mismatch: the Mcp-Method header is required")
        }
        guard methodHeader == method else {
            throw GatewayError(
                .headerMismatch,
                "Header mismatch: Mcp-Method header value '\(methodHeader)' does not match body value '\(method)'")
        }
        guard let parameter = MCPMethods.nameParameter(of: method) else { return }
        guard let nameHeader = headers[MCPHeaders.name] else {
            throw GatewayError(.headerMismatch, "Header mismatch: the Mcp-Name header is required for \(method)")
        }
        guard let name = MirroredHeaderValue.decode(nameHeader) else {
            throw GatewayError(.headerMismatch, "Header mismatch: the Mcp-Name header is not valid base64")
        }
        let body = message.paramString(parameter)
        guard name == body else {
            throw GatewayError(
                .headerMismatch,
                "Header mismatch: Mcp-Name header value '\(nameHeader)' does not match body value '\(body ?? "")'")
        }
    }
}
