import Foundation
import GatewayCore
import GatewayWire
import Logging
import Subprocess
import Synchronization
import SystemPackage

/// Runs one stdio MCP server as a supervised child and multiplexes every client's requests onto it.
///
/// Each child's era is probed as the 2026-07-28 revision says for stdio (``UpstreamEraChoice``): `server/discover`
/// first (a child that dies of it is spoken to with `initialize` from then on), `initialize` if it is not answered
/// as a 2026-07-28 server. Served statelessly, each request carries its `_meta`, and the gateway's own
/// `subscriptions/listen` request (reissued when the subscribed resources change) brings list changes and resource
/// updates.
///
/// The child runs in its own process group with exactly the declared environment plus `PATH`. Requests get
/// gateway-minted ids and progress tokens (``PendingCalls``), so clients with colliding ids can share it. When the
/// child exits, every call in flight fails at once with an error naming the server, the exit status and the tail of
/// stderr, and the child is restarted with exponential backoff. Stopping closes stdin, then sends SIGTERM and, two
/// seconds later, SIGKILL to the whole group, so no descendant outlives the gateway's supervision.
public final class StdioProcessSupervisor: UpstreamTransport {
    public let instanceID: String
    let server: ServerConfiguration
    let command: StdioCommand
    let maxLineBytes: Int
    let events: UpstreamEvents
    let logger: Logger
    let pending = PendingCalls()
    let gate = ReadinessGate<UpstreamHandshake>()
    let outbound = OutboundQueue()
    let stderrTail = StderrTail()
    private let state = Mutex<UpstreamStatus>(.starting)
    /// Why the gateway stopped the current child, when it did (handshake failure, over-long line).
    private let stopReason = Mutex<String?>(nil)
    /// The current child's era, and whether an earlier child died of `server/discover`.
    private let era = Mutex<(current: MCPEra, discoverKills: Bool)>((.legacy, false))
    let interest = UpstreamListenInterest()
    /// The `mcp-gateway` binary that runs ``StdioChildGuard`` between the gateway and the server, so the server dies
    /// with the gateway; `nil` starts the server directly (tests of the supervisor alone).
    let guardExecutable: String?

    public init(
        server: ServerConfiguration,
        instanceID: String,
        command: StdioCommand,
        maxLineBytes: Int,
        events: UpstreamEvents,
        logger: Logger,
        guardExecutable: String? = nil
    ) {
        self.guardExecutable = guardExecutable
        self.server = server
        self.instanceID = instanceID
        self.command = command
        self.maxLineBytes = maxLineBytes
        self.events = events
        self.logger = logger
        pending.onAbandoned { [outbound] id in
            _ = outbound.enqueue(GatewayClientInfo.cancellation(of: id, reason: "the client went away"))
        }
    }

    public var status: UpstreamStatus { state.withLock { $0 } }

    public var currentHandshake: UpstreamHandshake? { status == .ready ? gate.value : nil }

    public func handshake(timeout: Duration) async throws(GatewayError) -> UpstreamHandshake {
        try await gate.wait(timeout: timeout, timeoutError: notStarted(within: timeout))
    }

    public func send(_ request: UpstreamRequest) async throws(GatewayError) -> MCPReply {
        _ = try await gate.wait(timeout: request.readinessWait, timeoutError: notStarted(within: request.readinessWait))
        let era = self.era.withLock { $0.current }
        if era == .modern, let answer = interest.absorb(request) { return answer }
        return try await pending.call(request, era: era) { [outbound, server] bytes in
            outbound.enqueue(bytes) ? nil : .upstream(.upstreamUnavailable, server: server.name, "is restarting")
        }
    }

    public func cancel(owner: String, clientID: JSONRPCID?) async {
        for id in pending.cancel(owner: owner, clientID: clientID) {
            _ = outbound.enqueue(GatewayClientInfo.cancellation(of: id, reason: "cancelled by the client"))
        }
    }

    // MARK: Supervision

