/// One JSON-RPC 2.0 message, decoded only as far as the gateway routes on it.
///
/// The original bytes are kept. Top-level members, the members of `params` and those of `params._meta` are indexed
/// as byte ranges; anything else (arguments, results, unknown fields) is never decoded on the hot path. Rewrites
/// are byte splices (``ByteEdit``), so a message nobody rewrites leaves the gateway byte-identical.
public struct JSONRPCMessage: Sendable {
    public enum Kind: Sendable, Equatable {
        case request
        case notification
        case response
        case errorResponse
    }

    public let bytes: [UInt8]
    public let kind: Kind
    /// The id; `nil` for notifications and for error responses whose id is `null`.
    public let id: JSONRPCID?
    public let method: String?
    public let idRange: Range<Int>?
    public let paramsRange: Range<Int>?
    public let resultRange: Range<Int>?
    public let errorRange: Range<Int>?
    /// The range of `params._meta`, when it is an object.
    public let metaRange: Range<Int>?
    private let paramMembers: [JSONMember]
    private let metaMembers: [JSONMember]

    // MARK: Decoding

    /// Decodes one message. Arrays (batches) are refused here; see ``JSONRPCPayload``.
    public static func parse(_ bytes: [UInt8]) throws(JSONRPCDecodingError) -> JSONRPCMessage {
        let members: [JSONMember]?
        do {
            members = try JSONParser.topLevelMembers(of: bytes, expanding: Self.routedMembers)
        } catch {
            throw JSONRPCDecodingError(error)
        }
        guard let members else {
            throw JSONRPCDecodingError(
                code: JSONRPCErrorCode.invalidRequest,
                message: "Invalid Request: a JSON-RPC message must be a JSON object"
            )
        }
        return try JSONRPCMessage(bytes: bytes, members: members)
    }

    private init(bytes: [UInt8], members: [JSONMember]) throws(JSONRPCDecodingError) {
        func range(_ key: String) -> Range<Int>? { members.first { $0.key == key }?.value }
        self.bytes = bytes
        let idRange = range("id")
        self.idRange = idRange
        var id: JSONRPCID? = nil
        var idIsNull = false
        if let idRange {
            switch bytes[idRange.lowerBound] {
            case UInt8(ascii: "\""): id = JSONRPCID(lexeme: Array(bytes[idRange]), kind: .string)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                id = JSONRPCID(lexeme: Array(bytes[idRange]), kind: .number)
            case UInt8(ascii: "n"): idIsNull = true
            default:
                throw JSONRPCDecodingError(
                    code: JSONRPCErrorCode.invalidRequest,
                    message: "Invalid Request: \"id\" must be a string or a number"
                )
            }
        }
        self.id = id
        func invalid(_ reason: String) -> JSONRPCDecodingError {
            JSONRPCDecodingError(code: JSONRPCErrorCode.invalidRequest, message: "Invalid Request: \(reason)", id: id)
        }
        guard let versionRange = range("jsonrpc"), bytes[versionRange].elementsEqual("\"2.0\"".utf8) else {
            throw invalid("\"jsonrpc\" must be \"2.0\"")
        }
        self.paramsRange = range("params")
        self.resultRange = range("result")
        self.errorRange = range("error")

        if let methodRange = range("method") {
            guard bytes[methodRange.lowerBound] == UInt8(ascii: "\""),
                case .string(let method) = JSONParser.value(in: bytes, at: methodRange)
            else { throw invalid("\"method\" must be a string") }
            self.method = method
            guard resultRange == nil, errorRange == nil else {
                throw invalid("a request cannot carry \"result\" or \"error\"")
            }
            if idIsNull { throw invalid("\"id\" must not be null") }
            self.kind = idRange == nil ? .notification : .request
        } else {
            self.method = nil
            guard idRange != nil else { throw invalid("\"method\" is missing") }
            switch (resultRange, errorRange) {
            case (.some, nil):
                if idIsNull { throw invalid("\"id\" must not be null") }
                self.kind = .response
            case (nil, .some): self.kind = .errorResponse
            default: throw invalid("a response must carry exactly one of \"result\" and \"error\"")
            }
        }

        var paramMembers: [JSONMember] = []
        var metaMembers: [JSONMember] = []
        var metaRange: Range<Int>? = nil
        if let paramsRange, kind == .request || kind == .notification {
            guard bytes[paramsRange.lowerBound] == UInt8(ascii: "{") else {
                throw JSONRPCDecodingError(
                    code: JSONRPCErrorCode.invalidParams,
                    message: "Invalid params: \"params\" must be an object",
                    id: id
                )
            }
            let params = members.first { $0.key == "params" }
            paramMembers = params?.members ?? []
            if let meta = paramMembers.first(where: { $0.key == "_meta" }), let metaIndex = meta.members {
                metaRange = meta.value
                metaMembers = metaIndex
            }
        }
        self.paramMembers = paramMembers
        self.metaMembers = metaMembers
        self.metaRange = metaRange
    }

