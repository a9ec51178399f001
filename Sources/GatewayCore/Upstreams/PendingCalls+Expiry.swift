extension PendingCalls {
    /// Until the task is cancelled, every `interval`: fails the calls past their idle or hard deadline with an error
    /// naming `server`, and hands each one's upstream id to `cancel` so the server hears of it (never for
    /// `initialize`, which must not be cancelled: a server that misses it is stopped instead).
    public func expireOverdue(
        server: String,
        every interval: Duration = .milliseconds(100),
        cancel: (_ upstreamID: Int) -> Void
    ) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let expired = expire { request, hard in
                GatewayError.upstream(
                    .upstreamTimeout,
                    server: server,
                    hard
                        ? "\(request.method) exceeded the maximum duration of \(request.maxDuration)"
                        : "\(request.method) got no response within \(request.idleTimeout)"
                )
            }
            for call in expired where call.method != "initialize" { cancel(call.id) }
        }
    }
}
