/// Why an instance does not satisfy a schema: where (a JSON Pointer into the instance) and what was expected.
public struct JSONSchemaViolation: Sendable, Hashable, CustomStringConvertible {
    /// The instance location, as RFC 6901 tokens from the root (`["items", "0", "name"]`).
    public let path: [String]
    /// What was wrong there, for people: `expected string, got number`.
    public let reason: String

    public init(path: some Sequence<String>, reason: String) {
        self.path = Array(path)
        self.reason = reason
    }

    /// The location as an RFC 6901 JSON Pointer (`/items/0/name`; the root is the empty pointer).
    public var pointer: String {
        path.map { "/" + $0.replacing("~", with: "~0").replacing("/", with: "~1") }.joined()
    }

    /// `/days: must be at most 14`, or for the root just the reason.
    public var description: String { path.isEmpty ? reason : "\(pointer): \(reason)" }
}

/// A schema the validator cannot use: malformed (a keyword of the wrong type) or outside what it supports (a
/// `$ref` that leaves the document).
public struct JSONSchemaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where in the schema, as a JSON Pointer.
    public let location: String
    public let reason: String

    public init(location: String, reason: String) {
        self.location = location
        self.reason = reason
    }

    public var description: String { "\(location.isEmpty ? "/" : location): \(reason)" }
}
