#!/usr/bin/env python3
"""tools/call throughput and latency: the demo upstream called directly, through one nginx hop, and through the
gateway (HTTP upstream and stdio upstream), at concurrency 1 and 64; plus the gateway's idle RSS and its RSS after
10,000 idle sessions; and, in process (`gateway-bench`), the cost of checking a call's arguments against its tool's
input schema. Everything runs on loopback on this machine; results are printed and written to BENCHMARKS.md.

Usage: bench/bench.py [--binary .build/release/mcp-gateway] [--in-process .build/release/gateway-bench]
                      [--duration 10] [--sessions 10000] [--output BENCHMARKS.md]
"""
import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_line(process, stream, pattern, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = stream.readline()
        if not line:
            raise RuntimeError(f"process exited before printing {pattern!r}")
        if pattern in line:
            return line
    raise RuntimeError(f"timed out waiting for {pattern!r}")


def wait_for_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


STATELESS = "stateless"  # in place of a session id: a 2026-07-28 request, no session


def post(port, path, body, session=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if session == STATELESS:
        headers.update({"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": body["method"],
                        "Mcp-Name": body["params"]["name"]})
    elif session:
        headers["Mcp-Session-Id"] = session
        headers["MCP-Protocol-Version"] = "2025-11-25"
    connection.request("POST", path, body=json.dumps(body), headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, response.getheader("Mcp-Session-Id"), data


INITIALIZE = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}


def open_session(port, path):
    status, session, data = post(port, path, INITIALIZE)
    assert status == 200 and session, (status, data)
    post(port, path, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    return session


def call_body(tool, session=None):
    params = {"name": tool, "arguments": {"text": "hello"}}
    if session == STATELESS:
        params["_meta"] = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                           "io.modelcontextprotocol/clientCapabilities": {}}
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}


def check_call(port, path, session, tool):
    status, _, data = post(port, path, call_body(tool, session), session)
    reply = json.loads(data)
    assert status == 200 and reply["result"]["content"][0]["text"] == "hello", (status, data)


UNITS = {"us": 1, "ms": 1000, "s": 1_000_000}


def wrk(port, path, session, tool, connections, duration):
    env = dict(os.environ, SESSION=session, NAME=tool, BODY=json.dumps(call_body(tool, session), separators=(",", ":")))
    threads = 1 if connections == 1 else 2
    script = "tools_call_stateless.lua" if session == STATELESS else "tools_call.lua"
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
               "-s", os.path.join(ROOT, "bench", script), f"http://127.0.0.1:{port}{path}"]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for percentile in ("50", "90", "99"):
        match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        result[f"p{percentile}"] = float(match.group(1)) * UNITS[match.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    result["non2xx"] = int(non_2xx.group(1)) if non_2xx else 0
    result["socket_errors"] = errors.group(1).strip() if errors else ""
    return result


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def create_sessions(port, count):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    body = json.dumps(INITIALIZE)
    for _ in range(count):
        connection.request("POST", "/mcp", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200 and response.getheader("Mcp-Session-Id")
    connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "mcp-gateway"))
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--output", default=os.path.join(ROOT, "BENCHMARKS.md"))
    parser.add_argument("--in-process", default=os.path.join(ROOT, ".build", "release", "gateway-bench"),
                        help="the gateway-bench binary (in-process benchmarks of the gateway's own per-call work)")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install -y wrk nginx-light")

    in_process = run_in_process(args.in_process)
    work = tempfile.mkdtemp(prefix="mcp-gateway-bench-")
    processes = []
    try:
        upstream_port, nginx_port, gateway_port = free_port(), free_port(), free_port()
        upstream = subprocess.Popen([args.binary, "demo-server", "--http", str(upstream_port)],
                                    stderr=subprocess.PIPE, text=True)
        processes.append(upstream)
        wait_for_line(upstream, upstream.stderr, "listening")

        with open(os.path.join(ROOT, "bench", "nginx.conf.template")) as template:
            conf = template.read().replace("{dir}", work).replace("{upstream_port}", str(upstream_port)).replace("{port}", str(nginx_port))
        conf_path = os.path.join(work, "nginx.conf")
        with open(conf_path, "w") as out:
            out.write(conf)
        nginx = subprocess.Popen(["nginx", "-c", conf_path, "-p", work, "-g", "daemon off;"])
        processes.append(nginx)
        wait_for_port(nginx_port)

        config_path = os.path.join(work, "gateway.yaml")
        with open(config_path, "w") as out:
            out.write(f"""servers:
  http: {{ url: "http://127.0.0.1:{upstream_port}/mcp" }}
  stdio: {{ command: "{args.binary}", args: [demo-server] }}
""")

        def start_gateway(port):
            process = subprocess.Popen([args.binary, "serve", "--config", config_path, "--port", str(port), "--log-level", "warning"],
                                       stdout=subprocess.PIPE, text=True)
            processes.append(process)
            wait_for_line(process, process.stdout, "is listening on")
            return process

        gateway = start_gateway(gateway_port)
        direct = open_session(upstream_port, "/mcp")
        via_nginx = open_session(nginx_port, "/mcp")
        via_gateway = open_session(gateway_port, "/mcp")
        targets = [
            ("upstream, direct", upstream_port, direct, "echo"),
            ("nginx → upstream", nginx_port, via_nginx, "echo"),
            ("gateway → HTTP upstream", gateway_port, via_gateway, "http__echo"),
            ("gateway → HTTP, 2026 stateless", gateway_port, STATELESS, "http__echo"),
            ("gateway → stdio upstream", gateway_port, via_gateway, "stdio__echo"),
        ]
        for _, port, session, tool in targets:
            check_call(port, "/mcp", session, tool)
        idle_rss = rss_mb(gateway.pid)

        results = {}

        def measure(label, port, session, tool, connections):
            wrk(port, "/mcp", session, tool, connections, 2)  # warm-up
            r = results[(label, connections)] = wrk(port, "/mcp", session, tool, connections, args.duration)
            print(f"c={connections:<3} {label:<26} {r['rps']:>9.0f} req/s  p50 {r['p50']:>8.0f} µs  p99 {r['p99']:>8.0f} µs"
                  f"  non-2xx {r['non2xx']} {r['socket_errors']}", flush=True)

        for connections in (1, 64):
            for label, port, session, tool in targets:
                measure(label, port, session, tool, connections)
        doors = run_doors(args.in_process, gateway_port, args.duration)
        loaded_rss = rss_mb(gateway.pid)

        started = time.time()
        create_sessions(gateway_port, args.sessions)
        session_seconds = time.time() - started
        sessions_rss = rss_mb(gateway.pid)
        print(f"gateway RSS: idle {idle_rss:.1f} MB, after load {loaded_rss:.1f} MB, "
              f"after {args.sessions} more sessions {sessions_rss:.1f} MB (+{sessions_rss - loaded_rss:.1f} MB, created in {session_seconds:.1f} s)")
        write_report(args, results, idle_rss, loaded_rss, sessions_rss, session_seconds, in_process, doors)
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


