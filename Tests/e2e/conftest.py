"""Shared harness for the mcp-gateway end-to-end suite.

Everything runs on 127.0.0.1. Processes are started with their readiness detected from their own output
(the gateway's banner on stdout, the demo server's "listening" line, the SDK fixture's "listening" line), and every
wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import mcp_types as types
import pytest

E2E_DIR = Path(__file__).resolve().parent
REPO = E2E_DIR.parents[1]
GATEWAY_BIN = os.environ.get("MCP_GATEWAY_BIN", str(REPO / ".build" / "debug" / "mcp-gateway"))
FAULTY_SERVER = REPO / "Tests" / "Fixtures" / "faulty_stdio_server.py"
SDK_SERVER = E2E_DIR / "fixtures" / "sdk_http_server.py"
RAW_SERVER = E2E_DIR / "fixtures" / "raw_stdio_server.py"
PYTHON = sys.executable

BANNER = re.compile(r"^mcp-gateway \S+ is listening on (http://127\.0\.0\.1:\d+)\s*$")
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

ACCEPT_BOTH = "application/json, text/event-stream"
LATEST = "2025-11-25"
LEGACY_VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]


def pytest_configure(config: pytest.Config) -> None:
    if not os.access(GATEWAY_BIN, os.X_OK):
        raise pytest.UsageError(f"gateway binary not found or not executable: {GATEWAY_BIN} (set MCP_GATEWAY_BIN)")


# ---------------------------------------------------------------------------------------------------------------------
# Processes


class LineWatcher:
    """Reads a text pipe on a thread, keeps every line, and lets a caller wait for a line matching a pattern."""

    def __init__(self, stream, name: str) -> None:
        self.lines: list[str] = []
        self.closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(stream,), name=name, daemon=True)
        self._thread.start()

    def _run(self, stream) -> None:
        try:
            for line in iter(stream.readline, ""):
                with self._cond:
                    self.lines.append(line.rstrip("\n"))
                    self._cond.notify_all()
        except (ValueError, OSError):
            pass
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def wait_for(self, pattern: re.Pattern[str] | str, timeout: float) -> re.Match[str] | None:
        """The first line (already seen or still to come) matching `pattern`, or None at EOF or timeout."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        index = 0
        with self._cond:
            while True:
                while index < len(self.lines):
                    match = regex.search(self.lines[index])
                    index += 1
                    if match:
                        return match
                if self.closed:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state letter) for every process, from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        rest = stat[stat.rfind(")") + 2 :].split()
        table[int(entry)] = (int(rest[1]), rest[0])
    return table


def descendants(pid: int) -> set[int]:
    table = process_table()
    children: dict[int, list[int]] = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """The pids that still exist and are not zombies."""
    table = process_table()
    return {pid for pid in pids if pid in table and table[pid][1] != "Z"}


def wait_gone(pids: set[int], timeout: float) -> set[int]:
    """Waits (bounded) until none of `pids` is a live process; returns the survivors."""
    deadline = time.monotonic() + timeout
    left = alive(pids)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = alive(left)
    return left


