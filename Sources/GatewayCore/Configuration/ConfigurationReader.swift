import Foundation
import GatewayWire

/// Reads one object of a configuration tree strictly: typed accessors name the key path in every error, and
/// ``finish()`` rejects keys nobody asked for.
struct ConfigurationReader {
    let path: String
    private let object: JSONObject
    private var used: Set<String> = []

    init(_ value: JSONValue, path: String) throws(ConfigurationError) {
        guard case .object(let object) = value else {
            throw ConfigurationError(path: path, "expected an object, found \(value.typeName)")
        }
        self.object = object
        self.path = path
    }

    var keys: [String] { object.keys }

    func child(_ key: String) -> String {
        let plain =
            !key.isEmpty
            && key.unicodeScalars.allSatisfy {
                $0.properties.isAlphabetic || "0123456789_-".unicodeScalars.contains($0)
            }
        let component = plain ? key : "\"\(key)\""
        return path.isEmpty ? component : "\(path).\(component)"
    }

    mutating func value(_ key: String) -> JSONValue? {
        used.insert(key)
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    mutating func contains(_ key: String) -> Bool { object[key] != nil }

    mutating func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = value(key) else { return nil }
        switch value {
        case .string(let string): return string
        case .number(let number): return number.lexeme
        default: throw ConfigurationError(path: child(key), "expected a string, found \(value.typeName)")
        }
    }

    mutating func requiredString(_ key: String) throws(ConfigurationError) -> String {
        guard let string = try string(key) else { throw ConfigurationError(path: child(key), "is required") }
        return string
    }

    mutating func nonEmptyString(_ key: String) throws(ConfigurationError) -> String? {
        guard let string = try string(key) else { return nil }
        if string.isEmpty { throw ConfigurationError(path: child(key), "must not be empty") }
        return string
    }

    mutating func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = value(key) else { return nil }
        switch value {
        case .bool(let flag): return flag
        case .string("true"): return true
        case .string("false"): return false
        default: throw ConfigurationError(path: child(key), "expected true or false, found \(value.typeName)")
        }
    }

    mutating func int(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = value(key) else { return nil }
        let number: Int? =
            switch value {
            case .number(let number): number.intValue
            case .string(let text): Int(text)
            default: nil
            }
        guard let number else { throw ConfigurationError(path: child(key), "expected a whole number") }
        guard range.contains(number) else {
            throw ConfigurationError(path: child(key), "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    /// A duration written as `250ms`, `30s`, `15m`, `1h`, `2d`, or a number of milliseconds.
    mutating func duration(_ key: String) throws(ConfigurationError) -> Duration? {
        guard let value = value(key) else { return nil }
        let text: String
        switch value {
        case .number(let number): text = number.lexeme + "ms"
        case .string(let string): text = string.trimmingCharacters(in: .whitespaces)
        default:
            throw ConfigurationError(path: child(key), "expected a duration such as \"30s\", found \(value.typeName)")
        }
        guard let duration = Self.parseDuration(text), duration > .zero else {
            throw ConfigurationError(
                path: child(key), "expected a positive duration such as \"500ms\", \"30s\" or \"1h\"")
        }
        return duration
    }

    static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, seconds) in units where text.hasSuffix(suffix) {
            guard let amount = Double(text.dropLast(suffix.count)), amount.isFinite, amount >= 0 else { return nil }
            return .milliseconds(Int64((amount * seconds * 1000).rounded()))
        }
        return nil
    }

    mutating func stringArray(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .array(let elements) = value else {
            throw ConfigurationError(path: child(key), "expected a list of strings, found \(value.typeName)")
        }
        var strings: [String] = []
        for (index, element) in elements.enumerated() {
            switch element {
            case .string(let string): strings.append(string)
            case .number(let number): strings.append(number.lexeme)
            default:
                throw ConfigurationError(
                    path: "\(child(key))[\(index)]", "expected a string, found \(element.typeName)")
            }
        }
        return strings
    }

    mutating func stringMap(_ key: String) throws(ConfigurationError) -> [String: String]? {
        guard let value = value(key) else { return nil }
        guard case .object(let object) = value else {
            throw ConfigurationError(path: child(key), "expected an object of strings, found \(value.typeName)")
        }
        var map: [String: String] = [:]
        for (name, element) in object {
            switch element {
            case .string(let string): map[name] = string
            case .number(let number): map[name] = number.lexeme
            case .bool(let flag): map[name] = flag ? "true" : "false"
            default:
                throw ConfigurationError(path: "\(child(key)).\(name)", "expected a string, found \(element.typeName)")
            }
        }
        return map
    }

    mutating func object(_ key: String) throws(ConfigurationError) -> ConfigurationReader? {
        guard let value = value(key) else { return nil }
        return try ConfigurationReader(value, path: child(key))
    }

    /// Accepts `key` with any value (documented pass-through data such as `metadata`).
    mutating func ignore(_ key: String) { used.insert(key) }

    /// Refuses keys outside `known` before anything else is read, so a misspelt key (`comand`) is reported as
    /// itself rather than as the missing key it was meant to be.
    func rejectUnknownKeys(_ known: Set<String>) throws(ConfigurationError) {
        for key in object.keys where !known.contains(key) {
            throw ConfigurationError(path: child(key), "unknown key")
        }
    }

    func finish() throws(ConfigurationError) {
        for key in object.keys where !used.contains(key) {
            throw ConfigurationError(path: child(key), "unknown key")
        }
    }
}
