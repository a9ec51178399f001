"""Misbehaving upstreams (Tests/Fixtures/faulty_stdio_server.py and friends): the gateway reports them clearly,
keeps serving everything else, and recovers."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest

from conftest import (
    E2E_DIR,
    GATEWAY_BIN,
    PYTHON,
    Gateway,
    RawSession,
    Upstream,
    demo_stdio,
    descendants,
    faulty_stdio,
    free_port,
    messages_of,
    http_client,
    text_of,
    wait_until,
)

SECRET_NAME = "E2E_GATEWAY_SECRET"
E2E_FIXTURES = E2E_DIR / "fixtures"


@pytest.fixture(scope="module")
def faults(tmp_path_factory) -> Iterator[Gateway]:
    config = {
        "servers": {
            "demo": demo_stdio(),
            "crashy": faulty_stdio(),
            "hangy": faulty_stdio(timeout="1s"),
            "garbagey": faulty_stdio(timeout="2s"),
            "bannery": faulty_stdio("--banner", prefix="${E2E_UNSET_PREFIX:-dflt}"),
            "envy": faulty_stdio(env={
                "LC_ALL": "C.UTF-8",  # keeps Python from adding LC_CTYPE (PEP 538 locale coercion) to its own env
                "E2E_DECLARED": "declared",
                "E2E_EXPANDED": "${E2E_EXPAND_ME}",
            }),
            "slowdemo": demo_stdio(timeout="1s"),
        }
    }
    gw = Gateway(tmp_path_factory.mktemp("faults"), config, env={SECRET_NAME: "hunter2", "E2E_EXPAND_ME": "expanded"})
    gw.env.pop("E2E_UNSET_PREFIX", None)
    gw.shared = True
    gw.start()
    yield gw
    gw.stop_and_check()


@pytest.fixture
async def session(faults: Gateway) -> AsyncIterator[RawSession]:
    async with http_client() as client:
        s = RawSession(client, faults.mcp())
        await s.initialize()
        yield s


async def timed(coro, limit: float = 20.0) -> tuple[dict, float]:
    """Runs a request; fails the test if it takes more than `limit` seconds."""
    began = time.monotonic()
    try:
        message = await asyncio.wait_for(coro, limit)
    except asyncio.TimeoutError:
        raise AssertionError(f"no answer within {limit}s") from None
    return message, time.monotonic() - began


def upstream_error(message: dict, server: str) -> dict:
    assert "error" in message, message
    error = message["error"]
    assert error["code"] == -32603, error
    assert isinstance(error.get("data"), dict), error
    assert error["data"]["server"] == server, error
    assert error["data"].get("reason"), error
    return error


async def test_crash_fails_calls_in_flight_at_once_and_the_server_comes_back(faults: Gateway, session: RawSession) -> None:
    marker = f"fixture crashed on purpose {secrets.token_hex(4)}"
    # A call that would take 30 s, in flight when the process dies.
    sleeper = asyncio.create_task(timed(session.call("crashy__sleep", {"ms": 30000, "text": "too late"}, id="sleep")))
    # Give the sleeper a head start so it reaches the process before the crash (nothing announces that it has).
    await asyncio.sleep(0.5)
    crash, crash_time = await asyncio.wait_for(
        timed(session.call("crashy__crash", {"status": 7, "message": marker}, id="crash")), 10
    )
    slept, sleep_time = await asyncio.wait_for(sleeper, 10)

    assert crash["id"] == "crash"
    error = upstream_error(crash, "crashy")
    assert crash_time < 3, f"the crash was reported after {crash_time:.1f}s"
    assert error["data"].get("exitStatus") in (7, {"exited": 7}), error
    assert marker in str(error["data"].get("stderr", "")), error

    assert slept["id"] == "sleep"
    upstream_error(slept, "crashy")
    assert sleep_time < 4, f"the call in flight failed after {sleep_time:.1f}s"

    # Other servers are unaffected.
    assert text_of((await session.call("demo__echo", {"text": "unaffected"}))["result"]) == "unaffected"

    # The supervisor restarts the server (backoff 1 s, 2 s, ...); nothing announces it, so poll briefly.
    async def back() -> bool:
        message = await session.call("crashy__echo", {"text": "back again"})
        return "result" in message and text_of(message["result"]) == "back again"

    await wait_until(back, timeout=15, interval=0.25, what="crashy to be restarted")


async def test_crash_reported_on_per_server_endpoint(faults: Gateway) -> None:
    async with http_client() as client:
        s = RawSession(client, faults.mcp("crashy"))
        await s.initialize()

        async def ready() -> bool:
            return "result" in await s.call("echo", {"text": "up"})

        await wait_until(ready, timeout=15, interval=0.25, what="crashy to be up")
        crash, elapsed = await asyncio.wait_for(timed(s.call("crash", {"status": 3, "message": "per-server crash"})), 10)
        error = upstream_error(crash, "crashy")
        assert elapsed < 3
        assert error["data"].get("exitStatus") in (3, {"exited": 3}), error
        assert "per-server crash" in str(error["data"].get("stderr", ""))
        await wait_until(ready, timeout=15, interval=0.25, what="crashy to be restarted")


async def test_hang_times_out_at_the_configured_timeout(session: RawSession) -> None:
    hang = asyncio.create_task(timed(session.call("hangy__hang", {}, id="hang")))
    # The same process keeps answering other calls while one hangs.
    assert text_of((await session.call("hangy__echo", {"text": "alive"}))["result"]) == "alive"
    message, elapsed = await asyncio.wait_for(hang, 15)
    assert message["id"] == "hang"
    upstream_error(message, "hangy")
    assert 0.9 <= elapsed < 4, f"timeout: 1s, but the hang ended after {elapsed:.2f}s"
    assert text_of((await session.call("hangy__echo", {"text": "after"}))["result"]) == "after"


async def test_progress_extends_the_timeout(session: RawSession) -> None:
    """slowdemo has timeout: 1s; a 2.4 s call that reports progress every 0.6 s must not be cut."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "slowdemo__slow", "arguments": {"steps": 4, "delayMs": 600}, "_meta": {"progressToken": "p"}}}
    response = await asyncio.wait_for(session.post(body), 15)
    messages = messages_of(response)
    assert text_of(messages[-1]["result"]) == "done after 4 steps", messages[-1]
    assert len([m for m in messages if m.get("method") == "notifications/progress"]) == 4


