/// Why a body could not be taken as a JSON-RPC message, with the JSON-RPC code to answer with.
public struct JSONRPCDecodingError: Error, Sendable, CustomStringConvertible {
    /// `-32700`, `-32600` or `-32602`.
    public let code: Int
    public let message: String
    /// The sender's id, when it could be read, so the error can be answered to it.
    public let id: JSONRPCID?

    public init(code: Int, message: String, id: JSONRPCID? = nil) {
        self.code = code
        self.message = message
        self.id = id
    }

    init(_ error: JSONParseError) {
        switch error.kind {
        case .syntax: self.init(code: JSONRPCErrorCode.parseError, message: "Parse error: \(error)")
        case .duplicateKey, .depthLimit:
            self.init(code: JSONRPCErrorCode.invalidRequest, message: "Invalid Request: \(error)")
        }
    }

    public var description: String { "\(message) (\(code))" }
}
