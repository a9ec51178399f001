import Synchronization

/// Lets callers wait, with a bound, for a connection to become usable, and fail at once while it is known down.
public final class ReadinessGate<Value: Sendable>: Sendable {
    private enum State {
        case pending([Int: CheckedContinuation<Value, any Error>])
        case ready(Value)
        case down(GatewayError)
    }

    private let state = Mutex<State>(.pending([:]))
    private let nextWaiter = Atomic<Int>(0)

    public init() {}

    public var value: Value? {
        state.withLock { if case .ready(let value) = $0 { value } else { nil } }
    }

    /// Returns the value once ready; throws the known failure at once; otherwise waits at most `timeout`.
    public func wait(timeout: Duration, timeoutError: @autoclosure () -> GatewayError) async throws(GatewayError)
        -> Value
    {
        // Fast path, taken by every request once the connection is up: no continuation, no error built.
        let settled: Result<Value, GatewayError>? = state.withLock { state in
            switch state {
            case .ready(let value): .success(value)
            case .down(let error): .failure(error)
            case .pending: nil
            }
        }
        if let settled { return try settled.mapError { $0.unsent() }.get() }
        let waiter = nextWaiter.add(1, ordering: .relaxed).newValue
        let expiry = timeoutError()
        do {
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                let immediate: Result<Value, GatewayError>? = state.withLock { state in
                    switch state {
                    case .ready(let value): return .success(value)
                    case .down(let error): return .failure(error)
                    case .pending(var waiters):
                        waiters[waiter] = continuation
                        state = .pending(waiters)
                        return nil
                    }
                }
                if let immediate {
                    continuation.resume(with: immediate.mapError { $0 as any Error })
                    return
                }
                Task { [weak self] in
                    try? await Task.sleep(for: timeout)
                    self?.expire(waiter, with: expiry)
                }
            }
        } catch let error as GatewayError {
            // Nothing waiting here was sent anywhere yet.
            throw error.unsent()
        } catch {
            throw GatewayError(.internalError, "\(error)")
        }
    }

    public func open(_ value: Value) { settle(.ready(value)) }

    public func fail(_ error: GatewayError) { settle(.down(error)) }

    /// Back to waiting (a restart is under way); callers wait again instead of failing.
    public func reset() {
        state.withLock { state in
            if case .pending = state { return }
            state = .pending([:])
        }
    }

    private func settle(_ newState: State) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, any Error>] in
            defer { state = newState }
            if case .pending(let waiters) = state { return Array(waiters.values) }
            return []
        }
        for waiter in waiters {
            switch newState {
            case .ready(let value): waiter.resume(returning: value)
            case .down(let error): waiter.resume(throwing: error)
            case .pending: break
            }
        }
    }

    private func expire(_ waiter: Int, with error: GatewayError) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard case .pending(var waiters) = state, let continuation = waiters.removeValue(forKey: waiter) else {
                return nil
            }
            state = .pending(waiters)
            return continuation
        }
        continuation?.resume(throwing: error)
    }
}