async def test_silent_slow_call_times_out(session: RawSession) -> None:
    """The same kind of call (3 s) without a progressToken reports nothing, so timeout: 1s cuts it."""
    message, elapsed = await timed(session.call("slowdemo__slow", {"steps": 5, "delayMs": 600}))
    upstream_error(message, "slowdemo")
    assert 0.9 <= elapsed < 2.5, f"ended after {elapsed:.2f}s"


async def test_garbage_line_is_ignored(session: RawSession) -> None:
    garbage = asyncio.create_task(timed(session.call("garbagey__garbage", {}, id="g")))
    await asyncio.sleep(0.3)  # let the garbage line be written (nothing announces it)
    assert text_of((await session.call("garbagey__echo", {"text": "still talking"}))["result"]) == "still talking"
    message, elapsed = await asyncio.wait_for(garbage, 15)
    # The garbage call never gets an answer, so it ends at the server's timeout (2s), naming the server.
    assert message["id"] == "g"
    upstream_error(message, "garbagey")
    assert 1.8 <= elapsed < 5, f"ended after {elapsed:.2f}s"
    assert text_of((await session.call("garbagey__echo", {"text": "and after"}))["result"]) == "and after"


async def test_startup_banner_is_tolerated(session: RawSession) -> None:
    message = await session.call("dflt__echo", {"text": "banner ok"})  # prefix from ${E2E_UNSET_PREFIX:-dflt}
    assert text_of(message["result"]) == "banner ok"


async def test_clean_environment(session: RawSession) -> None:
    message = await session.call("envy__env", {})
    names = set(text_of(message["result"]).split(","))
    assert SECRET_NAME not in names
    assert names == {"PATH", "LC_ALL", "E2E_DECLARED", "E2E_EXPANDED"}


