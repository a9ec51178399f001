import Foundation
import GatewayDemoServer
import GatewayWire
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL
import NIOWebSocket
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `mcp-gateway connect`: newline-delimited JSON-RPC on stdin/stdout, carried to a gateway over MCP's WebSocket
/// transport (subprotocol `mcp`), so a client that can only start stdio servers can use a remote gateway.
///
/// Each stdin line becomes one text frame and each frame one stdout line; nothing is parsed except to keep a frame
/// that holds a raw newline on one line. stdin closing ends the connection normally; the gateway closing it ends the
/// bridge, with its reason on stderr.
struct StdioBridge {
    let url: String
    let token: String?
    let logger: Logger

    /// The WebSocket URL for a gateway URL: `ws(s)://` as given; `http(s)://host/mcp` → `ws(s)://host/ws`, and
    /// `http(s)://host/mcp/{server}` → `ws(s)://host/mcp/{server}/ws`.
    static func webSocketURL(for url: String) throws(CommandFailure) -> String {
        guard var components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            components.host?.isEmpty == false
        else { throw CommandFailure("not a URL: \(url)") }
        switch scheme {
        case "ws", "wss": return url
        case "http": components.scheme = "ws"
        case "https": components.scheme = "wss"
        default: throw CommandFailure("unsupported scheme \(scheme): give an http(s):// or ws(s):// URL")
        }
        let path = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        if parts.isEmpty || parts == ["mcp"] {
            components.path = "/ws"
        } else if parts.count == 2, parts[0] == "mcp", parts[1] != "ws" {
            components.path = "/mcp/\(parts[1])/ws"
        } else if parts.last != "ws" {
            throw CommandFailure(
                "cannot tell the gateway's WebSocket path from \(path): give /mcp, /mcp/{server}, or a ws(s):// URL")
        }
        guard let webSocket = components.string else { throw CommandFailure("not a URL: \(url)") }
        return webSocket
    }

    /// Runs until stdin closes (then, once the requests sent are answered or 10 s passed, the connection is closed
    /// normally and the status is 0) or the gateway ends the connection (status 1, the reason on stderr).
    func run() async throws -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        let target = try Self.webSocketURL(for: url)
        var headers: HTTPFields = [HTTPField.Name("Sec-WebSocket-Protocol")!: "mcp"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        let configuration = WebSocketClientConfiguration(
            maxFrameSize: 8 * 1024 * 1024, additionalHeaders: headers, autoPing: .enabled(timePeriod: .seconds(30)))
        let tls: TLSConfiguration? = target.hasPrefix("wss") ? .makeClientConfiguration() : nil
        let input = StandardInput.lines()
        let stdout = StdoutWriter()
        let unanswered = UnansweredRequests()
        let ended = EndedFirst()
        let close = try await WebSocketClient.connect(
            url: target, configuration: configuration, tlsConfiguration: tls, logger: logger
        ) { inbound, outbound, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await line in input.lines {
                        input.taken()
                        unanswered.sent(line)
                        let frame = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: line))
                        try await outbound.write(.custom(frame))
                    }
                    ended.record(.input)
                    await unanswered.drained(within: .seconds(10))
                    try await outbound.close(.normalClosure, reason: nil)
                }
                group.addTask {
                    for try await message in inbound.messages(maxSize: 64 * 1024 * 1024) {
                        guard case .text(let text) = message else { continue }
                        var bytes = Array(text.utf8)
                        if bytes.contains(0x0A), let value = try? JSONParser.parse(bytes) { bytes = value.serialized() }
                        unanswered.received(bytes)
                        stdout.write(bytes + [0x0A])
                    }
                    ended.record(.gateway)
                }
                try await group.next()
                // The gateway ending first leaves nothing to carry: stop reading stdin. Else wait for its close.
                if ended.first == .gateway { group.cancelAll() } else { try await group.next() }
            }
        }
        if let failure = input.failure {
            logger.error("stdin: \(failure)")
            return 2
        }
        guard ended.first == .input else {
            let reason = close.map { "\($0.closeCode) \($0.reason ?? "")" } ?? "without a close frame"
            logger.error("the gateway ended the connection: \(reason)")
            return 1
        }
        return 0
    }
}

/// Which side ended the bridge first.
private final class EndedFirst: Sendable {
    enum Side: Sendable { case input, gateway }
    private let side = Mutex<Side?>(nil)

    func record(_ ending: Side) { side.withLock { $0 = $0 ?? ending } }
    var first: Side? { side.withLock { $0 } }
}

/// The ids of the requests sent that have no answer yet, so that stdin closing does not cut their answers off.
private final class UnansweredRequests: Sendable {
    private let ids = Mutex<Set<String>>([])
    private let changes: AsyncStream<Void>.Continuation
    private let changed: AsyncStream<Void>

    init() { (changed, changes) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1)) }

    func sent(_ line: [UInt8]) {
        guard let message = try? JSONRPCMessage.parse(line), message.kind == .request, let id = message.id else {
            return
        }
        ids.withLock { _ = $0.insert(id.description) }
    }

    func received(_ bytes: [UInt8]) {
        guard let message = try? JSONRPCMessage.parse(bytes),
            message.kind == .response || message.kind == .errorResponse, let id = message.id
        else { return }
        ids.withLock { _ = $0.remove(id.description) }
        changes.yield()
    }

    /// Returns once every request sent is answered, or after `limit`.
    func drained(within limit: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in self.changed where self.ids.withLock({ $0.isEmpty }) { return }
            }
            group.addTask { try? await Task.sleep(for: limit) }
            changes.yield()
            await group.next()
            group.cancelAll()
        }
    }
}

/// stdin, one line at a time (without its newline; empty lines skipped; a last line without one included), read on
/// a thread of its own, and held back while the bridge has not taken the previous lines (at most 64 waiting).
private final class StandardInput: Sendable {
    let lines: AsyncStream<[UInt8]>
    private let problem = Mutex<String?>(nil)
    private let room = DispatchSemaphore(value: 64)

    /// Why reading stopped before the end of the input, if it did.
    var failure: String? { problem.withLock { $0 } }

    private init(lines: AsyncStream<[UInt8]>) { self.lines = lines }

    /// The bridge took a line: the reader may queue another.
    func taken() { room.signal() }

    static func lines() -> StandardInput {
        let (lines, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        let input = StandardInput(lines: lines)
        let room = input.room
        continuation.onTermination = { _ in room.signal() }
        let reader = Thread {
            var framer = NDJSONFramer()
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            func deliver(_ line: [UInt8]) {
                room.wait()
                continuation.yield(line)
            }
            reading: while true {
                let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count < 0 {
                    input.problem.withLock { $0 = "read failed (errno \(errno))" }
                    break
                }
                if count == 0 {
                    if let last = framer.remainder() { deliver(last) }
                    break
                }
                framer.append(buffer[0..<count])
                do {
                    while let line = try framer.nextLine() { deliver(line) }
                } catch {
                    input.problem.withLock { $0 = "\(error)" }
                    break reading
                }
            }
            continuation.finish()
        }
        reader.start()
        return input
    }
}
