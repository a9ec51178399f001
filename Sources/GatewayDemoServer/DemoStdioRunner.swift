import GatewayWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Serves ``DemoServer`` over stdin/stdout (newline-delimited JSON-RPC) until stdin closes.
///
/// Reading blocks the calling thread (the process does nothing else); quick replies to one read are written in a
/// single `write`, so pipelined requests are answered in batches. Asynchronous tools run as tasks.
public enum DemoStdioRunner {
    public static func run() {
        signal(SIGPIPE, SIG_IGN)
        let server = DemoServer()
        let writer = StdoutWriter()
        var framer = NDJSONFramer()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            framer.append(buffer[0..<count])
            var replies: [UInt8] = []
            do {
                while let line = try framer.nextLine() {
                    guard let message = try? JSONRPCMessage.parse(line) else {
                        replies +=
                            JSONRPCMessage.encodeError(
                                id: nil, code: JSONRPCErrorCode.parseError, message: "Parse error") + [0x0A]
                        continue
                    }
                    switch server.handle(message) {
                    case .reply(let bytes): replies += bytes + [0x0A]
                    case .later(let work):
                        Task {
                            let final = await work { notification in writer.write(notification + [0x0A]) }
                            writer.write(final + [0x0A])
                        }
                    case .none: break
                    }
                }
            } catch {
                break
            }
            writer.write(replies)
        }
    }
}
