import Foundation
import Testing

@testable import GatewayWire

/// One case of `Tests/Fixtures/json-schema-vectors.json`: a schema, an instance, and whether the instance is valid,
/// and if not, the JSON Pointer the violation must name.
///
/// The vectors are written from the JSON Schema 2020-12 validation and core specifications (with the draft-07 and
/// draft-04 spellings MCP servers still use, marked by `$schema`), keyword by keyword: each keyword accepts and refuses
/// at least once. The end-to-end suite checks the same file against python-jsonschema, so a vector that misreads the
/// specification fails there, and sends every vector through a gateway.
struct SchemaVector: Sendable, CustomTestStringConvertible {
    let schema: JSONValue
    let instance: JSONValue
    let violationAt: String?

    var testDescription: String { "\(schema.serializedString) ∋ \(instance.serializedString)" }

    static let all: [SchemaVector] = {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/json-schema-vectors.json")
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? "[]"
        let entries = (try? JSONParser.parse(text).arrayValue) ?? nil
        return (entries ?? []).map { entry in
            SchemaVector(
                schema: entry["schema"] ?? .null,
                instance: entry["instance"] ?? .null,
                violationAt: entry["valid"] == true ? nil : entry["at"]?.stringValue ?? "?")
        }
    }()
}

@Suite("JSON Schema validation")
struct JSONSchemaTests {
    @Test("the vector file is there and covers every keyword")
    func vectorFile() {
        #expect(SchemaVector.all.count >= 100)
    }

    @Test("vectors from the specification", arguments: SchemaVector.all)
    func vector(_ vector: SchemaVector) throws {
        let schema = try JSONSchema(compiling: vector.schema)
        let violation = schema.validate(vector.instance)
        #expect(violation?.pointer == vector.violationAt, "\(violation.map(\.description) ?? "valid")")
    }

    @Test("violations say what was expected")
    func reasons() throws {
        func reason(_ schema: String, _ instance: String) throws -> String? {
            try JSONSchema(compiling: JSONParser.parse(schema)).validate(JSONParser.parse(instance))?.description
        }
        #expect(
            try reason(#"{"properties":{"a":{"type":"string"}}}"#, #"{"a":1}"#) == "/a: expected string, got number")
        #expect(try reason(#"{"required":["city"]}"#, "{}") == #"missing required property "city""#)
        #expect(try reason(#"{"additionalProperties":false}"#, #"{"x":1}"#) == #"property "x" is not allowed"#)
        #expect(try reason(#"{"enum":["a","b"]}"#, #""c""#) == #"must be one of "a", "b""#)
        #expect(try reason(#"{"maximum":14}"#, "15") == "must be at most 14")
        #expect(try reason(#"{"exclusiveMinimum":0.5}"#, "0.5") == "must be greater than 0.5")
        #expect(try reason(#"{"type":["integer","null"]}"#, "true") == "expected integer or null, got boolean")
        #expect(try reason(#"{"pattern":"^a"}"#, #""b""#) == #"must match the pattern "^a""#)
    }

    @Test("reading JSON in strings: a string spelling a value of the expected type counts as that value")
    func jsonInStrings() throws {
        let document = try JSONParser.parse(
            #"{"properties":{"n":{"type":"integer","maximum":5},"l":{"type":"array"}}}"#)
        let strict = try JSONSchema(compiling: document)
        let reading = try JSONSchema(compiling: document, readingJSONInStrings: true)
        let stringified = try JSONParser.parse(#"{"n":"4","l":"[1,2]"}"#)
        #expect(strict.validate(stringified)?.pointer == "/n")
        #expect(reading.validate(stringified) == nil)
        #expect(reading.validate(try JSONParser.parse(#"{"n":"6"}"#))?.description == "/n: must be at most 5")
        #expect(
            reading.validate(try JSONParser.parse(#"{"n":"four"}"#))?.description == "/n: expected integer, got string")
    }

    @Test("a validation cut short by its bounds accepts rather than guess")
    func bounds() throws {
        // oneOf over a recursive definition, nested past the depth bound: both branches would "pass" when cut short.
        let schema = try JSONSchema(
            compiling: JSONParser.parse(
                ##"{"$defs":{"n":{"oneOf":[{"type":"integer"},{"type":"array","items":{"$ref":"#/$defs/n"}}]}},"$ref":"#/$defs/n"}"##
            ))
        var nested: JSONValue = 1
        for _ in 0..<120 { nested = .array([nested]) }
        #expect(schema.validate(nested) == nil)
        #expect(schema.validate("x") != nil)
        // A long chain of references does not compile (nothing is checked) instead of exhausting the stack.
        var defs = JSONObject()
        for i in 0..<500 { defs["d\(i)"] = ["$ref": .string("#/$defs/d\(i + 1)")] }
        defs["d500"] = ["type": "string"]
        #expect(throws: JSONSchemaError.self) {
            try JSONSchema(compiling: .object(["$defs": .object(defs), "$ref": "#/$defs/d0"]))
        }
    }

    @Test("uniqueItems on long arrays compares by value, numbers included")
    func longUniqueItems() throws {
        let schema = try JSONSchema(compiling: ["uniqueItems": true])
        var distinct = (0..<1_000).map { JSONValue.number(JSONNumber($0)) }
        #expect(schema.validate(.array(distinct)) == nil)
        distinct.append(.number(JSONNumber(lexeme: "7.0")))
        #expect(schema.validate(.array(distinct))?.reason == "items 7 and 1000 are equal")
        let big = [JSONNumber(lexeme: "9007199254740993"), JSONNumber(lexeme: "9007199254740992")]
        #expect(schema.validate(.array(big.map(JSONValue.number))) == nil)
    }

    @Test(
        "schemas the validator cannot use are refused at compile time, with the place",
        arguments: [
            (#"{"type":"strin"}"#, "/type"),
            (#"{"type":[]}"#, "/type"),
            (#"{"minLength":-1}"#, "/minLength"),
            (#"{"minLength":1.5}"#, "/minLength"),
            (#"{"maximum":"3"}"#, "/maximum"),
            (#"{"required":[1]}"#, "/required"),
            (#"{"properties":{"a":3}}"#, "/properties/a"),
            (#"{"anyOf":[]}"#, "/anyOf"),
            (#"{"pattern":3}"#, "/pattern"),
            (#"{"multipleOf":0}"#, "/multipleOf"),
            (#"{"$ref":"other.json#/x"}"#, "/$ref"),
            (##"{"$ref":"#/$defs/missing"}"##, "/$ref"),
            (##"{"$ref":"#anchor"}"##, "/$ref"),
            ("3", ""),
        ])
    func uncompilable(_ schema: String, _ location: String) throws {
        let document = try JSONParser.parse(schema)
        #expect(throws: JSONSchemaError.self) { try JSONSchema(compiling: document) }
        do {
            _ = try JSONSchema(compiling: document)
        } catch {
            #expect(error.location == location)
        }
    }
}
