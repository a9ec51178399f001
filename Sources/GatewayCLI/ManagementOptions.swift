import ArgumentParser
import Foundation
import GatewayWire
import NIOHTTP1

/// What every management command needs: where the gateway is and the token to show it.
struct ManagementOptions: ParsableArguments {
    @Option(name: .long, help: "The running gateway (default http://127.0.0.1:8080, or MCP_GATEWAY_URL).")
    var gatewayURL: String?

    @Option(name: .long, help: "The management token (default: ADMIN_TOKEN, then MCP_GATEWAY_REGISTRATION_TOKEN).")
    var token: String?

    func client() throws -> ManagementClient {
        let environment = ProcessInfo.processInfo.environment
        let url = gatewayURL ?? environment["MCP_GATEWAY_URL"] ?? "http://127.0.0.1:8080"
        let token = token ?? environment["ADMIN_TOKEN"] ?? environment["MCP_GATEWAY_REGISTRATION_TOKEN"]
        return try ManagementClient(gatewayURL: url, token: token?.isEmpty == true ? nil : token)
    }

    /// Sends the request and returns the JSON answer, or fails with the gateway's own one-line reason.
    func call(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws -> JSONValue {
        let client = try client()
        let answer = try await client.send(method, path, body: body?.serialized())
        let parsed = try? JSONParser.parse(answer.body)
        guard (200..<300).contains(answer.status) else {
            let reason = parsed?["error"]?["message"]?.stringValue ?? answer.text.prefix(200).description
            throw CommandFailure("HTTP \(answer.status) from \(client.baseURL.absoluteString): \(reason)")
        }
        guard let parsed else { throw CommandFailure("the gateway's answer is not JSON: \(answer.text.prefix(200))") }
        return parsed
    }
}
