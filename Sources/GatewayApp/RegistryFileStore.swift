import Foundation
import GatewayCore
import GatewayWire

/// Keeps registered instances in a JSON file (`MCP_GATEWAY_REGISTRY_FILE`): `{"version": 1, "instances": [...]}`,
/// each entry in the shape `POST /gateway/register` takes. Written to a temporary file in the same directory and
/// renamed over the old one, so a crash leaves the old list or the new one; readable by its owner only, since
/// environment values and headers may be credentials.
public struct RegistryFileStore: RegistryStore {
    let path: String

    public init(path: String) {
        self.path = path
    }

    public func load() throws(GatewayError) -> [InstanceRegistration] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let document: JSONValue
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            document = try JSONParser.parse(text)
        } catch {
            throw GatewayError(.internalError, "registry file \(path) cannot be read: \(error)")
        }
        return try Self.registrations(in: document, source: path)
    }

    /// The registrations of a registry document (also what `mcp-gateway sync` imports).
    public static func registrations(in document: JSONValue, source: String) throws(GatewayError)
        -> [InstanceRegistration]
    {
        guard let entries = document["instances"]?.arrayValue else {
            throw GatewayError(.invalidParams, "\(source): expected {\"version\": 1, \"instances\": [...]}")
        }
        var registrations: [InstanceRegistration] = []
        for (index, entry) in entries.enumerated() {
            do throws(ConfigurationError) {
                registrations.append(try InstanceRegistration(json: entry) { server in "\(server)-\(index + 1)" })
            } catch {
                throw GatewayError(.invalidParams, "\(source): instances[\(index)].\(error)")
            }
        }
        return registrations
    }

    public func save(_ registrations: [InstanceRegistration]) throws(GatewayError) {
        let document: JSONValue = ["version": 1, "instances": .array(registrations.map(\.json))]
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        do {
            let data = Data(document.serialized() + [UInt8(ascii: "\n")])
            guard
                FileManager.default.createFile(
                    atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600])
            else { throw CocoaError(.fileWriteUnknown) }
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.synchronize()
            try handle.close()
            if rename(temporary.path, url.path) != 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw GatewayError(.internalError, "registry file \(path) cannot be written: \(error)")
        }
    }
}
