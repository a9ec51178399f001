import GatewayWire
import Logging
import Synchronization

@testable import GatewayCore

/// An in-memory upstream instance that answers through the real encode/restore path, and records what it received.
final class FakeUpstream: UpstreamTransport {
    typealias Handler = @Sendable (_ method: String, _ params: JSONValue?) throws(GatewayError) -> JSONValue

    let instanceID: String
    let handler: Handler
    let capabilities: JSONObject
    let received = Mutex<[JSONRPCMessage]>([])
    private let isDown: Bool
    /// `.modern`: served as a 2026-07-28 server (requests are encoded with their `_meta`).
    let era: MCPEra

    init(
        _ id: String, capabilities: JSONObject = ["tools": [:], "prompts": [:], "resources": [:]], down: Bool = false,
        era: MCPEra = .legacy, handler: @escaping Handler
    ) {
        self.instanceID = id
        self.capabilities = capabilities
        self.isDown = down
        self.era = era
        self.handler = handler
    }

    var status: UpstreamStatus { isDown ? .down("fake outage") : .ready }

    var currentHandshake: UpstreamHandshake? {
        guard !isDown else { return nil }
        if era == .modern {
            return UpstreamHandshake(
                discoverResult: ["supportedVersions": ["2026-07-28"], "capabilities": .object(capabilities)])
        }
        return UpstreamHandshake(result: ["protocolVersion": "2025-11-25", "capabilities": .object(capabilities)])
    }

    func run() async {}

    func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake {
        guard let handshake = currentHandshake else { throw GatewayError(.upstreamUnavailable, "down") }
        return handshake
    }

    func send(_ request: UpstreamRequest) async throws(GatewayError) -> MCPReply {
        if isDown { throw GatewayError.upstream(.upstreamUnavailable, server: instanceID, "fake outage") }
        let message = try! JSONRPCMessage.parse(request.encoded(upstreamID: 4242, era: era))
        received.withLock { $0.append(message) }
        let answer: [UInt8]
        do throws(GatewayError) {
            answer = JSONRPCMessage.encodeResponse(
                id: message.id!, result: try handler(message.method!, message.params))
        } catch {
            answer = JSONRPCMessage.encodeError(id: message.id!, code: error.jsonRPCCode, message: error.message)
        }
        return .response(request.restoring(try! JSONRPCMessage.parse(answer)))
    }

    func cancel(owner: String, clientID: JSONRPCID?) async {}

    var lastRequest: JSONRPCMessage? { received.withLock { $0.last } }
}

func makeRouter(
    _ servers: [(name: String, prefix: String?, upstream: FakeUpstream)],
    filter: ToolFilter = ToolFilter(),
    configure: (inout ServerConfiguration) -> Void = { _ in }
) -> MCPRouter {
    let directory = UpstreamDirectory(
        servers: servers.map { entry in
            var configuration = ServerConfiguration(
                name: entry.name,
                prefix: entry.prefix,
                instances: [
                    UpstreamInstanceConfiguration(id: entry.name, transport: .stdio(StdioCommand(command: "unused")))
                ]
            )
            configuration.tools = filter
            configure(&configuration)
            return UpstreamServer(configuration: configuration, transports: [entry.upstream])
        }
    )
    return MCPRouter(
        directory: directory,
        sessions: SessionRegistry(maxSessions: 100, idleTimeout: .seconds(60)),
        names: QualifiedNames(),
        cursors: CursorCodec(secret: "test"),
        policy: AllowAllPolicy(),
        gatewayVersion: "test"
    )
}

func context(_ scope: EndpointScope = .aggregate, identity: Identity = .anonymous) -> MCPRequestContext {
    MCPRequestContext(
        identity: identity, scope: scope, protocolVersion: "2025-11-25", session: nil, logger: Logger(label: "test"))
}

extension MCPRouter {
    /// Sends `text` and returns the parsed final reply.
    func call(_ text: String, _ context: MCPRequestContext = context()) async throws -> JSONRPCMessage {
        let reply = await handle(try JSONRPCMessage.parse(Array(text.utf8)), context: context)
        return try JSONRPCMessage.parse(try await reply.finalMessage())
    }
}

/// A handler serving a fixed tool list, paginated `pageSize` at a time, and echoing calls.
func toolServer(_ tools: [String], pageSize: Int = 100) -> FakeUpstream.Handler {
    { method, params throws(GatewayError) in
        switch method {
        case "tools/list":
            let start = Int(params?["cursor"]?.stringValue ?? "0") ?? 0
            let page = tools[start..<min(start + pageSize, tools.count)]
            var result: JSONObject = [
                "tools": .array(page.map { ["name": .string($0), "inputSchema": ["type": "object"]] })
            ]
            if start + pageSize < tools.count { result["nextCursor"] = .string(String(start + pageSize)) }
            return .object(result)
        case "tools/call":
            return ["content": [["type": "text", "text": .string("called \(params?["name"]?.stringValue ?? "?")")]]]
        default:
            throw GatewayError(.methodNotFound, "Method not found: \(method)")
        }
    }
}
