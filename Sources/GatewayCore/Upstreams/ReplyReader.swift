/// A reply read one message at a time by whoever holds it now, so that reading can stop and resume later, from
/// another request (a 2026-07-28 client's retry continues a call that was put aside while the client answered).
actor ReplyReader {
    private var first: [UInt8]?
    private var iterator: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
    /// Set when the current reader has had its last message; a resumed round clears it.
    var roundEnded = false

    init(first: [UInt8], rest: AsyncThrowingStream<[UInt8], any Error>) {
        self.first = first
        self.iterator = rest.makeAsyncIterator()
    }

    /// The next message, or `nil` when the reply ended.
    func next() async throws -> [UInt8]? {
        if let first {
            self.first = nil
            return first
        }
        // The iterator is a handle on the stream's shared storage: a copy reads the same messages. One reader at a
        // time holds the reply, so the copy written back is never stale.
        var iterator = self.iterator
        defer { self.iterator = iterator }
        return try await iterator.next(isolation: self)
    }

    func endRound() { roundEnded = true }

    func beginRound() { roundEnded = false }
}
