/// JSON-RPC and MCP error codes the gateway emits or recognises.
public enum JSONRPCErrorCode {
    public static let parseError = -32700
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let internalError = -32603
    /// Unauthorized (HTTP 401 carries the challenge).
    public static let unauthorized = -32001
    /// MCP ≤ 2025-11-25: resource not found.
    public static let resourceNotFound = -32002
    /// MCP 2026-07-28: a mirrored header disagrees with the body.
    public static let headerMismatch = -32020
    /// MCP 2026-07-28: the request needs a client capability it did not declare.
    public static let missingClientCapability = -32021
    /// MCP 2026-07-28: the protocol version is not served.
    public static let unsupportedProtocolVersion = -32022
}
