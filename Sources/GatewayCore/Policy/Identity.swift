/// Who is calling. Every request context carries one; sessions, cursors and (later) state handles are bound to its
/// `principal`, so possession of an id is never enough.
public struct Identity: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// No credentials; allowed only for connections from loopback.
        case anonymous
        /// A client token issued by the gateway.
        case clientToken
        /// The operator, through the management API (`ADMIN_TOKEN` or the registration token).
        case administrator
    }

    /// A stable name for binding state: `anonymous`, or `client:<id>` for a token's client.
    public let principal: String
    public let kind: Kind

    public init(principal: String, kind: Kind) {
        self.principal = principal
        self.kind = kind
    }

    public static let anonymous = Identity(principal: "anonymous", kind: .anonymous)
    public static let administrator = Identity(principal: "admin", kind: .administrator)

    public var description: String { principal }
}
