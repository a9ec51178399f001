extension JSONValue {
    /// Equality as JSON Schema defines it for `enum`, `const` and `uniqueItems`: numbers by mathematical value
    /// (`1` equals `1.0`), objects regardless of member order, arrays element by element.
    func isInstanceEqual(to other: JSONValue) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.number(let a), .number(let b)):
            return a.lexeme == b.lexeme || a.canonicalForm == b.canonicalForm
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.isInstanceEqual(to: $1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            return a.allSatisfy { member in b[member.key].map { member.value.isInstanceEqual(to: $0) } ?? false }
        default:
            return false
        }
    }

    /// A text equal for exactly the values ``isInstanceEqual(to:)`` calls equal: members sorted, numbers canonical.
    var canonicalForm: String {
        switch self {
        case .null, .bool, .string: serializedString
        case .number(let number): number.canonicalForm
        case .array(let elements): "[" + elements.map(\.canonicalForm).joined(separator: ",") + "]"
        case .object(let object):
            "{"
                + object.members.sorted { $0.key < $1.key }
                .map { JSONValue.string($0.key).serializedString + ":" + $0.value.canonicalForm }
                .joined(separator: ",") + "}"
        }
    }
}

extension JSONNumber {
    /// The number's value as one spelling: an integer lexeme exactly (any size), an integral value below 2^53 as
    /// digits (`1.0`, `1e2`), anything else as its `Double`.
    var canonicalForm: String {
        let digits = lexeme.utf8.allSatisfy {
            $0 == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
        }
        if digits {
            let negative = lexeme.hasPrefix("-")
            let magnitude = lexeme.drop { $0 == "-" || $0 == "0" }
            return magnitude.isEmpty ? "0" : (negative ? "-" : "") + magnitude
        }
        guard let value = doubleValue else { return lexeme }
        if value.rounded() == value, abs(value) < 9_007_199_254_740_992 { return String(Int(value)) }
        return "\(value)"
    }
}
