/// Splits a byte stream into newline-delimited messages (the MCP stdio framing), incrementally and with a bound.
///
/// Lines may end in `\n` or `\r\n`; blank lines are skipped. A line longer than `maxLineLength` is an error rather
/// than unbounded buffering.
public struct NDJSONFramer: Sendable {
    public struct LineTooLong: Error, Sendable, CustomStringConvertible {
        public let limit: Int
        public var description: String { "a line exceeded \(limit) bytes without a newline" }
    }

    public let maxLineLength: Int
    private var buffer: [UInt8] = []
    private var start = 0
    /// Where to resume looking for a newline.
    private var searchFrom = 0

    public init(maxLineLength: Int = 8 * 1024 * 1024) {
        self.maxLineLength = maxLineLength
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete line, without its terminator; `nil` when more input is needed.
    public mutating func nextLine() throws(LineTooLong) -> [UInt8]? {
        while true {
            guard let newline = buffer[searchFrom...].firstIndex(of: UInt8(ascii: "\n")) else {
                searchFrom = buffer.count
                if buffer.count - start > maxLineLength { throw LineTooLong(limit: maxLineLength) }
                compact()
                return nil
            }
            var end = newline
            if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let line = Array(buffer[start..<end])
            start = newline + 1
            searchFrom = start
            if line.count > maxLineLength { throw LineTooLong(limit: maxLineLength) }
            if line.isEmpty { continue }
            return line
        }
    }

    private mutating func compact() {
        guard start > 0 else { return }
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
        } else {
            buffer.removeSubrange(0..<start)
        }
        searchFrom -= start
        start = 0
    }

    /// At the end of the input: what is left after the last newline, if anything (a last line without one).
    public mutating func remainder() -> [UInt8]? {
        let rest = Array(buffer[start...])
        buffer.removeAll()
        (start, searchFrom) = (0, 0)
        return rest.allSatisfy({ $0 == 0x0D || $0 == 0x20 || $0 == 0x09 }) ? nil : rest
    }
}
