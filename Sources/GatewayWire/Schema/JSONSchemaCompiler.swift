import Foundation

/// Turns a schema document into ``SchemaNode``s, each subschema compiled once (by its JSON Pointer), so `$ref`s
/// to the same place share a node and recursive references close into cycles.
struct JSONSchemaCompiler {
    let document: JSONValue
    private(set) var nodes: [SchemaNode] = []
    private var compiled: [String: Int] = [:]
    private var depth = 0

    /// How deeply subschemas (and chains of `$ref`) may nest: deeper schemas are not compiled, so a hostile listing
    /// cannot exhaust the stack.
    static let maxDepth = 128

    init(document: JSONValue) { self.document = document }

    /// The node of the subschema `value`, found at `pointer` in the document.
    mutating func compile(_ value: JSONValue, at pointer: String) throws(JSONSchemaError) -> Int {
        if let index = compiled[pointer] { return index }
        guard depth < Self.maxDepth else {
            throw JSONSchemaError(location: pointer, reason: "subschemas nest more than \(Self.maxDepth) deep")
        }
        depth += 1
        defer { depth -= 1 }
        let index = nodes.count
        nodes.append(SchemaNode())
        compiled[pointer] = index
        nodes[index] = try node(for: value, at: pointer)
        return index
    }

    private mutating func node(for value: JSONValue, at pointer: String) throws(JSONSchemaError) -> SchemaNode {
        var node = SchemaNode()
        switch value {
        case .bool(let accepts):
            node.rejectsEverything = !accepts
            return node
        case .object(let schema):
            try read(Keywords(schema: schema, pointer: pointer), into: &node)
            return node
        default:
            throw JSONSchemaError(location: pointer, reason: "a schema must be an object or a boolean")
        }
    }

    private mutating func read(_ keywords: Keywords, into node: inout SchemaNode) throws(JSONSchemaError) {
        let pointer = keywords.pointer
        if let type = keywords.schema["type"] { node.types = try types(type, at: pointer + "/type") }
        if let values = keywords.schema["enum"] {
            guard case .array(let allowed) = values else { throw keywords.wrong("enum", "an array") }
            node.allowedValues = allowed
        }
        node.constant = keywords.schema["const"]
        if let reference = keywords.schema["$ref"] {
            guard case .string(let text) = reference else { throw keywords.wrong("$ref", "a string") }
            node.reference = try resolve(text, at: pointer + "/$ref")
        }
        node.allOf = try schemaList("allOf", keywords)
        node.anyOf = try schemaList("anyOf", keywords)
        node.oneOf = try schemaList("oneOf", keywords)
        node.not = try subschema("not", keywords)
        if let condition = try subschema("if", keywords) {
            node.conditional = (condition, try subschema("then", keywords), try subschema("else", keywords))
        }

        if let properties = keywords.schema["properties"] {
            guard case .object(let members) = properties else { throw keywords.wrong("properties", "an object") }
            for (name, schema) in members {
                node.properties[name] = try compile(schema, at: pointer + "/properties/" + Self.escape(name))
            }
        }
        if let patterns = keywords.schema["patternProperties"] {
            guard case .object(let members) = patterns else { throw keywords.wrong("patternProperties", "an object") }
            for (source, schema) in members {
                let pattern = SchemaPattern(source)
                let index = try compile(schema, at: pointer + "/patternProperties/" + Self.escape(source))
                node.patternProperties.append((pattern, index))
            }
        }
        node.additionalProperties = try subschema("additionalProperties", keywords)
        if let required = keywords.schema["required"] {
            let names = required.arrayValue?.compactMap(\.stringValue)
            guard let names, names.count == required.arrayValue?.count else {
                throw keywords.wrong("required", "an array of strings")
            }
            node.required = names
        }
        node.minProperties = try keywords.count("minProperties")
        node.maxProperties = try keywords.count("maxProperties")

        switch keywords.schema["items"] {
        case .array(let tuple)?:  // draft-07: positional items, then additionalItems for the rest
            for index in tuple.indices {
                node.prefixItems.append(try compile(tuple[index], at: pointer + "/items/\(index)"))
            }
            node.items = try subschema("additionalItems", keywords)
        case .some:
            node.prefixItems = try schemaList("prefixItems", keywords)
            node.items = try subschema("items", keywords)
        case nil:
            node.prefixItems = try schemaList("prefixItems", keywords)
        }
        node.minItems = try keywords.count("minItems")
        node.maxItems = try keywords.count("maxItems")
        if let unique = keywords.schema["uniqueItems"] {
            guard case .bool(let flag) = unique else { throw keywords.wrong("uniqueItems", "a boolean") }
            node.uniqueItems = flag
        }

        node.minimum = try keywords.number("minimum")
        node.maximum = try keywords.number("maximum")
        // Draft-04 spelled exclusivity as a boolean beside minimum/maximum; 2020-12 as a number of its own.
        if case .bool(let exclusive)? = keywords.schema["exclusiveMinimum"] {
            if exclusive { (node.exclusiveMinimum, node.minimum) = (node.minimum, nil) }
        } else {
            node.exclusiveMinimum = try keywords.number("exclusiveMinimum")
        }
        if case .bool(let exclusive)? = keywords.schema["exclusiveMaximum"] {
            if exclusive { (node.exclusiveMaximum, node.maximum) = (node.maximum, nil) }
        } else {
            node.exclusiveMaximum = try keywords.number("exclusiveMaximum")
        }
        node.multipleOf = try keywords.number("multipleOf")
        if let divisor = node.multipleOf, !(divisor > 0) { throw keywords.wrong("multipleOf", "a positive number") }

        node.minLength = try keywords.count("minLength")
        node.maxLength = try keywords.count("maxLength")
        if let pattern = keywords.schema["pattern"] {
            guard case .string(let source) = pattern else { throw keywords.wrong("pattern", "a string") }
            node.pattern = SchemaPattern(source)
        }
    }

