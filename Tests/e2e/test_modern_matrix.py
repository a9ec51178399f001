"""Protocol 2026-07-28 (stateless, "modern") clients: the full matrix, each case also run as a reference without the
gateway where the upstream has a URL of its own (complements `test_modern_clients.py`).

Two halves:
- the official SDK client in `mode="2026-07-28"` and `mode="auto"` through `/mcp` and `/mcp/{server}` for every
  upstream kind of the shared `gateway` fixture, and, as a reference, straight against the SDK fixture upstreams
  (the `direct` cases, which need no gateway);
- raw HTTP for the transport rules (headers, status codes, error codes, caching hints, `subscriptions/listen`).
  The rules the SDK fixture server implements too are run against both (`target` = `fixture` / `gateway`), so the
  requests themselves are known to be right.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.subscriptions import PromptsListChanged, ToolsListChanged
from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference, ResourceTemplateReference

from conftest import (
    EXPECTED_TOOLS,
    Gateway,
    MODERN,
    RawSession,
    SSEStreamReader,
    check_time,
    demo_stdio,
    final_message,
    http_client,
    messages_of,
    modern_headers,
    modern_meta,
    modern_request,
    text,
    text_of,
)

TIMEOUT = 15.0
MODES = [MODERN, "auto"]
SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"
SERVER_INFO = "io.modelcontextprotocol/serverInfo"
LOG_LEVEL = "io.modelcontextprotocol/logLevel"


def client(url: str, mode: str, **kwargs: Any) -> Client:
    kwargs.setdefault("read_timeout_seconds", TIMEOUT)
    kwargs.setdefault("cache", None)
    return Client(url, mode=mode, **kwargs)


UPSTREAMS = {
    "demo": ("echo", {"text": "modern hello from demo over stdio"}, "modern hello from demo over stdio"),
    "demohttp": ("echo", {"text": "modern hello from demo over http"}, "modern hello from demo over http"),
    "time": ("get_current_time", {"timezone": "UTC"}, check_time),
    "sdksse": ("echo", {"text": "modern hello from the sdk (sse)"}, "modern hello from the sdk (sse)"),
    "sdkjson": ("echo", {"text": "modern hello from the sdk (json)"}, "modern hello from the sdk (json)"),
}
SDK_UPSTREAMS = {"sdksse": "sdk_sse", "sdkjson": "sdk_json"}


def endpoint(request: pytest.FixtureRequest, where: str, server: str) -> tuple[str, str]:
    """(URL, tool-name prefix) for `where` = direct (the upstream fixture itself), aggregated (/mcp) or per-server.

    Fixtures are looked up lazily, so the direct cases never start a gateway."""
    if where == "direct":
        return request.getfixturevalue(SDK_UPSTREAMS[server]).url, ""
    gw: Gateway = request.getfixturevalue("gateway")
    return (gw.mcp(), f"{server}__") if where == "aggregated" else (gw.mcp(server), "")


def cases(servers, wheres=("direct", "aggregated", "per-server")) -> list[tuple[str, str]]:
    """(server, where) pairs; `direct` only for the SDK fixtures, which have a URL of their own."""
    return [(s, w) for s in servers for w in wheres if w != "direct" or s in SDK_UPSTREAMS]


async def all_tools(c: Client) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor = None
    for _ in range(50):
        page = await c.list_tools(cursor=cursor)
        tools += page.tools
        cursor = page.next_cursor
        if cursor is None:
            return tools
    raise AssertionError("tools/list never ended")


def check(result: types.CallToolResult, expected) -> None:
    if callable(expected):
        expected(result)
    else:
        assert not result.is_error, text(result)
        assert text(result) == expected


# --- the SDK client in 2026-07-28 and auto mode ---------------------------------------------------------------------


@pytest.mark.parametrize("server, where", cases(UPSTREAMS))
@pytest.mark.parametrize("mode", MODES)
async def test_lists_and_calls(request, mode: str, server: str, where: str) -> None:
    url, prefix = endpoint(request, where, server)
    tool, arguments, expected = UPSTREAMS[server]
    async with client(url, mode) as c:
        assert c.protocol_version == MODERN
        if mode == "auto":
            # auto mode probed server/discover and adopted its answer (it did not fall back to initialize).
            assert c.session.discover_result is not None and c.session.initialize_result is None
            assert c.server_info is not None
            if where == "aggregated":
                assert c.server_info.name == "mcp-gateway"
            elif server in SDK_UPSTREAMS:
                # A single server's endpoint (and the server itself) names the upstream.
                assert c.server_info.name == f"e2e-{server.replace('sdk', 'sdk-')}"
        names = {t.name for t in await all_tools(c)}
        if where == "aggregated":
            assert {f"{server}__{name}" for name in EXPECTED_TOOLS[server]} <= names
        else:
            assert names == EXPECTED_TOOLS[server]
        check(await c.call_tool(f"{prefix}{tool}", arguments), expected)


@pytest.mark.parametrize("server, where", cases(["demo", "demohttp", "sdksse", "sdkjson"]))
@pytest.mark.parametrize("mode", MODES)
async def test_structured_content(request, mode: str, server: str, where: str) -> None:
    url, prefix = endpoint(request, where, server)
    async with client(url, mode) as c:
        result = await c.call_tool(f"{prefix}add", {"a": 1.5, "b": 2})
        assert not result.is_error
        assert result.structured_content == {"sum": 3.5}
        assert result.result_type == "complete"


@pytest.mark.parametrize("server, where", cases(["demo", "demohttp"]))
@pytest.mark.parametrize("mode", MODES)
async def test_tool_execution_error_stays_a_result(request, mode: str, server: str, where: str) -> None:
    url, prefix = endpoint(request, where, server)
    async with client(url, mode) as c:
        result = await c.call_tool(f"{prefix}fail", {"message": "expected modern failure"})
        assert result.is_error is True
        assert text(result) == "expected modern failure"


@pytest.mark.parametrize("server, where", cases(["sdksse", "sdkjson"]))
@pytest.mark.parametrize("mode", MODES)
async def test_jsonrpc_error_with_data(request, mode: str, server: str, where: str) -> None:
    url, prefix = endpoint(request, where, server)
    async with client(url, mode) as c:
        with pytest.raises(MCPError) as caught:
            await c.call_tool(f"{prefix}rpc_error", {})
        assert caught.value.code == -31999
        assert caught.value.message == "sdk custom failure"
        assert caught.value.data == {"detail": "kept", "n": 7}


PROGRESS = {
    "demo": ("slow", {"steps": 3, "delayMs": 20}, [(1, 3, "step 1 of 3"), (2, 3, "step 2 of 3"), (3, 3, "step 3 of 3")]),
    "demohttp": ("slow", {"steps": 2, "delayMs": 20}, [(1, 2, "step 1 of 2"), (2, 2, "step 2 of 2")]),
    "sdksse": ("progress", {"steps": 3}, [(1, 3, "sdk step 1"), (2, 3, "sdk step 2"), (3, 3, "sdk step 3")]),
}


@pytest.mark.parametrize("server, where", cases(PROGRESS))
@pytest.mark.parametrize("mode", MODES)
async def test_progress_reaches_the_callback(request, mode: str, server: str, where: str) -> None:
    url, prefix = endpoint(request, where, server)
    tool, arguments, expected = PROGRESS[server]
    received: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.append((progress, total, message))

    async with client(url, mode) as c:
        result = await c.call_tool(f"{prefix}{tool}", arguments, progress_callback=on_progress)
        assert not result.is_error, text(result)
    assert received == expected


@pytest.mark.parametrize("mode", MODES)
async def test_resources_list_and_read(gateway: Gateway, mode: str) -> None:
    async with client(gateway.mcp(), mode) as c:
        listing = await c.list_resources()
        uris = [r.uri for r in listing.resources]
        assert uris.count("demo://readme") == 1
        assert "mcp-gateway://demohttp/demo://readme" in uris
        assert uris.count("sdk://info") == 1
        assert "mcp-gateway://sdkjson/sdk://info" in uris
        assert listing.cache_scope == "private" and listing.ttl_ms >= 0
        readme = await c.read_resource("demo://readme")
        assert readme.contents[0].text == "# Demo\nThe gateway's built-in demo server."
        assert (await c.read_resource("sdk://info")).contents[0].text == "sdk fixture in sse mode"
        json_info = await c.read_resource("mcp-gateway://sdkjson/sdk://info")
        assert json_info.contents[0].text == "sdk fixture in json mode"
        rewritten = await c.read_resource("mcp-gateway://demohttp/demo://readme")
        assert rewritten.contents[0].text == "# Demo\nThe gateway's built-in demo server."


@pytest.mark.parametrize("server, where", cases(["sdksse", "sdkjson"], ("direct", "per-server")))
@pytest.mark.parametrize("mode", MODES)
async def test_resources_templates_prompts_completion(request, mode: str, server: str, where: str) -> None:
    url, _ = endpoint(request, where, server)
    label = "sse" if server == "sdksse" else "json"
    async with client(url, mode) as c:
        assert [r.uri for r in (await c.list_resources()).resources] == ["sdk://info"]
        assert (await c.read_resource("sdk://info")).contents[0].text == f"sdk fixture in {label} mode"
        templates = [t.uri_template for t in (await c.list_resource_templates()).resource_templates]
        assert templates == ["sdk://item/{item_id}"]
        assert (await c.read_resource("sdk://item/42")).contents[0].text == "item 42"
        assert [p.name for p in (await c.list_prompts()).prompts] == ["hello"]
        hello = await c.get_prompt("hello", {"name": "Linus"})
        assert hello.messages[0].content.text == "Say hello to Linus."
        done = await c.complete(PromptReference(type="ref/prompt", name="hello"), {"name": "name", "value": "a"})
        assert done.completion.values == ["Ada", "Alan"]


@pytest.mark.parametrize("mode", MODES)
async def test_prompts_and_completion_through_the_aggregate(gateway: Gateway, mode: str) -> None:
    async with client(gateway.mcp(), mode) as c:
        names = {p.name for p in (await c.list_prompts()).prompts}
        assert {"demo__greet", "demo__review", "demohttp__greet", "sdksse__hello", "sdkjson__hello"} <= names
        greet = await c.get_prompt("demo__greet", {"name": "Ada"})
        assert greet.messages[0].content.text == "Please write a short, warm greeting for Ada."
        hello = await c.get_prompt("sdkjson__hello", {"name": "Bob"})
        assert hello.messages[0].content.text == "Say hello to Bob."
        done = await c.complete(PromptReference(type="ref/prompt", name="demo__greet"), {"name": "name", "value": "A"})
        assert done.completion.values == ["Ada", "Alan"]
        done = await c.complete(
            ResourceTemplateReference(type="ref/resource", uri="demo://greeting/{name}"), {"name": "name", "value": "l"}
        )
        assert done.completion.values == ["Linus"]


@pytest.mark.parametrize("mode", ["legacy", MODERN])
async def test_template_completion_after_resources_list(tmp_path, sdk_sse, mode: str) -> None:
    """A fresh gateway whose first resource request is resources/list still routes a resource-template completion.

    (Regression: with the demo server and an HTTP server configured, the completion came back as the demo server's
    "Resource not found: demo://greeting/{name}".)"""
    gw = Gateway(tmp_path, {"mcpServers": {"demo": demo_stdio(), "sdksse": {"url": sdk_sse.url}}}).start()
    reference = ResourceTemplateReference(type="ref/resource", uri="demo://greeting/{name}")
    async with client(gw.mcp(), mode) as c:
        assert "demo://readme" in [r.uri for r in (await c.list_resources()).resources]
        done = await c.complete(reference, {"name": "name", "value": "l"})
        assert done.completion.values == ["Linus"]
    gw.stop_and_check()


# --- logging: a per-request opt-in in 2026 ---------------------------------------------------------------------------


def log_recorder() -> tuple[list[types.LoggingMessageNotificationParams], Any, Any]:
    messages: list[types.LoggingMessageNotificationParams] = []
    changed = asyncio.Event()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        messages.append(params)
        changed.set()

    async def wait_for(data: str) -> None:
        async def until() -> None:
            while not any(m.data == data for m in messages):
                changed.clear()
                await changed.wait()

        try:
            await asyncio.wait_for(until(), 10)
        except asyncio.TimeoutError:
            raise AssertionError(f"log message {data!r} never arrived; got {[m.data for m in messages]}") from None

    return messages, on_log, wait_for


@pytest.mark.parametrize("where", ["direct", "aggregated", "per-server"])
@pytest.mark.parametrize("mode", MODES)
async def test_http_upstream_logs_only_for_requests_that_opt_in(request, mode: str, where: str) -> None:
    """No `logLevel` in `_meta`, no log messages; with it, the request's own messages arrive."""
    url, prefix = endpoint(request, where, "sdksse")
    messages, on_log, wait_for = log_recorder()
    async with client(url, mode, logging_callback=on_log) as c:
        result = await c.call_tool(f"{prefix}log", {"message": "not opted in"})
        assert text(result) == "sdk logged not opted in"
        result = await c.call_tool(f"{prefix}log", {"message": "opted in"}, meta={LOG_LEVEL: "info"})
        assert text(result) == "sdk logged opted in"
        await wait_for("opted in")
    assert [(m.level, m.logger, m.data) for m in messages] == [("info", "sdk", "opted in")]


