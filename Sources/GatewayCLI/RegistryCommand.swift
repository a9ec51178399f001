import ArgumentParser
import Foundation
import GatewayCore
import GatewayWire
import NIOHTTP1

struct RegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "List every server and instance of a running gateway, with its state."
    )

    @Flag(name: .long, help: "Print the gateway's JSON answer as it is.")
    var json = false

    @OptionGroup var management: ManagementOptions

    func run() async throws {
        let answer = try await management.call(.GET, "/gateway/registry")
        if json {
            print(String(decoding: answer.serialized(), as: UTF8.self))
            return
        }
        for (name, server) in answer["servers"]?.objectValue ?? [:] {
            print("\(name) (\(server["strategy"]?.stringValue ?? "?"))")
            for instance in server["instances"]?.arrayValue ?? [] {
                let target =
                    instance["endpoint"]?.stringValue
                    ?? ([instance["command"]?.stringValue ?? ""]
                    + (instance["args"]?.arrayValue?.compactMap(\.stringValue) ?? [])).joined(separator: " ")
                let fields = [
                    instance["id"]?.stringValue ?? "?", instance["status"]?.stringValue ?? "?",
                    instance["healthy"]?.boolValue == true ? "healthy" : "unhealthy",
                    "weight \(instance["weight"]?.numberValue?.lexeme ?? "1")", instance["source"]?.stringValue ?? "",
                    target,
                ]
                print("  " + fields.joined(separator: "  "))
            }
        }
    }
}
