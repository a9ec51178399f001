import Foundation

/// The value encoding of 2026-07-28's mirrored headers (`Mcp-Name`, `Mcp-Param-*`): plain visible ASCII as
/// written, anything else as `=?base64?{UTF-8 in base64}?=`.
public enum MirroredHeaderValue {
    /// The value a header carries: as written, or decoded from the sentinel form; `nil` when the sentinel's
    /// content is not base64 of UTF-8.
    public static func decode(_ value: String) -> String? {
        guard value.hasPrefix("=?base64?"), value.hasSuffix("?="), value.count >= 11 else { return value }
        let encoded = value.dropFirst(9).dropLast(2)
        guard let data = Data(base64Encoded: String(encoded)) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