@pytest.mark.parametrize("server", ["demohttp"])
@pytest.mark.parametrize("mode", MODES)
async def test_legacy_upstream_logs_are_filtered_by_the_requested_level(gateway: Gateway, mode: str, server) -> None:
    """The demo server logs at the level it is told; a modern client asking for `warning` sees only those.

    (Over HTTP, where a log message travels on the call's own stream. A stdio server's log messages are not tied to
    a request, so a stateless client, which has no standalone stream, never gets them.)"""
    messages, on_log, wait_for = log_recorder()
    async with client(gateway.mcp(), mode, logging_callback=on_log, log_level="warning") as c:
        await c.call_tool(f"{server}__log", {"message": "modern info", "level": "info"})
        await c.call_tool(f"{server}__log", {"message": "modern error", "level": "error"})
        await wait_for("modern error")
    assert [(m.level, m.data) for m in messages] == [("error", "modern error")]


# --- subscriptions/listen through the SDK client ---------------------------------------------------------------------


async def trigger_tools_changed(url: str, tool: str) -> None:
    """Another (legacy) client makes an upstream send notifications/tools/list_changed."""
    async with Client(url, mode="legacy", read_timeout_seconds=TIMEOUT, cache=None) as other:
        result = await other.call_tool(tool, {})
        assert not result.is_error, text(result)


