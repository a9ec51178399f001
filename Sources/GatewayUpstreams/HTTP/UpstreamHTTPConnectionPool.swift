import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Keep-alive HTTP/1.1 connections to one upstream origin.
///
/// A request takes an idle connection (the most recently used first), or opens one while fewer than
/// `maxConnections` are open, or waits for one to be released. Each exchange costs one hop onto the connection's event
/// loop and one back. Only requests the caller marks `retryable` are sent again, once, when a reused connection
/// closes before any response; a `tools/call` is never repeated behind the client's back.
final class UpstreamHTTPConnectionPool: Sendable {
    let host: String
    let port: Int
    let hostHeader: String
    let maxConnections: Int
    let maxBodyBytes: Int
    private let tlsContext: NIOSSLContext?
    private let group: any EventLoopGroup

    private enum Next: Sendable {
        case use(any Channel)
        case connect
        /// A slot opened or the connection handed over died: decide again.
        case retry
    }

    private struct State {
        var idle: [(channel: any Channel, since: NIODeadline)] = []
        var open = 0
        var waiters: [CheckedContinuation<Next, any Error>] = []
        var closed = false
    }

    private let state = Mutex(State())

    /// - Throws: ``UpstreamHTTPError/connectFailed(_:)`` for a URL that is not http(s) or a TLS set-up failure.
    init(
        url: URL, maxConnections: Int = 128, maxBodyBytes: Int,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        guard let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = url.host else {
            throw UpstreamHTTPError.connectFailed("not an http or https URL: \(url)")
        }
        let tls = scheme == "https"
        self.host = host
        self.port = url.port ?? (tls ? 443 : 80)
        let hostName = host.contains(":") ? "[\(host)]" : host
        self.hostHeader = url.port.map { "\(hostName):\($0)" } ?? hostName
        self.maxConnections = maxConnections
        self.maxBodyBytes = maxBodyBytes
        self.group = group
        do {
            self.tlsContext = tls ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
        } catch {
            throw UpstreamHTTPError.connectFailed("TLS set-up failed: \(error)")
        }
    }

    /// Sends one request and returns the response head and body. `onExchange` learns the connection and the
    /// response promise, so the exchange can be cancelled (``cancel(_:on:)``).
    func execute(
        _ head: HTTPRequestHead,
        body: ByteBuffer,
        idleTimeout: Duration?,
        deadline: Duration?,
        retryable: Bool,
        onAbandoned: (@Sendable () -> Void)? = nil,
        onExchange: (any Channel, EventLoopPromise<UpstreamHTTPResponse>) -> Void = { _, _ in }
    ) async throws -> UpstreamHTTPResponse {
        let limit = deadline.map { NIODeadline.now() + TimeAmount($0) }
        var retried = false
        while true {
            let channel = try await acquire()
            let response = channel.eventLoop.makePromise(of: UpstreamHTTPResponse.self)
            onExchange(channel, response)
            let exchange = UpstreamHTTPExchange(
                head: head,
                body: body,
                promise: response,
                idleTimeout: idleTimeout.map(TimeAmount.init),
                deadline: limit,
                onAbandoned: onAbandoned
            )
            let written = channel.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenFailure { _ in response.fail(UpstreamHTTPError.closedBeforeResponse(reused: true))
            }
            channel.writeAndFlush(exchange, promise: written)
            do {
                return try await response.futureResult.get()
            } catch UpstreamHTTPError.closedBeforeResponse(reused: true) where retryable && !retried {
                retried = true
            }
        }
    }

    /// Stops the exchange of `promise` if it is still running on `channel`; its caller gets a cancellation error.
    func cancel(_ promise: EventLoopPromise<UpstreamHTTPResponse>, on channel: any Channel) {
        channel.triggerUserOutboundEvent(UpstreamHTTPCancellation(promise: promise), promise: nil)
    }

    /// Closes idle connections unused for `age` (servers close idle keep-alive connections on their own schedule,
    /// and a request sent just as they do would fail).
    func evictIdle(olderThan age: TimeAmount) {
        let cutoff = NIODeadline.now() - age
        let stale = state.withLock { state -> [any Channel] in
            let stale = state.idle.filter { $0.since < cutoff }.map(\.channel)
            state.idle.removeAll { $0.since < cutoff }
            return stale
        }
        for channel in stale { channel.close(promise: nil) }
    }

    /// Closes every connection; later requests fail.
    func shutdown() async {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.idle = []
                state.waiters = []
            }
            return (state.idle.map(\.channel), state.waiters)
        }
        for waiter in waiters { waiter.resume(throwing: UpstreamHTTPError.poolClosed) }
        for channel in idle { try? await channel.close() }
    }

    // MARK: Connections

    private func acquire() async throws -> any Channel {
        while true {
            // Deciding and queueing happen under one lock, so a release in between cannot be missed.
            let next = try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<Next, any Error>) in
                let decision: Result<Next, UpstreamHTTPError>? = state.withLock { state in
                    if state.closed { return .failure(.poolClosed) }
                    while let (channel, _) = state.idle.popLast() {
                        if channel.isActive { return .success(.use(channel)) }
                    }
                    if state.open < maxConnections {
                        state.open += 1
                        return .success(.connect)
                    }
                    state.waiters.append(continuation)
                    return nil
                }
                if let decision { continuation.resume(with: decision.mapError { $0 as any Error }) }
            }
            switch next {
            case .use(let channel) where channel.isActive: return channel
            case .connect: return try await connect()
            case .use, .retry: continue
            }
        }
    }

    private func connect() async throws -> any Channel {
        let tlsContext = self.tlsContext
        // SNI takes host names only; an IP literal is sent without it.
        let serverName = host.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) ? nil : host
        let maxBodyBytes = self.maxBodyBytes
        do {
            return try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(5))
                .channelInitializer { [weak self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tlsContext {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tlsContext, serverHostname: serverName)
                            )
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(
                            UpstreamHTTPExchangeHandler(
                                maxBodyBytes: maxBodyBytes,
                                onIdle: { [weak self] channel in self?.release(channel) },
                                onClose: { [weak self] channel in self?.closed(channel) }
                            )
                        )
                    }
                }
                .connect(host: host, port: port)
                .get()
        } catch {
            slotFreed()
            throw UpstreamHTTPError.connectFailed("\(host):\(port): \(error)")
        }
    }

    /// A connection finished an exchange: hand it to a waiting request, or keep it idle.
    private func release(_ channel: any Channel) {
        let (waiter, close) = state.withLock { state -> (CheckedContinuation<Next, any Error>?, Bool) in
            if state.closed { return (nil, true) }
            if !state.waiters.isEmpty { return (state.waiters.removeFirst(), false) }
            state.idle.append((channel, .now()))
            return (nil, false)
        }
        waiter?.resume(returning: .use(channel))
        if close { channel.close(promise: nil) }
    }

    /// A connection closed: forget it and let a waiting request connect in its place.
    private func closed(_ channel: any Channel) {
        state.withLock { state in state.idle.removeAll { $0.channel === channel } }
        slotFreed()
    }

    private func slotFreed() {
        let waiter = state.withLock { state -> CheckedContinuation<Next, any Error>? in
            state.open -= 1
            return state.waiters.isEmpty ? nil : state.waiters.removeFirst()
        }
        waiter?.resume(returning: .retry)
    }
}