    public func run() async {
        var backoff = RestartBackoff()
        backoff.base = server.restartDelay
        backoff.cap = server.maxRestartDelay
        var generator = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let exit = await runOnce()
            if Task.isCancelled { break }
            let delay = backoff.delay(afterRunningFor: .now - started, using: &generator)
            let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
            logger.warning(
                "stdio server stopped; restarting",
                metadata: ["exit": "\(exit)", "restart.delay.seconds": "\(String(format: "%.1f", seconds))"]
            )
            // The health report's reason: the exit status with the last line of stderr.
            let reason = exit.error(server: server.name, stderr: stderrTail.lastLines()).data?["reason"]?.stringValue
            state.withLock { $0 = .down("\(reason ?? "\(exit)"); restarting in \(String(format: "%.1f", seconds))s") }
            try? await Task.sleep(for: delay)
        }
        let stopped = GatewayError.upstream(.upstreamUnavailable, server: server.name, "the gateway is shutting down")
        state.withLock { $0 = .stopped }
        interest.finish()
        pending.failAll(stopped, close: true)
        gate.fail(stopped)
    }

    /// Starts the child, serves it until it exits, and fails whatever was in flight.
    private func runOnce() async -> ProcessExit {
        gate.reset()
        pending.reopen()
        outbound.reopen()
        stderrTail.clear()
        stopReason.withLock { $0 = nil }
        era.withLock { $0.current = .legacy }
        state.withLock { $0 = .starting }

        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(2))]
        let exit: ProcessExit
        do {
            let result = try await Subprocess.run(
                executable,
                arguments: arguments,
                environment: environment,
                workingDirectory: command.workingDirectory.map { FilePath($0) },
                platformOptions: options,
                input: .inputWriter,
                output: .sequence,
                error: .sequence
            ) { execution in
                await self.serve(execution)
            }
            exit = ProcessExit(result.terminationStatus, reason: stopReason.withLock { $0 })
        } catch {
            exit = ProcessExit(startFailure: "\(error)")
        }
        let failure = exit.error(server: server.name, stderr: stderrTail.lastLines())
        state.withLock { $0 = .down(failure.message) }
        pending.failAll(failure, close: true)
        gate.fail(failure)
        return exit
    }

    private func serve(_ execution: Execution<CustomWriteInput, SequenceOutput, SequenceOutput>) async {
        let pid = execution.processIdentifier.value
        logger.info("stdio server started", metadata: ["pid": "\(pid)", "command": "\(command.command)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.pumpStandardInput(execution.standardInputWriter) }
            group.addTask { await self.drainStandardError(execution.standardError) }
            group.addTask {
                await self.pending.expireOverdue(server: self.server.name) { [outbound = self.outbound] id in
                    _ = outbound.enqueue(GatewayClientInfo.cancellation(of: id, reason: "timed out"))
                }
            }
            group.addTask { await self.performHandshake(execution) }
            await readStandardOutput(execution)
            // The child is going: new calls now wait (bounded) for the restart instead of being written nowhere.
            gate.reset()
            outbound.close()
            group.cancelAll()
        }
        await terminateGroup(execution)
    }

    // MARK: I/O loops

    private func pumpStandardInput(_ writer: StandardInputWriter) async {
        while let batch = await outbound.next() {
            do {
                _ = try await writer.write(batch)
            } catch {
                logger.debug("writing to stdio server failed", metadata: ["error": "\(error)"])
                break
            }
        }
        try? await writer.finish()
    }

    private func readStandardOutput(_ execution: Execution<CustomWriteInput, SequenceOutput, SequenceOutput>) async {
        var framer = NDJSONFramer(maxLineLength: maxLineBytes)
        do {
            for try await buffer in execution.standardOutput {
                buffer.withUnsafeBytes { framer.append($0) }
                while let line = try framer.nextLine() { handle(line) }
            }
        } catch let error as NDJSONFramer.LineTooLong {
            stopReason.withLock { $0 = "wrote a message over the \(error.limit)-byte limit and was stopped" }
            logger.error("stdio server wrote an over-long line; stopping it", metadata: ["limit": "\(error.limit)"])
            try? execution.send(signal: .kill, toProcessGroup: true)
        } catch {
            logger.debug("stdio server output ended", metadata: ["error": "\(error)"])
        }
    }

    private func handle(_ line: [UInt8]) {
        guard let message = try? JSONRPCMessage.parse(line) else {
            logger.warning(
                "stdio server wrote a line that is not JSON-RPC; ignored",
                metadata: ["line": "\(String(decoding: line.prefix(160), as: UTF8.self))"]
            )
            return
        }
        switch message.kind {
        case .response, .errorResponse:
            if !pending.deliver(message) {
                logger.debug(
                    "response for no request in flight dropped",
                    metadata: ["jsonrpc.id": "\(message.id?.description ?? "null")"])
            }
        case .notification:
            if !pending.deliver(message) { events.onNotification(server.name, message) }
        case .request:
            let reply = pending.relayServerRequest(message) { [outbound] answer in _ = outbound.enqueue(answer) }
            if let reply { _ = outbound.enqueue(reply) }
        }
    }

    private func drainStandardError(_ output: SubprocessOutputSequence) async {
        do {
            for try await buffer in output {
                buffer.withUnsafeBytes { stderrTail.append($0) }
                if logger.logLevel <= .debug {
                    let text = buffer.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
                    for line in text.split(whereSeparator: \.isNewline) {
                        logger.debug("stdio server stderr", metadata: ["line": "\(line)"])
                    }
                }
            }
        } catch {}
    }

    private func performHandshake(_ execution: Execution<CustomWriteInput, SequenceOutput, SequenceOutput>) async {
        if server.era == .modern || (server.era == .auto && !era.withLock({ $0.discoverKills })) {
            switch await discover() {
            case .modern(let handshake):
                era.withLock { $0.current = .modern }
                becomeReady(handshake)
                await listen()
                return
            case .died:
                era.withLock { $0.discoverKills = true }
                return
            case .legacy where server.era == .modern:
                stopReason.withLock { $0 = "did not answer server/discover as a 2026-07-28 server (era: modern)" }
                logger.error("stdio server is not a 2026-07-28 server; stopping it")
                await terminateGroup(execution)
                return
            case .legacy:
                break
            }
        }
        let request = UpstreamRequest(
            .synthesized(method: "initialize", params: GatewayClientInfo.initializeParams),
            owner: UpstreamRequest.gatewayOwner,
            idleTimeout: server.connectTimeout,
            maxDuration: server.connectTimeout
        )
        do {
            let reply = try await pending.call(request) { [outbound, server] bytes in
                outbound.enqueue(bytes) ? nil : .upstream(.upstreamUnavailable, server: server.name, "is restarting")
            }
            let handshake = try GatewayClientInfo.handshake(from: try await reply.finalMessage(), server: server.name)
            _ = outbound.enqueue(JSONRPCMessage.encodeNotification(method: "notifications/initialized", params: nil))
            becomeReady(handshake)
        } catch {
            guard !Task.isCancelled else { return }
            stopReason.withLock { $0 = "failed its initialize handshake (\(error)) and was stopped" }
            logger.error("stdio server failed to initialize; stopping it", metadata: ["error": "\(error)"])
            await terminateGroup(execution)
        }
    }

    private func becomeReady(_ handshake: UpstreamHandshake) {
        state.withLock { $0 = .ready }
        gate.open(handshake)
        events.onReady(server.name, instanceID)
        logger.info(
            "stdio server ready",
            metadata: [
                "mcp.protocol": "\(handshake.protocolVersion)",
                "mcp.server": "\(handshake.serverInfo?["name"]?.stringValue ?? "?")",
            ]
        )
    }

    private enum DiscoverOutcome {
        case modern(UpstreamHandshake)
        case legacy
        /// The child exited while the gateway waited for the answer.
        case died
    }

    /// `server/discover`, answered within the connect timeout (at most 5 s): a `DiscoverResult` with a version the
    /// gateway speaks means modern; any error or silence means legacy.
    private func discover() async -> DiscoverOutcome {
        let wait = min(server.connectTimeout, .seconds(5))
        let request = UpstreamRequest(
            .synthesized(method: "server/discover", params: nil), owner: UpstreamRequest.gatewayOwner,
            idleTimeout: wait, maxDuration: wait)
        do {
            let reply = try await pending.call(request, era: .modern) { [outbound, server] bytes in
                outbound.enqueue(bytes) ? nil : .upstream(.upstreamUnavailable, server: server.name, "is restarting")
            }
            let bytes = try await reply.finalMessage()
            guard let result = (try? JSONRPCMessage.parse(bytes))?.result,
                let handshake = UpstreamHandshake(discoverResult: result)
            else { return .legacy }
            return .modern(handshake)
        } catch {
            if Task.isCancelled || (error as? GatewayError)?.code == .upstreamUnavailable { return .died }
            return .legacy
        }
    }

    /// Keeps the gateway's `subscriptions/listen` request open on a 2026-07-28 child, reissued (the old one
    /// cancelled) whenever the subscribed resources change, until the child goes.
    private func listen() async {
        let capabilities = gate.value?.capabilities ?? [:]
        var number = 0
        while !Task.isCancelled {
            var current: String?
            let (listenParams, version) = interest.listenParams(capabilities: capabilities)
            if let params = listenParams {
                number += 1
                let id = "gateway-listen-\(number)"
                current = id
                _ = outbound.enqueue(
                    JSONRPCMessage.encodeRequest(
                        id: JSONRPCID(string: id), method: "subscriptions/listen",
                        params: UpstreamRequest.stampedForStatelessServer(params)))
            }
            let changed = await interest.change(after: version)
            if let current {
                _ = outbound.enqueue(
                    JSONRPCMessage.encodeNotification(
                        method: "notifications/cancelled", params: ["requestId": .string(current)]))
            }
            if !changed { return }
        }
    }

    /// Ends the child's whole process group: SIGTERM, then SIGKILL two seconds later if any member is still alive,
    /// whether or not the leader has already gone.
    private func terminateGroup(_ execution: Execution<CustomWriteInput, SequenceOutput, SequenceOutput>) async {
        let group = execution.processIdentifier.value
        try? execution.send(signal: .terminate, toProcessGroup: true)
        if await !ProcessGroup.waitUntilEmpty(group, within: .seconds(2)) {
            logger.warning("stdio server's process group ignored SIGTERM; killing it", metadata: ["pgid": "\(group)"])
            try? execution.send(signal: .kill, toProcessGroup: true)
        }
    }

    // MARK: Helpers

    private var executable: Executable {
        if let guardExecutable { return .path(FilePath(guardExecutable)) }
        return command.command.contains("/") ? .path(FilePath(command.command)) : .name(command.command)
    }

    private var arguments: Arguments {
        guard guardExecutable != nil else { return Arguments(command.arguments) }
        return Arguments(
            ["stdio-guard", "--parent", String(getpid()), "--", command.command] + command.arguments)
    }

    private var environment: Environment {
        var variables: [Environment.Key: String] = [:]
        if let path = ProcessInfo.processInfo.environment["PATH"] { variables["PATH"] = path }
        for (name, value) in command.environment {
            if let key = Environment.Key(rawValue: name) { variables[key] = value }
        }
        return .custom(variables)
    }

    private func notStarted(within timeout: Duration) -> GatewayError {
        let current = status
        if case .down(let reason) = current { return .upstream(.upstreamUnavailable, server: server.name, reason) }
        return .upstream(.upstreamUnavailable, server: server.name, "did not become ready within \(timeout)")
    }
}
