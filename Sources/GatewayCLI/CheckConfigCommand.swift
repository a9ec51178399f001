import ArgumentParser
import Foundation
import GatewayApp
import GatewayCore

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and summarise what it declares."
    )

    @Argument(help: "Configuration file, JSON or YAML.")
    var file: String

    func run() throws {
        let configuration: GatewayConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: file, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw CommandFailure("\(file): \(error)")
        }
        print("\(file): valid; listens on \(configuration.listen); \(configuration.servers.count) server(s)")
        for server in configuration.servers {
            for instance in server.instances {
                let target: String
                switch instance.transport {
                case .stdio(let command):
                    target = "stdio: " + ([command.command] + command.arguments).joined(separator: " ")
                case .http(let endpoint): target = "\(endpoint.kind.rawValue): \(endpoint.url)"
                }
                print("  \(server.name) (prefix \(server.prefix)) · \(instance.id) · \(target)")
            }
        }
        for notice in configuration.notices { print("  note: \(notice)") }
    }
}
