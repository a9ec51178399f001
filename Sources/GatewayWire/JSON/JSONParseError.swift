/// Why bytes were refused as JSON, and where.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Not JSON at all (RFC 8259 grammar, UTF-8).
        case syntax
        /// Valid so far, but nested deeper than the reader allows.
        case depthLimit
        /// An object names the same key twice (compared after unescaping).
        case duplicateKey
    }

    public let kind: Kind
    /// Byte offset into the input where the problem was found.
    public let offset: Int
    public let reason: String

    public init(_ kind: Kind, at offset: Int, _ reason: String) {
        self.kind = kind
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(reason) at byte \(offset)" }
}
