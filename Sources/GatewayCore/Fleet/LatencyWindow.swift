/// The durations of a server's most recent requests (a ring of fixed size), for percentiles in `/gateway/stats`.
struct LatencyWindow: Sendable {
    private var samples: [Double] = []
    private var next = 0
    let capacity: Int
    /// Every request recorded since start, and those that failed.
    private(set) var total = 0
    private(set) var failed = 0

    init(capacity: Int = 1024) {
        self.capacity = capacity
        samples.reserveCapacity(capacity)
    }

    mutating func record(_ duration: Duration, failed didFail: Bool) {
        let milliseconds = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        if samples.count < capacity {
            samples.append(milliseconds)
        } else {
            samples[next] = milliseconds
        }
        next = (next + 1) % capacity
        total += 1
        if didFail { failed += 1 }
    }

    /// The `quantile` (0…1) of the window in milliseconds, nearest-rank; `nil` while empty.
    func percentile(_ quantile: Double, sorted: [Double]) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((quantile * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    var sortedSamples: [Double] { samples.sorted() }
}
