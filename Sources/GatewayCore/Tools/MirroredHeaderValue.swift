import Foundation

/// The value encoding of 2026-07-28's mirrored headers (`Mcp-Name`, `Mcp-Param-*`): plain visible ASCII as
/// written, anything else as `=?base64?{UTF-8 in base64}?=`.
public enum MirroredHeaderValue {
    /// The header form of `value`: as written when it is visible ASCII without leading or trailing spaces and does
    /// not itself look like the sentinel, else the sentinel form.
    public static func encode(_ value: String) -> String {
        let plain =
            value.utf8.allSatisfy { (0x20...0x7E).contains($0) } && value.first != " " && value.last != " "
            && !(value.hasPrefix("=?base64?") && value.hasSuffix("?="))
        return plain ? value : "=?base64?" + Data(value.utf8).base64EncodedString() + "?="
    }

    /// The value a header carries: as written, or decoded from the sentinel form; `nil` when the sentinel's
    /// content is not base64 of UTF-8.
    public static func decode(_ value: String) -> String? {
        guard value.hasPrefix("=?base64?"), value.hasSuffix("?="), value.count >= 11 else { return value }
        let encoded = value.dropFirst(9).dropLast(2)
        guard let data = Data(base64Encoded: String(encoded)) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