@pytest.mark.parametrize("where", ["aggregated", "per-server"])
async def test_listen_receives_tools_list_changed(gateway: Gateway, where: str) -> None:
    url = gateway.mcp() if where == "aggregated" else gateway.mcp("sdksse")
    trigger = "sdksse__announce_tools_changed" if where == "aggregated" else "announce_tools_changed"
    async with client(url, MODERN) as c:
        async with c.listen(tools_list_changed=True) as subscription:
            assert subscription.honored.tools_list_changed is True
            await trigger_tools_changed(url, trigger)
            event = await asyncio.wait_for(subscription.__anext__(), 10)
            assert isinstance(event, ToolsListChanged)


async def test_listen_direct_reference(cat_sse) -> None:
    """The same SDK code against the catalogue fixture, which publishes to its own listen streams."""
    async with client(cat_sse.url, MODERN) as c:
        async with c.listen(tools_list_changed=True, prompts_list_changed=True) as subscription:
            assert subscription.honored.tools_list_changed is True
            assert subscription.honored.prompts_list_changed is True
            await trigger_tools_changed(cat_sse.url, "announce_prompts_changed")
            event = await asyncio.wait_for(subscription.__anext__(), 10)
            assert isinstance(event, PromptsListChanged)


# --- raw HTTP: shared rules, checked against the SDK fixture and the gateway -----------------------------------------


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with http_client() as c:
        yield c


