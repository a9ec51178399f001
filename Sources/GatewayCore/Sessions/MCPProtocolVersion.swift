/// The MCP revisions the gateway speaks.
public enum MCPProtocolVersion {
    /// Versions negotiated through `initialize` (the session-based era), newest first.
    public static let sessionBased = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
    public static let latestSessionBased = "2025-11-25"
    /// The stateless revision; recognised so it can be refused clearly until it is served.
    public static let stateless = "2026-07-28"

    /// The version to answer an `initialize` with: the client's if served, else the newest.
    public static func negotiate(requested: String?) -> String {
        guard let requested, sessionBased.contains(requested) else { return latestSessionBased }
        return requested
    }

    /// Whether JSON-RPC batches are allowed (2025-03-26 only).
    public static func allowsBatches(_ version: String) -> Bool { version == "2025-03-26" }
}
