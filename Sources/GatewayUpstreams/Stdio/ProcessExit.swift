import Foundation
import GatewayCore
import GatewayWire
import Subprocess

/// How a child's run ended, phrased for error messages.
struct ProcessExit: Sendable, CustomStringConvertible {
    let description: String
    let status: JSONValue

    init(_ status: TerminationStatus, reason: String?) {
        switch status {
        case .exited(let code):
            self.description = reason ?? "exited with status \(code)"
            self.status = ["exited": .number(JSONNumber(Int(code)))]
        case .signaled(let signal):
            self.description = reason ?? "was killed by signal \(signal)"
            self.status = ["signal": .number(JSONNumber(Int(signal)))]
        }
    }

    init(startFailure: String) {
        self.description = "could not be started: \(startFailure)"
        self.status = .null
    }

    func error(server: String, stderr: String) -> GatewayError {
        var reason = description
        if let last = stderr.split(whereSeparator: \.isNewline).last { reason += " (stderr: \(last))" }
        return GatewayError.upstream(
            .upstreamExited,
            server: server,
            reason,
            details: [("exitStatus", status), ("stderr", .string(stderr))]
        )
    }
}