@pytest.fixture(params=["fixture", "gateway"])
def target(request) -> str:
    """The URL serving the sdkjson catalogue: the SDK fixture itself, or the gateway's /mcp/sdkjson."""
    if request.param == "fixture":
        return request.getfixturevalue("sdk_json").url
    return request.getfixturevalue("gateway").mcp("sdkjson")


async def post(http: httpx2.AsyncClient, url: str, body: Any, headers: dict[str, str]) -> httpx2.Response:
    return await http.post(url, content=json.dumps(body), headers=headers)


def error_response(response: httpx2.Response, status: int, code: int, id: Any) -> dict[str, Any]:
    assert response.status_code == status, f"HTTP {response.status_code}: {response.text}"
    message = final_message(response)
    assert message.get("id") == id, message
    assert message["error"]["code"] == code, message
    return message["error"]


ECHO = {"name": "echo", "arguments": {"text": "raw modern"}}


def b64(value: str) -> str:
    return f"=?base64?{base64.b64encode(value.encode()).decode()}?="


async def test_plain_modern_call(http, target: str) -> None:
    body = modern_request("tools/call", ECHO, id="plain-1")
    response = await post(http, target, body, modern_headers(body))
    assert response.status_code == 200, response.text
    assert "mcp-session-id" not in response.headers
    message = final_message(response)
    assert message["id"] == "plain-1"
    assert message["result"]["resultType"] == "complete"
    assert text_of(message["result"]) == "raw modern"


