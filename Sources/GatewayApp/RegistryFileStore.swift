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
        let bytes = document.serialized() + [UInt8(ascii: "\n")]
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = "\(directory)/.\(url.lastPathComponent).\(getpid()).tmp"
        func failure(_ what: String) -> GatewayError {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            return GatewayError(.internalError, "registry file \(path) cannot be written: \(what): \(reason)")
        }
        // Created with mode 0600 from the start (never readable by others, not even for a moment), written in full
        // and flushed to disk, then renamed over the old file, and the directory flushed, so a crash leaves the old
        // list or the new one.
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("create \(temporary)") }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else {
                close(descriptor)
                throw failure("write")
            }
            written += count
        }
        guard fsync(descriptor) == 0 else {
            close(descriptor)
            throw failure("fsync")
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else { throw failure("rename") }
        let directoryDescriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }
}
