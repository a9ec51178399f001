import Crypto
import Foundation
import GatewayWire

/// Mints and checks the gateway's pagination cursors: base64url of a small JSON state plus an HMAC-SHA256 tag that
/// also covers the principal, so a cursor from one client is refused for another, and a forged or edited cursor is
/// refused with `-32602`.
public struct CursorCodec: Sendable {
    private let key: SymmetricKey

    /// - Parameter secret: shared by replicas that must accept each other's cursors; random when `nil`.
    public init(secret: String?) {
        if let secret {
            key = SymmetricKey(data: SHA256.hash(data: Data(("mcp-gateway cursor v1:" + secret).utf8)))
        } else {
            key = SymmetricKey(size: .bits256)
        }
    }

    public func encode(_ state: JSONValue, principal: String) -> String {
        let payload = Data(state.serialized())
        return Self.base64URL(payload) + "." + Self.base64URL(tag(payload, principal: principal))
    }

    public func decode(_ cursor: String, principal: String) throws(GatewayError) -> JSONValue {
        let invalid = GatewayError(.invalidCursor, "Invalid cursor")
        let parts = cursor.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Self.data(base64URL: parts[0]), let tag = Self.data(base64URL: parts[1]),
            Self.constantTimeEqual(tag, self.tag(payload, principal: principal))
        else { throw invalid }
        guard let state = try? JSONParser.parse(Array(payload)) else { throw invalid }
        return state
    }

    private func tag(_ payload: Data, principal: String) -> Data {
        var mac = HMAC<SHA256>(key: key)
        mac.update(data: Data(principal.utf8))
        mac.update(data: [0])
        mac.update(data: payload)
        return Data(mac.finalize()).prefix(16)
    }

    static func constantTimeEqual(_ lhs: Data, _ rhs: Data) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return zip(lhs, rhs).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func data(base64URL text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
