import GatewayCore
import GatewayWire
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// MCP over WebSocket on `/ws` and `/mcp/{server}/ws`: subprotocol `mcp`, one JSON-RPC message (or 2025-03-26
/// batch) per text frame, both ways. The connection is the session: it starts with `initialize` and ends when
/// either side closes, as with stdio.
///
/// The upgrade request passes the same checks as every MCP route (endpoint scope, Origin, authentication) and must
/// offer the `mcp` subprotocol. The WebSocket layer answers a refused upgrade with a bare 400; a plain GET of the
/// same path (no upgrade) runs the same checks and answers with the reason (404, 403, 401), or 426 when they pass.
/// Binary frames end the connection with 1003, messages over the request body limit with 1009.
public struct WebSocketEndpoint: Sendable {
    let dispatcher: MCPDispatcher
    let checks: RequestChecks
    let maxMessageBytes: Int

    static let subprotocol = "mcp"
    /// Requests of one connection handled at once; one more is refused (-32603) until one is answered.
    static let concurrentRequests = 64

    public init(router: MCPRouter, configuration: GatewayConfiguration) {
        self.dispatcher = MCPDispatcher(router: router)
        self.checks = RequestChecks(origins: configuration.origins, limits: configuration.limits)
        self.maxMessageBytes = configuration.limits.maxRequestBodyBytes
    }

    // MARK: The upgrade

    /// Why the upgrade request is refused, or `nil` when it may become an MCP WebSocket.
    func refusal(_ request: Request, context: some ClientRequestContext, server: String?) -> GatewayError? {
        do throws(GatewayError) {
            _ = try checks.scope(server: server, in: dispatcher.router.directory)
            try checks.checkOrigin(request)
            _ = try checks.authenticated(context)
        } catch {
            return error
        }
        let offered: [String] = request.headers[values: .secWebSocketProtocol].flatMap { value in
            value.split(separator: ",").map { String($0.filter { $0 != " " && $0 != "\t" }) }
        }
        guard offered.contains(Self.subprotocol) else {
            return GatewayError(
                .invalidRequest,
                "Bad Request: MCP over WebSocket needs the subprotocol: send Sec-WebSocket-Protocol: \(Self.subprotocol)"
            )
        }
        return nil
    }

    /// The WebSocket router's decision: upgrade with the `mcp` subprotocol, or leave the request to the HTTP route.
    func shouldUpgrade(_ request: Request, context: GatewayWebSocketContext, server: String?) -> RouterShouldUpgrade {
        guard refusal(request, context: context, server: server) == nil else { return .dontUpgrade }
        return .upgrade([.secWebSocketProtocol: Self.subprotocol])
    }

    /// The plain HTTP answer on a WebSocket path: why the upgrade was refused, or 426 when none was asked for.
    public func plainRequest(_ request: Request, context: GatewayRequestContext, server: String?) -> Response {
        let upgrading = request.headers[.upgrade]?.lowercased() == "websocket"
        if let refusal = refusal(request, context: context, server: server),
            upgrading || refusal.code != .invalidRequest
        {
            return refusal.httpResponse()
        }
        var response = GatewayError(
            .upgradeRequired, "Upgrade Required: this path speaks MCP over WebSocket (subprotocol \(Self.subprotocol))"
        ).httpResponse()
        response.headers[.upgrade] = "websocket"
        return response
    }

    // MARK: The connection

