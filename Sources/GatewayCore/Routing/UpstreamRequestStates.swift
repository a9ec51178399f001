import Foundation
import GatewayWire

/// The `requestState` of a 2026-07-28 upstream's `input_required`, as its 2026-07-28 client sees it: wrapped and
/// signed by the gateway, bound to the client's principal, the server, the method and a digest of the params, and
/// valid for the server's `maxCallDuration`.
///
/// The upstream binds its state to whoever called it, and that is the gateway for every client; without the wrap,
/// one principal's state could be replayed by another through the gateway. The inner state goes back upstream
/// exactly as the upstream wrote it.
struct UpstreamRequestStates: Sendable {
    let codec: CursorCodec

    func wrap(
        _ inner: String,
        request: JSONRPCMessage,
        server: String,
        principal: String,
        lifetime: Duration,
        now: Date = .now
    ) -> String {
        let expiry = now.timeIntervalSince1970 + Double(lifetime.components.seconds)
        let payload: JSONValue = [
            "up": .string(inner), "s": .string(server), "m": .string(request.method ?? ""),
            "d": .string(Data(ParkedReplies.digest(of: request)).base64EncodedString()),
            "exp": .number(JSONNumber(Int(expiry))),
        ]
        return codec.encode(payload, principal: principal)
    }

    /// The upstream's own state inside `state`, checked against the retry `request`; `nil` when `state` is one of
    /// the gateway's parked calls instead. Throws `-32602` naming what is wrong.
    func unwrap(_ state: String, request: JSONRPCMessage, server: String, principal: String) throws(GatewayError)
        -> String?
    {
        let invalid = { (reason: String) in GatewayError(.invalidParams, "Invalid params: requestState \(reason)") }
        guard let decoded = try? codec.decode(state, principal: principal) else {
            throw invalid("is not one this gateway issued to this client")
        }
        guard let inner = decoded["up"]?.stringValue else { return nil }
        guard decoded["s"]?.stringValue == server, decoded["m"]?.stringValue == request.method,
            decoded["d"]?.stringValue == Data(ParkedReplies.digest(of: request)).base64EncodedString()
        else { throw invalid("belongs to another request (the server, method or params differ)") }
        guard let expiry = decoded["exp"]?.numberValue?.intValue, Double(expiry) >= Date.now.timeIntervalSince1970
        else { throw invalid("has expired") }
        return inner
    }

    /// `response` with the upstream's `requestState` wrapped, when it is an `input_required` result carrying one.
    func wrapping(
        _ response: JSONRPCMessage,
        request: JSONRPCMessage,
        server: String,
        principal: String,
        lifetime: Duration
    ) -> [UInt8]? {
        guard let result = response.resultRange,
            let state = response.members(at: result).first(where: { $0.key == "requestState" })?.value,
            case .string(let inner) = response.value(at: state),
            response.result?["resultType"]?.stringValue == "input_required"
        else { return nil }
        let wrapped = wrap(inner, request: request, server: server, principal: principal, lifetime: lifetime)
        return response.splicing([ByteEdit(range: state, replacement: JSONValue.quoted(wrapped))])
    }
}
