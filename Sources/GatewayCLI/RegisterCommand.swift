import ArgumentParser
import Foundation
import GatewayCore
import GatewayWire
import NIOHTTP1

struct RegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Add an instance to a server of a running gateway (the server is created if it is new).",
        discussion: """
            The instance is an HTTP server (--endpoint) or a stdio command (--command, split like a shell would, \
            without expansion). It is started at once, takes requests when ready, and is kept across restarts when \
            the gateway has MCP_GATEWAY_REGISTRY_FILE.
            """
    )

    @Argument(help: "The server (template) the instance belongs to.")
    var name: String

    @Option(name: .long, help: "The instance's MCP URL, e.g. http://10.0.0.5:7071/mcp.")
    var endpoint: String?

    @Option(name: .long, help: "The command that starts a stdio instance, with its arguments: \"python server.py\".")
    var command: String?

    @Option(name: .long, help: "The working directory of a stdio instance.")
    var workingDir: String?

    @Option(name: .long, help: "The instance's weight, 1-1000 (default 1).")
    var weight: Int?

    @Option(name: .long, help: "The instance id (default: made up by the gateway).")
    var id: String?

    @Option(name: .long, help: "An environment variable of a stdio instance, KEY=VALUE (repeatable).")
    var env: [String] = []

    @OptionGroup var management: ManagementOptions

    func run() async throws {
        var instance = JSONObject()
        switch (endpoint, command) {
        case (let endpoint?, nil):
            instance["endpoint"] = .string(endpoint)
        case (nil, let command?):
            let words: [String]
            do throws(CommandLineWords.UnclosedQuote) {
                words = try CommandLineWords.split(command)
            } catch {
                throw CommandFailure("--command has an unclosed quote or a trailing backslash")
            }
            guard let executable = words.first else { throw CommandFailure("--command is empty") }
            instance["command"] = .string(executable)
            if words.count > 1 { instance["args"] = .array(words.dropFirst().map(JSONValue.string)) }
        default:
            throw CommandFailure("give exactly one of --endpoint URL and --command \"CMD ARGS\"")
        }
        if let workingDir { instance["working_dir"] = .string(workingDir) }
        if let weight { instance["weight"] = .number(JSONNumber(weight)) }
        if let id { instance["id"] = .string(id) }
        if !env.isEmpty {
            var variables = JSONObject()
            for pair in env {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw CommandFailure("--env expects KEY=VALUE, found \"\(pair)\"")
                }
                variables[String(pair[..<equals])] = .string(String(pair[pair.index(after: equals)...]))
            }
            instance["env"] = .object(variables)
        }
        let answer = try await management.call(
            .POST, "/gateway/register", body: ["server": .string(name), "instance": .object(instance)])
        let registered = answer["instance"]?["id"]?.stringValue ?? "?"
        print("registered \(name)/\(registered)")
    }
}