    /// Serves one upgraded connection as one session, until the client closes or the session ends. A close
    /// the transport decides (a message over the limit: 1009) is thrown back to it, which sends it. At shutdown the
    /// WebSocket layer closes every connection normally.
    func serve(
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        context: WebSocketRouterContext<GatewayWebSocketContext>,
        server: String?
    ) async throws {
        let logger = context.logger
        guard let identity = context.requestContext.identity,
            let scope = try? checks.scope(server: server, in: dispatcher.router.directory),
            let session = try? dispatcher.sessions.create(
                identity: identity,
                scope: scope,
                transport: .webSocket,
                protocolVersion: LegacySSEEndpoint.transportVersion,
                clientCapabilities: [:],
                clientInfo: nil,
                handshakeComplete: false
            )
        else {
            try? await outbound.close(.unexpectedServerError, reason: "the gateway cannot open another session now")
            return
        }
        let sessions = dispatcher.sessions
        defer { sessions.remove(id: session.id, for: identity) }
        logger.debug("WebSocket session opened", metadata: ["gateway.session.id": "\(session.id.prefix(8))"])
        let pushes = session.openPushStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await message in pushes {
                    do { try await Self.write(message.bytes, to: outbound) } catch { return }
                }
                // The stream ended without the connection: the client fell too far behind, or the session was ended.
                if !Task.isCancelled { try? await outbound.close(.goingAway, reason: "the session ended") }
            }
            group.addTask { try await read(inbound, outbound: outbound, session: session, logger: logger) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Frames of at most this size carry a message (larger ones go as a text frame and continuations).
    static let frameBytes = 1 << 20

    /// One message as one text frame, or split into continuation frames when larger than ``frameBytes``.
    private static func write(_ message: [UInt8], to outbound: WebSocketOutboundWriter) async throws {
        guard message.count > frameBytes else {
            try await outbound.write(
                .custom(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: message))))
            return
        }
        var start = 0
        while start < message.count {
            let end = min(start + frameBytes, message.count)
            let frame = WebSocketFrame(
                fin: end == message.count, opcode: start == 0 ? .text : .continuation,
                data: ByteBuffer(bytes: message[start..<end]))
            try await outbound.write(.custom(frame))
            start = end
        }
    }

    /// Reads the client's messages, never pausing (pings, the client's answers and its cancellations must get
    /// through however busy the connection is): `initialize`, notifications and the client's answers at once and in
    /// order; requests as child tasks, at most ``concurrentRequests`` at a time (one more is refused with -32603).
    /// Leaving cancels the requests still running, which tells their servers.
    private func read(
        _ inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        session: ClientSession,
        logger: Logger
    ) async throws {
        let dispatcher = dispatcher
        let slots = RequestSlots(Self.concurrentRequests)
        try await withThrowingDiscardingTaskGroup { requests in
            defer { requests.cancelAll() }
            for try await message in inbound.messages(maxSize: maxMessageBytes) {
                guard case .text(let text) = message else {
                    try? await outbound.close(
                        .unacceptableData, reason: "MCP over WebSocket carries JSON-RPC in text frames")
                    return
                }
                let payload: JSONRPCPayload
                do throws(JSONRPCDecodingError) {
                    payload = try JSONRPCPayload.parse(Array(text.utf8))
                } catch {
                    session.push(GatewayError(error).jsonRPCResponse(id: error.id))
                    continue
                }
                guard case .single(let single) = payload, single.kind == .request, single.method != "initialize"
                else {
                    await dispatcher.receive(payload, in: session, logger: logger)
                    continue
                }
                guard slots.take() else {
                    session.push(
                        GatewayError(
                            .overloaded,
                            "Overloaded: \(Self.concurrentRequests) requests are in flight on this connection; retry when one is answered"
                        ).jsonRPCResponse(id: single.id))
                    continue
                }
                requests.addTask {
                    // The place is free before the answer leaves: the client may send its next request on seeing it.
                    await dispatcher.receive(payload, in: session, logger: logger) { slots.release() }
                }
            }
        }
    }
}

/// How many more requests a connection may have in flight.
private final class RequestSlots: Sendable {
    private let free: Mutex<Int>

    init(_ count: Int) { free = Mutex(count) }

    /// Takes a slot; `false` when none is free.
    func take() -> Bool {
        free.withLock { free in
            guard free > 0 else { return false }
            free -= 1
            return true
        }
    }

    func release() { free.withLock { $0 += 1 } }
}
