import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The management commands' HTTP client: one request per connection to a running gateway (`--gateway-url`), with
/// `ADMIN_TOKEN` (or `--token`) as the bearer, over http or https.
struct ManagementClient {
    let baseURL: URL
    let token: String?

    init(gatewayURL: String, token: String?) throws {
        guard let url = URL(string: gatewayURL), let scheme = url.scheme?.lowercased(),
            ["http", "https"].contains(scheme),
            url.host?.isEmpty == false
        else { throw CommandFailure("--gateway-url must be an http:// or https:// URL, found \"\(gatewayURL)\"") }
        self.baseURL = url
        self.token = token
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: 0)) != nil
    }

    struct Answer {
        let status: Int
        let body: [UInt8]

        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil) async throws -> Answer {
        let https = baseURL.scheme?.lowercased() == "https"
        let host = baseURL.host ?? "127.0.0.1"
        let port = baseURL.port ?? (https ? 443 : 80)
        let basePath = baseURL.path.hasSuffix("/") ? String(baseURL.path.dropLast()) : baseURL.path
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: baseURL.port.map { "\(host):\($0)" } ?? host)
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "Connection", value: "close")
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.count))
        } else if method == .POST {
            headers.add(name: "Content-Length", value: "0")
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: basePath + path, headers: headers)
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: Answer.self)
        let tls = try https ? NIOSSLContext(configuration: .makeClientConfiguration()) : nil
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            // An IP literal is no host name (SNI); the certificate is checked against the address.
                            try NIOSSLClientHandler(
                                context: tls, serverHostname: Self.isIPAddress(host) ? nil : host))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(AnswerCollector(promise: promise))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            promise.fail(error)
            throw CommandFailure("cannot reach the gateway at \(baseURL.absoluteString): \(error)")
        }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(60)) {
            promise.fail(CommandFailure("the gateway at \(self.baseURL.absoluteString) did not answer within 60 s"))
            channel.close(promise: nil)
        }
        defer { timeout.cancel() }
        return try await promise.futureResult.get()
    }
}

/// Collects one HTTP response and completes the promise with it.
private final class AnswerCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<ManagementClient.Answer>
    private var status = 0
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<ManagementClient.Answer>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body(let buffer): body += buffer.readableBytesView
        case .end:
            promise.succeed(ManagementClient.Answer(status: status, body: body))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(CommandFailure("the gateway closed the connection without an answer"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
