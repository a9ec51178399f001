import Crypto

/// A secret a caller must present (`Authorization: Bearer …`), kept as its SHA-256 digest and compared in constant
/// time, so neither the comparison's duration nor a memory dump gives it away.
public struct BearerSecret: Sendable {
    private let digest: [UInt8]

    public init(_ secret: String) {
        digest = Array(SHA256.hash(data: Array(secret.utf8)))
    }

    public func matches(_ presented: String) -> Bool {
        let candidate = Array(SHA256.hash(data: Array(presented.utf8)))
        var difference: UInt8 = 0
        for (left, right) in zip(digest, candidate) { difference |= left ^ right }
        return difference == 0
    }
}
