import GatewayCore
import GatewayWire
import Logging
import Synchronization

/// A URL configured without a transport: Streamable HTTP (either era), or the deprecated HTTP+SSE transport when
/// the server refuses both Streamable HTTP probes (`server/discover`, then `initialize`, POSTed to the URL) with 404
/// or 405, the last fallback the 2026-07-28 revision gives clients. The verdict holds for the instance's lifetime.
final class DetectedHTTPUpstream: UpstreamTransport {
    let instanceID: String
    private let streamable: StreamableHTTPUpstream
    private let legacy: LegacySSEUpstream
    private let refused: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)
    private let usesLegacy = Atomic<Bool>(false)
    private let logger: Logger

    init(
        server: ServerConfiguration,
        instanceID: String,
        endpoint: HTTPEndpoint,
        maxMessageBytes: Int,
        events: UpstreamEvents,
        logger: Logger
    ) {
        self.instanceID = instanceID
        self.logger = logger
        let refused = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.refused = refused
        streamable = StreamableHTTPUpstream(
            server: server, instanceID: instanceID, endpoint: endpoint, maxMessageBytes: maxMessageBytes,
            events: events, logger: logger, onRefusedPOST: { refused.continuation.yield() })
        legacy = LegacySSEUpstream(
            server: server, instanceID: instanceID, endpoint: endpoint, maxMessageBytes: maxMessageBytes,
            events: events, logger: logger)
    }

    private var active: any UpstreamTransport { usesLegacy.load(ordering: .acquiring) ? legacy : streamable }

    var status: UpstreamStatus { active.status }

    var currentHandshake: UpstreamHandshake? { active.currentHandshake }

    func run() async {
        let switched = await withTaskGroup(of: Void.self) { group -> Bool in
            group.addTask { await self.streamable.run() }
            var switched = false
            for await _ in refused.stream {
                switched = true
                break
            }
            group.cancelAll()
            return switched
        }
        guard switched, !Task.isCancelled else { return }
        logger.info("HTTP server refuses Streamable HTTP POSTs; using the HTTP+SSE transport")
        usesLegacy.store(true, ordering: .releasing)
        await legacy.run()
    }

    func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake {
        let start = ContinuousClock.now
        do throws(GatewayError) {
            return try await active.handshake(timeout: timeout)
        } catch {
            // Asked while the Streamable HTTP attempt was being given up: wait for the HTTP+SSE one instead.
            guard usesLegacy.load(ordering: .acquiring) else { throw error }
            return try await legacy.handshake(timeout: max(.zero, timeout - (.now - start)))
        }
    }

    func send(_ request: UpstreamRequest) async throws(GatewayError) -> MCPReply {
        let wasLegacy = usesLegacy.load(ordering: .acquiring)
        do throws(GatewayError) {
            return try await active.send(request)
        } catch {
            // Only a request that never reached the server goes again, over HTTP+SSE.
            guard !wasLegacy, error.neverSent, usesLegacy.load(ordering: .acquiring) else { throw error }
            return try await legacy.send(request)
        }
    }

    func cancel(owner: String, clientID: JSONRPCID?) async {
        await active.cancel(owner: owner, clientID: clientID)
    }
}
