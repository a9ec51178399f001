/// The gateway's version, as reported by `--version`, in `serverInfo` and in the `clientInfo` it sends upstream.
public enum GatewayVersion {
    public static let current = "0.1.0"
}
