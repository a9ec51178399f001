/// One compiled (sub)schema: each keyword the validator knows, read once from the schema's JSON. Subschemas are
/// indexes into the owning ``JSONSchema``'s node table, so a `$ref` (recursive ones included) is just an index.
struct SchemaNode: Sendable {
    /// The `false` schema, and `not: {}`: no instance is valid.
    var rejectsEverything = false

    // Any instance
    var types: JSONTypeSet?
    var allowedValues: [JSONValue]?
    var constant: JSONValue?
    var reference: Int?
    var allOf: [Int] = []
    var anyOf: [Int] = []
    var oneOf: [Int] = []
    var not: Int?
    var conditional: (if: Int, then: Int?, else: Int?)?

    // Objects
    var properties: [String: Int] = [:]
    var patternProperties: [(pattern: SchemaPattern, node: Int)] = []
    var additionalProperties: Int?
    var required: [String] = []
    var minProperties: Int?
    var maxProperties: Int?

    // Arrays
    var prefixItems: [Int] = []
    /// Applies to every element after `prefixItems`.
    var items: Int?
    var minItems: Int?
    var maxItems: Int?
    var uniqueItems = false

    // Numbers
    var minimum: Double?
    var maximum: Double?
    var exclusiveMinimum: Double?
    var exclusiveMaximum: Double?
    var multipleOf: Double?

    // Strings
    var minLength: Int?
    var maxLength: Int?
    var pattern: SchemaPattern?
}

/// A `pattern`, compiled once. Unanchored, as JSON Schema says: `"a"` matches `"cat"`. Patterns outside
/// ``SimplePattern``'s subset, and strings it gives up on, count as matching (see there why).
struct SchemaPattern: Sendable {
    let source: String
    private let simple: SimplePattern?

    init(_ source: String) {
        self.source = source
        self.simple = SimplePattern(source)
    }

    /// Whether the pattern matches; `nil` when the gateway cannot tell.
    func matches(_ string: String) -> Bool? {
        simple?.matches(string)
    }
}
