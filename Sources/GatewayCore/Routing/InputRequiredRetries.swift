import GatewayWire
import Synchronization

/// A session client's call to a 2026-07-28 upstream, which cannot send the client requests and answers
/// `input_required` instead (the other bridge direction from ``ParkedReplies``).
///
/// Each entry of `inputRequests` becomes a request to the client on the call's stream, through the call's sink
/// (which checks the client's capabilities and mints the id), and when every answer is in, the call is sent again
/// with `inputResponses` and the upstream's `requestState` exactly as it came. Messages before the final response
/// pass through; the client sees one call with requests in the middle, as from a session-based server.
actor InputRequiredRetries {
    /// Retries that may ask again before the call is given up (a server that never stops asking).
    static let maxRounds = 8

    private let request: JSONRPCMessage
    private let edits: [ByteEdit]
    private let server: UpstreamServer
    private let owner: String
    private let sink: ServerRequestSink?
    private let modern: UpstreamRequest.ModernFields
    private let waiting: InputRounds
    private var first: [UInt8]?
    private var rest: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator?
    private var queued: [[UInt8]] = []
    private var awaiting: InputAnswers?
    /// The registration of ``awaiting`` in ``waiting``, made when its requests are queued, so a cancellation that
    /// comes while they are still on their way to the client counts.
    private var awaitingKey: Int?
    private var rounds = 0
    private var finished = false

    init(
        request: JSONRPCMessage,
        edits: [ByteEdit],
        server: UpstreamServer,
        owner: String,
        sink: ServerRequestSink?,
        modern: UpstreamRequest.ModernFields,
        waiting: InputRounds
    ) {
        self.waiting = waiting
        self.request = request
        self.edits = edits
        self.server = server
        self.owner = owner
        self.sink = sink
        self.modern = modern
    }

    deinit {
        // A client that went away mid-round leaves no registration behind.
        if let awaitingKey { waiting.remove(awaitingKey) }
    }

    /// `reply` as the session client gets it: untouched unless it ends with `input_required`.
    static func bridging(
        _ reply: MCPReply,
        request: JSONRPCMessage,
        edits: [ByteEdit],
        server: UpstreamServer,
        owner: String,
        sink: ServerRequestSink?,
        modern: UpstreamRequest.ModernFields,
        waiting: InputRounds
    ) async -> MCPReply {
        if case .response(let bytes) = reply, !Self.asksForInput(bytes) { return reply }
        let retries = InputRequiredRetries(
            request: request, edits: edits, server: server, owner: owner, sink: sink, modern: modern,
            waiting: waiting)
        await retries.start(reply)
        do {
            guard let first = try await retries.next() else { return reply }
            if await retries.isFinished { return .response(first) }
            return .stream(first: first, rest: AsyncThrowingStream { try await retries.next() })
        } catch {
            let failure = error as? GatewayError ?? GatewayError(.internalError, "\(error)")
            return .response(failure.jsonRPCResponse(id: request.id))
        }
    }

    var isFinished: Bool { finished && queued.isEmpty && awaiting == nil }

    private static let marker = Array(#""input_required""#.utf8)

    /// A cheap look at a plain reply: `false` when it cannot be an `input_required` result.
    static func asksForInput(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= marker.count else { return false }
        var index = 0
        let last = bytes.count - marker.count
        while index <= last {
            if bytes[index] == marker[0], bytes[index..<(index + marker.count)].elementsEqual(marker) { return true }
            index += 1
        }
        return false
    }

    private func start(_ reply: MCPReply) {
        switch reply {
        case .response(let bytes): first = bytes
        case .stream(let head, let tail):
            first = head
            rest = tail.makeAsyncIterator()
        }
    }

    /// The next message for the client: what the upstream sent, the requests it asked for, then the final response
    /// of the last retry.
    func next() async throws -> [UInt8]? {
        while true {
            if !queued.isEmpty { return queued.removeFirst() }
            if let answers = awaiting {
                awaiting = nil
                defer {
                    if let awaitingKey { waiting.remove(awaitingKey) }
                    awaitingKey = nil
                }
                try await retry(with: await answers.collected(within: server.configuration.maxCallDuration))
                continue
            }
            guard !finished, let bytes = try await nextFromUpstream() else { return nil }
            guard let message = try? JSONRPCMessage.parse(bytes),
                message.kind == .response || message.kind == .errorResponse
            else { return bytes }
            guard let result = message.result, result["resultType"]?.stringValue == "input_required" else {
                finished = true
                return bytes
            }
            if let refusal = ask(result) {
                finished = true
                return refusal.jsonRPCResponse(id: request.id)
            }
        }
    }

    private func nextFromUpstream() async throws -> [UInt8]? {
        if let first {
            self.first = nil
            return first
        }
        guard var iterator = rest else { return nil }
        defer { rest = iterator }
        return try await iterator.next(isolation: self)
    }

    /// Queues the requests of an `input_required` result for the client; the error that ends the call instead.
    private func ask(_ result: JSONValue) -> GatewayError? {
        rounds += 1
        guard rounds <= Self.maxRounds else {
            return .upstream(
                .upstreamProtocolError, server: server.name,
                "asked for input more than \(Self.maxRounds) times in one call")
        }
        let requests = result["inputRequests"]?.objectValue ?? [:]
        let answers = InputAnswers(keys: requests.keys, state: result["requestState"]?.stringValue)
        if !requests.isEmpty, sink == nil {
            let methods = requests.members.compactMap { $0.value["method"]?.stringValue }.joined(separator: ", ")
            return .upstream(
                .upstreamRejected, server: server.name,
                "needs input from the client (\(methods)), which cannot be asked during this request"
            )
        }
        for (index, entry) in requests.members.enumerated() {
            guard let sink, let method = entry.value["method"]?.stringValue,
                let message = try? JSONRPCMessage.parse(
                    JSONRPCMessage.encodeRequest(
                        id: JSONRPCID(index + 1), method: method, params: entry.value["params"]))
            else {
                return .upstream(.upstreamProtocolError, server: server.name, "sent an input request without a method")
            }
            let key = entry.key
            switch sink.forward(message, answer: { answer in answers.deliver(key, answer) }) {
            case .success(let bytes): queued.append(bytes)
            case .failure(let error):
                // Nothing of this round reaches the client after the call's error.
                queued.removeAll()
                return error
            }
        }
        awaiting = answers
        // No upstream request is in flight while the client answers: a cancellation must reach this wait.
        awaitingKey = waiting.add(answers, owner: owner, clientID: request.id)
        return nil
    }

    /// Sends the call again with the client's answers and the upstream's state; its reply is read next.
    private func retry(with collected: (responses: JSONObject, state: String?)) async throws {
        guard let params = request.paramsRange, request.bytes[params.lowerBound] == UInt8(ascii: "{") else {
            throw GatewayError(.invalidParams, "Invalid params: expected an object")
        }
        var members: [(key: String, value: JSONValue)] = [("inputResponses", .object(collected.responses))]
        if let state = collected.state { members.append(("requestState", .string(state))) }
        var inserted = Array(JSONValue.object(JSONObject(members: members)).serialized().dropFirst().dropLast())
        if !request.members(at: params).isEmpty { inserted.append(UInt8(ascii: ",")) }
        let position = params.lowerBound + 1
        let reply = try await server.send(
            .forward(request, edits: edits + [ByteEdit(range: position..<position, replacement: inserted)]),
            owner: owner, affinity: owner, serverRequests: sink, modern: modern)
        start(reply)
    }
}

/// The client's answers to one round of input requests, by their `inputRequests` key.
final class InputAnswers: Sendable {
    private struct State {
        var missing: Set<String>
        var responses: JSONObject = [:]
        var failure: GatewayError?
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state: Mutex<State>
    private let keys: [String]
    private let requestState: String?

    init(keys: [String], state: String?) {
        self.keys = keys
        self.requestState = state
        self.state = Mutex(State(missing: Set(keys)))
    }

    /// Records the client's answer (a JSON-RPC response) to the request under `key`.
    func deliver(_ key: String, _ answer: [UInt8]) {
        let message = try? JSONRPCMessage.parse(answer)
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.missing.remove(key) != nil else { return nil }
            if let result = message?.result {
                state.responses[key] = result
            } else {
                let text = message?.error?["message"]?.stringValue ?? "no result"
                state.failure =
                    state.failure ?? GatewayError(.invalidRequest, "The client refused an input request: \(text)")
            }
            guard state.missing.isEmpty || state.failure != nil else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Every answer, in the order the upstream asked, with the state to send back; throws when the client refused
    /// one, gave none within `limit`, or the call was cancelled.
    func collected(within limit: Duration) async throws(GatewayError) -> (responses: JSONObject, state: String?) {
        let timer = Task { [weak self] in
            try await Task.sleep(for: limit)
            self?.fail(GatewayError(.upstreamTimeout, "The client did not answer the input requests within \(limit)"))
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state in
                    guard state.missing.isEmpty || state.failure != nil else {
                        state.waiter = continuation
                        return false
                    }
                    return true
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            fail(GatewayError(.internalError, "request cancelled"))
        }
        let (responses, failure) = state.withLock { ($0.responses, $0.failure) }
        if let failure { throw failure }
        return (
            JSONObject(members: keys.compactMap { key in responses[key].map { (key: key, value: $0) } }), requestState
        )
    }

    func fail(_ error: GatewayError) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.failure = state.failure ?? error
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}

/// The rounds of ``InputRequiredRetries`` waiting for a client's answers, so that the client's
/// `notifications/cancelled` (or its session ending) ends the wait: no upstream request is in flight then.
final class InputRounds: Sendable {
    private let rounds = Mutex<[Int: (owner: String, clientID: JSONRPCID?, answers: InputAnswers)]>([:])
    private let next = Mutex(0)

    func add(_ answers: InputAnswers, owner: String, clientID: JSONRPCID?) -> Int {
        let key = next.withLock { next in
            defer { next += 1 }
            return next
        }
        rounds.withLock { $0[key] = (owner, clientID, answers) }
        return key
    }

    func remove(_ key: Int) { _ = rounds.withLock { $0.removeValue(forKey: key) } }

    /// Ends the waits of `owner`'s request `clientID` (with `nil`, all of `owner`'s).
    func cancel(owner: String, clientID: JSONRPCID?) {
        let matching = rounds.withLock { rounds in
            rounds.values.filter { $0.owner == owner && (clientID == nil || $0.clientID == clientID) }.map(\.answers)
        }
        for answers in matching { answers.fail(GatewayError(.internalError, "request cancelled")) }
    }
}
