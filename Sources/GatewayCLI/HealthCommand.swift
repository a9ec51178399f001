import ArgumentParser
import Foundation
import GatewayCore
import GatewayWire
import NIOHTTP1

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Show the health of a running gateway's servers; exits 1 when a server has no healthy instance."
    )

    @OptionGroup var management: ManagementOptions

    func run() async throws {
        let answer = try await management.call(.GET, "/gateway/health")
        let status = answer["status"]?.stringValue ?? "?"
        print("gateway: \(status)")
        for (name, server) in answer["servers"]?.objectValue ?? [:] {
            let healthy = server["healthy_instances"]?.numberValue?.lexeme ?? "?"
            let total = server["total_instances"]?.numberValue?.lexeme ?? "?"
            print("  \(name): \(healthy)/\(total) instances healthy")
        }
        if status == "unhealthy" { throw ExitCode(1) }
    }
}
