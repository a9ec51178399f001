import Testing

@testable import GatewayWire

@Suite("JSON parser")
struct JSONParserTests {
    @Test("random documents parse to the value they were written from, in any spelling")
    func randomDocumentsRoundTrip() throws {
        var random = RandomJSON(seed: 0x5EED)
        for _ in 0..<2_000 {
            let value = random.value()
            var bytes: [UInt8] = []
            random.write(value, into: &bytes)
            let parsed = try JSONParser.parse(bytes)
            #expect(parsed == value)
            // Compact serialisation is a fixed point and byte-identical on re-serialisation.
            let compact = parsed.serialized()
            #expect(try JSONParser.parse(compact) == value)
            #expect(try JSONParser.parse(compact).serialized() == compact)
            try JSONParser.validate(bytes)
        }
    }

    @Test("numbers keep their exact text and objects their key order")
    func numbersAndOrder() throws {
        let text = #"{"z":1.0,"a":12345678901234567890,"m":-0,"e":1E+2,"s":"data:,Hello%20World"}"#
        let value = try JSONParser.parse(text)
        #expect(value.objectValue?.keys == ["z", "a", "m", "e", "s"])
        #expect(value.serializedString == text)
    }

    @Test("escapes decode, including surrogate pairs; lone surrogates become U+FFFD")
    func escapes() throws {
        let value = try JSONParser.parse(#"["\u00e9\/\n", "\ud83c\udf89", "\ud800x"]"#)
        #expect(value == ["é/\n", "🎉", "\u{FFFD}x"])
    }

    @Test(
        "invalid documents are refused with a syntax error",
        arguments: [
            "", " ", "{", "}", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "+1", "NaN", "'a'", "{a:1}",
            "[1 2]", "{\"a\" 1}", "\"\\x\"", "\"\\u12\"", "\"abc", "tru", "nul", "{} x", "[][]", "\"\u{1}\"",
        ]
    )
    func invalidDocuments(text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.validate(Array(text.utf8)) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test(
        "invalid UTF-8 is refused",
        arguments: [
            [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xF4, 0x90, 0x80, 0x80],
        ]
            as [[UInt8]]
    )
    func invalidUTF8(sequence: [UInt8]) {
        let bytes = [UInt8(ascii: "\"")] + sequence + [UInt8(ascii: "\"")]
        let error = #expect(throws: JSONParseError.self) { try JSONParser.validate(bytes) }
        #expect(error?.reason == "invalid UTF-8")
    }

    @Test("duplicate keys are refused, also when spelled with escapes or past the linear-scan size")
    func duplicateKeys() {
        let many = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        for text in [
            #"{"a":1,"a":2}"#, #"{"name":"safe","\u006eame":"evil"}"#, #"{"x":{"b":1,"c":2,"b":3}}"#,
            #"[{"a":1},{"a":1,"a":1}]"#, "{\(many),\"k7\":0}",
        ] {
            let error = #expect(throws: JSONParseError.self) { try JSONParser.validate(Array(text.utf8)) }
            #expect(error?.kind == .duplicateKey)
        }
        #expect(throws: Never.self) { try JSONParser.validate(Array("{\(many)}".utf8)) }
    }

    @Test("nesting is bounded: the limit passes, one more level fails, a million levels do not crash")
    func depthLimit() throws {
        let limit = JSONParser.defaultMaxDepth
        let atLimit = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        try JSONParser.validate(Array(atLimit.utf8))
        _ = try JSONParser.parse(atLimit)
        for depth in [limit + 1, 1_000_000] {
            let deep = Array(String(repeating: "[", count: depth).utf8)
            let error = #expect(throws: JSONParseError.self) { try JSONParser.validate(deep) }
            #expect(error?.kind == .depthLimit)
        }
        let deepObjects = Array(String(repeating: #"{"a":"#, count: 10_000).utf8)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deepObjects) }
    }

    @Test("object subscript replaces in place, appends, and removes")
    func objectEditing() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["a"] = "x"
        object["c"] = true
        object["b"] = nil
        #expect(JSONValue.object(object).serializedString == #"{"a":"x","c":true}"#)
    }

    @Test("strings serialise with only the escapes JSON requires")
    func serialisationEscapes() {
        let value: JSONValue = .string("a/\"\\\n\u{1}é")
        #expect(value.serializedString == #""a/\"\\\n\u0001é""#)
    }
}
