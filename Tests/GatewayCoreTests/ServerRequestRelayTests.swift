import GatewayWire
import Synchronization
import Testing

@testable import GatewayCore

/// Requests an upstream sends its client, on a connection whose messages name no request (stdio, HTTP+SSE): placed
/// on the call of the only client with calls in flight, refused otherwise; and the routes that bring answers back.
@Suite("Server-to-client requests: attribution and routes")
struct ServerRequestRelayTests {
    static let sampling = #"{"jsonrpc":"2.0","id":0,"method":"sampling/createMessage","params":{"maxTokens":5}}"#

    /// A forwarded `tools/call` of `owner` whose sink mints ids from `routes`, as the router's does.
    func call(owner: String, id: Int, routes: ServerRequestRoutes) throws -> UpstreamRequest {
        let text = #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"ask"}}"#
        var request = UpstreamRequest(
            .forward(try JSONRPCMessage.parse(Array(text.utf8)), edits: []), owner: owner,
            idleTimeout: .seconds(10), maxDuration: .seconds(30))
        request.serverRequests = ServerRequestSink { message, answer in
            let minted = routes.add(
                owner: owner, upstreamID: message.id!, method: message.method!, lifetime: .seconds(30), answer: answer)
            return .success(message.splicing([message.replacingID(with: minted)!]))
        }
        return request
    }

    @Test("with one client's call in flight, the request reaches that call's stream under a gateway id")
    func soleClient() async throws {
        let pending = PendingCalls()
        let routes = ServerRequestRoutes()
        let request = try call(owner: "A", id: 7, routes: routes)
        async let reply = pending.call(request) { _ in nil }
        while pending.count == 0 { await Task.yield() }
        let answered = Mutex<[UInt8]?>(nil)
        let refusal = pending.relayServerRequest(try JSONRPCMessage.parse(Array(Self.sampling.utf8))) { bytes in
            answered.withLock { $0 = bytes }
        }
        #expect(refusal == nil)
        guard case .stream(let first, _) = try await reply else {
            Issue.record("the call did not become a stream")
            return
        }
        let relayed = try JSONRPCMessage.parse(first)
        #expect(relayed.method == "sampling/createMessage")
        #expect(relayed.id == JSONRPCID(1))
        #expect(routes.take(owner: "B", id: JSONRPCID(1)) == nil)
        let route = try #require(routes.take(owner: "A", id: JSONRPCID(1)))
        #expect(route.upstreamID == JSONRPCID(0))
        await route.answer(Array("answer".utf8))
        #expect(answered.withLock { $0 } == Array("answer".utf8))
        #expect(routes.take(owner: "A", id: JSONRPCID(1)) == nil)
        pending.failAll(GatewayError(.internalError, "done"), close: true)
    }

    @Test("with calls of two clients in flight, the request is refused and reaches neither")
    func twoClients() async throws {
        let pending = PendingCalls()
        let routes = ServerRequestRoutes()
        let requests = [try call(owner: "A", id: 1, routes: routes), try call(owner: "B", id: 1, routes: routes)]
        let outcomes = await withTaskGroup(of: String.self) { group in
            for request in requests {
                group.addTask {
                    do { return "\(try await pending.call(request) { _ in nil })" } catch { return "\(error)" }
                }
            }
            while pending.count < 2 { await Task.yield() }
            let refusal = pending.relayServerRequest(try! JSONRPCMessage.parse(Array(Self.sampling.utf8))) { _ in }
            let message = try? JSONRPCMessage.parse(refusal ?? [])
            #expect(message?.kind == .errorResponse)
            #expect(message?.id == JSONRPCID(0))
            #expect(
                message?.error?["message"]?.stringValue
                    == "The gateway cannot relay sampling/createMessage: 2 clients have requests in flight on this shared connection, and the request names none of them"
            )
            #expect(routes.count == 0)
            pending.failAll(GatewayError(.internalError, "done"), close: true)
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(outcomes.count == 2 && outcomes.allSatisfy { $0.contains("done") })
    }

    @Test("ping is answered at once; with nothing in flight other requests are refused")
    func nothingInFlight() throws {
        let pending = PendingCalls()
        let ping = try JSONRPCMessage.parse(Array(#"{"jsonrpc":"2.0","id":"p","method":"ping"}"#.utf8))
        #expect(pending.relayServerRequest(ping) { _ in } == Array(#"{"jsonrpc":"2.0","id":"p","result":{}}"#.utf8))
        let refusal = try JSONRPCMessage.parse(
            pending.relayServerRequest(try JSONRPCMessage.parse(Array(Self.sampling.utf8))) { _ in } ?? [])
        #expect(
            refusal.error?["message"]?.stringValue?.hasSuffix("no client request is in flight on this connection")
                == true)
    }

    @Test(
        "a request is only sent to a client that declared the capability",
        arguments: [
            ("sampling/createMessage", #"{}"#, #"{"sampling":{}}"#, true),
            ("sampling/createMessage", #"{}"#, #"{"roots":{}}"#, false),
            ("sampling/createMessage", #"{"tools":[]}"#, #"{"sampling":{}}"#, false),
            ("sampling/createMessage", #"{"tools":[]}"#, #"{"sampling":{"tools":{}}}"#, true),
            ("elicitation/create", #"{}"#, #"{"elicitation":{}}"#, true),
            ("elicitation/create", #"{"mode":"url"}"#, #"{"elicitation":{}}"#, false),
            ("elicitation/create", #"{"mode":"url"}"#, #"{"elicitation":{"url":{}}}"#, true),
            ("elicitation/create", #"{}"#, #"{"elicitation":{"url":{}}}"#, false),
            ("roots/list", #"{}"#, #"{"roots":{"listChanged":true}}"#, true),
            ("roots/list", #"{}"#, #"{}"#, false),
            ("tasks/get", #"{}"#, #"{"sampling":{}}"#, false),
        ])
    func capabilities(method: String, params: String, capabilities: String, allowed: Bool) throws {
        let missing = MCPRouter.missingCapability(
            for: method, params: try JSONParser.parse(Array(params.utf8)),
            in: try JSONParser.parse(Array(capabilities.utf8)))
        #expect((missing == nil) == allowed, "\(missing ?? "allowed")")
    }
}
