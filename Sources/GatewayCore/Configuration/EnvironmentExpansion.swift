import Foundation
import GatewayWire

/// Expands `${NAME}` and `${NAME:-default}` in every string value of a configuration tree; `$$` is a literal `$`.
/// Keys are left alone. An unset variable without a default is an error naming the key path.
public enum EnvironmentExpansion {
    public static func expand(
        _ value: JSONValue,
        environment: [String: String],
        path: String = ""
    ) throws(ConfigurationError) -> JSONValue {
        switch value {
        case .string(let string):
            return .string(try expand(string, environment: environment, path: path))
        case .array(let elements):
            var expanded: [JSONValue] = []
            for (index, element) in elements.enumerated() {
                expanded.append(try expand(element, environment: environment, path: "\(path)[\(index)]"))
            }
            return .array(expanded)
        case .object(let object):
            var members: [(key: String, value: JSONValue)] = []
            for member in object {
                let childPath = path.isEmpty ? member.key : "\(path).\(member.key)"
                members.append((member.key, try expand(member.value, environment: environment, path: childPath)))
            }
            return .object(JSONObject(members: members))
        default:
            return value
        }
    }

    public static func expand(
        _ string: String,
        environment: [String: String],
        path: String
    ) throws(ConfigurationError) -> String {
        guard string.contains("$") else { return string }
        var output = ""
        var scalars = Substring(string).unicodeScalars[...]
        while let scalar = scalars.popFirst() {
            guard scalar == "$", let next = scalars.first else {
                output.unicodeScalars.append(scalar)
                continue
            }
            if next == "$" {
                scalars.removeFirst()
                output.append("$")
                continue
            }
            guard next == "{" else {
                output.unicodeScalars.append(scalar)
                continue
            }
            scalars.removeFirst()
            guard let close = scalars.firstIndex(of: "}") else {
                throw ConfigurationError(path: path, "unterminated ${ in \"\(string)\"")
            }
            let expression = String(scalars[..<close])
            scalars = scalars[scalars.index(after: close)...]
            let name: String
            let fallback: String?
            if let separator = expression.range(of: ":-") {
                name = String(expression[..<separator.lowerBound])
                fallback = String(expression[separator.upperBound...])
            } else {
                name = expression
                fallback = nil
            }
            guard isVariableName(name) else {
                throw ConfigurationError(path: path, "invalid variable name \"\(name)\" in ${…}")
            }
            if let value = environment[name], !(value.isEmpty && fallback != nil) {
                output.append(value)
            } else if let fallback {
                output.append(fallback)
            } else {
                throw ConfigurationError(path: path, "environment variable \(name) is not set")
            }
        }
        return output
    }

    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
        }
    }
}
