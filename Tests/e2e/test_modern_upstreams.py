"""2026-07-28 towards upstreams: what a 2026-07-28-only server hears from the gateway.

`fixtures/modern_raw_server.py` refuses `initialize`, checks `MCP-Protocol-Version` and `Mcp-Method`, and reports the
`Mcp-*` headers and `_meta` of each call. The gateway must have found its era on its own (no `era` in the config),
address it without the gateway's prefix, mirror the tool's `x-mcp-header` arguments, describe the client in `_meta`,
and keep the server's caching hints (merged) for 2026-07-28 clients.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator

import mcp_types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from conftest import (
    CATALOGUE_SERVER, E2E_DIR, MODERN, PYTHON, Gateway, Upstream, demo_stdio, free_port, http_client, modern_headers,
    modern_request, text,
)

TIMEOUT = 15.0
RAW = E2E_DIR / "fixtures" / "modern_raw_server.py"
ARGUMENTS = {"city": "Bern", "region": "Zürich", "opts": {"metric": True}}


@pytest.fixture(scope="module")
def raw_modern() -> Iterator[Upstream]:
    upstream = Upstream([PYTHON, str(RAW)], r"^listening (http://\S+)", on_stderr=False)
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def modern_gateway(tmp_path_factory, raw_modern: Upstream) -> Iterator[Gateway]:
    config = {"mcpServers": {"raw": {"url": raw_modern.url}, "demo": demo_stdio()}}
    gw = Gateway(tmp_path_factory.mktemp("modern-upstream"), config)
    gw.shared = True
    gw.start()
    yield gw
    gw.stop_and_check()


async def elicit(context, params) -> types.ElicitResult:
    return types.ElicitResult(action="decline")


async def report(url: str, name: str, mode: str) -> dict:
    async with Client(url, mode=mode, read_timeout_seconds=TIMEOUT, elicitation_callback=elicit) as c:
        return json.loads(text(await c.call_tool(name, ARGUMENTS)))


def test_the_era_was_found_by_the_probe(modern_gateway: Gateway) -> None:
    line = modern_gateway.stderr.wait_for(r"gateway.upstream=raw .*mcp.protocol=2026-07-28 .*HTTP server ready", 5)
    assert line is not None, modern_gateway.stderr.text()


@pytest.mark.parametrize("where", ["aggregated", "per-server"])
@pytest.mark.parametrize("mode", ["legacy", MODERN])
async def test_headers_are_generated_for_the_upstream_hop(modern_gateway: Gateway, mode: str, where: str) -> None:
    url, name = (modern_gateway.mcp(), "raw__forecast") if where == "aggregated" else (modern_gateway.mcp("raw"), "forecast")
    seen = await report(url, name, mode)
    headers = seen["headers"]
    assert seen["name"] == "forecast"
    assert headers["mcp-protocol-version"] == MODERN
    assert headers["mcp-method"] == "tools/call"
    assert headers["mcp-name"] == "forecast"  # recomputed after the prefix came off
    region = headers["mcp-param-region"]
    assert region.startswith("=?base64?") and base64.b64decode(region[9:-2]).decode() == "Zürich"
    assert headers["mcp-param-metric"] == "true"
    assert "mcp-session-id" not in headers


async def test_a_session_clients_request_carries_its_capabilities_and_the_gateway(modern_gateway: Gateway) -> None:
    meta = (await report(modern_gateway.mcp("raw"), "forecast", "legacy"))["meta"]
    assert meta["io.modelcontextprotocol/protocolVersion"] == MODERN
    assert meta["io.modelcontextprotocol/clientInfo"]["name"] == "mcp-gateway"
    assert "elicitation" in meta["io.modelcontextprotocol/clientCapabilities"]
    # No logging/setLevel in the session: every message, as session-based servers send them.
    assert meta["io.modelcontextprotocol/logLevel"] == "debug"


async def test_a_modern_clients_request_carries_its_own_meta(modern_gateway: Gateway) -> None:
    meta = (await report(modern_gateway.mcp("raw"), "forecast", MODERN))["meta"]
    assert meta["io.modelcontextprotocol/protocolVersion"] == MODERN
    assert meta["io.modelcontextprotocol/clientInfo"]["name"] != "mcp-gateway"
    assert "elicitation" in meta["io.modelcontextprotocol/clientCapabilities"]


async def test_caching_hints_are_merged_for_modern_clients(modern_gateway: Gateway) -> None:
    async with http_client() as http:
        body = modern_request("tools/list")
        response = await http.post(modern_gateway.mcp("raw"), content=json.dumps(body), headers=modern_headers(body))
        result = response.json()["result"]
    assert [tool["name"] for tool in result["tools"]] == ["forecast"]
    # The server's own ttl survives; the gateway filters per principal, so the merged list is private.
    assert result["ttlMs"] == 30000
    assert result["cacheScope"] == "private"


async def test_an_instance_is_probed_again_after_it_was_unreachable(tmp_path) -> None:
    """The 2026-07-28 server goes away and a session-only server comes up on its port: the gateway finds out."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    modern = Upstream([PYTHON, str(RAW), "--port", str(port)], r"^listening (http://\S+)", on_stderr=False)
    gw = Gateway(tmp_path, {"mcpServers": {"flip": {"url": url}}})
    gw.start()
    legacy = None
    try:
        async with Client(gw.mcp("flip"), mode="legacy", read_timeout_seconds=TIMEOUT) as c:
            assert json.loads(text(await c.call_tool("forecast", ARGUMENTS)))["name"] == "forecast"
            modern.stop()
            with pytest.raises(MCPError):
                await c.call_tool("forecast", ARGUMENTS)
        legacy = Upstream(
            [PYTHON, str(CATALOGUE_SERVER), "--only", "legacy", "--port", str(port)], r"^listening (http://\S+)",
            on_stderr=False)
        deadline = time.monotonic() + 20
        async with Client(gw.mcp("flip"), mode="legacy", read_timeout_seconds=TIMEOUT) as c:
            while True:
                try:
                    assert text(await c.call_tool("echo", {"text": "back"})) == "back"
                    break
                except MCPError:
                    # Until the gateway reconnected: unreachable, then (briefly) the old tool list.
                    assert time.monotonic() < deadline, gw.stderr.text()
                    await asyncio.sleep(0.5)
        assert gw.stderr.wait_for(r"gateway.upstream=flip .*mcp.protocol=2025-11-25 .*HTTP server ready", 5), gw.stderr.text()
    finally:
        gw.stop()
        modern.stop()
        if legacy is not None:
            legacy.stop()
