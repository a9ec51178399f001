#!/usr/bin/env bash
# Builds the release binary and runs the benchmark; the figures go to stdout and BENCHMARKS.md.
# Needs wrk and nginx (Debian: apt-get install -y wrk nginx-light); installs them if apt-get is available.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk nginx-light >/dev/null
fi
swift build -c release --product mcp-gateway
swift build -c release --product gateway-bench
bin="$(swift build -c release --show-bin-path)"
exec python3 bench/bench.py --binary "$bin/mcp-gateway" --in-process "$bin/gateway-bench" "$@"
