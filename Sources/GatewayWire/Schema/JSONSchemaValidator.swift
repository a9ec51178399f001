/// Checks one instance against compiled ``SchemaNode``s, stopping at the first violation and naming where it is.
struct JSONSchemaValidator {
    let nodes: [SchemaNode]
    let readsJSONInStrings: Bool
    private var depth = 0
    private var steps = 0
    /// Set when a bound of ``JSONSchema`` was reached: the result then means nothing.
    private(set) var gaveUp = false

    init(nodes: [SchemaNode], readsJSONInStrings: Bool = false) {
        self.nodes = nodes
        self.readsJSONInStrings = readsJSONInStrings
    }

    /// The first violation of node `index` by `value`, found at `path` (which is restored before returning).
    mutating func check(_ value: JSONValue, against index: Int, path: inout [String]) -> JSONSchemaViolation? {
        steps += 1
        if depth >= JSONSchema.maxDepth || steps > JSONSchema.maxSteps { gaveUp = true }
        guard !gaveUp else { return nil }
        depth += 1
        defer { depth -= 1 }
        let node = nodes[index]
        func fail(_ reason: String) -> JSONSchemaViolation { JSONSchemaViolation(path: path, reason: reason) }

        if node.rejectsEverything { return fail("no value is allowed here") }
        if let types = node.types, !types.admits(value) {
            if readsJSONInStrings, case .string(let text) = value, let parsed = try? JSONParser.parse(text),
                types.admits(parsed)
            {
                return check(parsed, against: index, path: &path)
            }
            return fail("expected \(types.names), got \(value.typeName)")
        }
        if let allowed = node.allowedValues, !allowed.contains(where: { $0.isInstanceEqual(to: value) }) {
            return fail("must be one of \(Self.list(allowed))")
        }
        if let constant = node.constant, !constant.isInstanceEqual(to: value) {
            return fail("must be \(constant.serializedString)")
        }
        switch value {
        case .object(let object):
            if let violation = checkObject(object, node, path: &path) { return violation }
        case .array(let elements):
            if let violation = checkArray(elements, node, path: &path) { return violation }
        case .number(let number):
            if let reason = Self.numberViolation(number, node) { return fail(reason) }
        case .string(let string):
            if let reason = Self.stringViolation(string, node) { return fail(reason) }
        default:
            break
        }
        return checkApplicators(value, node, path: &path)
    }

    // MARK: Applicators

    private mutating func checkApplicators(
        _ value: JSONValue,
        _ node: SchemaNode,
        path: inout [String]
    ) -> JSONSchemaViolation? {
        if let reference = node.reference, let violation = check(value, against: reference, path: &path) {
            return violation
        }
        for index in node.allOf {
            if let violation = check(value, against: index, path: &path) { return violation }
        }
        if !node.anyOf.isEmpty, !node.anyOf.contains(where: { accepts(value, $0, path: &path) }) {
            return JSONSchemaViolation(path: path, reason: "does not match any of the anyOf schemas")
        }
        if !node.oneOf.isEmpty {
            var matching = 0
            for index in node.oneOf where accepts(value, index, path: &path) {
                matching += 1
                if matching == 2 { break }
            }
            if matching != 1 {
                let reason =
                    matching == 0
                    ? "does not match any of the oneOf schemas"
                    : "matches more than one of the oneOf schemas, exactly one is allowed"
                return JSONSchemaViolation(path: path, reason: reason)
            }
        }
        if let not = node.not, accepts(value, not, path: &path) {
            return JSONSchemaViolation(path: path, reason: "must not match the schema under not")
        }
        if let (condition, then, otherwise) = node.conditional {
            let branch = accepts(value, condition, path: &path) ? then : otherwise
            if let branch, let violation = check(value, against: branch, path: &path) { return violation }
        }
        return nil
    }

    private mutating func accepts(_ value: JSONValue, _ index: Int, path: inout [String]) -> Bool {
        check(value, against: index, path: &path) == nil
    }

    // MARK: Objects and arrays

