/// Remembers the keys of one object, compared as unescaped UTF-8, and reports a repeat.
///
/// Small objects are checked linearly without allocating; past `linearLimit` keys it switches to a hash set, so an
/// object with a hundred thousand keys costs linear time, not quadratic.
struct DuplicateKeyDetector {
    private static let linearLimit = 16
    private var small: [ObjectKey] = []
    private var large: Set<ObjectKey>? = nil

    /// Returns `false` when an equal key was already inserted.
    mutating func insert(_ token: JSONReader.StringToken, in bytes: UnsafeRawBufferPointer) -> Bool {
        let key: ObjectKey
        if token.hasEscapes {
            key = .owned(JSONReader(bytes, maxDepth: 0).unescapedBytes(token))
        } else {
            key = .borrowed(UnsafeRawBufferPointer(rebasing: bytes[token.content]))
        }
        if large != nil { return large!.insert(key).inserted }
        if small.contains(key) { return false }
        small.append(key)
        if small.count > Self.linearLimit {
            large = Set(small)
            small = []
        }
        return true
    }
}

/// Key bytes, either pointing into the input (no escapes) or decoded.
private enum ObjectKey: Hashable {
    case borrowed(UnsafeRawBufferPointer)
    case owned([UInt8])

    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        switch self {
        case .borrowed(let pointer): body(pointer)
        case .owned(let array): array.withUnsafeBytes(body)
        }
    }

    static func == (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
        lhs.withBytes { left in rhs.withBytes { right in left.elementsEqual(right) } }
    }

    func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: $0) }
    }
}
