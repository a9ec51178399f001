import GatewayCore
import GatewayUpstreams
import GatewayWire
import Logging

/// `tools/call` throughput through each client door of a running gateway, driven by one load generator for all of
/// them, so their figures compare: Streamable HTTP and HTTP+SSE through the gateway's own upstream clients (the
/// same code that talks to real servers), WebSocket through ``WebSocketLoadClient``. Each door gets one session with
/// `concurrency` callers, each calling in a loop for `duration`.
struct DoorLoadBenchmark {
    enum Door: String, CaseIterable {
        case streamableHTTP = "streamable-http"
        case serverSentEvents = "sse"
        case webSocket = "ws"
    }

    struct Figures {
        let calls: Int
        let seconds: Double
        let p50: Duration
        let p99: Duration
        let failures: Int
        /// What the first failed call said, for the report.
        let firstFailure: String?
        var rate: Double { Double(calls) / seconds }
    }

    /// The gateway's base URL (`http://127.0.0.1:PORT`) and the aggregated tool to call (`http__echo`).
    let gateway: String
    let tool: String
    let logger: Logger = {
        var logger = Logger(label: "gateway-bench")
        logger.logLevel = .warning
        return logger
    }()

    func run(_ door: Door, concurrency: Int, duration: Duration) async throws -> Figures {
        let call: @Sendable (Int) async throws -> Void
        let stop: @Sendable () async -> Void
        switch door {
        case .webSocket:
            let client = try await WebSocketLoadClient.connect(
                url: "ws" + gateway.dropFirst(4) + "/ws", logger: logger)
            call = { id in try await client.call(id: id, tool: tool) }
            stop = { await client.close() }
        case .streamableHTTP, .serverSentEvents:
            let transport = makeTransport(door)
            let running = Task { await transport.run() }
            _ = try await transport.handshake(timeout: .seconds(10))
            call = { id in
                let request = UpstreamRequest(
                    .synthesized(
                        method: "tools/call", params: ["name": .string(tool), "arguments": ["text": "hello"]]),
                    owner: "bench", idleTimeout: .seconds(30), maxDuration: .seconds(30))
                let answer = try await transport.send(request).finalMessage()
                guard (try? JSONRPCMessage.parse(answer))?.kind == .response else {
                    throw BenchmarkError("tools/call failed: \(String(decoding: answer, as: UTF8.self))")
                }
            }
            stop = {
                running.cancel()
                _ = await running.value
            }
        }
        do {
            try await call(0)  // the door works before it is measured
            let figures = try await measure(concurrency: concurrency, duration: duration, call: call)
            await stop()
            return figures
        } catch {
            await stop()
            throw error
        }
    }

    private func makeTransport(_ door: Door) -> any UpstreamTransport {
        let url = door == .serverSentEvents ? gateway + "/sse" : gateway + "/mcp"
        let instance = UpstreamInstanceConfiguration(
            id: "bench",
            transport: .http(HTTPEndpoint(url: url, kind: door == .serverSentEvents ? .sse : .streamableHTTP)))
        // The session-based door: the gateway would also serve 2026-07-28, which the stateless row measures.
        var server = ServerConfiguration(name: "bench", instances: [instance])
        server.era = .legacy
        return LiveUpstreamTransportFactory(limits: LimitsConfiguration()).makeTransport(
            server: server,
            instance: instance,
            events: UpstreamEvents { _, _ in },
            logger: logger
        )
    }

    private func measure(
        concurrency: Int,
        duration: Duration,
        call: @escaping @Sendable (Int) async throws -> Void
    ) async throws -> Figures {
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = started + duration
        let perCaller = try await withThrowingTaskGroup(of: ([Duration], Int, String?).self) { group in
            for caller in 0..<concurrency {
                group.addTask {
                    var latencies: [Duration] = []
                    var failures = 0
                    var first: String?
                    var id = caller * 10_000_000
                    while clock.now < deadline {
                        id += 1
                        let began = clock.now
                        do {
                            try await call(id)
                            latencies.append(clock.now - began)
                        } catch {
                            failures += 1
                            if first == nil { first = "\(error)" }
                        }
                    }
                    return (latencies, failures, first)
                }
            }
            var all: [([Duration], Int, String?)] = []
            for try await result in group { all.append(result) }
            return all
        }
        let seconds = Self.seconds(clock.now - started)
        let latencies = perCaller.flatMap(\.0).sorted()
        guard !latencies.isEmpty else { throw BenchmarkError("no call completed") }
        return Figures(
            calls: latencies.count, seconds: seconds,
            p50: latencies[latencies.count / 2], p99: latencies[latencies.count * 99 / 100],
            failures: perCaller.map(\.1).reduce(0, +), firstFailure: perCaller.compactMap(\.2).first)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
