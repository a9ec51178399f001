import Crypto
import Foundation

/// Builds and splits the aggregated names of tools and prompts: `{prefix}{separator}{name}`.
///
/// A name that would exceed `maxLength` characters becomes a deterministic alias: the first characters of the full
/// name, `_`, and 8 hex digits of its SHA-256. The same server and tool always give the same alias, on every replica
/// and after every restart, so clients may keep it; the router maps it back through the server's catalog.
public struct QualifiedNames: Sendable {
    public let separator: String
    public let maxLength: Int

    public init(separator: String = "__", maxLength: Int = 64) {
        self.separator = separator
        self.maxLength = maxLength
    }

    public init(_ configuration: NamingConfiguration) {
        self.init(separator: configuration.separator, maxLength: configuration.maxLength)
    }

    /// The name a client sees for `name` of the server with `prefix`.
    public func qualified(prefix: String, name: String) -> String {
        let full = prefix + separator + name
        guard full.unicodeScalars.count > maxLength else { return full }
        return Self.alias(for: full, maxLength: maxLength)
    }

    /// Splits a qualified name at the first separator. Says nothing about whether it is an alias.
    public func split(_ qualified: String) -> (prefix: String, name: String)? {
        guard let range = qualified.range(of: separator), range.lowerBound > qualified.startIndex,
            range.upperBound < qualified.endIndex
        else { return nil }
        return (String(qualified[..<range.lowerBound]), String(qualified[range.upperBound...]))
    }

    /// Whether `qualified` has the shape of an alias (full length, ending in `_` and 8 hex digits).
    public func looksLikeAlias(_ qualified: String) -> Bool {
        let scalars = Array(qualified.unicodeScalars)
        guard scalars.count == maxLength else { return false }
        let tail = scalars.suffix(9)
        return tail.first == "_" && tail.dropFirst().allSatisfy { $0.properties.isASCIIHexDigit }
    }

    static func alias(for full: String, maxLength: Int) -> String {
        let digest = SHA256.hash(data: Data(full.utf8))
        let hex = digest.prefix(4).map { String(format: "%02x", $0) }.joined()
        let head = String(String.UnicodeScalarView(full.unicodeScalars.prefix(maxLength - 9)))
        return head + "_" + hex
    }
}
