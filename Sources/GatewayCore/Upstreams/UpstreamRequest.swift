import GatewayWire

/// A request on its way to one upstream, in the client's terms until a transport encodes it.
///
/// Transports mint an id unique on their connection; ``encoded(upstreamID:)`` puts it in place of the client's id
/// and of the client's progress token (so any number of clients with colliding ids and tokens can share one
/// process), and ``restoring(_:)`` puts the client's values back into what the upstream sends for this request.
public struct UpstreamRequest: Sendable {
    public enum Body: Sendable {
        /// A client's request, with the router's rewrites (e.g. the tool name without its prefix).
        case forward(JSONRPCMessage, edits: [ByteEdit])
        /// A request the gateway makes on its own account (list fan-out, `initialize`).
        case synthesized(method: String, params: JSONValue?)
    }

    /// The owner of the requests the gateway makes on its own account (`initialize`, shared subscriptions).
    public static let gatewayOwner = "gateway"

    public let body: Body
    /// Who sent it (a session id, or a principal for session-less requests): with the client's id, the key for
    /// `notifications/cancelled`, since ids collide across clients.
    public var owner: String
    /// Longest wait without any sign of life (progress notifications extend it).
    public var idleTimeout: Duration
    /// Longest the request may take at all.
    public var maxDuration: Duration
    /// Longest to wait for an instance that is still starting before failing the request.
    public var readinessWait: Duration
    /// Set for a 2026-07-28 client's request going to a session-based upstream session: its per-request `_meta`
    /// members (version, capabilities, client info, log level) are left out, since the session negotiated those,
    /// and the result gains what such a client expects (`resultType`, and caching hints on `resources/read`).
    public var bridgesStatelessClient = false
    /// Where the upstream's requests to the client go while this request is in flight; `nil` when the client cannot
    /// be asked anything during it (a batch element, a 2026-07-28 request other than a call, prompt or read, or
    /// the gateway's own requests).
    public var serverRequests: ServerRequestSink?
    /// What a 2026-07-28 upstream, which keeps no session, is told with the request.
    public var modern = ModernFields()

    /// The per-request facts a 2026-07-28 upstream needs, since it remembers nothing between requests. A 2026-07-28
    /// client's request already carries its own `_meta`; these fill it in for a session client's request, and for
    /// the gateway's own.
    public struct ModernFields: Sendable {
        /// What the client can be asked (sampling, elicitation, roots); empty when it cannot be asked during this
        /// request, so the upstream does not answer `input_required`.
        public var clientCapabilities: JSONValue = [:]
        /// The level of log messages the client wants about this request (`logging/setLevel` of its session).
        public var logLevel: LogLevel?
        /// `Mcp-Name`: the tool or prompt name, or the resource URI, as the upstream knows it (without prefix).
        public var name: String?
        /// `Mcp-Param-{name}` headers for the tool's `x-mcp-header` arguments, values already header-encoded.
        public var mirroredHeaders: [(name: String, value: String)] = []

        public init() {}
    }

    public init(
        _ body: Body,
        owner: String,
        idleTimeout: Duration,
        maxDuration: Duration,
        readinessWait: Duration? = nil
    ) {
        self.body = body
        self.owner = owner
        self.idleTimeout = idleTimeout
        self.maxDuration = max(idleTimeout, maxDuration)
        self.readinessWait = readinessWait ?? idleTimeout
    }

    /// The client's id, for forwarded requests.
    public var clientID: JSONRPCID? {
        if case .forward(let message, _) = body { return message.id }
        return nil
    }

    public var method: String {
        switch body {
        case .forward(let message, _): message.method ?? ""
        case .synthesized(let method, _): method
        }
    }

    /// The bytes to send upstream, carrying `upstreamID` as id and (if the client asked for progress) as token; for a
    /// 2026-07-28 upstream (`era` `.modern`), with the per-request `_meta` it needs.
    public func encoded(upstreamID: Int, era: MCPEra = .legacy) -> [UInt8] {
        switch body {
        case .forward(let message, let edits):
            var all = edits
            if let idEdit = message.replacingID(with: JSONRPCID(upstreamID)) { all.append(idEdit) }
            if era == .modern {
                if let edit = modernMetaEdit(message, upstreamID: upstreamID) { all.append(edit) }
            } else if bridgesStatelessClient, let meta = message.metaRange,
                case .object(var members) = message.value(at: meta)
            {
                for key in Self.statelessMetaKeys { members[key] = nil }
                if members["progressToken"] != nil { members["progressToken"] = .number(JSONNumber(upstreamID)) }
                all.append(ByteEdit(range: meta, replacement: JSONValue.object(members).serialized()))
            } else if let token = message.progressTokenRange {
                all.append(ByteEdit(range: token, replacement: Array(String(upstreamID).utf8)))
            }
            return message.splicing(all)
        case .synthesized(let method, let params):
            // The gateway's own requests: its own `_meta`, never a client's.
            return JSONRPCMessage.encodeRequest(
                id: JSONRPCID(upstreamID), method: method,
                params: era == .modern ? Self.stampedForStatelessServer(params) : params)
        }
    }

