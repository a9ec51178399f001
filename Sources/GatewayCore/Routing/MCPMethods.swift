/// Which methods each era of the protocol has, as far as a client may call them on the gateway.
public enum MCPMethods {
    /// Methods of 2026-07-28. `ping`, `initialize`, `logging/setLevel` and `resources/(un)subscribe` are gone from
    /// it; a stateless request for one of them is an unknown method (HTTP 404 + -32601).
    public static let stateless: Set<String> = [
        "server/discover", "subscriptions/listen",
        "tools/list", "tools/call", "prompts/list", "prompts/get",
        "resources/list", "resources/templates/list", "resources/read", "completion/complete",
    ]

    /// Methods whose 2026-07-28 requests must mirror `params.name` (or `params.uri`) in the `Mcp-Name` header.
    public static func nameParameter(of method: String) -> String? {
        switch method {
        case "tools/call", "prompts/get": "name"
        case "resources/read": "uri"
        default: nil
        }
    }
}
