/// A strict RFC 8259 reader over UTF-8 bytes: one grammar behind validation, tree parsing and member indexing.
///
/// It rejects what a security boundary must not guess about: duplicate object keys (compared after unescaping, so
/// `"\u006eame"` duplicates `"name"`), invalid UTF-8, control characters in strings, and nesting deeper than
/// `maxDepth`. Recursion depth is bounded by `maxDepth`, so hostile input cannot exhaust the stack.
struct JSONReader {
    let bytes: UnsafeRawBufferPointer
    var index: Int
    let maxDepth: Int

    init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.index = 0
        self.maxDepth = maxDepth
    }

    /// A scanned string: the range of its content between the quotes.
    struct StringToken {
        let content: Range<Int>
        let hasEscapes: Bool
    }

    // MARK: Whole documents

    /// Checks that the remaining input is one JSON value followed only by whitespace.
    mutating func finishDocument() throws(JSONParseError) {
        skipWhitespace()
        if index != bytes.count { throw error("unexpected data after the JSON value") }
    }

    // MARK: Values

    mutating func skipValue(depth: Int) throws(JSONParseError) {
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            try forEachMember(depth: depth + 1) { (reader: inout JSONReader, _) throws(JSONParseError) in
                try reader.skipValue(depth: depth + 1)
            }
        case UInt8(ascii: "["):
            try forEachElement(depth: depth + 1) { (reader: inout JSONReader) throws(JSONParseError) in
                try reader.skipValue(depth: depth + 1)
            }
        case UInt8(ascii: "\""): _ = try scanString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try scanNumber()
        default: _ = try scanLiteral()
        }
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            var members: [(key: String, value: JSONValue)] = []
            try forEachMember(depth: depth + 1) { (reader: inout JSONReader, key) throws(JSONParseError) in
                let name = reader.decodeString(key)
                members.append((key: name, value: try reader.parseValue(depth: depth + 1)))
            }
            return .object(JSONObject(members: members))
        case UInt8(ascii: "["):
            var elements: [JSONValue] = []
            try forEachElement(depth: depth + 1) { (reader: inout JSONReader) throws(JSONParseError) in
                elements.append(try reader.parseValue(depth: depth + 1))
            }
            return .array(elements)
        case UInt8(ascii: "\""):
            return .string(decodeString(try scanString()))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let range = try scanNumber()
            return .number(JSONNumber(lexeme: String(decoding: bytes[range], as: UTF8.self)))
        default:
            return try scanLiteral()
        }
    }

    /// Reads an object at the current position and returns each member's key and the byte range of its value.
    /// Values are validated but not decoded.
    ///
    /// Members whose key is in `expand` and whose value is an object are indexed in the same pass
    /// (``JSONMember/members``), following the nested entries of `expand`; their values are not scanned twice.
    mutating func scanMembers(depth: Int, expand: MemberExpansion = .none) throws(JSONParseError) -> [JSONMember] {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { throw error("expected an object") }
        var members: [JSONMember] = []
        try forEachMember(depth: depth + 1) { (reader: inout JSONReader, key) throws(JSONParseError) in
            reader.skipWhitespace()
            let start = reader.index
            let name = reader.decodeString(key)
            var nested: [JSONMember]? = nil
            if let inner = expand.nested[name], start < reader.bytes.count, reader.bytes[start] == UInt8(ascii: "{") {
                nested = try reader.scanMembers(depth: depth + 1, expand: inner)
            } else {
                try reader.skipValue(depth: depth + 1)
            }
            members.append(JSONMember(key: name, value: start..<reader.index, members: nested))
        }
        return members
    }

    // MARK: Containers

    /// Walks an object's members; `body` must consume exactly one value. Rejects duplicate keys.
    mutating func forEachMember(
        depth: Int,
        _ body: (inout JSONReader, StringToken) throws(JSONParseError) -> Void
    ) throws(JSONParseError) {
        if depth > maxDepth { throw JSONParseError(.depthLimit, at: index, "nesting deeper than \(maxDepth) levels") }
        index += 1  // "{"
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return
        }
        var keys = DuplicateKeyDetector()
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyStart = index
            let key = try scanString()
            if !keys.insert(key, in: bytes) {
                throw JSONParseError(.duplicateKey, at: keyStart, "duplicate key \"\(decodeString(key))\"")
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            try body(&self, key)
            skipWhitespace()
            guard index < bytes.count else { throw error("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return
            } else {
                throw error("expected ',' or '}'")
            }
        }
    }

    /// Walks an array's elements; `body` must consume exactly one value.
    mutating func forEachElement(
        depth: Int,
        _ body: (inout JSONReader) throws(JSONParseError) -> Void
    ) throws(JSONParseError) {
        if depth > maxDepth { throw JSONParseError(.depthLimit, at: index, "nesting deeper than \(maxDepth) levels") }
        index += 1  // "["
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            try body(&self)
            skipWhitespace()
            guard index < bytes.count else { throw error("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return
            } else {
                throw error("expected ',' or ']'")
            }
        }
    }

    // MARK: Scalars

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// Scans a string starting at its opening quote; validates escapes, control characters and UTF-8.
    mutating func scanString() throws(JSONParseError) -> StringToken {
        index += 1  // opening quote
        let start = index
        var hasEscapes = false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                let token = StringToken(content: start..<index, hasEscapes: hasEscapes)
                index += 1
                return token
            case UInt8(ascii: "\\"):
                hasEscapes = true
                index += 1
                guard index < bytes.count else { break }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    guard index + 4 < bytes.count,
                        (1...4).allSatisfy({ Self.hexValue(bytes[index + $0]) != nil })
                    else { throw error("invalid \\u escape") }
                    index += 5
                default:
                    throw error("invalid escape character")
                }
            case 0x00..<0x20:
                throw error("unescaped control character in string")
            case 0x20..<0x80:
                index += 1
            default:
                try skipUTF8Sequence()
            }
        }
        throw error("unterminated string")
    }

    /// Validates one multi-byte UTF-8 sequence (no overlongs, no surrogates, at most U+10FFFF).
    mutating func skipUTF8Sequence() throws(JSONParseError) {
        let lead = bytes[index]
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: throw error("invalid UTF-8")
        }
        guard index + length <= bytes.count else { throw error("invalid UTF-8") }
        let second = bytes[index + 1]
        guard second >= lower, second <= upper else { throw error("invalid UTF-8") }
        for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 {
            throw error("invalid UTF-8")
        }
        index += length
    }

    mutating func scanNumber() throws(JSONParseError) -> Range<Int> {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw error("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if bytes[index] >= UInt8(ascii: "1"), bytes[index] <= UInt8(ascii: "9") {
            skipDigits()
        } else {
            throw error("invalid number")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard skipDigits() > 0 else { throw error("invalid number: digits expected after '.'") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard skipDigits() > 0 else { throw error("invalid number: digits expected in exponent") }
        }
        return start..<index
    }

    @discardableResult
    mutating func skipDigits() -> Int {
        let start = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            index += 1
        }
        return index - start
    }

    mutating func scanLiteral() throws(JSONParseError) -> JSONValue {
        if matches("true") { return .bool(true) }
        if matches("false") { return .bool(false) }
        if matches("null") { return .null }
        throw error("unexpected character")
    }

    private mutating func matches(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let literalBytes = UnsafeRawBufferPointer(start: literal.utf8Start, count: count)
        guard bytes[index..<index + count].elementsEqual(literalBytes) else { return false }
        index += count
        return true
    }

    // MARK: Decoding

    func decodeString(_ token: StringToken) -> String {
        if !token.hasEscapes { return String(decoding: bytes[token.content], as: UTF8.self) }
        return String(decoding: unescapedBytes(token), as: UTF8.self)
    }

    /// The string's UTF-8 bytes after unescaping. Lone surrogates become U+FFFD.
    func unescapedBytes(_ token: StringToken) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(token.content.count)
        var position = token.content.lowerBound
        while position < token.content.upperBound {
            let byte = bytes[position]
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                position += 1
                continue
            }
            let escape = bytes[position + 1]
            position += 2
            switch escape {
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(at: position)
                position += 4
                if (0xD800...0xDBFF).contains(scalar), position + 6 <= token.content.upperBound,
                    bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                {
                    let low = hex4(at: position + 2)
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        position += 6
                    }
                }
                let value = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                UTF8.encode(value) { output.append($0) }
            default: output.append(escape)  // '"', '\\', '/'
            }
        }
        return output
    }

    private func hex4(at position: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<4 { value = value << 4 | UInt32(Self.hexValue(bytes[position + offset]) ?? 0) }
        return value
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    func error(_ reason: String) -> JSONParseError {
        JSONParseError(.syntax, at: index, reason)
    }
}

/// Which members of an object a scan indexes in the same pass (and, within them, which members again).
struct MemberExpansion: Sendable {
    var nested: [String: MemberExpansion]

    static let none = MemberExpansion(nested: [:])
}

/// One member of an object whose value was validated but left as bytes.
public struct JSONMember: Sendable {
    public let key: String
    /// Byte range of the value (no surrounding whitespace) in the scanned input.
    public let value: Range<Int>
    /// The value's own members, when it is an object the scan was asked to index.
    public let members: [JSONMember]?

    init(key: String, value: Range<Int>, members: [JSONMember]? = nil) {
        self.key = key
        self.value = value
        self.members = members
    }
}