async def test_environment_values_are_declared_and_expanded(faults: Gateway) -> None:
    """/proc/PID/environ of the envy child and of its guard: exactly the declared values, with ${E2E_EXPAND_ME}
    expanded, and no secret of the gateway's."""

    async def envy_processes() -> dict[int, tuple[bool, dict[str, str]]]:
        table = {}
        for pid in descendants(faults.pid):
            try:
                environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
                guard = b"stdio-guard" in open(f"/proc/{pid}/cmdline", "rb").read()
            except OSError:
                continue
            values = dict(e.decode(errors="replace").split("=", 1) for e in environ if b"=" in e)
            if "E2E_DECLARED" in values:
                table[pid] = (guard, values)
        # The server and the guard process between it and the gateway.
        return table if sorted(guard for guard, _ in table.values()) == [False, True] else {}

    table = await wait_until(envy_processes, 10, what="the envy server and its guard")
    for _, values in table.values():
        assert values["E2E_DECLARED"] == "declared"
        assert values["E2E_EXPANDED"] == "expanded"
        assert SECRET_NAME not in values
        assert set(values) == {"PATH", "LC_ALL", "E2E_DECLARED", "E2E_EXPANDED"}, sorted(values)


# --- servers that never become ready: each in its own gateway ------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    ["no-initialize", "unreachable-http"],
)
async def test_server_that_never_becomes_ready_does_not_stall_the_others(tmp_path, kind: str) -> None:
    bad = (
        faulty_stdio("--no-initialize", timeout="2s")
        if kind == "no-initialize"
        else {"url": f"http://127.0.0.1:{free_port()}/mcp", "timeout": "2s"}
    )
    gw = Gateway(tmp_path, {"servers": {"demo": demo_stdio(), "bad": bad}}).start()
    try:
        async with http_client(timeout=httpx2.Timeout(30.0)) as client:
            s = RawSession(client, gw.mcp())
            await s.initialize()
            # Other servers are served at once.
            message, elapsed = await timed(s.call("demo__echo", {"text": "fine"}))
            assert text_of(message["result"]) == "fine" and elapsed < 2

            # A merged list leaves the bad server out, within bounded time.
            listing, elapsed = await timed(s.request("tools/list", {}), 12)
            names = [t["name"] for t in listing["result"]["tools"]]
            assert "demo__echo" in names and not [n for n in names if n.startswith("bad__")]
            assert elapsed < 10, f"tools/list on /mcp took {elapsed:.1f}s because of one server that is down"

            # Calls to it fail with a clear error naming it, within bounded time.
            direct = RawSession(client, gw.mcp("bad"))
            await direct.initialize()
            # ping is answered by the gateway itself, even for a server that is down.
            pong, elapsed = await timed(direct.request("ping"), 5)
            assert pong["result"] == {} and elapsed < 1
            message, elapsed = await timed(direct.call("echo", {"text": "x"}), 12)
            upstream_error(message, "bad")
            assert elapsed < 10, f"the call failed only after {elapsed:.1f}s"

            # And the list stays fast afterwards too.
            listing, elapsed = await timed(s.request("tools/list", {}), 12)
            assert "demo__echo" in [t["name"] for t in listing["result"]["tools"]]
            assert elapsed < 10, f"a later tools/list on /mcp took {elapsed:.1f}s"
            assert text_of((await s.call("demo__echo", {"text": "still fine"}))["result"]) == "still fine"
    finally:
        gw.stop()  # shutdown itself is checked in test_lifecycle.py


async def test_http_upstream_that_restarts_gets_a_new_session_transparently(tmp_path) -> None:
    """A restarted HTTP server no longer knows the gateway's session: while it is down, calls fail naming it; once it
    is back, its 404 for the old session makes the gateway initialise a new one and retry, so the call succeeds."""
    announce = r"demo server listening on (http://\S+/mcp)"
    first = Upstream([GATEWAY_BIN, "demo-server", "--http", "0"], announce, on_stderr=True)
    port = first.port
    gw = Gateway(tmp_path, {"servers": {"web": {"url": first.url, "timeout": "5s"}}}).start()
    second = None
    try:
        async with http_client() as client:
            s = RawSession(client, gw.mcp())
            await s.initialize()
            assert text_of((await s.call("web__echo", {"text": "before"}))["result"]) == "before"

            first.stop()
            down = await asyncio.wait_for(s.call("web__echo", {"text": "while down"}), 10)
            assert down["error"]["code"] == -32603, down
            assert down["error"]["data"]["server"] == "web", down

            second = Upstream([GATEWAY_BIN, "demo-server", "--http", str(port)], announce, on_stderr=True)
            after = await asyncio.wait_for(s.call("web__echo", {"text": "after restart"}), 10)
            assert text_of(after["result"]) == "after restart", after
    finally:
        if second is not None:
            second.stop()
        first.stop()
        gw.stop_and_check()


