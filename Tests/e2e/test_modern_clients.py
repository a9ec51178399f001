"""MCP 2026-07-28 (stateless) clients on the same endpoints as the session-based revisions.

The official SDK in `mode="2026-07-28"` and `mode="auto"` against every upstream kind of the shared gateway, and the
revision's request rules checked with raw HTTP: mirrored headers (-32020), versions (-32022), required `_meta`,
unknown methods (404), results with `resultType` and caching hints, no GET/DELETE (405), and `subscriptions/listen`.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from mcp import Client

from conftest import ACCEPT_BOTH, Gateway, RawSession, SSEStreamReader, http_client, text, text_of

MODERN = "2026-07-28"
TIMEOUT = 15.0
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "e2e-raw", "version": "1"},
}

# server -> (tool, arguments, expected text)
CALLS = {
    "demo": ("echo", {"text": "modern over stdio"}, "modern over stdio"),
    "demohttp": ("echo", {"text": "modern over http"}, "modern over http"),
    "sdksse": ("echo", {"text": "modern sdk sse"}, "modern sdk sse"),
    "sdkjson": ("echo", {"text": "modern sdk json"}, "modern sdk json"),
}


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with http_client() as client:
        yield client


def modern_headers(method: str, name: str | None = None, **extra: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Accept": ACCEPT_BOTH,
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": method,
    }
    if name is not None:
        headers["Mcp-Name"] = name
    headers.update(extra)
    return headers


async def post(
    http: httpx2.AsyncClient,
    url: str,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    id: Any = 1,
    headers: dict[str, str] | None = None,
    meta: dict[str, Any] | None = None,
) -> httpx2.Response:
    body_params = dict(params or {})
    body_params["_meta"] = META if meta is None else meta
    body = {"jsonrpc": "2.0", "id": id, "method": method, "params": body_params}
    name = (params or {}).get("name") or (params or {}).get("uri")
    return await http.post(url, content=json.dumps(body), headers=headers or modern_headers(method, name))


@pytest.mark.parametrize("mode", [MODERN, "auto"])
@pytest.mark.parametrize("server", list(CALLS))
async def test_sdk_modern_client_on_both_endpoints(gateway: Gateway, mode: str, server: str) -> None:
    tool, arguments, expected = CALLS[server]
    async with Client(gateway.mcp(), mode=mode, read_timeout_seconds=TIMEOUT) as c:
        assert c.protocol_version == MODERN
        names = {t.name for t in (await c.list_tools()).tools}
        assert f"{server}__{tool}" in names
        result = await c.call_tool(f"{server}__{tool}", arguments)
        assert not result.is_error and text(result) == expected
    async with Client(gateway.mcp(server), mode=mode, read_timeout_seconds=TIMEOUT) as c:
        assert c.protocol_version == MODERN
        assert tool in {t.name for t in (await c.list_tools()).tools}
        result = await c.call_tool(tool, arguments)
        assert text(result) == expected


async def test_sdk_modern_client_structured_errors_resources_prompts_completion(gateway: Gateway) -> None:
    from mcp.shared.exceptions import MCPError
    from mcp_types import PromptReference

    async with Client(gateway.mcp(), mode=MODERN, read_timeout_seconds=TIMEOUT) as c:
        added = await c.call_tool("sdkjson__add", {"a": 1.5, "b": 2})
        assert added.structured_content == {"sum": 3.5}
        failed = await c.call_tool("demo__fail", {"message": "expected failure"})
        assert failed.is_error is True and text(failed) == "expected failure"
        with pytest.raises(MCPError) as caught:
            await c.call_tool("sdksse__rpc_error", {})
        assert caught.value.code == -31999 and caught.value.data == {"detail": "kept", "n": 7}
        readme = await c.read_resource("demo://readme")
        assert readme.contents[0].text == "# Demo\nThe gateway's built-in demo server."
        hello = await c.get_prompt("sdkjson__hello", {"name": "Bob"})
        assert hello.messages[0].content.text == "Say hello to Bob."
        done = await c.complete(PromptReference(type="ref/prompt", name="demo__greet"), {"name": "name", "value": "A"})
        assert done.completion.values == ["Ada", "Alan"]


async def test_sdk_modern_client_receives_progress(gateway: Gateway) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with Client(gateway.mcp("sdksse"), mode=MODERN, read_timeout_seconds=TIMEOUT) as c:
        result = await c.call_tool("progress", {"steps": 3}, progress_callback=on_progress)
        assert text(result) == "sdk done after 3 steps"
    assert seen == [1, 2, 3]


async def test_discover_aggregated_and_per_server(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    response = await post(http, gateway.mcp(), "server/discover")
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["resultType"] == "complete"
    assert result["supportedVersions"] == [MODERN]
    assert result["capabilities"]["tools"] == {"listChanged": True}
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "mcp-gateway"
    assert result["ttlMs"] == 0 and result["cacheScope"] == "private"
    assert "mcp-session-id" not in response.headers
    single = (await post(http, gateway.mcp("sdkjson"), "server/discover")).json()["result"]
    assert single["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "e2e-sdk-json"


async def test_results_carry_result_type_and_cache_hints(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    for method in ("tools/list", "prompts/list", "resources/list", "resources/templates/list"):
        result = (await post(http, gateway.mcp(), method)).json()["result"]
        assert result["resultType"] == "complete", method
        assert result["ttlMs"] == 0 and result["cacheScope"] == "private", method
    call = (await post(http, gateway.mcp(), "tools/call", {"name": "demo__echo", "arguments": {"text": "x"}})).json()
    assert call["result"]["resultType"] == "complete" and text_of(call["result"]) == "x"
    read = (await post(http, gateway.mcp(), "resources/read", {"uri": "demo://readme"})).json()["result"]
    assert read["resultType"] == "complete" and read["ttlMs"] == 0 and read["cacheScope"] == "private"
    prompt = (await post(http, gateway.mcp(), "prompts/get", {"name": "demo__greet", "arguments": {"name": "Ada"}}))
    assert prompt.json()["result"]["resultType"] == "complete"


async def test_mirrored_headers_must_match_the_body(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    url = gateway.mcp()
    params = {"name": "demo__echo", "arguments": {"text": "x"}}
    cases = {
        "no version header": {k: v for k, v in modern_headers("tools/call", "demo__echo").items() if k != "MCP-Protocol-Version"},
        "method differs": modern_headers("tools/list", "demo__echo"),
        "no method": {k: v for k, v in modern_headers("tools/call", "demo__echo").items() if k != "Mcp-Method"},
        "name differs": modern_headers("tools/call", "demo__add"),
        "no name": modern_headers("tools/call"),
        "bad base64": modern_headers("tools/call", "=?base64?***?="),
    }
    for label, headers in cases.items():
        response = await post(http, url, "tools/call", params, id=f"h-{label}", headers=headers)
        assert response.status_code == 400, (label, response.text)
        body = response.json()
        assert body["id"] == f"h-{label}" and body["error"]["code"] == -32020, (label, body)
    # The base64 sentinel form of the same name is accepted.
    encoded = "=?base64?" + base64.b64encode(b"demo__echo").decode() + "?="
    ok = await post(http, url, "tools/call", params, headers=modern_headers("tools/call", encoded))
    assert ok.status_code == 200 and text_of(ok.json()["result"]) == "x"
    # Version header and _meta disagree.
    other = dict(META, **{"io.modelcontextprotocol/protocolVersion": "2026-09-01"})
    mismatch = await post(http, url, "tools/list", meta=other)
    assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == -32020


async def test_versions_and_required_meta(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    url = gateway.mcp()
    future = dict(META, **{"io.modelcontextprotocol/protocolVersion": "2027-01-01"})
    response = await post(
        http, url, "tools/list", meta=future, headers=dict(modern_headers("tools/list"), **{"MCP-Protocol-Version": "2027-01-01"})
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32022
    assert MODERN in error["data"]["supported"] and error["data"]["requested"] == "2027-01-01"
    no_caps = {"io.modelcontextprotocol/protocolVersion": MODERN}
    response = await post(http, url, "tools/list", meta=no_caps, id=7)
    assert response.status_code == 400 and response.json()["error"]["code"] == -32602 and response.json()["id"] == 7
    bad_level = dict(META, **{"io.modelcontextprotocol/logLevel": "loud"})
    response = await post(http, url, "tools/list", meta=bad_level)
    assert response.json()["error"]["code"] == -32602


@pytest.mark.parametrize("method", ["ping", "logging/setLevel", "resources/subscribe", "no/such"])
async def test_methods_outside_the_revision_are_unknown(gateway: Gateway, http: httpx2.AsyncClient, method: str) -> None:
    response = await post(http, gateway.mcp(), method, {"uri": "demo://readme"} if "subscribe" in method else {})
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == -32601


async def test_unknown_resource_is_invalid_params_in_the_modern_era(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    response = await post(http, gateway.mcp(), "resources/read", {"uri": "nowhere://at-all"})
    assert response.json()["error"]["code"] == -32602


async def test_get_and_delete_are_not_allowed_without_sessions(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    headers = {"Accept": "text/event-stream", "MCP-Protocol-Version": MODERN}
    assert (await http.get(gateway.mcp(), headers=headers)).status_code == 405
    assert (await http.delete(gateway.mcp(), headers=headers)).status_code == 405
    notification = {"jsonrpc": "2.0", "method": "notifications/whatever", "params": {"_meta": META}}
    response = await http.post(gateway.mcp(), content=json.dumps(notification), headers=modern_headers("notifications/whatever"))
    assert response.status_code == 202


async def test_session_based_clients_still_work_beside_modern_ones(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    legacy = RawSession(http, gateway.mcp())
    await legacy.initialize()
    assert text_of((await legacy.call("demo__echo", {"text": "legacy"}))["result"]) == "legacy"
    assert (await post(http, gateway.mcp(), "tools/call", {"name": "demo__echo", "arguments": {"text": "m"}})).status_code == 200
    # A legacy session cannot use modern-only methods.
    discovered = await legacy.request("server/discover")
    assert discovered["error"]["code"] == -32601


async def test_listen_stream_acknowledges_and_relays_list_changes(gateway: Gateway) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": "listen-1",
        "method": "subscriptions/listen",
        "params": {"notifications": {"toolsListChanged": True, "resourcesListChanged": False}, "_meta": META},
    }
    async with http_client() as http:
        async with http.stream(
            "POST", gateway.mcp(), content=json.dumps(body), headers=modern_headers("subscriptions/listen")
        ) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            reader = SSEStreamReader(stream)
            ack = await asyncio.wait_for(reader.next_message(), TIMEOUT)
            assert ack["method"] == "notifications/subscriptions/acknowledged"
            assert ack["params"]["notifications"] == {"toolsListChanged": True}
            assert ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen-1"
            # Another client makes an upstream announce a tools/list_changed.
            async with Client(gateway.mcp("sdksse"), mode="legacy", read_timeout_seconds=TIMEOUT) as c:
                await c.call_tool("announce_tools_changed", {})
            change = await asyncio.wait_for(reader.next_message(), TIMEOUT)
            assert change["method"] == "notifications/tools/list_changed"
            assert change["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen-1"
