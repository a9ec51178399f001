import Foundation
import GatewayCore
import GatewayWire
import Yams

/// Reads a configuration file (JSON, or YAML by extension or content) into a checked ``GatewayConfiguration``.
public enum ConfigurationLoader {
    public static func load(path: String, environment: [String: String]) throws(ConfigurationError)
        -> GatewayConfiguration
    {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(path: "", "cannot be read: \(error.localizedDescription)")
        }
        return try parse(text, fileName: path, environment: environment)
    }

    public static func parse(
        _ text: String,
        fileName: String,
        environment: [String: String]
    ) throws(ConfigurationError) -> GatewayConfiguration {
        let document = try self.document(text, fileName: fileName)
        return try GatewayConfiguration(document: EnvironmentExpansion.expand(document, environment: environment))
    }

    static func document(_ text: String, fileName: String) throws(ConfigurationError) -> JSONValue {
        let lowered = fileName.lowercased()
        let looksLikeJSON =
            lowered.hasSuffix(".json")
            || (!lowered.hasSuffix(".yaml") && !lowered.hasSuffix(".yml")
                && text.drop(while: \.isWhitespace).first == "{")
        if looksLikeJSON {
            do throws(JSONParseError) {
                return try JSONParser.parse(text)
            } catch {
                throw ConfigurationError(path: "", "not valid JSON: \(error)")
            }
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError(path: "", "not valid YAML: \(oneLine(error))")
        }
        guard let node else { return [:] }
        return try jsonValue(node, path: "")
    }

    /// The first line of a parser's message (it appends the offending text and a caret), plus its position.
    static func oneLine(_ error: any Error) -> String {
        let lines = "\(error)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = lines.first else { return "\(error)" }
        if let position = lines.last(where: { $0.hasPrefix("in line ") }), position != first {
            return "\(first) (\(position))"
        }
        return first
    }

    /// A YAML node as JSON: scalars by their resolved tag, mappings with string keys and no duplicates.
    static func jsonValue(_ node: Node, path: String) throws(ConfigurationError) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            switch node.any {
            case is NSNull: return .null
            case let flag as Bool: return .bool(flag)
            case let number as Int: return .number(JSONNumber(number))
            case let number as Double where number.isFinite: return .number(JSONNumber(number))
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            var elements: [JSONValue] = []
            for (index, element) in sequence.enumerated() {
                elements.append(try jsonValue(element, path: "\(path)[\(index)]"))
            }
            return .array(elements)
        case .mapping(let mapping):
            var object = JSONObject()
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw ConfigurationError(path: path, "mapping keys must be plain strings")
                }
                let name = keyScalar.string
                let childPath = path.isEmpty ? name : "\(path).\(name)"
                guard object[name] == nil else { throw ConfigurationError(path: childPath, "duplicate key") }
                object[name] = try jsonValue(value, path: childPath)
            }
            return .object(object)
        case .alias:
            throw ConfigurationError(path: path, "YAML aliases are not supported")
        }
    }
}