@pytest.mark.parametrize(
    "case, headers",
    [
        ("Mcp-Method missing", {"Mcp_Method": None}),
        ("Mcp-Method mismatch", {"Mcp_Method": "tools/list"}),
        ("Mcp-Name missing", {"Mcp_Name": None}),
        ("Mcp-Name mismatch", {"Mcp_Name": "add"}),
        ("Mcp-Name base64 of another name", {"Mcp_Name": b64("add")}),
    ],
)
async def test_header_mismatch_is_32020(http, target: str, case: str, headers: dict) -> None:
    body = modern_request("tools/call", ECHO, id=f"hm-{case}")
    response = await post(http, target, body, modern_headers(body, **headers))
    error_response(response, 400, -32020, f"hm-{case}")


@pytest.mark.parametrize(
    "method, params, wrong",
    [
        ("resources/read", {"uri": "sdk://info"}, "sdk://other"),
        ("prompts/get", {"name": "hello", "arguments": {"name": "Z"}}, "goodbye"),
    ],
)
async def test_mcp_name_of_read_and_prompt_must_match(http, target: str, method: str, params, wrong: str) -> None:
    body = modern_request(method, params, id=7)
    ok = await post(http, target, body, modern_headers(body))
    assert ok.status_code == 200, ok.text
    assert final_message(ok)["result"]["resultType"] == "complete"
    error_response(await post(http, target, body, modern_headers(body, Mcp_Name=wrong)), 400, -32020, 7)


async def test_base64_mcp_name_is_decoded(http, target: str) -> None:
    body = modern_request("tools/call", ECHO, id=3)
    response = await post(http, target, body, modern_headers(body, Mcp_Name=b64("echo")))
    assert response.status_code == 200, response.text
    assert text_of(final_message(response)["result"]) == "raw modern"


async def test_unsupported_version_is_32022(http, target: str) -> None:
    body = modern_request("tools/list", id="v", meta=modern_meta("2027-01-01"))
    response = await post(http, target, body, modern_headers(body, version="2027-01-01"))
    error = error_response(response, 400, -32022, "v")
    assert MODERN in error["data"]["supported"]
    assert error["data"]["requested"] == "2027-01-01"


@pytest.mark.parametrize(
    "missing", ["io.modelcontextprotocol/protocolVersion", "io.modelcontextprotocol/clientCapabilities"]
)
async def test_missing_meta_field_is_32602(http, target: str, missing: str) -> None:
    meta = modern_meta()
    del meta[missing]
    body = modern_request("tools/list", id="m", meta=meta)
    error_response(await post(http, target, body, modern_headers(body)), 400, -32602, "m")


@pytest.mark.parametrize(
    "method, params",
    [
        ("tools/frobnicate", {}),
        ("ping", {}),
        ("logging/setLevel", {"level": "info"}),
        ("resources/subscribe", {"uri": "sdk://info"}),
    ],
)
async def test_unknown_method_is_404(http, target: str, method: str, params) -> None:
    body = modern_request(method, params, id=404)
    error_response(await post(http, target, body, modern_headers(body)), 404, -32601, 404)


@pytest.mark.parametrize("method", ["notifications/cancelled", "notifications/initialized"])
async def test_notifications_are_202(http, target: str, method: str) -> None:
    body = modern_request(method, {"requestId": 5} if method.endswith("cancelled") else {}, id=None)
    response = await post(http, target, body, modern_headers(body))
    assert response.status_code == 202, response.text
    assert response.content in (b"", b"Accepted")


@pytest.mark.parametrize("verb", ["GET", "DELETE"])
async def test_get_and_delete_without_session_are_405(http, target: str, verb: str) -> None:
    headers = {"Accept": "text/event-stream", "MCP-Protocol-Version": MODERN}
    response = await http.request(verb, target, headers=headers, timeout=10)
    assert response.status_code == 405


