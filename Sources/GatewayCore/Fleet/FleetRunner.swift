import Synchronization

/// Runs the fleet's long-lived jobs (each instance's connection, each server's health checks) as tasks that can be
/// started and stopped one at a time while the gateway runs, and that all stop when ``run()`` is cancelled.
///
/// Jobs started before ``run()`` wait for it, so nothing is spawned before the gateway's services start.
final class FleetRunner: Sendable {
    private enum Phase {
        case idle
        case running(CheckedContinuation<Void, Never>?)
        case stopped
    }

    private struct State {
        var phase = Phase.idle
        var queued: [(key: String, job: @Sendable () async -> Void)] = []
        var tasks: [String: Task<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    /// Starts `job` under `key` (at once if the runner runs, else when it starts). A key already running is left
    /// alone.
    func start(_ key: String, _ job: @escaping @Sendable () async -> Void) {
        state.withLock { state in
            guard state.tasks[key] == nil, !state.queued.contains(where: { $0.key == key }) else { return }
            switch state.phase {
            case .idle: state.queued.append((key, job))
            case .running: state.tasks[key] = Task { await job() }
            case .stopped: break
            }
        }
    }

    /// Whether ``run()`` is running (jobs start at once).
    var isRunning: Bool {
        state.withLock { state in
            if case .running = state.phase { true } else { false }
        }
    }

    /// Cancels the job under `key` and waits until it returned.
    func stop(_ key: String) async {
        let task = state.withLock { state -> Task<Void, Never>? in
            state.queued.removeAll { $0.key == key }
            return state.tasks.removeValue(forKey: key)
        }
        task?.cancel()
        await task?.value
    }

    /// Runs the queued jobs and every job started later, until cancelled; then cancels them all and waits for them.
    func run() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let installed = state.withLock { state -> Bool in
                    guard case .idle = state.phase else { return false }
                    state.phase = .running(continuation)
                    for (key, job) in state.queued { state.tasks[key] = Task { await job() } }
                    state.queued = []
                    return true
                }
                guard installed else { return continuation.resume() }
                if Task.isCancelled { finish() }
            }
        } onCancel: {
            finish()
        }
        let tasks = state.withLock { state in
            defer { state.tasks = [:] }
            return Array(state.tasks.values)
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    private func finish() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.phase = .stopped }
            if case .running(let continuation) = state.phase { return continuation }
            return nil
        }
        continuation?.resume()
    }
}
