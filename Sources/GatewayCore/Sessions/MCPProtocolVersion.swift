/// The MCP revisions the gateway speaks.
public enum MCPProtocolVersion {
    /// Versions negotiated through `initialize` (the session-based, "legacy" era), newest first.
    public static let sessionBased = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
    public static let latestSessionBased = "2025-11-25"
    /// Versions served statelessly, each request carrying its version and capabilities in `_meta` (the "modern"
    /// era), newest first.
    public static let stateless = ["2026-07-28"]
    public static let latestStateless = "2026-07-28"
    /// Every version the gateway serves, newest first; what an `UnsupportedProtocolVersion` error lists.
    public static let all = stateless + sessionBased

    /// The version to answer an `initialize` with: the client's if served, else the newest.
    public static func negotiate(requested: String?) -> String {
        guard let requested, sessionBased.contains(requested) else { return latestSessionBased }
        return requested
    }

    /// Whether JSON-RPC batches are allowed (2025-03-26 only).
    public static func allowsBatches(_ version: String) -> Bool { version == "2025-03-26" }

    /// The era of a version the gateway serves; unknown versions count as modern (they are refused there).
    public static func era(of version: String) -> MCPEra {
        sessionBased.contains(version) ? .legacy : .modern
    }
}

/// The two ways MCP revisions carry state: an `initialize` handshake and a session (2024-11-05 … 2025-11-25), or
/// per-request `_meta` with no session at all (2026-07-28 and later).
public enum MCPEra: Sendable, Hashable {
    case legacy
    case modern
}