    private mutating func checkObject(
        _ object: JSONObject,
        _ node: SchemaNode,
        path: inout [String]
    ) -> JSONSchemaViolation? {
        for name in node.required where object[name] == nil {
            return JSONSchemaViolation(
                path: path, reason: "missing required property \(JSONValue.string(name).serializedString)")
        }
        if let minimum = node.minProperties, object.count < minimum {
            return JSONSchemaViolation(path: path, reason: "must have at least \(minimum) properties")
        }
        if let maximum = node.maxProperties, object.count > maximum {
            return JSONSchemaViolation(path: path, reason: "must have at most \(maximum) properties")
        }
        for (key, member) in object {
            var matched = false
            path.append(key)
            defer { path.removeLast() }
            if let property = node.properties[key] {
                matched = true
                if let violation = check(member, against: property, path: &path) { return violation }
            }
            for (pattern, index) in node.patternProperties {
                switch pattern.matches(key) {
                case true?:
                    matched = true
                    if let violation = check(member, against: index, path: &path) { return violation }
                case nil:
                    matched = true  // the gateway cannot tell: neither the subschema nor additionalProperties apply
                case false?:
                    continue
                }
            }
            guard !matched, let additional = node.additionalProperties else { continue }
            if nodes[additional].rejectsEverything {
                return JSONSchemaViolation(
                    path: path.dropLast(), reason: "property \(JSONValue.string(key).serializedString) is not allowed")
            }
            if let violation = check(member, against: additional, path: &path) { return violation }
        }
        return nil
    }

    private mutating func checkArray(
        _ elements: [JSONValue],
        _ node: SchemaNode,
        path: inout [String]
    ) -> JSONSchemaViolation? {
        if let minimum = node.minItems, elements.count < minimum {
            return JSONSchemaViolation(path: path, reason: "must have at least \(minimum) items")
        }
        if let maximum = node.maxItems, elements.count > maximum {
            return JSONSchemaViolation(path: path, reason: "must have at most \(maximum) items")
        }
        if node.uniqueItems, let (earlier, later) = Self.firstDuplicate(elements) {
            return JSONSchemaViolation(path: path, reason: "items \(earlier) and \(later) are equal")
        }
        for position in elements.indices {
            let index = position < node.prefixItems.count ? node.prefixItems[position] : node.items
            guard let index else { continue }
            path.append(String(position))
            defer { path.removeLast() }
            if let violation = check(elements[position], against: index, path: &path) { return violation }
        }
        return nil
    }

    // MARK: Numbers and strings

    private static func numberViolation(_ number: JSONNumber, _ node: SchemaNode) -> String? {
        guard let value = number.doubleValue else { return nil }
        if let minimum = node.minimum, value < minimum { return "must be at least \(format(minimum))" }
        if let maximum = node.maximum, value > maximum { return "must be at most \(format(maximum))" }
        if let bound = node.exclusiveMinimum, value <= bound { return "must be greater than \(format(bound))" }
        if let bound = node.exclusiveMaximum, value >= bound { return "must be less than \(format(bound))" }
        if let divisor = node.multipleOf {
            let quotient = value / divisor
            let tolerance = 1e-9 * max(1, abs(quotient))
            if !quotient.isFinite || abs(quotient - quotient.rounded()) > tolerance {
                return "must be a multiple of \(format(divisor))"
            }
        }
        return nil
    }

    private static func stringViolation(_ string: String, _ node: SchemaNode) -> String? {
        if node.minLength != nil || node.maxLength != nil {
            let length = string.unicodeScalars.count
            if let minimum = node.minLength, length < minimum { return "must be at least \(minimum) characters long" }
            if let maximum = node.maxLength, length > maximum { return "must be at most \(maximum) characters long" }
        }
        if let pattern = node.pattern, pattern.matches(string) == false {
            return "must match the pattern \(JSONValue.string(pattern.source).serializedString)"
        }
        return nil
    }

    private static func format(_ number: Double) -> String { JSONNumber(number).lexeme }

    /// The first two equal elements: pairwise for short arrays, by canonical form (hashing) for long ones.
    private static func firstDuplicate(_ elements: [JSONValue]) -> (Int, Int)? {
        if elements.count <= 16 {
            for later in elements.indices {
                for earlier in 0..<later where elements[earlier].isInstanceEqual(to: elements[later]) {
                    return (earlier, later)
                }
            }
            return nil
        }
        var seen: [String: Int] = [:]
        for (index, element) in elements.enumerated() {
            if let earlier = seen.updateValue(index, forKey: element.canonicalForm) { return (earlier, index) }
        }
        return nil
    }

    private static func list(_ values: [JSONValue]) -> String {
        let shown = values.prefix(10).map(\.serializedString).joined(separator: ", ")
        return values.count > 10 ? shown + ", …" : shown
    }
}
