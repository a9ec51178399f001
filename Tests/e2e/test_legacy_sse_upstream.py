"""The deprecated HTTP+SSE transport (2024-11-05) as an upstream: `transport: sse`, or found when none is given.

The Python SDK's own HTTP+SSE server behind the gateway, used by session-based, stateless and HTTP+SSE clients; and a
gateway whose HTTP+SSE upstream cannot be reached keeps serving its other servers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from mcp import Client, ClientSession
from mcp.client.sse import sse_client

from conftest import Gateway, PYTHON, RawSession, SDK_SERVER, Upstream, demo_stdio, http_client, text, text_of, free_port

TIMEOUT = 15.0


@pytest.fixture(scope="module")
def legacy_upstream() -> Iterator[Upstream]:
    upstream = Upstream([PYTHON, str(SDK_SERVER), "--legacy-sse"], r"^listening (http://\S+)", on_stderr=False)
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def sse_gateway(tmp_path_factory, legacy_upstream: Upstream) -> Iterator[Gateway]:
    config = {
        "mcpServers": {
            "legacy": {"url": legacy_upstream.url, "transport": "sse"},
            # No transport given: found by the probes (both POSTs refused with 405, then the event stream).
            "found": {"url": legacy_upstream.url},
            "demo": demo_stdio(),
        }
    }
    gw = Gateway(tmp_path_factory.mktemp("sse-upstream"), config)
    gw.shared = True
    gw.start()
    yield gw
    gw.stop_and_check()


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_clients_of_both_eras_use_an_http_sse_upstream(sse_gateway: Gateway, mode: str) -> None:
    async with Client(sse_gateway.mcp(), mode=mode, read_timeout_seconds=TIMEOUT) as c:
        names = {t.name for t in (await c.list_tools()).tools}
        assert {"legacy__echo", "legacy__add", "demo__echo"} <= names
        result = await c.call_tool("legacy__echo", {"text": f"through http+sse ({mode})"})
        assert text(result) == f"through http+sse ({mode})"
        assert (await c.call_tool("legacy__add", {"a": 2, "b": 3})).structured_content == {"sum": 5}
        info = await c.read_resource("sdk://info")
        assert info.contents[0].text == "sdk fixture in legacy-sse mode"
        hello = await c.get_prompt("legacy__hello", {"name": "Ada"})
        assert hello.messages[0].content.text == "Say hello to Ada."


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_an_http_sse_server_is_found_without_a_transport(sse_gateway: Gateway, mode: str) -> None:
    """A URL without `transport`: the server refuses Streamable HTTP POSTs, so the gateway falls back to HTTP+SSE."""
    async with Client(sse_gateway.mcp("found"), mode=mode, read_timeout_seconds=TIMEOUT) as c:
        assert text(await c.call_tool("echo", {"text": f"found ({mode})"})) == f"found ({mode})"
        assert (await c.read_resource("sdk://info")).contents[0].text == "sdk fixture in legacy-sse mode"
    line = sse_gateway.stderr.wait_for(r"gateway.upstream=found .*using the HTTP\+SSE transport", 5)
    assert line is not None, sse_gateway.stderr.text()


async def test_progress_from_an_http_sse_upstream(sse_gateway: Gateway) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with Client(sse_gateway.mcp("legacy"), mode="legacy", read_timeout_seconds=TIMEOUT) as c:
        result = await c.call_tool("progress", {"steps": 3}, progress_callback=on_progress)
        assert text(result) == "sdk done after 3 steps"
    assert seen == [1, 2, 3]


async def test_http_sse_client_over_http_sse_upstream(sse_gateway: Gateway) -> None:
    async with sse_client(f"{sse_gateway.mcp('legacy')}/sse", timeout=TIMEOUT) as (read, write):
        async with ClientSession(read, write) as session:
            await asyncio.wait_for(session.initialize(), TIMEOUT)
            result = await asyncio.wait_for(session.call_tool("echo", {"text": "sse to sse"}), TIMEOUT)
            assert text(result) == "sse to sse"


async def test_concurrent_calls_are_not_mixed_up(sse_gateway: Gateway) -> None:
    async with Client(sse_gateway.mcp("legacy"), mode="legacy", read_timeout_seconds=TIMEOUT) as c:
        results = await asyncio.gather(*(c.call_tool("echo", {"text": f"call {i}"}) for i in range(20)))
        assert [text(r) for r in results] == [f"call {i}" for i in range(20)]


async def test_unreachable_http_sse_upstream_does_not_stop_the_gateway(tmp_path) -> None:
    config = {
        "mcpServers": {
            "gone": {"url": f"http://127.0.0.1:{free_port()}/sse", "transport": "sse"},
            "demo": demo_stdio(),
        }
    }
    gw = Gateway(tmp_path, config).start()
    async with http_client() as http:
        session = RawSession(http, gw.mcp())
        await session.initialize()
        assert text_of((await session.call("demo__echo", {"text": "still here"}))["result"]) == "still here"
        tools = (await session.request("tools/list"))["result"]["tools"]
        assert {t["name"] for t in tools} == {"demo__echo", "demo__add", "demo__slow", "demo__log", "demo__fail"}
        failed = await session.call("gone__anything", {})
        assert failed["error"]["data"]["server"] == "gone"
    assert gw.proc.poll() is None, "the gateway exited"
    gw.stop_and_check()
