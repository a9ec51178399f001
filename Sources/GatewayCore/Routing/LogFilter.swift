import GatewayWire

/// Which log messages a request's stream may carry. A 2026-07-28 request gets none unless it asked for a level,
/// then those at or above it; a session gets all until `logging/setLevel`, then those at or above the level the
/// session has when the message passes.
public struct LogFilter: Sendable {
    private let level: @Sendable () -> LogLevel?
    /// What passes when no level is set.
    private let admitsWithoutLevel: Bool

    public init(_ context: MCPRequestContext) {
        if let session = context.session, context.era == .legacy {
            level = { session.logLevel }
            admitsWithoutLevel = true
        } else {
            let requested = context.logLevel
            level = { requested }
            admitsWithoutLevel = false
        }
    }

    private static let marker = Array(#""notifications/message""#.utf8)

    public func admits(_ bytes: [UInt8]) -> Bool {
        guard bytes.firstRange(of: Self.marker) != nil, let message = try? JSONRPCMessage.parse(bytes),
            message.method == "notifications/message"
        else { return true }
        guard let minimum = level() else { return admitsWithoutLevel }
        let level = message.paramString("level").flatMap(LogLevel.init(rawValue:)) ?? .info
        return level >= minimum
    }
}
