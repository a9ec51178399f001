import Foundation
import GatewayWire
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// Serves ``DemoServer`` over Streamable HTTP at `/mcp`: sessions, JSON answers, and SSE answers for tools that
/// send progress or log messages first. Used as an HTTP upstream by the tests and the benchmark.
public enum DemoHTTPRunner {
    static let sessionHeader = HTTPField.Name("Mcp-Session-Id")!

    public static func run(host: String, port: Int, onReady: @escaping @Sendable (Int) -> Void = { _ in }) async throws
    {
        let sessions = Mutex<Set<String>>([])
        let server = DemoServer()
        let router = Router()
        router.post("/mcp") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 4 * 1024 * 1024)
            let message: JSONRPCMessage
            do throws(JSONRPCDecodingError) {
                message = try JSONRPCMessage.parse(Array(body.readableBytesView))
            } catch {
                return json(
                    .badRequest, JSONRPCMessage.encodeError(id: error.id, code: error.code, message: error.message))
            }
            if message.method == "initialize" {
                let id = UUID().uuidString
                sessions.withLock { _ = $0.insert(id) }
                guard case .reply(let bytes) = server.handle(message) else {
                    return Response(status: .internalServerError)
                }
                var response = json(.ok, bytes)
                response.headers[sessionHeader] = id
                return response
            }
            guard let id = request.headers[sessionHeader] else {
                return json(
                    .badRequest,
                    JSONRPCMessage.encodeError(
                        id: message.id, code: -32600, message: "Bad Request: missing Mcp-Session-Id"))
            }
            guard sessions.withLock({ $0.contains(id) }) else {
                return json(
                    .notFound, JSONRPCMessage.encodeError(id: message.id, code: -32600, message: "Session not found"))
            }
            switch server.handle(message) {
            case .none:
                return Response(status: .accepted)
            case .reply(let bytes):
                return json(.ok, bytes)
            case .later(let work):
                var headers = HTTPFields()
                headers[.contentType] = "text/event-stream"
                headers[.cacheControl] = "no-cache"
                return Response(
                    status: .ok,
                    headers: headers,
                    body: ResponseBody { writer in
                        let (events, continuation) = AsyncStream.makeStream(of: [UInt8].self)
                        Task {
                            let final = await work { notification in continuation.yield(notification) }
                            continuation.yield(final)
                            continuation.finish()
                        }
                        for await event in events { try await writer.write(ByteBuffer(bytes: SSEEncoder.event(event))) }
                        try await writer.finish(nil)
                    }
                )
            }
        }
        router.get("/mcp") { _, _ in Response(status: .methodNotAllowed) }
        router.delete("/mcp") { request, _ -> Response in
            guard let id = request.headers[sessionHeader], sessions.withLock({ $0.remove(id) != nil }) else {
                return Response(status: .notFound)
            }
            return Response(status: .ok)
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "mcp-gateway-demo"),
            onServerRunning: { channel in onReady(channel.localAddress?.port ?? port) }
        )
        try await app.runService()
    }

    static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
