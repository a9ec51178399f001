/// A JSON Schema compiled once for validating many instances: what a tool's `inputSchema` becomes, so every call's
/// arguments are checked before they are forwarded.
///
/// Draft 2020-12 is the dialect (MCP's default), with draft-07's spellings understood too (`definitions`, `items` as
/// an array, boolean `exclusiveMinimum`). Supported: `type`, `enum`, `const`, `properties`, `required`,
/// `additionalProperties`, `patternProperties`, `min/maxProperties`, `items`, `prefixItems`, `min/maxItems`,
/// `uniqueItems`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `min/maxLength`,
/// `pattern`, `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, boolean schemas and `$ref` to a JSON Pointer
/// within the document (`#`, `#/$defs/x`). `format` and other annotations are left unchecked; unknown keywords are
/// ignored; `pattern`s outside ``SimplePattern``'s subset count as matching. A schema using a `$ref` the validator
/// cannot resolve, nesting deeper than 128, or with a known keyword of the wrong type, does not compile, and then
/// nothing is checked against it.
public struct JSONSchema: Sendable {
    let nodes: [SchemaNode]
    /// Whether a string whose JSON text is a value of the expected type counts as that value (`"20"` for an
    /// integer, `"[1,2]"` for an array), as the Python SDK's servers read arguments (they parse such strings, and
    /// pydantic coerces in lax mode): a gateway must not refuse what the server accepts.
    let readsJSONInStrings: Bool

    /// How deep one validation may descend through subschemas, and how many it may visit in all, before it gives up
    /// and accepts: bounds for schemas that refer to themselves without moving into the instance (`{"$ref": "#"}`)
    /// and for combinators that multiply work (`anyOf` inside `anyOf`). Giving up accepts, because an answer from a
    /// cut-short walk could be wrong either way, and the server validates too.
    static let maxDepth = 256
    static let maxSteps = 100_000

    public init(compiling document: JSONValue, readingJSONInStrings: Bool = false) throws(JSONSchemaError) {
        var compiler = JSONSchemaCompiler(document: document)
        _ = try compiler.compile(document, at: "")
        self.nodes = compiler.nodes
        self.readsJSONInStrings = readingJSONInStrings
    }

    /// The first way `instance` fails the schema, or `nil` when it is valid (or the validator gave up).
    public func validate(_ instance: JSONValue) -> JSONSchemaViolation? {
        var path: [String] = []
        path.reserveCapacity(8)
        var validator = JSONSchemaValidator(nodes: nodes, readsJSONInStrings: readsJSONInStrings)
        let violation = validator.check(instance, against: 0, path: &path)
        return validator.gaveUp ? nil : violation
    }
}
