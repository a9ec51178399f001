import Foundation

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

/// A `pattern` (ECMA-262 flavoured), compiled once. Unanchored, as JSON Schema says: `"a"` matches `"cat"`.
///
/// Patterns in ``SimplePattern``'s subset are matched by it; the rest, and any string it gives up on, by
/// `NSRegularExpression` (ICU's syntax covers what schemas use).
struct SchemaPattern: Sendable {
    let source: String
    private let simple: SimplePattern?
    private let expression: NSRegularExpression

    init?(_ source: String) {
        guard let expression = try? NSRegularExpression(pattern: source) else { return nil }
        self.source = source
        self.simple = SimplePattern(source)
        self.expression = expression
    }

    func matches(_ string: String) -> Bool {
        if let simple, let matched = simple.matches(string) { return matched }
        let range = NSRange(location: 0, length: string.utf16.count)
        return expression.rangeOfFirstMatch(in: string, range: range).location != NSNotFound
    }

    /// Whether ``SimplePattern`` handles the pattern (for tests).
    var isSimple: Bool { simple != nil }
}
