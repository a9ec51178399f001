import GatewayCore
import ServiceLifecycle

/// Runs the upstream instances (processes and sessions) and their health checks for the life of the gateway;
/// graceful shutdown stops them, which for stdio means SIGTERM then SIGKILL to each process group.
struct UpstreamFleetService: Service {
    let directory: UpstreamDirectory

    func run() async throws {
        await cancelWhenGracefulShutdown { await directory.run() }
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
