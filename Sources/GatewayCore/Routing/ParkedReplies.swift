import Crypto
import Foundation
import GatewayWire
import Synchronization

/// Calls put aside while a 2026-07-28 client answers what a session-based upstream asked (`input_required`), each
/// under a handle its signed `requestState` carries.
///
/// The state is bound to the principal (by the signature), one use, and a time limit; the call it resumes is the one
/// it was issued for (same server, method and params, apart from `inputResponses`, `requestState` and `_meta`). A
/// retry that does not match is refused and leaves the call parked. A call nobody resumes in time is given up: the
/// upstream hears that no answer is coming, and the rest of its reply is read and dropped.
final class ParkedReplies: Sendable {
    struct Parked: Sendable {
        let reader: ReplyReader
        /// The gateway id of the upstream's request the client is answering, and its key in `inputRequests`.
        let routeID: JSONRPCID
        let server: String
        let method: String
        let digest: [UInt8]
    }

    private let parked = Mutex<[String: Parked]>([:])
    private let codec: CursorCodec

    init(codec: CursorCodec) {
        self.codec = codec
    }

    var count: Int { parked.withLock { $0.count } }

    /// Parks `reader` and returns the `requestState` that resumes it within `lifetime`; after that `giveUp` gets
    /// the route to answer with an error, and the reply is drained.
    func park(
        _ reader: ReplyReader,
        routeID: JSONRPCID,
        request: JSONRPCMessage,
        server: String,
        principal: String,
        lifetime: Duration,
        giveUp: @escaping @Sendable (JSONRPCID) async -> Void
    ) -> String {
        let handle = UUID().uuidString
        let entry = Parked(
            reader: reader, routeID: routeID, server: server, method: request.method ?? "",
            digest: Self.digest(of: request))
        parked.withLock { $0[handle] = entry }
        Task { [weak self] in
            try? await Task.sleep(for: lifetime)
            guard let expired = self?.parked.withLock({ $0.removeValue(forKey: handle) }) else { return }
            await giveUp(expired.routeID)
            await expired.reader.drain()
        }
        return codec.encode(["mrtr": .string(handle)], principal: principal)
    }

    /// The call `request` (a retry carrying `requestState`, to `server`) resumes, removed; throws `-32602` naming
    /// what is wrong, and then the call stays parked for a correct retry.
    func take(
        for request: JSONRPCMessage,
        server: String,
        state: String,
        principal: String
    ) throws(GatewayError) -> Parked {
        let invalid = { (reason: String) in GatewayError(.invalidParams, "Invalid params: requestState \(reason)") }
        guard let decoded = try? codec.decode(state, principal: principal), let handle = decoded["mrtr"]?.stringValue
        else { throw invalid("is not one this gateway issued to this client") }
        let digest = Self.digest(of: request)
        let found = parked.withLock { parked -> Result<Parked, GatewayError> in
            guard let entry = parked[handle] else {
                return .failure(invalid("was used already, or the call it continues has ended"))
            }
            guard entry.server == server, entry.method == request.method, entry.digest == digest else {
                return .failure(invalid("belongs to another request (the server, method or params differ)"))
            }
            parked[handle] = nil
            return .success(entry)
        }
        return try found.get()
    }

    /// The params members a retry adds to the request it repeats.
    static let retryMembers: Set<String> = ["inputResponses", "requestState", "_meta"]

    /// SHA-256 of the request's params without the members a retry adds, with object keys sorted (a client may
    /// rebuild the params in another order).
    static func digest(of request: JSONRPCMessage) -> [UInt8] {
        var members = request.params?.objectValue ?? [:]
        for key in retryMembers { members[key] = nil }
        return Array(SHA256.hash(data: canonical(.object(members)).serialized()))
    }

    private static func canonical(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            .object(
                JSONObject(
                    members: object.members.sorted { $0.key < $1.key }.map { (key: $0.key, value: canonical($0.value)) }
                ))
        case .array(let items): .array(items.map(canonical))
        default: value
        }
    }
}
