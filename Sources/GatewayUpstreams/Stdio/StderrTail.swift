import Synchronization

/// The last bytes a child wrote to stderr, kept so errors can show why it failed. Always drained, never unbounded.
final class StderrTail: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    func append(_ chunk: UnsafeRawBufferPointer) {
        bytes.withLock { bytes in
            bytes.append(contentsOf: chunk)
            if bytes.count > capacity { bytes.removeFirst(bytes.count - capacity) }
        }
    }

    func clear() { bytes.withLock { $0.removeAll() } }

    /// The last `lines` lines, trimmed.
    func lastLines(_ lines: Int = 10) -> String {
        let text = String(decoding: bytes.withLock { $0 }, as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).suffix(lines).joined(separator: "\n")
    }
}
