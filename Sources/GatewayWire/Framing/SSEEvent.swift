/// One server-sent event.
public struct SSEEvent: Sendable, Equatable {
    /// The `event:` field; `nil` means the default type, `message`.
    public var event: String?
    /// The joined `data:` lines (joined with `\n`).
    public var data: [UInt8]
    public var id: String?
    /// The `retry:` field in milliseconds.
    public var retry: Int?

    public init(event: String? = nil, data: [UInt8], id: String? = nil, retry: Int? = nil) {
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry
    }

    public var type: String { event ?? "message" }
}
