import GatewayWire

/// A tool argument that 2026-07-28 mirrors into an HTTP header, `Mcp-Param-{name}`, because its schema property
/// carries `"x-mcp-header": "{name}"`.
///
/// The annotation is valid only on a string, integer or boolean property reached from the schema root through
/// `properties` alone, with a header-token name unique (ignoring case) in the schema. A tool with any invalid
/// annotation is left out of `tools/list` for 2026-07-28 clients, as the revision requires of HTTP clients, and they
/// cannot call it; session-based clients, to whom the annotation means nothing, keep it.
struct MirroredParameter: Sendable, Hashable {
    enum Kind: String, Sendable { case string, integer, boolean }

    /// The header's name part, as the schema spells it (header names compare without case).
    let name: String
    /// The property path from the arguments object (`["location", "region"]`).
    let path: [String]
    let kind: Kind

    /// Why a tool's `x-mcp-header` annotations are invalid.
    struct InvalidAnnotation: Error, Sendable, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    /// Every annotated parameter of `inputSchema`, or why the annotations make the tool invalid.
    static func all(in inputSchema: JSONValue) throws(InvalidAnnotation) -> [MirroredParameter] {
        var found: [MirroredParameter] = []
        try collect(inputSchema, path: [], reachable: true, into: &found)
        var seen: Set<String> = []
        for parameter in found where !seen.insert(parameter.name.lowercased()).inserted {
            throw InvalidAnnotation(reason: "x-mcp-header \"\(parameter.name)\" is used twice (names ignore case)")
        }
        return found
    }

    /// The argument's value in `arguments`, if present and not `null`.
    func value(in arguments: JSONValue?) -> JSONValue? {
        var current = arguments
        for key in path { current = current?[key] }
        return current?.isNull == true ? nil : current
    }

    // MARK: Reading the annotations

    /// Keywords whose value is a schema, a list of schemas, or a map of schemas; `properties` is the only one that
    /// keeps a property statically reachable.
    private static let schemaKeywords: Set<String> = [
        "items", "prefixItems", "additionalItems", "contains", "additionalProperties", "propertyNames",
        "unevaluatedItems", "unevaluatedProperties", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
        "patternProperties", "dependentSchemas", "$defs", "definitions",
    ]
    private static let schemaMaps: Set<String> = ["patternProperties", "dependentSchemas", "$defs", "definitions"]

    private static func collect(
        _ schema: JSONValue,
        path: [String],
        reachable: Bool,
        into found: inout [MirroredParameter]
    ) throws(InvalidAnnotation) {
        guard case .object(let object) = schema else { return }
        if let annotation = object["x-mcp-header"] {
            let place = path.isEmpty ? "the schema root" : "property \"\(path.joined(separator: "."))\""
            guard reachable, !path.isEmpty else {
                throw InvalidAnnotation(
                    reason: "x-mcp-header on \(place) is not reached from the root through properties alone")
            }
            guard case .string(let name) = annotation, !name.isEmpty, name.utf8.allSatisfy(isTokenCharacter) else {
                throw InvalidAnnotation(reason: "x-mcp-header on \(place) is not a header name token")
            }
            guard let type = object["type"]?.stringValue, let kind = Kind(rawValue: type) else {
                throw InvalidAnnotation(
                    reason: "x-mcp-header \"\(name)\" is on \(place), which is not of type string, integer or boolean")
            }
            found.append(MirroredParameter(name: name, path: path, kind: kind))
        }
        for (key, value) in object {
            if key == "properties" {
                for (property, subschema) in value.objectValue ?? [:] {
                    try collect(subschema, path: path + [property], reachable: reachable, into: &found)
                }
                continue
            }
            guard schemaKeywords.contains(key) else { continue }
            let subschemas: [JSONValue] =
                schemaMaps.contains(key)
                ? (value.objectValue?.members.map(\.value) ?? []) : (value.arrayValue ?? [value])
            for subschema in subschemas { try collect(subschema, path: path, reachable: false, into: &found) }
        }
    }

    /// RFC 9110 `tchar`.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
