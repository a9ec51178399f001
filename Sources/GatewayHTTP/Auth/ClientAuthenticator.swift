import GatewayCore
import Hummingbird
import NIOCore

/// Authenticates callers of the client-facing routes.
///
/// Client tokens are not issued yet, so the only identity is anonymous, and it is granted only to connections from
/// loopback (or a Unix socket). Anything else gets 401 with a `WWW-Authenticate` challenge, so a gateway bound to a
/// public address by mistake does not serve the world.
struct ClientAuthenticator<Context: ClientRequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard Self.isLocal(context.remoteAddress) else {
            return GatewayError(
                .unauthorized,
                "Unauthorized: this gateway accepts anonymous clients on loopback only, and client tokens are not available yet"
            ).httpResponse()
        }
        var context = context
        context.identity = .anonymous
        return try await next(request, context)
    }

    static func isLocal(_ address: SocketAddress?) -> Bool {
        guard let address else { return false }
        switch address {
        case .unixDomainSocket: return true
        case .v4:
            return address.ipAddress?.hasPrefix("127.") ?? false
        case .v6:
            guard let ip = address.ipAddress?.lowercased() else { return false }
            return ip == "::1" || ip.hasPrefix("::ffff:127.")
        }
    }
}
