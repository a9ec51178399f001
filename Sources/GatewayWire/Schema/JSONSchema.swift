/// A JSON Schema compiled once for validating many instances: what a tool's `inputSchema` becomes, so every call's
/// arguments are checked before they are forwarded.
///
/// Draft 2020-12 is the dialect (MCP's default), with draft-07's spellings understood too (`definitions`, `items` as
/// an array, boolean `exclusiveMinimum`). Supported: `type`, `enum`, `const`, `properties`, `required`,
/// `additionalProperties`, `patternProperties`, `min/maxProperties`, `items`, `prefixItems`, `min/maxItems`,
/// `uniqueItems`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `min/maxLength`,
/// `pattern`, `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, boolean schemas and `$ref` to a JSON Pointer
/// within the document (`#`, `#/$defs/x`). `format` and other annotations are left unchecked; unknown keywords are
/// ignored. A schema using a `$ref` the validator cannot resolve, or a known keyword of the wrong type, does not
/// compile, and then nothing is checked against it.
public struct JSONSchema: Sendable {
    let nodes: [SchemaNode]

    /// How many subschemas one validation may descend through before it gives up and accepts: a bound for
    /// schemas that refer to themselves without moving into the instance (`{"$ref": "#"}`).
    static let maxDepth = 256

    public init(compiling document: JSONValue) throws(JSONSchemaError) {
        var compiler = JSONSchemaCompiler(document: document)
        _ = try compiler.compile(document, at: "")
        self.nodes = compiler.nodes
    }

    /// The first way `instance` fails the schema, or `nil` when it is valid.
    public func validate(_ instance: JSONValue) -> JSONSchemaViolation? {
        var path: [String] = []
        path.reserveCapacity(8)
        var validator = JSONSchemaValidator(nodes: nodes)
        return validator.check(instance, against: 0, path: &path)
    }
}
