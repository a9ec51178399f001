/// Decides what an identity may use. The router asks it for every list entry and every call; the store and admin
/// work supply real policies without touching the request path.
public protocol AccessPolicy: Sendable {
    func allows(_ identity: Identity, server: String) -> Bool
    func allows(_ identity: Identity, server: String, tool: String) -> Bool
}

/// The policy of an anonymous loopback gateway: everything configured is usable.
public struct AllowAllPolicy: AccessPolicy {
    public init() {}
    public func allows(_ identity: Identity, server: String) -> Bool { true }
    public func allows(_ identity: Identity, server: String, tool: String) -> Bool { true }
}
