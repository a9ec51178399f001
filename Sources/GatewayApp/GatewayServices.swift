import GatewayCore
import ServiceLifecycle

/// Runs one upstream instance (its process or session) for the life of the gateway; graceful shutdown stops it,
/// which for stdio means SIGTERM then SIGKILL to its process group.
struct UpstreamService: Service {
    let transport: any UpstreamTransport

    func run() async throws {
        await cancelWhenGracefulShutdown { await transport.run() }
    }
}

/// Drops client sessions that have been idle longer than the configured maximum.
struct SessionSweeper: Service {
    let sessions: SessionRegistry
    var interval: Duration = .seconds(30)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                sessions.sweepIdle()
            }
        }
    }
}
