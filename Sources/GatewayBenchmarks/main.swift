// `gateway-bench`: benchmarks of the gateway's own work, run by `bench/run.sh`. Prints one `name key=value…` line
// per benchmark.
//
//   gateway-bench                                  in-process: schema validation per call, choosing an instance
//   gateway-bench doors URL TOOL SECONDS           tools/call through each client door of the gateway at URL

let arguments = CommandLine.arguments.dropFirst()
if arguments.first == "doors", arguments.count == 4 {
    let values = Array(arguments)
    let benchmark = DoorLoadBenchmark(gateway: values[1], tool: values[2])
    let duration = Duration.seconds(Int(values[3]) ?? 8)
    for concurrency in [1, 64] {
        for door in DoorLoadBenchmark.Door.allCases {
            let figures = try await benchmark.run(door, concurrency: concurrency, duration: duration)
            print(
                "door \(door.rawValue) c=\(concurrency) rps=\(Int(figures.rate.rounded()))"
                    + " p50_us=\(figures.p50.components.attoseconds / 1_000_000_000_000 + figures.p50.components.seconds * 1_000_000)"
                    + " p99_us=\(figures.p99.components.attoseconds / 1_000_000_000_000 + figures.p99.components.seconds * 1_000_000)"
                    + " failures=\(figures.failures)")
            if let failure = figures.firstFailure {
                print("door \(door.rawValue) c=\(concurrency) first failure: \(failure.prefix(300))")
            }
        }
    }
} else {
    let figures = try SchemaValidationBenchmark.run()
    print(
        "schema-validation per_call_ns=\(Int(figures.nanosecondsPerCall.rounded()))"
            + " compile_ns=\(Int(figures.nanosecondsPerCompile.rounded()))")
    let choices = try PoolChoiceBenchmark.run()
    print("pool-choice " + choices.map { "\($0.0)_ns=\(Int($0.1.rounded()))" }.joined(separator: " "))
}
