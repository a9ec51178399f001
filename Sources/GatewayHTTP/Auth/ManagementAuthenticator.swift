import Foundation
import GatewayCore
import HTTPTypes
import Hummingbird

/// Guards the management routes: the request must carry `Authorization: Bearer` with one of the accepted secrets
/// (`ADMIN_TOKEN`, and for register/deregister also `MCP_GATEWAY_REGISTRATION_TOKEN`). Where the request comes from
/// counts for nothing, since a reverse proxy on the same host makes everything look local; with no secret
/// configured, every request is refused.
struct ManagementAuthenticator: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let secrets: [BearerSecret]

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard !secrets.isEmpty else {
            return Self.refusal("Unauthorized: the management API is off until ADMIN_TOKEN is set")
        }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            return Self.refusal("Unauthorized: send Authorization: Bearer <ADMIN_TOKEN>")
        }
        let token = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        // Every secret is compared, so the time taken does not say which one nearly matched.
        let matched = secrets.reduce(false) { matched, secret in secret.matches(token) || matched }
        guard matched else { return Self.refusal("Unauthorized: the token is not valid for this route") }
        var context = context
        context.identity = .administrator
        return try await next(request, context)
    }

    static func refusal(_ message: String) -> Response {
        var response = GatewayError(.unauthorized, message).restResponse()
        response.headers[.wwwAuthenticate] = #"Bearer realm="mcp-gateway-management""#
        return response
    }
}
