import Foundation
import GatewayDemoServer
import GatewayWire
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL
import NIOWebSocket

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

    /// Runs until stdin closes or the gateway closes the connection; returns the process's exit status.
    func run() async throws -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        let target = try Self.webSocketURL(for: url)
        var headers: HTTPFields = [HTTPField.Name("Sec-WebSocket-Protocol")!: "mcp"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        let configuration = WebSocketClientConfiguration(
            maxFrameSize: 8 * 1024 * 1024, additionalHeaders: headers, autoPing: .enabled(timePeriod: .seconds(30)))
        let tls: TLSConfiguration? = target.hasPrefix("wss") ? .makeClientConfiguration() : nil
        let lines = Self.standardInputLines()
        let stdout = StdoutWriter()
        let close = try await WebSocketClient.connect(
            url: target, configuration: configuration, tlsConfiguration: tls, logger: logger
        ) { inbound, outbound, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await line in lines {
                        let frame = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: line))
                        try await outbound.write(.custom(frame))
                    }
                    try await outbound.close(.normalClosure, reason: nil)
                }
                group.addTask {
                    for try await message in inbound.messages(maxSize: 64 * 1024 * 1024) {
                        guard case .text(let text) = message else { continue }
                        var bytes = Array(text.utf8)
                        if bytes.contains(0x0A), let value = try? JSONParser.parse(bytes) { bytes = value.serialized() }
                        stdout.write(bytes + [0x0A])
                    }
                }
                try await group.next()
                // Whichever side ended first: stdin (the close was sent; the gateway's answer ends the inbound
                // side) or the gateway (nothing more can be delivered).
                try await group.next()
            }
        }
        guard let close, close.closeCode != .normalClosure else { return 0 }
        logger.error("the gateway closed the connection: \(close.closeCode) \(close.reason ?? "")")
        return 1
    }

    /// stdin, one line at a time (without its newline, empty lines skipped), read on a thread of its own.
    private static func standardInputLines() -> AsyncStream<[UInt8]> {
        let (lines, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        let reader = Thread {
            var framer = NDJSONFramer()
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            reading: while true {
                let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                framer.append(buffer[0..<count])
                do {
                    while let line = try framer.nextLine() {
                        if !line.isEmpty { continuation.yield(line) }
                    }
                } catch {
                    FileHandle.standardError.write(Data("mcp-gateway connect: \(error)\n".utf8))
                    break reading
                }
            }
            continuation.finish()
        }
        reader.start()
        return lines
    }
}
