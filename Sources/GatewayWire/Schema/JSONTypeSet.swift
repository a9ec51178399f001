/// The JSON Schema instance types a `type` keyword admits, as a bit set.
struct JSONTypeSet: OptionSet, Sendable, Hashable {
    let rawValue: UInt8

    static let null = JSONTypeSet(rawValue: 1 << 0)
    static let boolean = JSONTypeSet(rawValue: 1 << 1)
    static let object = JSONTypeSet(rawValue: 1 << 2)
    static let array = JSONTypeSet(rawValue: 1 << 3)
    /// `number` admits integers as well.
    static let number = JSONTypeSet(rawValue: 1 << 4)
    static let integer = JSONTypeSet(rawValue: 1 << 5)
    static let string = JSONTypeSet(rawValue: 1 << 6)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The type named `name` in a schema, if it is one of the seven.
    init?(name: String) {
        switch name {
        case "null": self = .null
        case "boolean": self = .boolean
        case "object": self = .object
        case "array": self = .array
        case "number": self = .number
        case "integer": self = .integer
        case "string": self = .string
        default: return nil
        }
    }

    /// Whether `value` is of one of the types; a number with no fractional part is an integer (`1.0` too).
    func admits(_ value: JSONValue) -> Bool {
        switch value {
        case .null: contains(.null)
        case .bool: contains(.boolean)
        case .object: contains(.object)
        case .array: contains(.array)
        case .string: contains(.string)
        case .number(let number):
            contains(.number) || (contains(.integer) && number.isInteger)
        }
    }

    /// The names, for messages: `string or null`.
    var names: String {
        let all: [(JSONTypeSet, String)] = [
            (.object, "object"), (.array, "array"), (.string, "string"), (.integer, "integer"), (.number, "number"),
            (.boolean, "boolean"), (.null, "null"),
        ]
        return all.filter { contains($0.0) }.map(\.1).joined(separator: " or ")
    }
}

extension JSONNumber {
    /// Whether the number's mathematical value is an integer (`3`, `3.0`, `3e2`).
    var isInteger: Bool {
        if lexeme.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }) {
            return true
        }
        guard let value = doubleValue, value.isFinite else { return false }
        return value.rounded() == value
    }
}