CACHEABLE = [
    ("tools/list", {}),
    ("prompts/list", {}),
    ("resources/list", {}),
    ("resources/templates/list", {}),
    ("resources/read", {"uri": "sdk://info"}),
    ("server/discover", {}),
]
UNCACHED = [
    ("tools/call", ECHO),
    ("prompts/get", {"name": "hello", "arguments": {"name": "Q"}}),
    ("completion/complete", {"ref": {"type": "ref/prompt", "name": "hello"}, "argument": {"name": "name", "value": "G"}}),
]


@pytest.mark.parametrize("method, params", CACHEABLE + UNCACHED, ids=[m for m, _ in CACHEABLE + UNCACHED])
async def test_every_result_is_complete_and_lists_carry_cache_hints(http, target: str, method: str, params) -> None:
    body = modern_request(method, params, id=f"r-{method}")
    response = await post(http, target, body, modern_headers(body))
    assert response.status_code == 200, response.text
    message = final_message(response)
    assert message["id"] == f"r-{method}"
    result = message["result"]
    assert result["resultType"] == "complete"
    if (method, params) in CACHEABLE:
        assert isinstance(result["ttlMs"], int) and not isinstance(result["ttlMs"], bool) and result["ttlMs"] >= 0
        assert result["cacheScope"] == "private"


# --- raw HTTP: gateway-specific rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("server", [None, "demo", "sdkjson", "time"])
async def test_server_discover(gateway: Gateway, http, server: str | None) -> None:
    body = modern_request("server/discover", id="d")
    response = await post(http, gateway.mcp(server), body, modern_headers(body))
    assert response.status_code == 200, response.text
    assert "mcp-session-id" not in response.headers
    message = final_message(response)
    assert message["id"] == "d"
    result = message["result"]
    assert result["resultType"] == "complete"
    assert result["supportedVersions"] == [MODERN]
    # The aggregate is the gateway; one server's endpoint speaks for that server.
    if server is None:
        assert result["_meta"][SERVER_INFO]["name"] == "mcp-gateway"
    else:
        assert isinstance(result["_meta"][SERVER_INFO]["name"], str)
    assert isinstance(result["ttlMs"], int) and result["ttlMs"] >= 0
    assert result["cacheScope"] in ("private", "public")
    capabilities = result["capabilities"]
    assert "tools" in capabilities
    if "instructions" in result:
        assert isinstance(result["instructions"], str)
    # Per server, the capabilities mirror that server's: the time server offers no completion, the SDK fixture and
    # the demo server do (and so does the aggregate, which includes them).
    assert ("completions" in capabilities) == (server != "time"), capabilities


async def test_missing_version_header_is_32020(gateway: Gateway, http) -> None:
    body = modern_request("tools/list", id="no-header")
    response = await post(http, gateway.mcp(), body, modern_headers(body, version=None))
    error_response(response, 400, -32020, "no-header")


@pytest.mark.parametrize("header", ["2025-11-25", "2025-06-18"])
async def test_version_header_must_equal_meta_version(gateway: Gateway, http, header: str) -> None:
    body = modern_request("tools/list", id="mismatch")
    response = await post(http, gateway.mcp(), body, modern_headers(body, version=header))
    error_response(response, 400, -32020, "mismatch")


async def test_aggregated_call_and_lists_through_raw_requests(gateway: Gateway, http) -> None:
    body = modern_request("tools/call", {"name": "demo__echo", "arguments": {"text": "agg"}}, id=1)
    response = await post(http, gateway.mcp(), body, modern_headers(body))
    assert response.status_code == 200, response.text
    assert text_of(final_message(response)["result"]) == "agg"
    listing = modern_request("tools/list", id=2)
    result = final_message(await post(http, gateway.mcp(), listing, modern_headers(listing)))["result"]
    assert result["resultType"] == "complete" and result["cacheScope"] == "private"
    assert "demo__echo" in {t["name"] for t in result["tools"]}


async def test_initialize_still_starts_a_legacy_session(gateway: Gateway, http) -> None:
    session = RawSession(http, gateway.mcp())
    result = await session.initialize()
    assert result["protocolVersion"] == "2025-11-25"
    assert (await session.request("ping"))["result"] == {}


