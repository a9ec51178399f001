import ArgumentParser
import Foundation
import GatewayApp
import GatewayCore
import GatewayWire
import NIOHTTP1

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Register every instance of a registry file with a running gateway.",
        discussion: """
            FILE has the shape MCP_GATEWAY_REGISTRY_FILE is written in: {"version": 1, "instances": [{"server": \
            NAME, "instance": {...}}]}. Instances the gateway already has are left as they are.
            """
    )

    @Argument(help: "The registry file to import.")
    var file: String

    @OptionGroup var management: ManagementOptions

    func run() async throws {
        let document: JSONValue
        do {
            document = try JSONParser.parse(try String(contentsOfFile: file, encoding: .utf8))
        } catch {
            throw CommandFailure("\(file): \(error)")
        }
        let registrations = try RegistryFileStore.registrations(in: document, source: file)
        var added = 0
        var present = 0
        var failed: [String] = []
        for registration in registrations {
            let name = "\(registration.server)/\(registration.instance.id)"
            do {
                _ = try await management.call(.POST, "/gateway/register", body: registration.json)
                added += 1
            } catch let failure as CommandFailure
                where failure.description.hasPrefix("HTTP 409")
                && failure.description.contains("already has an instance")
            {
                present += 1
            } catch {
                failed.append("\(name): \(error)")
            }
        }
        print("\(file): \(added) instance(s) registered, \(present) already present, \(failed.count) failed")
        if !failed.isEmpty {
            throw CommandFailure(
                "\(failed.count) of \(registrations.count) instance(s) could not be registered; first: \(failed[0])")
        }
    }
}
