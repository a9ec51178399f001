/// When to restart a crashed child: 1 s, doubling to 60 s, ±25 % jitter; back to 1 s after a run of 60 s or more.
struct RestartBackoff: Sendable {
    var base: Duration = .seconds(1)
    var cap: Duration = .seconds(60)
    var healthyRun: Duration = .seconds(60)
    private(set) var consecutiveFailures = 0

    mutating func delay(afterRunningFor uptime: Duration, using generator: inout some RandomNumberGenerator) -> Duration
    {
        if uptime >= healthyRun { consecutiveFailures = 0 }
        let exponent = min(consecutiveFailures, 16)
        consecutiveFailures += 1
        let nominal = min(base * (1 << exponent), cap)
        return nominal * Double.random(in: 0.75...1.25, using: &generator)
    }
}
