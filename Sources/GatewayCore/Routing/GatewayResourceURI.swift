/// The URIs the gateway gives a resource whose URI another server already uses:
/// `mcp-gateway://{server}/{original URI}`. They map back without any state.
enum GatewayResourceURI {
    static let scheme = "mcp-gateway://"

    static func make(server: String, uri: String) -> String { scheme + server + "/" + uri }

    /// The server and original URI of a gateway URI.
    static func parse(_ uri: String) -> (server: String, uri: String)? {
        guard uri.hasPrefix(scheme) else { return nil }
        let rest = uri.dropFirst(scheme.count)
        guard let slash = rest.firstIndex(of: "/"), slash > rest.startIndex else { return nil }
        return (String(rest[..<slash]), String(rest[rest.index(after: slash)...]))
    }
}
