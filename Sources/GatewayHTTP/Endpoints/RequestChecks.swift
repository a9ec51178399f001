import Foundation
import GatewayCore
import HTTPTypes
import Hummingbird
import NIOCore

/// The transport-level checks shared by every MCP endpoint: the server in the path, the caller, Origin, Accept,
/// Content-Type and the body limit.
struct RequestChecks: Sendable {
    let origins: OriginConfiguration
    let limits: LimitsConfiguration

    /// The scope of `/mcp/{server}`, or 404 for a server that is not configured.
    func scope(server name: String?, in directory: UpstreamDirectory) throws(GatewayError) -> EndpointScope {
        guard let name else { return .aggregate }
        guard directory.server(named: name) != nil else {
            throw GatewayError(.unknownServer, "Unknown server: \(name)")
        }
        return .server(name)
    }

    func authenticated(_ context: some ClientRequestContext) throws(GatewayError) -> Identity {
        guard let identity = context.identity else { throw GatewayError(.unauthorized, "Unauthorized") }
        return identity
    }

    /// The body, refusing more than the limit with 413: at once from `Content-Length`, else while reading.
    func readBody(_ request: Request) async throws(GatewayError) -> [UInt8] {
        let limit = limits.maxRequestBodyBytes
        let tooLarge = GatewayError(.payloadTooLarge, "Payload Too Large: the request body exceeds \(limit) bytes")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch {
            throw GatewayError(.invalidRequest, "Bad Request: the request body could not be read")
        }
    }

    /// 403 for a browser origin that is not allowed. Requests without `Origin` (non-browser clients) pass.
    func checkOrigin(_ request: Request) throws(GatewayError) {
        guard let origin = request.headers[.origin] else { return }
        if origins.allowed.contains("*") || origins.allowed.contains(origin) { return }
        // Browsers send the page's origin (http, https or "null"); a ws:// or wss:// origin comes only from a
        // non-browser WebSocket client (some always send one), which could as well send none.
        if let scheme = URL(string: origin)?.scheme?.lowercased(), scheme == "ws" || scheme == "wss" { return }
        if origins.allowLoopback, let url = URL(string: origin), ["http", "https"].contains(url.scheme ?? ""),
            let host = url.host?.lowercased(), ["localhost", "127.0.0.1", "::1", "[::1]"].contains(host)
        {
            return
        }
        throw GatewayError(.originNotAllowed, "Forbidden: origin \(origin) is not allowed")
    }

    /// POST must accept both JSON and SSE answers (406 otherwise); a missing header counts as `*/*`.
    func checkPostAccept(_ request: Request) throws(GatewayError) {
        if request.headers[.accept] == "application/json, text/event-stream" { return }
        let ranges = mediaRanges(request.headers[.accept])
        guard accepts(ranges, "application/json"), accepts(ranges, "text/event-stream") else {
            throw GatewayError(
                .notAcceptable, "Not Acceptable: Accept must include application/json and text/event-stream")
        }
    }

    func checkStreamAccept(_ request: Request) throws(GatewayError) {
        guard accepts(mediaRanges(request.headers[.accept]), "text/event-stream") else {
            throw GatewayError(.notAcceptable, "Not Acceptable: Accept must include text/event-stream")
        }
    }

    /// POST bodies are JSON (415 otherwise).
    func checkContentType(_ request: Request) throws(GatewayError) {
        if request.headers[.contentType] == "application/json" { return }
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
            .lowercased()
        guard type == "application/json" else {
            throw GatewayError(.unsupportedMediaType, "Unsupported Media Type: Content-Type must be application/json")
        }
    }

    private func mediaRanges(_ header: String?) -> [String] {
        guard let header else { return ["*/*"] }
        return header.split(separator: ",").compactMap {
            $0.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        }
    }

    private func accepts(_ ranges: [String], _ type: String) -> Bool {
        let major = type.split(separator: "/")[0]
        return ranges.contains { $0 == type || $0 == "*/*" || $0 == "\(major)/*" }
    }
}
