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
/// loop and one back. A request on a reused connection that the server closed before answering is retried once on
/// a fresh connection; nothing else is retried.
final class UpstreamHTTPConnectionPool: Sendable {
    let host: String
    let port: Int
    let hostHeader: String
    let maxConnections: Int
    let maxBodyBytes: Int
    private let tlsContext: NIOSSLContext?
    private let group: any EventLoopGroup

    private struct State {
        var idle: [any Channel] = []
        var open = 0
        /// Requests waiting for a connection; resumed with one, or with `nil` when a slot opened to connect anew.
        var waiters: [CheckedContinuation<(any Channel)?, any Error>] = []
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
        self.hostHeader = url.port.map { "\(host):\($0)" } ?? host
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
    /// response promise: failing the promise and closing the connection is how timeouts stop an exchange.
    func execute(
        _ head: HTTPRequestHead,
        body: ByteBuffer,
        onExchange: (any Channel, EventLoopPromise<UpstreamHTTPResponse>) -> Void = { _, _ in }
    ) async throws -> UpstreamHTTPResponse {
        var retried = false
        while true {
            let channel = try await acquire()
            let response = channel.eventLoop.makePromise(of: UpstreamHTTPResponse.self)
            onExchange(channel, response)
            let written = channel.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenFailure { _ in response.fail(UpstreamHTTPError.closedBeforeResponse(reused: true))
            }
            channel.writeAndFlush(UpstreamHTTPExchange(head: head, body: body, promise: response), promise: written)
            do {
                return try await response.futureResult.get()
            } catch UpstreamHTTPError.closedBeforeResponse(reused: true) where !retried {
                retried = true
            }
        }
    }

    /// Closes every connection; later requests fail.
    func shutdown() async {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.idle = []
                state.waiters = []
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters { waiter.resume(throwing: UpstreamHTTPError.poolClosed) }
        for channel in idle { try? await channel.close() }
    }

    // MARK: Connections

    private func acquire() async throws -> any Channel {
        while true {
            enum Next {
                case use(any Channel)
                case connect
                case wait
            }
            let next: Next = try state.withLock { state in
                if state.closed { throw UpstreamHTTPError.poolClosed }
                while let channel = state.idle.popLast() {
                    if channel.isActive { return .use(channel) }
                }
                if state.open < maxConnections {
                    state.open += 1
                    return .connect
                }
                return .wait
            }
            switch next {
            case .use(let channel): return channel
            case .connect: return try await connect()
            case .wait:
                let channel = try await withCheckedThrowingContinuation { continuation in
                    state.withLock { $0.waiters.append(continuation) }
                }
                if let channel, channel.isActive { return channel }
            }
        }
    }

    private func connect() async throws -> any Channel {
        let tlsContext = self.tlsContext
        let host = self.host
        let maxBodyBytes = self.maxBodyBytes
        do {
            return try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(5))
                .channelInitializer { [weak self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tlsContext {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tlsContext, serverHostname: host)
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
        let waiter = state.withLock { state -> CheckedContinuation<(any Channel)?, any Error>? in
            if state.closed { return nil }
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.idle.append(channel)
            return nil
        }
        if let waiter {
            waiter.resume(returning: channel)
        } else if state.withLock({ $0.closed }) {
            channel.close(promise: nil)
        }
    }

    /// A connection closed: forget it and let a waiting request connect in its place.
    private func closed(_ channel: any Channel) {
        state.withLock { state in state.idle.removeAll { $0 === channel } }
        slotFreed()
    }

    private func slotFreed() {
        let waiter = state.withLock { state -> CheckedContinuation<(any Channel)?, any Error>? in
            state.open -= 1
            return state.waiters.isEmpty ? nil : state.waiters.removeFirst()
        }
        waiter?.resume(returning: nil)
    }
}
