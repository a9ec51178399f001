import GatewayWire

/// One instance registered at run time (`POST /gateway/register`, `mcp-gateway register`, a registry file): the
/// server it belongs to and how to reach it.
///
/// The JSON shape is the MCP Platform gateway's: `{"template" | "server": NAME, "instance": {"id"?, "endpoint" |
/// "command", "args"?, "working_dir"?, "env"?, "weight"?, "metadata"?, "transport"?, "headers"?}}`. The registry
/// file stores each registration in the same shape.
public struct InstanceRegistration: Sendable, Hashable {
    public var server: String
    public var instance: UpstreamInstanceConfiguration

    public init(server: String, instance: UpstreamInstanceConfiguration) {
        self.server = server
        self.instance = instance
    }

    static let instanceKeys: Set<String> = [
        "id", "endpoint", "url", "command", "args", "working_dir", "cwd", "env", "weight", "metadata", "transport",
        "type", "headers",
    ]

    /// Decodes a registration; an error names the field (`instance.endpoint`) and what is wrong with it. Without an
    /// id, `makeID` names the instance.
    public init(json: JSONValue, makeID: (String) -> String) throws(ConfigurationError) {
        var root = try ConfigurationReader(json, path: "")
        let template = try root.nonEmptyString("template")
        let server = try root.nonEmptyString("server")
        if let template, let server, template != server {
            throw ConfigurationError(path: "server", "disagrees with template \"\(template)\"")
        }
        guard let name = server ?? template else {
            throw ConfigurationError(path: "server", "is required (the server, or template, the instance belongs to)")
        }
        guard case .object(var fields)? = root.value("instance") else {
            throw ConfigurationError(path: "instance", "is required: an object with an endpoint or a command")
        }
        if let workingDirectory = fields["working_dir"] {
            guard fields["cwd"] == nil else {
                throw ConfigurationError(path: "instance.working_dir", "give working_dir or cwd, not both")
            }
            fields["working_dir"] = nil
            fields["cwd"] = workingDirectory
        }
        var reader = try ConfigurationReader(.object(fields), path: "instance")
        try reader.rejectUnknownKeys(Self.instanceKeys)
        let id = try reader.nonEmptyString("id")
        if let id {
            try GatewayConfiguration.checkServerName(id, label: "id", path: "instance.id", separator: "/")
        }
        var instance = UpstreamInstanceConfiguration(
            id: id ?? makeID(name), transport: try GatewayConfiguration.decodeTransport(&reader))
        instance.weight = try reader.int("weight", in: 1...1000) ?? 1
        instance.metadata = reader.value("metadata")
        try reader.finish()
        try root.finish()
        self.init(server: name, instance: instance)
    }

    /// The registration in the shape it was given in (as the registry file keeps it).
    public var json: JSONValue {
        var fields: JSONObject = ["id": .string(instance.id)]
        switch instance.transport {
        case .stdio(let command):
            fields["command"] = .string(command.command)
            if !command.arguments.isEmpty { fields["args"] = .array(command.arguments.map(JSONValue.string)) }
            if let directory = command.workingDirectory { fields["working_dir"] = .string(directory) }
            if !command.environment.isEmpty {
                fields["env"] = .object(
                    JSONObject(
                        members: command.environment.sorted { $0.key < $1.key }.map {
                            ($0.key, .string($0.value))
                        }))
            }
        case .http(let endpoint):
            fields["endpoint"] = .string(endpoint.url)
            if endpoint.kind != .automatic { fields["transport"] = .string(endpoint.kind.rawValue) }
            if !endpoint.headers.isEmpty {
                fields["headers"] = .object(
                    JSONObject(
                        members: endpoint.headers.sorted { $0.key < $1.key }.map {
                            ($0.key, .string($0.value))
                        }))
            }
        }
        if instance.weight != 1 { fields["weight"] = .number(JSONNumber(instance.weight)) }
        if let metadata = instance.metadata { fields["metadata"] = metadata }
        return ["server": .string(server), "instance": .object(fields)]
    }
}

/// Where registered instances are kept so they survive a restart: a file now (`MCP_GATEWAY_REGISTRY_FILE`), the SQL
/// store once it exists, behind this one interface.
public protocol RegistryStore: Sendable {
    func load() throws(GatewayError) -> [InstanceRegistration]
    /// Replaces what is kept with `registrations`, atomically: after a crash the old or the new list is there,
    /// never a mix.
    func save(_ registrations: [InstanceRegistration]) throws(GatewayError)
}
