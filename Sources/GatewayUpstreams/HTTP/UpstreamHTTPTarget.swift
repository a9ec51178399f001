import Foundation
import GatewayCore

/// Where an HTTP upstream lives: the connection pool for its origin and the request path (with query) of its URL.
/// A URL that cannot be used keeps the reason, which every request then reports.
struct UpstreamHTTPTarget: Sendable {
    let pool: Result<UpstreamHTTPConnectionPool, UpstreamHTTPError>
    let path: String

    init(endpoint: HTTPEndpoint, maxBodyBytes: Int) {
        let components = URLComponents(string: endpoint.url)
        let path = components?.percentEncodedPath ?? ""
        let query = components?.percentEncodedQuery.map { "?" + $0 } ?? ""
        self.path = (path.isEmpty ? "/" : path) + query
        do {
            guard let url = URL(string: endpoint.url) else { throw UpstreamHTTPError.connectFailed("invalid URL") }
            self.pool = .success(try UpstreamHTTPConnectionPool(url: url, maxBodyBytes: maxBodyBytes))
        } catch let error as UpstreamHTTPError {
            self.pool = .failure(error)
        } catch {
            self.pool = .failure(.connectFailed("\(error)"))
        }
    }
}
