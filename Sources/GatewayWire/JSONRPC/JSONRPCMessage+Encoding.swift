extension JSONRPCMessage {
    /// `{"jsonrpc":"2.0","id":…,"result":…}` with `result` as given bytes.
    public static func encodeResponse(id: JSONRPCID, result: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(36 + id.lexeme.count + result.count)
        output.append(contentsOf: #"{"jsonrpc":"2.0","id":"#.utf8)
        output.append(contentsOf: id.lexeme)
        output.append(contentsOf: #","result":"#.utf8)
        output.append(contentsOf: result)
        output.append(UInt8(ascii: "}"))
        return output
    }

    public static func encodeResponse(id: JSONRPCID, result: JSONValue) -> [UInt8] {
        encodeResponse(id: id, result: result.serialized())
    }

    /// An error response; a `nil` id is written as `null`.
    public static func encodeError(id: JSONRPCID?, code: Int, message: String, data: JSONValue? = nil) -> [UInt8] {
        var output: [UInt8] = []
        output.append(contentsOf: #"{"jsonrpc":"2.0","id":"#.utf8)
        output.append(contentsOf: id?.lexeme ?? Array("null".utf8))
        output.append(contentsOf: #","error":{"code":"#.utf8)
        output.append(contentsOf: String(code).utf8)
        output.append(contentsOf: #","message":"#.utf8)
        JSONValue.writeString(message, into: &output)
        if let data {
            output.append(contentsOf: #","data":"#.utf8)
            data.write(into: &output)
        }
        output.append(contentsOf: "}}".utf8)
        return output
    }

    public static func encodeRequest(id: JSONRPCID, method: String, params: JSONValue?) -> [UInt8] {
        var output: [UInt8] = []
        output.append(contentsOf: #"{"jsonrpc":"2.0","id":"#.utf8)
        output.append(contentsOf: id.lexeme)
        output.append(contentsOf: #","method":"#.utf8)
        JSONValue.writeString(method, into: &output)
        if let params {
            output.append(contentsOf: #","params":"#.utf8)
            params.write(into: &output)
        }
        output.append(UInt8(ascii: "}"))
        return output
    }

    public static func encodeNotification(method: String, params: JSONValue?) -> [UInt8] {
        var output: [UInt8] = []
        output.append(contentsOf: #"{"jsonrpc":"2.0","method":"#.utf8)
        JSONValue.writeString(method, into: &output)
        if let params {
            output.append(contentsOf: #","params":"#.utf8)
            params.write(into: &output)
        }
        output.append(UInt8(ascii: "}"))
        return output
    }

    /// A JSON array of already encoded messages (the answer to a batch).
    public static func encodeBatch(_ messages: [[UInt8]]) -> [UInt8] {
        Array("[".utf8) + Array(messages.joined(separator: [UInt8(ascii: ",")])) + Array("]".utf8)
    }
}
