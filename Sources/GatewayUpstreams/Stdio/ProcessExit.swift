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

    /// Whether `pid` is still running (not exited, not a zombie), read from /proc without reaping it.
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")"), stat.index(close, offsetBy: 2) < stat.endIndex
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }
}