async def test_progress_on_a_raw_modern_call(gateway: Gateway, http) -> None:
    params = {"name": "demo__slow", "arguments": {"steps": 2, "delayMs": 5}}
    body = modern_request("tools/call", params, id="p", meta=modern_meta(progressToken="tok-1"))
    response = await post(http, gateway.mcp(), body, modern_headers(body))
    assert response.status_code == 200
    messages = messages_of(response)
    assert [m.get("method") for m in messages] == ["notifications/progress"] * 2 + [None]
    assert all(m["params"]["progressToken"] == "tok-1" for m in messages[:2])
    assert messages[-1]["id"] == "p" and messages[-1]["result"]["resultType"] == "complete"


# --- raw subscriptions/listen ------------------------------------------------------------------------------------------


async def open_listen(http: httpx2.AsyncClient, url: str, listen_id: Any, notifications: dict[str, Any]):
    body = modern_request("subscriptions/listen", {"notifications": notifications}, id=listen_id)
    return http.stream("POST", url, content=json.dumps(body), headers=modern_headers(body), timeout=30)


async def raw_trigger(http: httpx2.AsyncClient, url: str, tool: str) -> None:
    body = modern_request("tools/call", {"name": tool, "arguments": {}}, id=f"trigger-{tool}")
    response = await post(http, url, body, modern_headers(body))
    assert response.status_code == 200, response.text
    assert "result" in final_message(response), response.text


class Reader:
    """`SSEStreamReader` with every read bounded."""

    def __init__(self, response: httpx2.Response) -> None:
        self._reader = SSEStreamReader(response)

    async def next_message(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        try:
            return await asyncio.wait_for(self._reader.next_message(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no message on the stream within {timeout}s") from None


def check_ack(message: dict[str, Any], listen_id: Any, honoured: dict[str, Any]) -> None:
    assert message["method"] == "notifications/subscriptions/acknowledged", message
    assert message["params"]["notifications"] == honoured
    assert message["params"]["_meta"][SUBSCRIPTION_ID] == listen_id
    assert "id" not in message


@pytest.mark.parametrize("where", ["aggregated", "per-server"])
async def test_raw_listen_ack_and_notifications_carry_the_subscription_id(gateway: Gateway, where: str) -> None:
    url = gateway.mcp() if where == "aggregated" else gateway.mcp("sdksse")
    trigger = "sdksse__announce_tools_changed" if where == "aggregated" else "announce_tools_changed"
    async with http_client() as http, http_client() as other:
        async with await open_listen(http, url, "listen-raw-1", {"toolsListChanged": True}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            reader = Reader(response)
            check_ack(await reader.next_message(), "listen-raw-1", {"toolsListChanged": True})
            # A legacy session elsewhere makes the upstream announce a change.
            legacy = RawSession(other, url)
            await legacy.initialize()
            assert text_of((await legacy.call(trigger))["result"]) == "announced"
            message = await reader.next_message()
            assert message["method"] == "notifications/tools/list_changed", message
            assert message["params"]["_meta"][SUBSCRIPTION_ID] == "listen-raw-1"
            assert "id" not in message


@pytest.mark.parametrize("target_kind", ["direct", "gateway"])
async def test_raw_listen_sends_only_the_requested_types(request, target_kind: str) -> None:
    """Only prompts are asked for: a tools change announced first never arrives, the prompts change after it does.

    The catalogue announces both through one upstream in order, so a leaked tools notification would come first."""
    if target_kind == "direct":
        url = request.getfixturevalue("cat_sse").url
    else:
        url = request.getfixturevalue("catalogue_gateway").mcp("catsse")
    async with http_client() as http, http_client() as other:
        async with await open_listen(http, url, 424242, {"promptsListChanged": True}) as response:
            assert response.status_code == 200
            reader = Reader(response)
            check_ack(await reader.next_message(), 424242, {"promptsListChanged": True})
            await raw_trigger(other, url, "announce_tools_changed")
            await raw_trigger(other, url, "announce_prompts_changed")
            message = await reader.next_message()
            assert message["method"] == "notifications/prompts/list_changed", message
            assert message["params"]["_meta"][SUBSCRIPTION_ID] == 424242


async def test_raw_listen_direct_reference_ack(cat_sse) -> None:
    """The SDK's own answer to the same listen request, as a check of the raw request and ack parsing."""
    async with http_client() as http:
        async with await open_listen(http, cat_sse.url, "L", {"toolsListChanged": True}) as response:
            reader = Reader(response)
            check_ack(await reader.next_message(), "L", {"toolsListChanged": True})
