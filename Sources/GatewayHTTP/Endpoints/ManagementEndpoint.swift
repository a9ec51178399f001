import Foundation
import GatewayCore
import GatewayWire
import Hummingbird

/// `/gateway/*`: the fleet's health, statistics and registry, and registering or removing instances while the
/// gateway runs. Every route needs the management token (``ManagementAuthenticator``); errors are
/// `{"error": {"code", "message"}}` with a REST status (400 naming the field, 401, 404, 409).
public struct ManagementEndpoint: Sendable {
    let directory: UpstreamDirectory
    let maxBodyBytes: Int

    public init(directory: UpstreamDirectory, maxBodyBytes: Int = 64 * 1024) {
        self.directory = directory
        self.maxBodyBytes = maxBodyBytes
    }

    /// `GET /gateway/health`: `healthy` when every instance is, `degraded` when some are not but every server has
    /// one, `unhealthy` when a server has none.
    func health() -> Response {
        var servers = JSONObject()
        var allHealthy = true
        var anyServerDown = false
        for server in directory.servers {
            let report = server.healthReport()
            let healthy = report["healthy_instances"]?.numberValue?.intValue ?? 0
            let total = report["total_instances"]?.numberValue?.intValue ?? 0
            if healthy < total { allHealthy = false }
            if healthy == 0 { anyServerDown = true }
            servers[server.name] = [
                "healthy_instances": .number(JSONNumber(healthy)), "total_instances": .number(JSONNumber(total)),
                "health_percentage": report["health_percentage"] ?? 0,
            ]
        }
        let status = anyServerDown ? "unhealthy" : allHealthy ? "healthy" : "degraded"
        let body: JSONValue = [
            "status": .string(status), "total_servers": .number(JSONNumber(servers.count)),
            "servers": .object(servers),
        ]
        return .json(.ok, body.serialized())
    }

    /// `GET /gateway/stats`: per server, requests, instance failures, latency percentiles, the spread of calls over
    /// the instances and the health checker's state.
    func stats() -> Response {
        var servers = JSONObject()
        var requests = 0
        var errors = 0
        for server in directory.servers {
            let report = server.statsReport()
            requests += report["requests"]?.numberValue?.intValue ?? 0
            errors += report["errors"]?.numberValue?.intValue ?? 0
            servers[server.name] = report
        }
        let body: JSONValue = [
            "requests": .number(JSONNumber(requests)), "errors": .number(JSONNumber(errors)),
            "servers": .object(servers),
        ]
        return .json(.ok, body.serialized())
    }

    /// `GET /gateway/registry`: every server and instance with its state. Environment values and header values are
    /// never shown, only their names.
    func registry() -> Response {
        let registered = Set(directory.registrations.map { "\($0.server)/\($0.instance.id)" })
        var servers = JSONObject()
        var instanceCount = 0
        for server in directory.servers {
            var instances: [JSONValue] = []
            for (member, transport, instance) in server.members {
                var entry: JSONObject = [
                    "id": .string(member.id),
                    "source": .string(registered.contains("\(server.name)/\(member.id)") ? "registered" : "config"),
                    "weight": .number(JSONNumber(member.weight)),
                    "status": .string(member.retiring ? "draining" : transport.status.name),
                    "healthy": .bool(transport.status == .ready && member.breaker == .closed && !member.retiring),
                ]
                if let instance { Self.describe(instance, into: &entry) }
                instances.append(.object(entry))
            }
            instanceCount += instances.count
            servers[server.name] = [
                "prefix": .string(server.configuration.prefix),
                "strategy": .string(server.balancing.strategy.rawValue),
                "instances": .array(instances),
            ]
        }
        let body: JSONValue = [
            "total_servers": .number(JSONNumber(servers.count)), "total_instances": .number(JSONNumber(instanceCount)),
            "servers": .object(servers),
        ]
        return .json(.ok, body.serialized())
    }

    static func describe(_ instance: UpstreamInstanceConfiguration, into entry: inout JSONObject) {
        switch instance.transport {
        case .stdio(let command):
            entry["transport"] = "stdio"
            entry["command"] = .string(command.command)
            entry["args"] = .array(command.arguments.map(JSONValue.string))
            if let directory = command.workingDirectory { entry["working_dir"] = .string(directory) }
            entry["env"] = .array(command.environment.keys.sorted().map(JSONValue.string))
        case .http(let endpoint):
            entry["transport"] = .string(endpoint.kind == .sse ? "sse" : "http")
            entry["endpoint"] = .string(HTTPEndpoint.redacted(endpoint.url))
            entry["headers"] = .array(endpoint.headers.keys.sorted().map(JSONValue.string))
        }
        if let metadata = instance.metadata { entry["metadata"] = metadata }
    }

    /// `POST /gateway/register`.
    func register(_ request: Request) async -> Response {
        do throws(GatewayError) {
            let body = try await readJSON(request)
            let registration: InstanceRegistration
            do throws(ConfigurationError) {
                registration = try InstanceRegistration(json: body) { server in
                    "\(server)-\(String(UInt32.random(in: .min ... .max), radix: 16))"
                }
            } catch {
                throw GatewayError(
                    .invalidParams, "Invalid registration: \(error)", data: ["field": .string(error.path)])
            }
            let server = try directory.register(registration)
            var entry: JSONObject = ["id": .string(registration.instance.id)]
            Self.describe(registration.instance, into: &entry)
            let answer: JSONValue = [
                "status": "registered", "server": .string(server.name), "template": .string(server.name),
                "instance": .object(entry),
            ]
            return .json(.created, answer.serialized())
        } catch {
            return error.restResponse()
        }
    }

    /// `DELETE /gateway/deregister/{server}/{instance_id}`: answers once the instance stopped.
    func deregister(server: String?, instance: String?) async -> Response {
        do throws(GatewayError) {
            guard let server, let instance else { throw GatewayError(.invalidParams, "Invalid path") }
            try await directory.deregister(server: server, instance: instance)
            let answer: JSONValue = [
                "status": "deregistered", "server": .string(server), "instance": .string(instance),
            ]
            return .json(.ok, answer.serialized())
        } catch {
            return error.restResponse()
        }
    }

    private func readJSON(_ request: Request) async throws(GatewayError) -> JSONValue {
        let bytes: [UInt8]
        do {
            bytes = Array(try await request.body.collect(upTo: maxBodyBytes).readableBytesView)
        } catch {
            throw GatewayError(.payloadTooLarge, "Payload Too Large: at most \(maxBodyBytes) bytes")
        }
        do throws(JSONParseError) {
            return try JSONParser.parse(bytes)
        } catch {
            throw GatewayError(.parseError, "The body is not JSON: \(error)")
        }
    }
}
