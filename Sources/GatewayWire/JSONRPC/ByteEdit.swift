/// One replacement of a byte range by new bytes; the unit of the gateway's splice-don't-reserialise rewrites.
public struct ByteEdit: Sendable, Equatable {
    public let range: Range<Int>
    public let replacement: [UInt8]

    public init(range: Range<Int>, replacement: [UInt8]) {
        self.range = range
        self.replacement = replacement
    }
}

extension Array where Element == UInt8 {
    /// A copy with every edit applied. Edits must not overlap; their order does not matter.
    public func applying(_ edits: [ByteEdit]) -> [UInt8] {
        if edits.isEmpty { return self }
        let sorted = edits.count == 1 ? edits : edits.sorted { $0.range.lowerBound < $1.range.lowerBound }
        var output: [UInt8] = []
        output.reserveCapacity(count + sorted.reduce(0) { $0 + $1.replacement.count - $1.range.count })
        var position = 0
        for edit in sorted {
            precondition(edit.range.lowerBound >= position, "overlapping byte edits")
            output.append(contentsOf: self[position..<edit.range.lowerBound])
            output.append(contentsOf: edit.replacement)
            position = edit.range.upperBound
        }
        output.append(contentsOf: self[position...])
        return output
    }
}
