extension JSONValue {
    /// Equality as JSON Schema defines it for `enum`, `const` and `uniqueItems`: numbers by mathematical value
    /// (`1` equals `1.0`), objects regardless of member order, arrays element by element.
    func isInstanceEqual(to other: JSONValue) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.number(let a), .number(let b)):
            if a.lexeme == b.lexeme { return true }
            guard let x = a.doubleValue, let y = b.doubleValue else { return false }
            return x == y
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.isInstanceEqual(to: $1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            return a.allSatisfy { member in b[member.key].map { member.value.isInstanceEqual(to: $0) } ?? false }
        default:
            return false
        }
    }
}
