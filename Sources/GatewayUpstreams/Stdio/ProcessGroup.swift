import Foundation

/// Reads process state from /proc (Linux), without reaping anything.
enum ProcessGroup {
    /// Whether `pid` is running (not exited, not a zombie).
    static func isRunning(_ pid: Int32) -> Bool {
        stat(of: pid).map { $0.state != "Z" && $0.state != "X" } ?? false
    }

    /// Whether any process of group `group` is still running (zombies do not count).
    static func hasLiveMembers(_ group: Int32) -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }
        for entry in entries {
            guard let pid = Int32(entry), let stat = stat(of: pid) else { continue }
            if stat.group == group, stat.state != "Z", stat.state != "X" { return true }
        }
        return false
    }

    /// Waits until group `group` has no live member, at most `limit`; `false` if some remain. Not cancellable, so
    /// a shutdown in progress still gets the grace period rather than a spin.
    static func waitUntilEmpty(_ group: Int32, within limit: Duration) async -> Bool {
        await Task.detached {
            let deadline = ContinuousClock.now + limit
            while hasLiveMembers(group) {
                if ContinuousClock.now >= deadline { return false }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return true
        }.value
    }

    /// State and process group from `/proc/PID/stat` (`pid (comm) state ppid pgrp …`).
    private static func stat(of pid: Int32) -> (state: Character, group: Int32)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 3, let state = fields[0].first, let group = Int32(fields[2]) else { return nil }
        return (state, group)
    }
}