    /// `params` and `params._meta` are indexed while the message is validated, in one pass.
    static let routedMembers = MemberExpansion(nested: ["params": MemberExpansion(nested: ["_meta": .none])])

    // MARK: Reading

    /// The byte range of `params[key]`.
    public func param(_ key: String) -> Range<Int>? {
        paramMembers.first { $0.key == key }?.value
    }

    /// `params[key]` when it is a string.
    public func paramString(_ key: String) -> String? {
        guard let range = param(key), bytes[range.lowerBound] == UInt8(ascii: "\"") else { return nil }
        return JSONParser.value(in: bytes, at: range).stringValue
    }

    /// `params[key]`, decoded.
    public func paramValue(_ key: String) -> JSONValue? {
        param(key).map { JSONParser.value(in: bytes, at: $0) }
    }

    /// The byte range of `params._meta[key]`.
    public func meta(_ key: String) -> Range<Int>? {
        metaMembers.first { $0.key == key }?.value
    }

    /// `params._meta.progressToken`.
    public var progressTokenRange: Range<Int>? { meta("progressToken") }

    /// The members of the object at `range` (a range this message reported), for rewriting nested fields such as
    /// `params.ref.name`. Empty when the value there is not an object.
    public func members(at range: Range<Int>) -> [JSONMember] {
        guard bytes[range.lowerBound] == UInt8(ascii: "{") else { return [] }
        return JSONParser.validMembers(of: bytes, at: range)
    }

    public var params: JSONValue? { paramsRange.map { JSONParser.value(in: bytes, at: $0) } }
    public var result: JSONValue? { resultRange.map { JSONParser.value(in: bytes, at: $0) } }
    public var error: JSONValue? { errorRange.map { JSONParser.value(in: bytes, at: $0) } }

    public func slice(_ range: Range<Int>) -> [UInt8] { Array(bytes[range]) }

    /// The value at `range` (a range this message reported), decoded.
    public func value(at range: Range<Int>) -> JSONValue { JSONParser.value(in: bytes, at: range) }

    // MARK: Rewriting

    /// The message's bytes with `edits` applied.
    public func splicing(_ edits: [ByteEdit]) -> [UInt8] { bytes.applying(edits) }

    /// The edit that replaces the id; `nil` when the message has none.
    public func replacingID(with id: JSONRPCID) -> ByteEdit? {
        idRange.map { ByteEdit(range: $0, replacement: id.lexeme) }
    }
}

/// A POST body: one message, or (protocol 2025-03-26 only) a batch.
public enum JSONRPCPayload: Sendable {
    case single(JSONRPCMessage)
    /// Each element decoded on its own; one bad element does not spoil the others.
    case batch([Result<JSONRPCMessage, JSONRPCDecodingError>])

    public static func parse(_ bytes: [UInt8]) throws(JSONRPCDecodingError) -> JSONRPCPayload {
        var position = 0
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        guard position < bytes.count, bytes[position] == UInt8(ascii: "[") else {
            return .single(try JSONRPCMessage.parse(bytes))
        }
        let elements: [Range<Int>]
        do {
            elements = try JSONParser.topLevelElements(of: bytes)
        } catch {
            throw JSONRPCDecodingError(error)
        }
        guard !elements.isEmpty else {
            throw JSONRPCDecodingError(code: JSONRPCErrorCode.invalidRequest, message: "Invalid Request: empty batch")
        }
        return .batch(
            elements.map { range in
                do throws(JSONRPCDecodingError) {
                    return .success(try JSONRPCMessage.parse(Array(bytes[range])))
                } catch {
                    return .failure(error)
                }
            }
        )
    }
}
