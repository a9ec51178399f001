/// An incremental `text/event-stream` parser following the WHATWG rules: lines end in CRLF, LF or CR; `data:` lines
/// accumulate; a blank line dispatches; `:` lines are comments; unknown fields are ignored.
public struct SSEParser: Sendable {
    public struct EventTooLarge: Error, Sendable, CustomStringConvertible {
        public let limit: Int
        public var description: String { "an event exceeded \(limit) bytes" }
    }

    public let maxEventSize: Int
    private var line: [UInt8] = []
    private var skipNextLineFeed = false
    private var pending: [SSEEvent] = []
    private var current = SSEEvent(data: [])
    private var hasData = false
    private var currentSize = 0

    public init(maxEventSize: Int = 8 * 1024 * 1024) {
        self.maxEventSize = maxEventSize
    }

    /// Feeds bytes; complete events are queued for ``nextEvent()``.
    public mutating func append(_ bytes: some Sequence<UInt8>) throws(EventTooLarge) {
        for byte in bytes {
            if skipNextLineFeed {
                skipNextLineFeed = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\n"):
                try processLine()
            case UInt8(ascii: "\r"):
                skipNextLineFeed = true
                try processLine()
            default:
                line.append(byte)
                currentSize += 1
                if currentSize > maxEventSize { throw EventTooLarge(limit: maxEventSize) }
            }
        }
    }

    public mutating func nextEvent() -> SSEEvent? {
        pending.isEmpty ? nil : pending.removeFirst()
    }

    private mutating func processLine() throws(EventTooLarge) {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            if hasData { pending.append(current) }
            current = SSEEvent(data: [])
            hasData = false
            currentSize = 0
            return
        }
        if line[0] == UInt8(ascii: ":") { return }
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let field = String(decoding: line[..<(colon ?? line.count)], as: UTF8.self)
        var valueStart = colon.map { $0 + 1 } ?? line.count
        if valueStart < line.count, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = line[valueStart...]
        switch field {
        case "data":
            if hasData { current.data.append(UInt8(ascii: "\n")) }
            current.data.append(contentsOf: value)
            hasData = true
        case "event":
            current.event = String(decoding: value, as: UTF8.self)
        case "id":
            if !value.contains(0) { current.id = String(decoding: value, as: UTF8.self) }
        case "retry":
            if !value.isEmpty, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                current.retry = Int(String(decoding: value, as: UTF8.self))
            }
        default:
            break
        }
    }
}
