import Foundation
import GatewayCore
import GatewayWire
import Logging
import Testing

@testable import GatewayUpstreams

/// Drives a real child process (Tests/Fixtures/faulty_stdio_server.py) through the supervisor.
@Suite("stdio supervisor", .timeLimit(.minutes(1)))
struct StdioProcessSupervisorTests {
    static let fixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/faulty_stdio_server.py").path

    /// The real interpreter behind `python3` (which may be a shell shim that adds variables of its own).
    static let python: String = {
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sys; print(sys.executable)"]
        process.standardOutput = pipe
        try? process.run()
        process.waitUntilExit()
        let path = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return path.trimmingCharacters(in: .whitespacesAndNewlines)
    }()

    func withSupervisor(
        arguments: [String] = [],
        command: String = Self.python,
        environment: [String: String] = [:],
        connectTimeout: Duration = .seconds(10),
        _ body: (StdioProcessSupervisor) async throws -> Void
    ) async throws {
        var server = ServerConfiguration(name: "faulty", instances: [])
        server.connectTimeout = connectTimeout
        let supervisor = StdioProcessSupervisor(
            server: server,
            instanceID: "faulty-1",
            command: StdioCommand(command: command, arguments: [Self.fixture] + arguments, environment: environment),
            maxLineBytes: 1 << 20,
            events: UpstreamEvents { _, _ in },
            logger: Logger(label: "test")
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await supervisor.run() }
            try await body(supervisor)
            group.cancelAll()
        }
    }

    func call(
        _ supervisor: StdioProcessSupervisor,
        id: String = "1",
        _ tool: String,
        _ arguments: String = "{}",
        idle: Duration = .seconds(10)
    ) async throws -> JSONRPCMessage {
        let text =
            #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":\#(arguments)}}"#
        let request = UpstreamRequest(
            .forward(try JSONRPCMessage.parse(Array(text.utf8)), edits: []),
            owner: "test",
            idleTimeout: idle,
            maxDuration: .seconds(30)
        )
        return try JSONRPCMessage.parse(try await supervisor.send(request).finalMessage())
    }

    func text(_ message: JSONRPCMessage) -> String? {
        message.result?["content"]?.arrayValue?.first?["text"]?.stringValue
    }

    /// Waits (bounded) for a condition that an event elsewhere will make true.
    func eventually(within limit: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while !condition() {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    @Test("50 concurrent callers with the same id share one process and each get their own answer")
    func collidingIDs() async throws {
        try await withSupervisor { supervisor in
            try await withThrowingTaskGroup(of: (Int, JSONRPCMessage).self) { group in
                for nonce in 0..<50 {
                    group.addTask {
                        (nonce, try await call(supervisor, id: "1", "sleep", #"{"ms":50,"text":"n\#(nonce)"}"#))
                    }
                }
                var seen = Set<Int>()
                for try await (nonce, reply) in group {
                    #expect(reply.id == JSONRPCID(1))
                    #expect(text(reply) == "n\(nonce)")
                    seen.insert(nonce)
                }
                #expect(seen.count == 50)
            }
        }
    }

    @Test("a crash fails every call in flight at once, naming the server, exit status and stderr; then it restarts")
    func crash() async throws {
        try await withSupervisor { supervisor in
            async let waiting = call(supervisor, id: "2", "sleep", #"{"ms":20000}"#)
            while await (try? call(supervisor, "echo", #"{"text":"up"}"#)) == nil {}
            let started = ContinuousClock.now
            var crashError: GatewayError?
            do { _ = try await call(supervisor, "crash", #"{"status":7,"message":"boom from fixture"}"#) } catch let
                error as GatewayError
            { crashError = error }
            #expect(crashError?.code == .upstreamExited)
            #expect(crashError?.data?["server"] == "faulty")
            #expect(crashError?.data?["exitStatus"]?["exited"] == 7)
            #expect(crashError?.data?["stderr"]?.stringValue?.contains("boom from fixture") == true)
            #expect(crashError?.message.contains("exited with status 7") == true)
            var waitingError: GatewayError?
            do { _ = try await waiting } catch let error as GatewayError { waitingError = error }
            #expect(waitingError?.code == .upstreamExited)
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(await eventually { supervisor.status == .ready })
            let reply1 = try await call(supervisor, "echo", #"{"text":"again"}"#)
            #expect(text(reply1) == "again")
        }
    }

    @Test("a call the server never answers fails at the idle timeout, and the server keeps serving")
    func hang() async throws {
        try await withSupervisor { supervisor in
            // The idle timeout also bounds the wait for readiness: start timing once the child is up.
            _ = try await supervisor.handshake(timeout: .seconds(10))
            let started = ContinuousClock.now
            var timeout: GatewayError?
            do { _ = try await call(supervisor, "hang", idle: .milliseconds(300)) } catch let error as GatewayError {
                timeout = error
            }
            let elapsed = ContinuousClock.now - started
            #expect(timeout?.code == .upstreamTimeout)
            #expect(timeout?.data?["server"] == "faulty")
            #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(2))
            let reply2 = try await call(supervisor, "echo", #"{"text":"still here"}"#)
            #expect(text(reply2) == "still here")
        }
    }

    @Test("lines that are not JSON-RPC are ignored, at start-up and later")
    func garbage() async throws {
        try await withSupervisor(arguments: ["--banner"]) { supervisor in
            let reply3 = try await call(supervisor, "echo", #"{"text":"after banner"}"#)
            #expect(text(reply3) == "after banner")
            await #expect(throws: GatewayError.self) { try await call(supervisor, "garbage", idle: .milliseconds(300)) }
            let reply4 = try await call(supervisor, "echo", #"{"text":"after garbage"}"#)
            #expect(text(reply4) == "after garbage")
        }
    }

    @Test("the child sees only PATH and its declared environment")
    func cleanEnvironment() async throws {
        setenv("GATEWAY_TEST_SECRET", "must-not-leak", 1)
        try await withSupervisor(environment: ["DECLARED": "yes"]) { supervisor in
            let names = text(try await call(supervisor, "env"))?.split(separator: ",").map(String.init)
            #expect(names?.contains("PATH") == true)
            #expect(names?.contains("DECLARED") == true)
            #expect(names?.contains("GATEWAY_TEST_SECRET") == false)
            // Python itself may add LC_CTYPE; nothing else from the gateway's environment may appear.
            #expect(Set(names ?? []).subtracting(["PATH", "DECLARED", "LC_CTYPE"]).isEmpty)
        }
    }

    @Test("a server that never answers initialize is stopped and reported, within the connect timeout")
    func noInitialize() async throws {
        try await withSupervisor(arguments: ["--no-initialize"], connectTimeout: .milliseconds(500)) { supervisor in
            var error: GatewayError?
            do { _ = try await call(supervisor, "echo", #"{"text":"x"}"#) } catch let caught as GatewayError {
                error = caught
            }
            #expect(error?.code == .upstreamUnavailable || error?.code == .upstreamExited)
            #expect(error?.data?["server"] == "faulty")
            #expect(
                await eventually {
                    if case .down(let reason) = supervisor.status { reason.contains("initialize") } else { false }
                })
        }
    }

    @Test("a command that does not exist is reported as not started")
    func missingCommand() async throws {
        try await withSupervisor(command: "/nonexistent/mcp-server") { supervisor in
            #expect(
                await eventually {
                    if case .down(let reason) = supervisor.status {
                        reason.contains("could not be started")
                    } else {
                        false
                    }
                })
            await #expect(throws: GatewayError.self) { try await call(supervisor, "echo") }
        }
    }

    @Test("stopping the supervisor ends the child process")
    func stopEndsChild() async throws {
        var pid: Int32 = 0
        try await withSupervisor { supervisor in
            pid = Int32(text(try await call(supervisor, "pid")) ?? "") ?? 0
            #expect(pid > 0 && ProcessGroup.isRunning(pid))
        }
        #expect(!ProcessGroup.isRunning(pid))
    }
}
