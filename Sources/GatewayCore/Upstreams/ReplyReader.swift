/// A reply read one message at a time by whoever holds it now, so that reading can stop and resume later, from
/// another request (a 2026-07-28 client's retry continues a call that was put aside while the client answered).
///
/// Each holder reads in a round of its own: a round that ended (or was superseded by a newer one) reads nothing
/// more, so two requests never read the reply at once.
actor ReplyReader {
    private var first: [UInt8]?
    private var iterator: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
    private var round = 0
    private var roundOpen = false

    init(first: [UInt8], rest: AsyncThrowingStream<[UInt8], any Error>) {
        self.first = first
        self.iterator = rest.makeAsyncIterator()
    }

    /// Starts a round, ending any earlier one; returns its number.
    func beginRound() -> Int {
        round += 1
        roundOpen = true
        return round
    }

    func endRound(_ number: Int) {
        if number == round { roundOpen = false }
    }

    /// The next message for round `number`: `nil` when that round is over, or the reply ended.
    func next(in number: Int) async throws -> [UInt8]? {
        guard number == round, roundOpen else { return nil }
        if let first {
            self.first = nil
            return first
        }
        // The iterator is a handle on the stream's shared storage: a copy reads the same messages. Only the open
        // round reads, so the copy written back is never stale.
        var iterator = self.iterator
        defer { self.iterator = iterator }
        return try await iterator.next(isolation: self)
    }

    /// Reads what is left and discards it (a parked reply nobody resumed), so the transport sees the reply end.
    func drain() async {
        let number = beginRound()
        while (try? await next(in: number)) ?? nil != nil {}
    }
}
