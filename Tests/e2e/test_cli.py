"""`mcp-gateway check-config` and `mcp-gateway serve --config` with good and bad files."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import GATEWAY_BIN, PYTHON, FAULTY_SERVER

VALID_YAML = f"""
mcpServers:
  time: {{ command: {PYTHON}, args: ["-m", "mcp_server_time", "--local-timezone", "UTC"], env: {{}} }}
  web:  {{ url: "http://127.0.0.1:${{E2E_WEB_PORT:-9000}}/mcp" }}
servers:
  faulty:
    prefix: f
    timeout: 2s
    instances: [ {{ command: {PYTHON}, args: ["{FAULTY_SERVER}"] }} ]
    tools: {{ allow: ["*"], deny: ["secret*"] }}
listen: {{ host: 127.0.0.1, port: 8080 }}
limits: {{ maxRequestBodyBytes: 1048576 }}
cors: {{ origins: ["https://app.example.com"] }}
"""

VALID_JSON = {
    "mcpServers": {"demo": {"command": GATEWAY_BIN, "args": ["demo-server"]}},
    "servers": {"web": {"url": "http://127.0.0.1:9/mcp", "prefix": "w", "timeout": "500ms"}},
}

# file name -> (content, key path the error must name)
INVALID = {
    "unknown-key.yaml": ("servers:\n  faulty:\n    command: python3\n    bogus: 1\n", "servers.faulty.bogus"),
    "bad-duration.yaml": ("servers:\n  faulty:\n    command: python3\n    timeout: soon\n", "servers.faulty.timeout"),
    "unknown-key-mcpservers.json": (
        json.dumps({"mcpServers": {"time": {"command": "x", "colour": "red"}}}), "mcpServers.time.colour"),
    "bad-port.json": (json.dumps({"mcpServers": {"t": {"command": "x"}}, "listen": {"port": 70000}}), "listen.port"),
    "bad-url.yaml": ('mcpServers:\n  a: { url: "ftp://example.com/mcp" }\n', "mcpServers.a.url"),
    "unknown-top-level.yaml": ("mcpServers:\n  a: { command: x }\nlisten_on: 8080\n", "listen_on"),
    "bad-tools.yaml": ("servers:\n  a:\n    command: x\n    tools: { allow: \"*\" }\n", "servers.a.tools.allow"),
    "unset-env.yaml": ('mcpServers:\n  a: { url: "http://127.0.0.1:${E2E_SURELY_UNSET_VAR}/mcp" }\n', "mcpServers.a.url"),
}


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("E2E_")}
    full_env.update(env or {})
    return subprocess.run(
        [GATEWAY_BIN, *args], capture_output=True, text=True, timeout=20, env=full_env, cwd=cwd, stdin=subprocess.DEVNULL
    )


def nonblank(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("name, content", [("valid.yaml", VALID_YAML), ("valid.json", json.dumps(VALID_JSON))])
def test_check_config_valid(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = run("check-config", str(path))
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{path}: valid;"), result.stdout


def test_check_config_expands_environment(tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_text(VALID_YAML)
    result = run("check-config", str(path), env={"E2E_WEB_PORT": "9123"})
    assert result.returncode == 0, result.stderr
    assert "http://127.0.0.1:9123/mcp" in result.stdout
    default = run("check-config", str(path))  # E2E_WEB_PORT unset: ${E2E_WEB_PORT:-9000}
    assert default.returncode == 0, default.stderr
    assert "http://127.0.0.1:9000/mcp" in default.stdout


@pytest.mark.parametrize("name", list(INVALID))
def test_check_config_invalid_names_the_key_path(tmp_path: Path, name: str) -> None:
    content, key_path = INVALID[name]
    path = tmp_path / name
    path.write_text(content)
    result = run("check-config", str(path))
    assert result.returncode != 0
    lines = nonblank(result.stdout + result.stderr)
    assert len(lines) == 1, f"expected one line, got: {lines}"
    assert lines[0].startswith(f"Error: {path}: {key_path}:"), lines[0]


def test_check_config_yaml_syntax_error_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("servers:\n  faulty:\n    command: python3\n  : [\n")
    result = run("check-config", str(path))
    assert result.returncode != 0
    lines = nonblank(result.stdout + result.stderr)
    assert lines and lines[0].startswith(f"Error: {path}:"), lines
    assert len(lines) == 1, f"expected one clear line, got {len(lines)}: {lines}"


def test_check_config_missing_file(tmp_path: Path) -> None:
    result = run("check-config", str(tmp_path / "absent.yaml"))
    assert result.returncode != 0
    lines = nonblank(result.stdout + result.stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines
    assert "absent.yaml" in lines[0]


@pytest.mark.parametrize("name", ["unknown-key.yaml", "bad-duration.yaml", "unset-env.yaml"])
def test_serve_with_a_bad_config_exits_with_one_line(tmp_path: Path, name: str) -> None:
    content, key_path = INVALID[name]
    path = tmp_path / name
    path.write_text(content)
    result = run("serve", "--config", str(path), "--port", "0", cwd=tmp_path)
    assert result.returncode != 0
    assert "is listening" not in result.stdout
    lines = nonblank(result.stderr)
    assert len(lines) == 1, f"expected one line on stderr, got: {lines}"
    assert lines[0].startswith("Error: ") and f"{key_path}:" in lines[0], lines[0]


def test_serve_with_a_missing_config_exits_nonzero(tmp_path: Path) -> None:
    result = run("serve", "--config", str(tmp_path / "absent.yaml"), "--port", "0", cwd=tmp_path)
    assert result.returncode != 0
    assert "is listening" not in result.stdout
    lines = nonblank(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "absent.yaml" in lines[0], lines


def test_version_and_help() -> None:
    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == "0.1.0"
    for command in (["--help"], ["serve", "--help"], ["check-config", "--help"], ["demo-server", "--help"]):
        result = run(*command)
        assert result.returncode == 0, command
        assert "USAGE:" in result.stdout, command
