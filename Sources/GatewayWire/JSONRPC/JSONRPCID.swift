/// A JSON-RPC request id exactly as the peer wrote it: `7`, `1.5`, `9007199254740993` or `"abc"`.
///
/// The gateway never reinterprets a client's id; it echoes these bytes back.
public struct JSONRPCID: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case string
        case number
    }

    /// The id's JSON text, including the quotes of a string id.
    public let lexeme: [UInt8]
    public let kind: Kind

    public init(lexeme: [UInt8], kind: Kind) {
        self.lexeme = lexeme
        self.kind = kind
    }

    public init(_ value: Int) {
        self.lexeme = Array(String(value).utf8)
        self.kind = .number
    }

    public init(string: String) {
        self.lexeme = JSONValue.quoted(string)
        self.kind = .string
    }

    /// The id as an integer, for a number id written as a plain integer.
    public var intValue: Int? {
        guard kind == .number else { return nil }
        return Int(String(decoding: lexeme, as: UTF8.self))
    }

    public var description: String { String(decoding: lexeme, as: UTF8.self) }
}