def kill_quietly(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


LIVE_GATEWAYS: list[Gateway] = []


class Gateway:
    """One `mcp-gateway serve` process with its own configuration file, on an OS-chosen port.

    Gateways a test starts and does not stop (e.g. because an assertion failed first) are stopped by the autouse
    `reap_gateways` fixture; `shared = True` marks the module/session-scoped ones, which their fixtures stop.
    """

    def __init__(
        self,
        workdir: Path,
        config: dict[str, Any] | str | None,
        *,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        config_name: str = "gateway.json",
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path: Path | None = None
        if config is not None:
            self.config_path = workdir / config_name
            text = config if isinstance(config, str) else json.dumps(config, indent=2)
            self.config_path.write_text(text)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.args = args or []
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.banner: list[str] = []
        self.stdout: LineWatcher | None = None
        self.stderr: LineWatcher | None = None
        self.children: set[int] = set()
        self.shared = False

    def start(self) -> Gateway:
        command = [GATEWAY_BIN, "serve", "--port", "0"]
        if self.config_path is not None:
            command += ["--config", str(self.config_path)]
        command += self.args
        self.proc = subprocess.Popen(
            command,
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        LIVE_GATEWAYS.append(self)
        self.stdout = LineWatcher(self.proc.stdout, "gateway-stdout")
        self.stderr = LineWatcher(self.proc.stderr, "gateway-stderr")
        match = self.stdout.wait_for(BANNER, STARTUP_TIMEOUT)
        if match is None:
            self.proc.kill()
            self.proc.wait(5)
            raise RuntimeError(
                f"gateway did not print its banner within {STARTUP_TIMEOUT}s (exit {self.proc.returncode})\n"
                f"stdout:\n{self.stdout.text}\nstderr:\n{self.stderr.text}"
            )
        self.url = match.group(1)
        return self

    def mcp(self, server: str | None = None) -> str:
        return f"{self.url}/mcp" if server is None else f"{self.url}/mcp/{server}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout: float = STOP_TIMEOUT) -> tuple[int | None, set[int], float]:
        """SIGTERM; returns (exit code or None if it did not exit in time, surviving descendants, seconds taken)."""
        assert self.proc is not None
        if self in LIVE_GATEWAYS:
            LIVE_GATEWAYS.remove(self)
        if self.proc.poll() is not None:
            kill_quietly(alive(self.children))
            return self.proc.returncode, set(), 0.0
        self.children = descendants(self.proc.pid)
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code: int | None = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        elapsed = time.monotonic() - started
        survivors = wait_gone(self.children, 2.0) if code is not None else alive(self.children)
        if code is None:
            self.proc.kill()
            self.proc.wait(5)
        kill_quietly(alive(self.children))
        self.stdout.join(2)
        self.stderr.join(2)
        return code, survivors, elapsed

    def stop_and_check(self) -> None:
        code, survivors, elapsed = self.stop()
        assert code == 0, f"gateway exit code after SIGTERM: {code} (after {elapsed:.1f}s)\nstderr tail:\n{self.tail()}"
        assert not survivors, f"processes left behind by the gateway: {describe(survivors)}"

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.stderr.lines[-lines:]) if self.stderr else ""


@pytest.fixture(autouse=True)
def reap_gateways() -> Iterator[None]:
    """Stops (and kills the children of) any non-shared gateway a test leaves running."""
    yield
    for gw in [g for g in LIVE_GATEWAYS if not g.shared]:
        gw.stop(timeout=5)


@pytest.fixture(scope="session", autouse=True)
def reap_everything() -> Iterator[None]:
    yield
    for gw in list(LIVE_GATEWAYS):
        gw.stop(timeout=5)


def describe(pids: set[int]) -> str:
    out = []
    for pid in sorted(pids):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmd = "?"
        out.append(f"{pid}: {cmd}")
    return "; ".join(out)


class Upstream:
    """An upstream server process (demo HTTP server or SDK fixture) announcing its URL on one of its pipes."""

    def __init__(self, command: list[str], pattern: str, *, on_stderr: bool) -> None:
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        self.stdout = LineWatcher(self.proc.stdout, "upstream-stdout")
        self.stderr = LineWatcher(self.proc.stderr, "upstream-stderr")
        watcher = self.stderr if on_stderr else self.stdout
        match = watcher.wait_for(pattern, STARTUP_TIMEOUT)
        if match is None:
            self.stop()
            raise RuntimeError(
                f"{command} did not announce itself\nstdout:\n{self.stdout.text}\nstderr:\n{self.stderr.text}"
            )
        self.url = match.group(1)

    @property
    def port(self) -> int:
        return int(self.url.split(":")[2].split("/")[0])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def demo_stdio(**extra: Any) -> dict[str, Any]:
    return {"command": GATEWAY_BIN, "args": ["demo-server"], **extra}


def faulty_stdio(*flags: str, **extra: Any) -> dict[str, Any]:
    return {"command": PYTHON, "args": [str(FAULTY_SERVER), *flags], **extra}


def raw_stdio(**extra: Any) -> dict[str, Any]:
    return {"command": PYTHON, "args": [str(RAW_SERVER)], **extra}


def time_stdio(**extra: Any) -> dict[str, Any]:
    return {"command": PYTHON, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"], **extra}


@pytest.fixture(scope="session")
def demo_http() -> Iterator[Upstream]:
    """`mcp-gateway demo-server --http 0`: the demo server over Streamable HTTP, as a separate process."""
    upstream = Upstream(
        [GATEWAY_BIN, "demo-server", "--http", "0"], r"demo server listening on (http://\S+/mcp)", on_stderr=True
    )
    yield upstream
    upstream.stop()


@pytest.fixture(scope="session")
def sdk_sse() -> Iterator[Upstream]:
    """The Python SDK fixture server answering POSTs with SSE streams (json_response=False)."""
    upstream = Upstream([PYTHON, str(SDK_SERVER)], r"^listening (http://\S+)", on_stderr=False)
    yield upstream
    upstream.stop()


@pytest.fixture(scope="session")
def sdk_json() -> Iterator[Upstream]:
    """The Python SDK fixture server answering POSTs with plain JSON (json_response=True)."""
    upstream = Upstream([PYTHON, str(SDK_SERVER), "--json-response"], r"^listening (http://\S+)", on_stderr=False)
    yield upstream
    upstream.stop()


LONG_PREFIX = "p" * 60
CORS_ORIGIN = "https://app.example.com"
BODY_LIMIT = 65536


@pytest.fixture(scope="session")
def gateway(tmp_path_factory, demo_http, sdk_sse, sdk_json) -> Iterator[Gateway]:
    """The shared gateway: every kind of upstream, a filtered server, a long prefix, CORS and a body limit.

    Declaration order matters for resource URI collisions: `demo` comes before `demohttp` (same URIs) and `sdksse`
    before `sdkjson` (same URIs), so the later ones get rewritten URIs.
    """
    config = {
        "mcpServers": {
            "demo": demo_stdio(),
            # ${VAR} expansion: the port comes from the gateway's environment.
            "demohttp": {"url": "http://127.0.0.1:${E2E_DEMO_HTTP_PORT}/mcp"},
            "time": time_stdio(),
            "sdksse": {"url": sdk_sse.url},
            "sdkjson": {"url": sdk_json.url},
        },
        "servers": {
            "raw": {"instances": [raw_stdio()]},
            "filtered": {"prefix": "filt", **demo_stdio(), "tools": {"allow": ["echo", "add"], "deny": ["add"]}},
            "longname": {"prefix": LONG_PREFIX, **demo_stdio()},
        },
        "limits": {"maxRequestBodyBytes": BODY_LIMIT},
        "cors": {"origins": [CORS_ORIGIN]},
    }
    gw = Gateway(tmp_path_factory.mktemp("gateway"), config, env={"E2E_DEMO_HTTP_PORT": str(demo_http.port)})
    gw.shared = True
    gw.start()
    yield gw
    gw.stop_and_check()


# ---------------------------------------------------------------------------------------------------------------------
# Raw HTTP / JSON-RPC


def parse_sse(text: str) -> list[dict[str, Any]]:
    """The JSON messages carried by the `data:` fields of an SSE body (comments and empty events skipped)."""
    messages = []
    for block in re.split(r"\r?\n\r?\n", text):
        data = [line[5:].lstrip(" ") if line.startswith("data:") else None for line in re.split(r"\r?\n", block)]
        payload = "\n".join(d for d in data if d is not None)
        if payload.strip():
            messages.append(json.loads(payload))
    return messages


def sse_data_lines(text: str) -> list[str]:
    """The raw payloads of an SSE body's events, as text."""
    out = []
    for block in re.split(r"\r?\n\r?\n", text):
        data = [line[5:].lstrip(" ") for line in re.split(r"\r?\n", block) if line.startswith("data:")]
        payload = "\n".join(data)
        if payload.strip():
            out.append(payload)
    return out


def messages_of(response: httpx2.Response) -> list[dict[str, Any]]:
    """Every JSON-RPC message in a response body, JSON or SSE; a JSON array body is flattened."""
    ctype = response.headers.get("content-type", "")
    if ctype.startswith("text/event-stream"):
        return parse_sse(response.text)
    if not response.content:
        return []
    body = response.json()
    return body if isinstance(body, list) else [body]


def final_message(response: httpx2.Response) -> dict[str, Any]:
    """The last message of a response (the JSON-RPC response itself when notifications came before it)."""
    messages = messages_of(response)
    assert messages, f"empty response body (HTTP {response.status_code})"
    return messages[-1]


def free_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_client(**kwargs: Any) -> httpx2.AsyncClient:
    kwargs.setdefault("timeout", httpx2.Timeout(20.0))
    kwargs.setdefault("trust_env", False)
    return httpx2.AsyncClient(**kwargs)


class RawSession:
    """A Streamable HTTP session driven by hand: exact ids, headers and bodies."""

    def __init__(self, client: httpx2.AsyncClient, url: str) -> None:
        self.client = client
        self.url = url
        self.session_id: str | None = None
        self.version: str | None = None
        self.init_result: dict[str, Any] | None = None

    def headers(self, extra: dict[str, str] | None = None, *, session: bool = True) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": ACCEPT_BOTH}
        if session and self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if session and self.version and self.version not in ("2024-11-05", "2025-03-26"):
            headers["MCP-Protocol-Version"] = self.version
        headers.update(extra or {})
        return headers

    async def initialize(self, version: str = LATEST, *, initialized: bool = True) -> dict[str, Any]:
        body = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}},
        }
        response = await self.client.post(self.url, json=body, headers=self.headers(session=False))
        assert response.status_code == 200, f"initialize: HTTP {response.status_code}: {response.text}"
        message = final_message(response)
        assert "result" in message, message
        self.session_id = response.headers.get("mcp-session-id")
        assert self.session_id, "initialize response without Mcp-Session-Id"
        self.version = message["result"]["protocolVersion"]
        self.init_result = message["result"]
        if initialized:
            ack = await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
            assert ack.status_code == 202, f"notifications/initialized: HTTP {ack.status_code}"
        return message["result"]

    async def post(
        self, body: Any, headers: dict[str, str] | None = None, *, session: bool = True, timeout: float | None = None
    ) -> httpx2.Response:
        kwargs: dict[str, Any] = {"headers": self.headers(headers, session=session)}
        if isinstance(body, (bytes, str)):
            kwargs["content"] = body
        else:
            kwargs["content"] = json.dumps(body, separators=(",", ":"))
        if timeout is not None:
            kwargs["timeout"] = timeout
        return await self.client.post(self.url, **kwargs)

    async def request(
        self, method: str, params: Any = None, *, id: Any = 1, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            body["params"] = params
        response = await self.post(body, headers)
        assert response.status_code == 200, f"{method}: HTTP {response.status_code}: {response.text}"
        return final_message(response)

    async def call(self, name: str, arguments: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        return await self.request("tools/call", {"name": name, "arguments": arguments or {}}, **kw)

    async def delete(self) -> httpx2.Response:
        return await self.client.delete(self.url, headers=self.headers())


async def list_all(session: RawSession, method: str, key: str) -> list[dict[str, Any]]:
    """Every item of a paginated */list, following nextCursor (bounded)."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        params = {} if cursor is None else {"cursor": cursor}
        message = await session.request(method, params)
        assert "result" in message, message
        items += message["result"][key]
        cursor = message["result"].get("nextCursor")
        if cursor is None:
            return items
    raise AssertionError(f"{method}: more than 50 pages")


def text(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


def check_time(result: types.CallToolResult) -> None:
    assert not result.is_error, text(result)
    assert json.loads(text(result))["timezone"] == "UTC"


# The tools each shared upstream lists.
EXPECTED_TOOLS = {
    "demo": {"echo", "add", "slow", "log", "fail"},
    "demohttp": {"echo", "add", "slow", "log", "fail"},
    "time": {"get_current_time", "convert_time"},
    "sdksse": {"echo", "add", "progress", "log", "announce_tools_changed", "rpc_error"},
    "sdkjson": {"echo", "add", "progress", "log", "announce_tools_changed", "rpc_error"},
}


def text_of(result: dict[str, Any]) -> str:
    return "".join(block.get("text", "") for block in result.get("content", []) if block.get("type") == "text")


async def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Bounded polling, for the few things that announce nothing (e.g. a supervised restart)."""
    import asyncio

    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = await predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


class SSEStreamReader:
    """Reads an open `text/event-stream` response event by event (one iterator over the body, kept across calls)."""

    def __init__(self, response: httpx2.Response) -> None:
        self._chunks = response.aiter_text()
        self._buffer = ""

    async def next_block(self) -> str:
        """The next raw event (the text before its blank line), comments included."""
        while True:
            match = re.search(r"\r?\n\r?\n", self._buffer)
            if match:
                block, self._buffer = self._buffer[: match.start()], self._buffer[match.end() :]
                return block
            try:
                self._buffer += await self._chunks.__anext__()
            except StopAsyncIteration:
                raise AssertionError("the event stream ended") from None

    async def next_message(self) -> dict[str, Any]:
        """The next JSON-RPC message, skipping comments and empty events."""
        while True:
            messages = parse_sse(await self.next_block() + "\n\n")
            if messages:
                return messages[0]


# ---------------------------------------------------------------------------------------------------------------------
# Added for the modern-protocol, legacy HTTP+SSE, differential and server-request suites.

CATALOGUE_SERVER = E2E_DIR / "fixtures" / "sdk_catalogue_server.py"
MODERN = "2026-07-28"
LISTENING = r"^listening (http://\S+)"


def catalogue_stdio(**extra: Any) -> dict[str, Any]:
    return {"command": PYTHON, "args": [str(CATALOGUE_SERVER), "--transport", "stdio"], **extra}


def catalogue_command(*flags: str) -> list[str]:
    return [PYTHON, str(CATALOGUE_SERVER), *flags]


@pytest.fixture(scope="session")
def cat_sse() -> Iterator[Upstream]:
    """The extended catalogue over Streamable HTTP, answering with SSE streams."""
    upstream = Upstream(catalogue_command(), LISTENING, on_stderr=False)
    yield upstream
    upstream.stop()


@pytest.fixture(scope="session")
def cat_json() -> Iterator[Upstream]:
    """The extended catalogue over Streamable HTTP, answering with plain JSON."""
    upstream = Upstream(catalogue_command("--json-response"), LISTENING, on_stderr=False)
    yield upstream
    upstream.stop()


@pytest.fixture(scope="session")
def cat_legacy() -> Iterator[Upstream]:
    """The extended catalogue over the legacy HTTP+SSE transport (URL ends in /sse)."""
    upstream = Upstream(catalogue_command("--transport", "sse"), LISTENING, on_stderr=False)
    yield upstream
    upstream.stop()


@pytest.fixture(scope="session")
def cat_modern_only() -> Iterator[Upstream]:
    """The extended catalogue over Streamable HTTP as a 2026-07-28-only server (refuses `initialize`)."""
    upstream = Upstream(catalogue_command("--only", "modern", "--label", "modern-only"), LISTENING, on_stderr=False)
    yield upstream
    upstream.stop()


@pytest.fixture(scope="session")
def cat_legacy_only() -> Iterator[Upstream]:
    """The extended catalogue over Streamable HTTP as a session-only server (refuses requests outside a session)."""
    upstream = Upstream(catalogue_command("--only", "legacy", "--label", "legacy-only"), LISTENING, on_stderr=False)
    yield upstream
    upstream.stop()


@pytest.fixture(scope="session")
def catalogue_gateway(tmp_path_factory, cat_sse, cat_json, cat_modern_only, cat_legacy_only) -> Iterator[Gateway]:
    """A gateway over the extended catalogue as Streamable HTTP (SSE and JSON answers) and stdio, plus the demo server.

    The dual-era catalogue is reached twice: pinned to the session-based revisions (`catsse`, `catjson`, `catstdio`,
    `era: legacy`), and as the gateway finds it on its own (`…m`, `era: auto`, which finds 2026-07-28). `catmodern`
    and `catlegacyonly` are single-era servers, found by the same probe. Nothing here needs the legacy HTTP+SSE
    upstream transport, so the suites using it do not depend on that feature.
    """
    legacy = {"era": "legacy"}
    config = {
        "mcpServers": {
            "catsse": {"url": cat_sse.url, **legacy},
            "catjson": {"url": cat_json.url, **legacy},
            "catstdio": catalogue_stdio(**legacy),
            "catssem": {"url": cat_sse.url},
            "catjsonm": {"url": cat_json.url},
            "catstdiom": catalogue_stdio(),
            "catmodern": {"url": cat_modern_only.url},
            "catlegacyonly": {"url": cat_legacy_only.url},
            "demo": demo_stdio(),
        }
    }
    gw = Gateway(tmp_path_factory.mktemp("catalogue-gateway"), config)
    gw.shared = True
    gw.start()
    yield gw
    gw.stop_and_check()


@pytest.fixture(scope="session")
def legacy_upstream_gateway(tmp_path_factory, cat_legacy) -> Iterator[Gateway]:
    """A gateway whose catalogue upstream speaks legacy HTTP+SSE (`"transport": "sse"`), plus the demo server."""
    config = {"mcpServers": {"catlegacy": {"url": cat_legacy.url, "transport": "sse"}, "demo": demo_stdio()}}
    gw = Gateway(tmp_path_factory.mktemp("legacy-upstream-gateway"), config)
    gw.shared = True
    gw.start()
    yield gw
    gw.stop_and_check()


def modern_meta(version: str = MODERN, **extra: Any) -> dict[str, Any]:
    """The per-request `_meta` envelope of a 2026-07-28 request."""
    meta: dict[str, Any] = {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "e2e-raw", "version": "1"},
    }
    meta.update(extra)
    return meta


NAME_KEYS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


def modern_request(method: str, params: dict[str, Any] | None = None, *, id: Any = 1, meta: Any = "default") -> dict:
    """A 2026-07-28 request body; `meta=None` leaves `_meta` out, a dict replaces it. `id=None` makes a notification."""
    body_params = dict(params or {})
    if meta == "default":
        body_params["_meta"] = modern_meta()
    elif meta is not None:
        body_params["_meta"] = meta
    if id is None:
        return {"jsonrpc": "2.0", "method": method, "params": body_params}
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": body_params}


def modern_headers(body: dict[str, Any] | None = None, *, version: str | None = MODERN, **overrides: str | None) -> dict:
    """The headers a 2026-07-28 client sends for `body` (Mcp-Method, Mcp-Name derived from it); an override of None
    removes a header. Keys use `_` for `-` (e.g. Mcp_Name="x")."""
    headers: dict[str, str | None] = {"Content-Type": "application/json", "Accept": ACCEPT_BOTH}
    if version is not None:
        headers["MCP-Protocol-Version"] = version
    if body is not None:
        headers["Mcp-Method"] = body["method"]
        key = NAME_KEYS.get(body["method"])
        if key is not None and isinstance(body.get("params", {}).get(key), str):
            headers["Mcp-Name"] = body["params"][key]
    for name, value in overrides.items():
        headers[name.replace("_", "-")] = value
    return {k: v for k, v in headers.items() if v is not None}


# ---------------------------------------------------------------------------------------------------------------------
# MCP over WebSocket (the SDK has no WebSocket client; this is the transport it would be).


@contextlib.asynccontextmanager
async def websocket_transport(url: str):
    """An SDK `Transport` over MCP's WebSocket binding (`websockets` library, subprotocol `mcp`, one JSON-RPC message
    per text frame), for `mcp.Client(websocket_transport(url), ...)`."""
    import anyio
    import websockets
    from mcp.shared.message import SessionMessage

    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    async with websockets.connect(url, subprotocols=["mcp"], max_size=None) as ws:

        async def reader() -> None:
            async with read_writer:
                try:
                    async for text in ws:
                        await read_writer.send(SessionMessage(types.jsonrpc_message_adapter.validate_json(text)))
                except websockets.ConnectionClosed:
                    pass

        async def writer() -> None:
            async with write_reader:
                async for message in write_reader:
                    await ws.send(message.message.model_dump_json(by_alias=True, exclude_unset=True))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(reader)
            tasks.start_soon(writer)
            try:
                yield read_stream, write_stream
            finally:
                tasks.cancel_scope.cancel()


def ws_url(http_url: str) -> str:
    return "ws" + http_url[len("http"):]
