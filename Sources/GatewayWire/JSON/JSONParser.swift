/// Entry points for reading JSON documents.
public enum JSONParser {
    /// Nesting depth allowed by default. Deep enough for any real MCP payload, shallow enough that the gateway's
    /// recursive walkers cannot exhaust a task's stack.
    public static let defaultMaxDepth = 128

    /// Parses a complete document into a ``JSONValue``.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try withBytes(bytes) { (buffer) throws(JSONParseError) in try parse(buffer, maxDepth: maxDepth) }
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    public static func parse(
        _ buffer: UnsafeRawBufferPointer,
        maxDepth: Int = defaultMaxDepth
    ) throws(JSONParseError) -> JSONValue {
        var reader = JSONReader(buffer, maxDepth: maxDepth)
        let value = try reader.parseValue(depth: 0)
        try reader.finishDocument()
        return value
    }

    /// Checks that `bytes` is exactly one valid JSON document, without building a tree.
    public static func validate(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) {
        try withBytes(bytes) { (buffer) throws(JSONParseError) in
            var reader = JSONReader(buffer, maxDepth: maxDepth)
            try reader.skipValue(depth: 0)
            try reader.finishDocument()
        }
    }

    /// Validates an object found at `range` of `bytes` and returns its members with the byte ranges of their values
    /// (ranges index into `bytes`).
    public static func members(
        of bytes: [UInt8],
        in range: Range<Int>,
        maxDepth: Int = defaultMaxDepth
    ) throws(JSONParseError) -> [JSONMember] {
        try withBytes(bytes) { (buffer) throws(JSONParseError) in
            var reader = JSONReader(buffer, maxDepth: maxDepth)
            reader.index = range.lowerBound
            return try reader.scanMembers(depth: 0)
        }
    }

    static func withBytes<Result>(
        _ bytes: [UInt8],
        _ body: (UnsafeRawBufferPointer) throws(JSONParseError) -> Result
    ) throws(JSONParseError) -> Result {
        let result: Swift.Result<Result, JSONParseError> = bytes.withUnsafeBytes { buffer in
            do throws(JSONParseError) { return .success(try body(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

// MARK: - Partial reads used by the JSON-RPC envelope

extension JSONParser {
    /// The members of a document that is one object; `nil` for valid JSON of another type.
    static func topLevelMembers(
        of bytes: [UInt8],
        expanding expand: MemberExpansion = .none,
        maxDepth: Int = defaultMaxDepth
    ) throws(JSONParseError) -> [JSONMember]? {
        try withBytes(bytes) { (buffer) throws(JSONParseError) in
            var reader = JSONReader(buffer, maxDepth: maxDepth)
            reader.skipWhitespace()
            guard reader.index < buffer.count, buffer[reader.index] == UInt8(ascii: "{") else {
                try reader.skipValue(depth: 0)
                try reader.finishDocument()
                return nil
            }
            let members = try reader.scanMembers(depth: 0, expand: expand)
            try reader.finishDocument()
            return members
        }
    }

    /// The element ranges of a document that is an array.
    static func topLevelElements(
        of bytes: [UInt8],
        maxDepth: Int = defaultMaxDepth
    ) throws(JSONParseError) -> [Range<Int>] {
        try withBytes(bytes) { (buffer) throws(JSONParseError) in
            var reader = JSONReader(buffer, maxDepth: maxDepth)
            reader.skipWhitespace()
            var elements: [Range<Int>] = []
            try reader.forEachElement(depth: 1) { (reader: inout JSONReader) throws(JSONParseError) in
                reader.skipWhitespace()
                let start = reader.index
                try reader.skipValue(depth: 1)
                elements.append(start..<reader.index)
            }
            try reader.finishDocument()
            return elements
        }
    }

    /// Members of an object inside bytes that were already validated.
    static func validMembers(of bytes: [UInt8], at range: Range<Int>) -> [JSONMember] {
        (try? members(of: bytes, in: range)) ?? []
    }

    /// Decodes the value at `range` of bytes that were already validated.
    static func value(in bytes: [UInt8], at range: Range<Int>) -> JSONValue {
        let result = try? withBytes(bytes) { (buffer) throws(JSONParseError) in
            var reader = JSONReader(UnsafeRawBufferPointer(rebasing: buffer[..<range.upperBound]), maxDepth: .max)
            reader.index = range.lowerBound
            return try reader.parseValue(depth: 0)
        }
        return result ?? .null
    }
}
