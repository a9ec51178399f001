import Crypto
import Foundation
import GatewayWire
import Synchronization

/// Calls put aside while a 2026-07-28 client answers what a session-based upstream asked (`input_required`), each
/// under a handle its signed `requestState` carries.
///
/// The state is bound to the principal (by the signature), one use, and a time limit; the call it resumes is the one
/// it was issued for (same method and the same params, apart from `inputResponses`, `requestState` and `_meta`).
final class ParkedReplies: Sendable {
    struct Parked: Sendable {
        let reader: ReplyReader
        /// The gateway id of the upstream's request the client is answering, and its key in `inputRequests`.
        let routeID: JSONRPCID
        let method: String
        let digest: [UInt8]
        let expires: ContinuousClock.Instant
    }

    private let parked = Mutex<[String: Parked]>([:])
    private let codec: CursorCodec

    init(codec: CursorCodec) {
        self.codec = codec
    }

    var count: Int { parked.withLock { $0.count } }

    /// Parks `reader` and returns the `requestState` that resumes it. Expired entries are dropped; `onExpired` gets
    /// each one's route, so the upstream hears that no answer is coming.
    func park(
        _ reader: ReplyReader,
        routeID: JSONRPCID,
        request: JSONRPCMessage,
        principal: String,
        lifetime: Duration,
        now: ContinuousClock.Instant = .now,
        onExpired: (JSONRPCID) -> Void
    ) -> String {
        let handle = UUID().uuidString
        let entry = Parked(
            reader: reader, routeID: routeID, method: request.method ?? "", digest: Self.digest(of: request),
            expires: now + lifetime)
        let expired = parked.withLock { parked in
            let expired = parked.filter { $0.value.expires <= now }
            for key in expired.keys { parked[key] = nil }
            parked[handle] = entry
            return expired.values.map(\.routeID)
        }
        expired.forEach(onExpired)
        return codec.encode(["mrtr": .string(handle)], principal: principal)
    }

    /// The call `request` (a retry carrying `requestState`) resumes, removed; throws `-32602` naming what is wrong.
    func take(
        for request: JSONRPCMessage,
        state: String,
        principal: String,
        now: ContinuousClock.Instant = .now
    ) throws(GatewayError) -> Parked {
        let invalid = { (reason: String) in GatewayError(.invalidParams, "Invalid params: requestState \(reason)") }
        let decoded: JSONValue
        do { decoded = try codec.decode(state, principal: principal) } catch {
            throw invalid("is not one this gateway issued to this client")
        }
        guard let handle = decoded["mrtr"]?.stringValue else {
            throw invalid("is not one this gateway issued to this client")
        }
        guard let entry = parked.withLock({ $0.removeValue(forKey: handle) }) else {
            throw invalid("was used already, or the call it continues has ended")
        }
        guard entry.expires > now else { throw invalid("has expired") }
        guard entry.method == request.method, entry.digest == Self.digest(of: request) else {
            throw invalid("belongs to another request (the method or params differ)")
        }
        return entry
    }

    /// The params members a retry adds to the request it repeats.
    static let retryMembers: Set<String> = ["inputResponses", "requestState", "_meta"]

    /// SHA-256 of the request's params without the members a retry adds.
    static func digest(of request: JSONRPCMessage) -> [UInt8] {
        var members = request.params?.objectValue ?? [:]
        for key in retryMembers { members[key] = nil }
        return Array(SHA256.hash(data: JSONValue.object(members).serialized()))
    }
}