def run_in_process(binary):
    """`gateway-bench`'s figures: {benchmark: {key: number}}, from its `name key=value ...` lines."""
    output = subprocess.run([binary], capture_output=True, text=True, check=True).stdout
    figures = {}
    for line in output.splitlines():
        name, *pairs = line.split()
        figures[name] = {key: float(value) for key, value in (pair.split("=", 1) for pair in pairs)}
        print(line, flush=True)
    return figures


def run_doors(binary, gateway_port, duration):
    """`gateway-bench doors`: tools/call through each client door, {(door, concurrency): {rps, p50_us, p99_us}}."""
    output = subprocess.run([binary, "doors", f"http://127.0.0.1:{gateway_port}", "http__echo", str(duration)],
                            capture_output=True, text=True, check=True).stdout
    doors = {}
    for line in output.splitlines():
        if not line.startswith("door "):
            continue
        if " first failure: " in line:
            print(line, flush=True)
            continue
        _, door, concurrency, *pairs = line.split()
        doors[(door, int(concurrency[2:]))] = {k: float(v) for k, v in (p.split("=", 1) for p in pairs)}
        print(line, flush=True)
    return doors


def write_report(args, results, idle_rss, loaded_rss, sessions_rss, session_seconds, in_process, doors):
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.date.today().isoformat()} at commit `{commit}` by `bench/run.sh` (release build). "
        f"Machine: {os.cpu_count()} cores ({cpu}), Linux {os.uname().release}. Load generator, gateway, upstream and nginx "
        "share the same cores, on loopback. " + f"{wrk_version}; {nginx_version}.",
        "",
        "Each row is `wrk` POSTing one MCP `tools/call` (`echo` with a 5-byte argument) per request on an open session "
        "(the 2026 stateless row: no session, version and capabilities in `_meta`, mirrored headers checked), "
        f"for {args.duration} s after a 2 s warm-up. The upstream is the built-in demo server (`mcp-gateway demo-server --http`); "
        "the stdio rows use the same demo server as one child process of the gateway, with every request pipelined onto it.",
        "",
        "| path | concurrency | requests/s | p50 | p90 | p99 | non-2xx |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (label, connections), r in results.items():
        lines.append(f"| {label} | {connections} | {r['rps']:,.0f} | {r['p50']:.0f} µs | {r['p90']:.0f} µs | {r['p99']:.0f} µs | {r['non2xx']} |")
    def rps(label, c):
        return results[(label, c)]["rps"]
    def p50(label, c):
        return results[(label, c)]["p50"]
    added_gateway = p50("gateway → HTTP upstream", 1) - p50("upstream, direct", 1)
    added_nginx = p50("nginx → upstream", 1) - p50("upstream, direct", 1)
    ratio = rps("gateway → HTTP upstream", 64) / rps("nginx → upstream", 64)
    verdict = lambda ok: "met" if ok else "**missed**"
    schema = in_process["schema-validation"]
    lines += [
        "",
        "## Against the targets (issues 2, 5 and 6)",
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
        f"| HTTP upstream, c=64: ≥ 10,000 tools/call/s through the gateway | {rps('gateway → HTTP upstream', 64):,.0f}/s | {verdict(rps('gateway → HTTP upstream', 64) >= 10_000)} |",
        f"| … and ≥ 1/3 of the nginx hop's rate in the same run | {ratio:.2f} × nginx ({rps('nginx → upstream', 64):,.0f}/s) | {verdict(ratio >= 1 / 3)} |",
        f"| … and within 10 % of the 0.41 × measured before the protocol bridge (issue 5) | {ratio:.2f} × nginx | {verdict(ratio >= 0.41 * 0.9)} |",
        f"| … and within 10 % of the 0.35 × measured before the upstream fleet (issue 6, at 3d86b23) | {ratio:.2f} × nginx | {verdict(ratio >= 0.35 * 0.9)} |",
        f"| HTTP upstream, c=1: ≤ 150 µs added to p50 over direct | +{added_gateway:.0f} µs (nginx: +{added_nginx:.0f} µs) | {verdict(added_gateway <= 150)} |",
        f"| stdio upstream, c=64: ≥ 5,000 tools/call/s | {rps('gateway → stdio upstream', 64):,.0f}/s | {verdict(rps('gateway → stdio upstream', 64) >= 5_000)} |",
        f"| 2026 stateless tools/call, c=64: ≥ the 2025 session path (issue 5) | {rps('gateway → HTTP, 2026 stateless', 64):,.0f}/s vs {rps('gateway → HTTP upstream', 64):,.0f}/s | {verdict(rps('gateway → HTTP, 2026 stateless', 64) >= rps('gateway → HTTP upstream', 64))} |",
        f"| schema validation of a 10-property tools/call, in process: ≤ 5 µs per call (issue 5) | {schema['per_call_ns'] / 1000:.1f} µs (compiling the schema once: {schema['compile_ns'] / 1000:.0f} µs) | {verdict(schema['per_call_ns'] <= 5000)} |",
        f"| idle RSS ≤ 30 MB | {idle_rss:.1f} MB | {verdict(idle_rss <= 30)} |",
        f"| 10,000 idle sessions ≤ 100 MB more | +{sessions_rss - loaded_rss:.1f} MB ({args.sessions:,} sessions, {loaded_rss:.1f} → {sessions_rss:.1f} MB) | {verdict(sessions_rss - loaded_rss <= 100)} |",
        "",
        f"Idle RSS is read from `/proc/PID/status` (VmRSS) after start-up and one call per path; the session figure adds "
        f"{args.sessions:,} `initialize` requests (each a new session, kept idle) after the load runs, created in {session_seconds:.1f} s.",
        "",
        "Schema validation is measured by `gateway-bench` (`Sources/GatewayBenchmarks`) before the load runs: reading "
        "the arguments out of an already-parsed `tools/call` and validating them against a compiled 10-property "
        "schema (strings with length limits and a pattern, integers with bounds, enums, a boolean, an array with unique "
        "items, a nested object, `additionalProperties: false`), the work the gateway adds per call; the median of 5 "
        "rounds of 100,000 calls. The HTTP rows above include it too: the demo server's `echo` declares an input schema.",
        "",
        "## Client doors (issue 5)",
        "",
        "`tools/call` through each of the gateway's session-based client transports to the same HTTP upstream, driven "
        "by one load generator for all three (`gateway-bench doors`: Streamable HTTP and HTTP+SSE through the gateway's "
        "own upstream clients, WebSocket through a small client of the same kind), one session each with 1 or 64 "
        f"callers, {args.duration} s each, in the same run as the table above. wrk cannot drive SSE or WebSocket, so "
        "these figures compare the doors with each other; the load generator's own cost is in them, so they sit "
        "below wrk's.",
        "",
        "| door | concurrency | requests/s | p50 | p99 | vs Streamable HTTP |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    door_names = {"streamable-http": "Streamable HTTP (`/mcp`)", "sse": "HTTP+SSE (`/sse`)", "ws": "WebSocket (`/ws`)"}
    for (door, c), r in sorted(doors.items(), key=lambda item: (item[0][1], list(door_names).index(item[0][0]))):
        base = doors[("streamable-http", c)]["rps"]
        lines.append(f"| {door_names[door]} | {c} | {r['rps']:,.0f} | {r['p50_us']:.0f} µs | {r['p99_us']:.0f} µs | {r['rps'] / base:.2f} × |")
    lines += [
        "",
        "## Reproduce",
        "",
        "```sh",
        "apt-get install -y wrk nginx-light   # once",
        "bench/run.sh                          # release build, then bench/bench.py; rewrites this file",
        "```",
        "",
    ]
    # The fleet section is bench/fleet.py's; it is kept as that script last wrote it.
    if os.path.exists(args.output):
        previous = open(args.output).read()
        begin, end = "<!-- fleet:begin -->", "<!-- fleet:end -->"
        if begin in previous and end in previous:
            lines += ["", previous[previous.index(begin):previous.index(end) + len(end)], ""]
    notes = os.path.join(ROOT, "bench", "NOTES.md")
    if os.path.exists(notes):
        with open(notes) as extra:
            lines += ["", extra.read().strip(), ""]
    with open(args.output, "w") as out:
        out.write("\n".join(lines))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
