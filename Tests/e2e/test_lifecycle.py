"""Start-up and shutdown of `mcp-gateway serve`: banner, default demo server, logs, SIGTERM, no orphans."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time

import httpx2
import pytest

from conftest import (
    BANNER,
    FAULTY_SERVER,
    PYTHON,
    Gateway,
    RawSession,
    demo_stdio,
    describe,
    descendants,
    faulty_stdio,
    http_client,
    kill_quietly,
    raw_stdio,
    text_of,
    time_stdio,
    wait_gone,
)


def sigterm(gw: Gateway, timeout: float) -> tuple[int | None, float]:
    began = time.monotonic()
    gw.proc.send_signal(signal.SIGTERM)
    try:
        code = gw.proc.wait(timeout)
    except Exception:
        code = None
    return code, time.monotonic() - began


async def test_without_config_serves_the_demo_server(tmp_path) -> None:
    gw = Gateway(tmp_path, None).start()
    try:
        assert gw.stdout.wait_for(rf"all servers:\s+{re.escape(gw.url)}/mcp\s*$", 5) is not None
        assert gw.stdout.wait_for(rf"^\s*demo:\s+{re.escape(gw.url)}/mcp/demo\s*$", 5) is not None
        async with http_client() as client:
            s = RawSession(client, gw.mcp())
            await s.initialize()
            names = {t["name"] for t in (await s.request("tools/list", {}))["result"]["tools"]}
            assert names == {"demo__echo", "demo__add", "demo__slow", "demo__log", "demo__fail"}
            assert text_of((await s.call("demo__echo", {"text": "default"}))["result"]) == "default"
    finally:
        gw.stop_and_check()


async def test_logs_go_to_stderr_as_json_lines(tmp_path) -> None:
    gw = Gateway(tmp_path, {"servers": {"demo": demo_stdio()}}, args=["--log-format", "json", "--log-level", "debug"])
    gw.start()
    try:
        async with http_client() as client:
            s = RawSession(client, gw.mcp())
            await s.initialize()
            await s.call("demo__echo", {"text": "log me"})
    finally:
        gw.stop_and_check()
    lines = [line for line in gw.stderr.lines if line.strip()]
    assert lines, "no log lines on stderr"
    for line in lines:
        assert isinstance(json.loads(line), dict), line
    # stdout carries the banner (and the client snippet), not logs.
    assert BANNER.match(gw.stdout.lines[0])
    assert not [line for line in gw.stdout.lines if '"level"' in line or "[GatewayApp]" in line]


async def test_sigterm_exits_0_and_leaves_no_children(tmp_path) -> None:
    config = {"mcpServers": {"demo": demo_stdio(), "faulty": faulty_stdio(), "time": time_stdio(), "raw": raw_stdio()}}
    gw = Gateway(tmp_path, config).start()
    async with http_client() as client:
        s = RawSession(client, gw.mcp())
        await s.initialize()
        names = {t["name"] for t in (await s.request("tools/list", {}))["result"]["tools"]}
        assert {"demo__echo", "faulty__echo", "time__get_current_time", "raw__seen"} <= names
        assert text_of((await s.call("faulty__echo", {"text": "up"}))["result"]) == "up"
    children = descendants(gw.pid)
    assert len(children) >= 4, f"expected the four stdio servers as children, found {children}"
    code, elapsed = sigterm(gw, 10)
    assert code == 0, f"exit code {code}"
    assert elapsed < 5, f"SIGTERM took {elapsed:.1f}s"
    survivors = wait_gone(children, 2)
    assert not survivors, f"left behind: {survivors}"
    gw.stop()


STUBBORN = {
    # The shell stays the group leader and ignores SIGTERM; after the server exits it keeps sleeping.
    "leader-lingers": f"trap '' TERM; {PYTHON} {FAULTY_SERVER}; sleep 300",
    # The server (the group leader) exits at once on EOF, leaving a grandchild that ignores SIGTERM.
    "leader-exits-first": f"trap '' TERM; sleep 300 & exec {PYTHON} {FAULTY_SERVER}",
}


@pytest.mark.parametrize("shape", list(STUBBORN))
async def test_sigterm_kills_the_whole_tree_even_when_sigterm_is_ignored(tmp_path, shape: str) -> None:
    """stdio servers run in their own process group, killed as a tree: SIGTERM, then SIGKILL for what is left.
    (SIG_IGN survives exec, so every process of the group below ignores SIGTERM.)"""
    stubborn = {"command": "/bin/sh", "args": ["-c", STUBBORN[shape]]}
    gw = Gateway(tmp_path, {"servers": {"stubborn": stubborn, "demo": demo_stdio()}}).start()
    async with http_client() as client:
        s = RawSession(client, gw.mcp())
        await s.initialize()
        assert text_of((await s.call("stubborn__echo", {"text": "up"}))["result"]) == "up"
    tree = descendants(gw.pid)
    assert len(tree) >= 3, describe(tree)  # the shell or the grandchild, the Python server, the demo server
    code, elapsed = sigterm(gw, 20)
    try:
        assert code == 0, f"exit code {code}"
        assert elapsed < 10, f"SIGTERM took {elapsed:.1f}s"
        survivors = wait_gone(tree, 2)
        assert not survivors, f"left behind: {describe(survivors)}"
    finally:
        kill_quietly(tree)


async def test_sigterm_with_a_call_in_flight_is_bounded(tmp_path) -> None:
    """A hung upstream call (timeout 60 s) must not hold the shutdown for its whole timeout."""
    gw = Gateway(tmp_path, {"servers": {"faulty": faulty_stdio(), "demo": demo_stdio()}}).start()
    async with http_client(timeout=httpx2.Timeout(90.0)) as client:
        s = RawSession(client, gw.mcp())
        await s.initialize()
        assert text_of((await s.call("faulty__echo", {"text": "up"}))["result"]) == "up"
        children = descendants(gw.pid)
        hung = asyncio.create_task(s.call("faulty__hang", {}))
        await asyncio.sleep(0.5)  # let the call reach the upstream (nothing announces it)
        code, elapsed = await asyncio.to_thread(sigterm, gw, 15)
        hung.cancel()
    try:
        assert code == 0, f"exit code {code} (no exit within 15 s)"
        assert elapsed < 15, f"SIGTERM with a hung call in flight took {elapsed:.1f}s"
        assert not wait_gone(children, 2)
    finally:
        gw.stop()
        assert not wait_gone(children, 3)


async def test_two_gateways_side_by_side(tmp_path) -> None:
    """--port 0 really picks distinct free ports; each gateway has its own children."""
    a = Gateway(tmp_path / "a", {"servers": {"demo": demo_stdio()}}).start()
    b = Gateway(tmp_path / "b", {"servers": {"demo": demo_stdio()}}).start()
    try:
        assert a.url != b.url
        assert descendants(a.pid).isdisjoint(descendants(b.pid))
    finally:
        a.stop_and_check()
        b.stop_and_check()