    /// How the gateway names itself to 2026-07-28 upstreams in `_meta` (it is their client).
    public static let gatewayClientInfo: JSONValue = [
        "name": "mcp-gateway", "version": .string(GatewayVersion.current),
    ]

    /// `params` with the `_meta` of a request the gateway makes on its own account to a 2026-07-28 server.
    public static func stampedForStatelessServer(_ params: JSONValue?) -> JSONValue {
        var members = params?.objectValue ?? [:]
        var meta = members["_meta"]?.objectValue ?? [:]
        meta["io.modelcontextprotocol/protocolVersion"] = .string(MCPProtocolVersion.latestStateless)
        meta["io.modelcontextprotocol/clientCapabilities"] = .object([:])
        meta["io.modelcontextprotocol/clientInfo"] = gatewayClientInfo
        members["_meta"] = .object(meta)
        return .object(members)
    }

    /// The `_meta` a 2026-07-28 upstream gets: the request's own members, the version, and (unless a 2026-07-28 client
    /// wrote them itself) the client's capabilities, the gateway as client and the log level; the progress token is
    /// the gateway's.
    private func modernMeta(_ existing: JSONObject, upstreamID: Int) -> JSONObject {
        var members = existing
        members["io.modelcontextprotocol/protocolVersion"] = .string(MCPProtocolVersion.latestStateless)
        if !bridgesStatelessClient {
            members["io.modelcontextprotocol/clientCapabilities"] = modern.clientCapabilities
            members["io.modelcontextprotocol/clientInfo"] = Self.gatewayClientInfo
            members["io.modelcontextprotocol/logLevel"] = modern.logLevel.map { .string($0.rawValue) }
        }
        if members["progressToken"] != nil { members["progressToken"] = .number(JSONNumber(upstreamID)) }
        return members
    }

    /// The edit that writes ``modernMeta(_:upstreamID:)`` into a forwarded request's params.
    private func modernMetaEdit(_ message: JSONRPCMessage, upstreamID: Int) -> ByteEdit? {
        // A `_meta` that is not an object (`null`) is replaced, never doubled.
        if let range = message.metaRange ?? message.param("_meta") {
            let existing = message.value(at: range).objectValue ?? [:]
            return ByteEdit(
                range: range, replacement: JSONValue.object(modernMeta(existing, upstreamID: upstreamID)).serialized())
        }
        guard let params = message.paramsRange, message.bytes[params.lowerBound] == UInt8(ascii: "{") else {
            return nil
        }
        var inserted = JSONValue.quoted("_meta") + [UInt8(ascii: ":")]
        inserted += JSONValue.object(modernMeta([:], upstreamID: upstreamID)).serialized()
        if !message.members(at: params).isEmpty { inserted.append(UInt8(ascii: ",")) }
        let start = params.lowerBound + 1
        return ByteEdit(range: start..<start, replacement: inserted)
    }

    /// A message the upstream sent for this request, with the client's id or progress token put back.
    public func restoring(_ message: JSONRPCMessage) -> [UInt8] {
        guard case .forward(let original, _) = body else { return message.bytes }
        switch message.kind {
        case .response, .errorResponse:
            guard let id = original.id, let edit = message.replacingID(with: id) else { return message.bytes }
            guard bridgesStatelessClient, let result = message.resultRange else { return message.splicing([edit]) }
            return message.splicing([edit] + resultAdditions(message, result: result))
        case .notification where message.method == "notifications/progress":
            guard let clientToken = original.progressTokenRange, let token = message.param("progressToken") else {
                return message.bytes
            }
            return message.splicing([ByteEdit(range: token, replacement: original.slice(clientToken))])
        default:
            return message.bytes
        }
    }

    /// The `_meta` members that only 2026-07-28 requests carry.
    static let statelessMetaKeys = [
        "io.modelcontextprotocol/protocolVersion", "io.modelcontextprotocol/clientCapabilities",
        "io.modelcontextprotocol/clientInfo", "io.modelcontextprotocol/logLevel",
    ]

    /// Members a 2026-07-28 client expects on a result that a session-based server does not write. Values are JSON.
    private var resultFields: [(key: String, value: [UInt8])] {
        var fields: [(key: String, value: [UInt8])] = [("resultType", Array(#""complete""#.utf8))]
        if method == "resources/read" {
            fields.append(("ttlMs", Array("0".utf8)))
            fields.append(("cacheScope", Array(#""private""#.utf8)))
        }
        return fields
    }

    /// The edit that inserts the missing ``resultFields`` at the start of the result object.
    private func resultAdditions(_ message: JSONRPCMessage, result: Range<Int>) -> [ByteEdit] {
        let members = message.members(at: result)
        guard message.bytes[result.lowerBound] == UInt8(ascii: "{") else { return [] }
        let present = Set(members.map(\.key))
        var inserted: [UInt8] = []
        for field in resultFields where !present.contains(field.key) {
            if !inserted.isEmpty { inserted.append(UInt8(ascii: ",")) }
            inserted += JSONValue.quoted(field.key) + [UInt8(ascii: ":")] + field.value
        }
        guard !inserted.isEmpty else { return [] }
        if !members.isEmpty { inserted.append(UInt8(ascii: ",")) }
        let start = result.lowerBound + 1
        return [ByteEdit(range: start..<start, replacement: inserted)]
    }
}
