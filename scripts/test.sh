#!/usr/bin/env bash
# Runs the whole test suite: format lint, the Swift tests, and the end-to-end tests that drive the real binary with
# the official MCP Python SDK. Installs what it needs: a Python virtual environment in .venv-test with the packages
# pinned in Tests/e2e/requirements.txt (from PyPI). Swift packages resolve from the package mirror as usual.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== swift format lint"
swift format lint --strict --recursive Sources Tests

echo "== build (debug, with tests)"
swift build --build-tests

echo "== Swift tests"
swift test --skip-build

echo "== Python environment for the end-to-end tests"
venv=.venv-test
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r Tests/e2e/requirements.txt

echo "== end-to-end tests"
MCP_GATEWAY_BIN="$(swift build --show-bin-path)/mcp-gateway" "$venv/bin/python" -m pytest Tests/e2e -q
