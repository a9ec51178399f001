// `gateway-bench`: in-process benchmarks of the gateway's own per-call work, run by `bench/run.sh`
// (`swift run -c release gateway-bench`). Prints one `name key=value…` line per benchmark.

let figures = try SchemaValidationBenchmark.run()
print(
    "schema-validation per_call_ns=\(Int(figures.nanosecondsPerCall.rounded()))"
        + " compile_ns=\(Int(figures.nanosecondsPerCompile.rounded()))")
