import ArgumentParser
import Foundation
import GatewayCore
import GatewayWire
import NIOHTTP1

struct DeregisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deregister",
        abstract: "Remove an instance from a running gateway; its calls in flight may finish first."
    )

    @Argument(help: "The server the instance belongs to.")
    var name: String

    @Argument(help: "The instance id (see `mcp-gateway registry`).")
    var instance: String

    @OptionGroup var management: ManagementOptions

    func run() async throws {
        let path = "/gateway/deregister/\(Self.escaped(name))/\(Self.escaped(instance))"
        _ = try await management.call(.DELETE, path)
        print("deregistered \(name)/\(instance)")
    }

    static func escaped(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? component
    }
}