async def test_a_tool_call_is_never_sent_twice_when_its_connection_dies(tmp_path) -> None:
    """The server takes the call and drops the connection without answering. The gateway may not repeat a
    tools/call on a fresh connection (it cannot know whether the tool ran): the client gets an error naming the server,
    and the server saw the call exactly once."""
    server = Upstream([PYTHON, str(E2E_FIXTURES / "closing_http_server.py")], r"^listening (http://\S+)", on_stderr=False)
    gw = Gateway(tmp_path, {"servers": {"closing": {"url": server.url, "timeout": "5s"}}}).start()
    try:
        async with http_client() as client:
            s = RawSession(client, gw.mcp())
            await s.initialize()
            assert text_of((await s.call("closing__count", {}))["result"]) == "0"
            dropped = await asyncio.wait_for(s.call("closing__drop", {}), 10)
            assert dropped["error"]["code"] == -32603, dropped
            assert dropped["error"]["data"]["server"] == "closing", dropped
            assert text_of((await s.call("closing__count", {}))["result"]) == "1"
    finally:
        server.stop()
        gw.stop_and_check()


async def test_an_oversized_sse_event_from_an_upstream_fails_that_call_only(tmp_path) -> None:
    """An SSE event over `limits.maxUpstreamMessageBytes` fails its call with an error naming the server; an event
    under the limit on the next call is delivered, and the session goes on."""
    server = Upstream([PYTHON, str(E2E_FIXTURES / "closing_http_server.py")], r"^listening (http://\S+)", on_stderr=False)
    config = {"servers": {"closing": {"url": server.url, "timeout": "5s"}}, "limits": {"maxUpstreamMessageBytes": 16384}}
    gw = Gateway(tmp_path, config).start()
    try:
        async with http_client() as client:
            s = RawSession(client, gw.mcp())
            await s.initialize()
            too_big = await asyncio.wait_for(s.call("closing__huge", {"bytes": 20000}), 10)
            error = upstream_error(too_big, "closing")
            assert "16384" in json.dumps(error), error
            fits = await asyncio.wait_for(s.call("closing__huge", {"bytes": 1000}), 10)
            assert text_of(fits["result"]) == "x" * 1000, fits
            assert text_of((await s.call("closing__count", {}))["result"]) == "0"
    finally:
        server.stop()
        gw.stop_and_check()


async def test_http_upstream_silence_times_out_but_progress_keeps_a_call_alive(tmp_path) -> None:
    """With `timeout: 1s`, an HTTP server that says nothing for 2.5 s fails the call with a timeout naming it, while a
    call that reports progress every 0.6 s for 1.8 s in all completes; the server keeps serving."""
    web = Upstream([GATEWAY_BIN, "demo-server", "--http", "0"], r"demo server listening on (http://\S+/mcp)", on_stderr=True)
    gw = Gateway(tmp_path, {"servers": {"web": {"url": web.url, "timeout": "1s"}}}).start()
    try:
        async with http_client() as client:
            s = RawSession(client, gw.mcp())
            await s.initialize()
            silent, took = await asyncio.wait_for(timed(s.call("web__slow", {"steps": 1, "delayMs": 2500})), 10)
            error = upstream_error(silent, "web")
            assert "within" in error["message"], error
            assert 0.9 < took < 2.0, f"the silent call failed after {took:.1f}s"

            progress = {"name": "web__slow", "arguments": {"steps": 3, "delayMs": 600}, "_meta": {"progressToken": "p"}}
            response = await s.post({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": progress})
            final = messages_of(response)[-1]
            assert text_of(final["result"]) == "done after 3 steps", final
            assert text_of((await s.call("web__echo", {"text": "alive"}))["result"]) == "alive"
    finally:
        web.stop()
        gw.stop_and_check()

