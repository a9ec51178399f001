import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Serialised writes to standard output, so concurrent replies never interleave (the demo server's, and the
/// `connect` bridge's).
public final class StdoutWriter: Sendable {
    private let lock = Mutex<Int32>(1)

    public init() {}

    public func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        lock.withLock { descriptor in
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }
}
