import GatewayWire
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// One MCP-over-WebSocket session for load: `initialize`, then calls from any number of tasks at once, each
/// answer matched to its caller by id.
final class WebSocketLoadClient: Sendable {
    private let outbound: Mutex<WebSocketOutboundWriter?> = Mutex(nil)
    /// The callers waiting for answers, by id; `nil` once the connection ended (no new caller may wait).
    private let waiting = Mutex<[Int: CheckedContinuation<[UInt8], any Error>]?>([:])
    private let connection: Mutex<Task<Void, Never>?> = Mutex(nil)

    static func connect(url: String, logger: Logger) async throws -> WebSocketLoadClient {
        let client = WebSocketLoadClient()
        let (ready, readiness) = AsyncStream<Void>.makeStream()
        let task = Task {
            _ = try? await WebSocketClient.connect(
                url: url,
                configuration: .init(
                    maxFrameSize: 1 << 24, additionalHeaders: [HTTPField.Name("Sec-WebSocket-Protocol")!: "mcp"]),
                logger: logger
            ) { inbound, outbound, _ in
                client.outbound.withLock { $0 = outbound }
                readiness.yield()
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    guard case .text(let text) = message, let reply = try? JSONRPCMessage.parse(Array(text.utf8)),
                        let id = reply.id?.description, let key = Int(id)
                    else { continue }
                    client.waiting.withLock { $0?.removeValue(forKey: key) }?.resume(returning: reply.bytes)
                }
            }
            readiness.finish()
            let stranded = client.waiting.withLock { waiting in
                defer { waiting = nil }
                return waiting.map { Array($0.values) } ?? []
            }
            for waiter in stranded { waiter.resume(throwing: BenchmarkError("the WebSocket closed")) }
        }
        client.connection.withLock { $0 = task }
        for await _ in ready { break }
        guard client.outbound.withLock({ $0 }) != nil else {
            throw BenchmarkError("WebSocket upgrade to \(url) failed")
        }
        let initialize =
            #"{"jsonrpc":"2.0","id":-1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"gateway-bench","version":"1"}}}"#
        _ = try await client.exchange(id: -1, Array(initialize.utf8))
        try await client.send(Array(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.utf8))
        return client
    }

    func call(id: Int, tool: String) async throws {
        let request =
            #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":{"text":"hello"}}}"#
        let answer = try await exchange(id: id, Array(request.utf8))
        guard (try? JSONRPCMessage.parse(answer))?.kind == .response else {
            throw BenchmarkError("tools/call failed: \(String(decoding: answer, as: UTF8.self))")
        }
    }

    func close() async {
        try? await outbound.withLock { $0 }?.close(.normalClosure, reason: nil)
        connection.withLock { $0 }?.cancel()
    }

    private func exchange(id: Int, _ bytes: [UInt8]) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            let registered = waiting.withLock { waiting in
                guard waiting != nil else { return false }
                waiting![id] = continuation
                return true
            }
            guard registered else {
                continuation.resume(throwing: BenchmarkError("the WebSocket closed"))
                return
            }
            Task {
                do { try await send(bytes) } catch {
                    waiting.withLock { $0?.removeValue(forKey: id) }?.resume(throwing: error)
                }
            }
        }
    }

    private func send(_ bytes: [UInt8]) async throws {
        guard let outbound = outbound.withLock({ $0 }) else { throw BenchmarkError("not connected") }
        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: bytes))))
    }
}
