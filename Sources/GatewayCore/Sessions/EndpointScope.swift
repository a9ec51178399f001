/// Which servers an endpoint shows: all of them with namespaced names (`/mcp`), or one with its own names
/// (`/mcp/{server}`).
public enum EndpointScope: Sendable, Hashable, CustomStringConvertible {
    case aggregate
    case server(String)

    /// Whether the endpoint shows `server`.
    public func shows(_ server: String) -> Bool {
        switch self {
        case .aggregate: true
        case .server(let name): name == server
        }
    }

    public var description: String {
        switch self {
        case .aggregate: "*"
        case .server(let name): name
        }
    }
}