    // MARK: Subschemas

    private mutating func subschema(_ key: String, _ keywords: Keywords) throws(JSONSchemaError) -> Int? {
        guard let value = keywords.schema[key] else { return nil }
        return try compile(value, at: keywords.pointer + "/" + key)
    }

    private mutating func schemaList(_ key: String, _ keywords: Keywords) throws(JSONSchemaError) -> [Int] {
        guard let value = keywords.schema[key] else { return [] }
        guard case .array(let schemas) = value, !schemas.isEmpty else {
            throw keywords.wrong(key, "a non-empty array of schemas")
        }
        var indexes: [Int] = []
        for index in schemas.indices {
            indexes.append(try compile(schemas[index], at: keywords.pointer + "/\(key)/\(index)"))
        }
        return indexes
    }

    /// A `$ref` within the document: `#` or `#/json/pointer` (percent-encoded or not).
    private mutating func resolve(_ reference: String, at location: String) throws(JSONSchemaError) -> Int {
        guard reference.hasPrefix("#") else {
            throw JSONSchemaError(location: location, reason: "only references within the schema are supported")
        }
        let pointer = String(reference.dropFirst()).removingPercentEncoding ?? String(reference.dropFirst())
        guard pointer.isEmpty || pointer.hasPrefix("/") else {
            throw JSONSchemaError(location: location, reason: "anchor references (\(reference)) are not supported")
        }
        var target = document
        for token in pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let key = String(token).replacing("~1", with: "/").replacing("~0", with: "~")
            switch target {
            case .object(let object) where object[key] != nil: target = object[key]!
            case .array(let array) where Int(key).map(array.indices.contains) == true: target = array[Int(key)!]
            default: throw JSONSchemaError(location: location, reason: "\(reference) points at nothing")
            }
        }
        return try compile(target, at: pointer)
    }

    private func types(_ value: JSONValue, at location: String) throws(JSONSchemaError) -> JSONTypeSet {
        let names: [JSONValue] =
            switch value {
            case .string: [value]
            case .array(let names): names
            default: []
            }
        var set: JSONTypeSet = []
        for name in names {
            guard let text = name.stringValue, let type = JSONTypeSet(name: text) else {
                throw JSONSchemaError(location: location, reason: "type must name JSON Schema types")
            }
            set.insert(type)
        }
        guard !names.isEmpty else { throw JSONSchemaError(location: location, reason: "type must not be empty") }
        return set
    }

    static func escape(_ token: String) -> String {
        token.replacing("~", with: "~0").replacing("/", with: "~1")
    }
}

/// One schema object's members with the location they were read from, for typed access and errors.
private struct Keywords {
    let schema: JSONObject
    let pointer: String

    func wrong(_ key: String, _ expected: String) -> JSONSchemaError {
        JSONSchemaError(location: pointer + "/" + key, reason: "\(key) must be \(expected)")
    }

    func count(_ key: String) throws(JSONSchemaError) -> Int? {
        guard let value = schema[key] else { return nil }
        guard case .number(let number) = value, number.isInteger, let double = number.doubleValue, double >= 0 else {
            throw wrong(key, "a non-negative integer")
        }
        return double >= Double(Int.max) ? Int.max : Int(double)
    }

    func number(_ key: String) throws(JSONSchemaError) -> Double? {
        guard let value = schema[key] else { return nil }
        guard case .number(let number) = value, let double = number.doubleValue else { throw wrong(key, "a number") }
        return double
    }
}
