"""The official Python SDK client (`mcp.Client`) against the gateway, for every kind of upstream.

Upstreams (see conftest `gateway`): the demo server over stdio (`demo`) and over Streamable HTTP (`demohttp`),
the third-party `mcp-server-time` over stdio (`time`), and the SDK fixture server over Streamable HTTP in SSE mode
(`sdksse`) and JSON mode (`sdkjson`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp_types import PromptReference, ResourceTemplateReference

from conftest import EXPECTED_TOOLS, Gateway, LONG_PREFIX, check_time, text

TIMEOUT = 15.0


def client(url: str, **kwargs: Any) -> Client:
    kwargs.setdefault("mode", "legacy")
    kwargs.setdefault("read_timeout_seconds", TIMEOUT)
    return Client(url, **kwargs)


# server -> (tool, arguments, check of the result)
UPSTREAMS = {
    "demo": ("echo", {"text": "hello from demo over stdio"}, "hello from demo over stdio"),
    "demohttp": ("echo", {"text": "hello from demo over http"}, "hello from demo over http"),
    "time": ("get_current_time", {"timezone": "UTC"}, check_time),
    "sdksse": ("echo", {"text": "hello from the sdk (sse)"}, "hello from the sdk (sse)"),
    "sdkjson": ("echo", {"text": "hello from the sdk (json)"}, "hello from the sdk (json)"),
}
def check(result: types.CallToolResult, expected) -> None:
    if callable(expected):
        expected(result)
    else:
        assert not result.is_error
        assert text(result) == expected


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


@pytest.mark.parametrize("server", list(UPSTREAMS))
async def test_aggregated_endpoint_lists_and_calls(gateway: Gateway, server: str) -> None:
    tool, arguments, expected = UPSTREAMS[server]
    async with client(gateway.mcp()) as c:
        assert c.server_info is not None and c.server_info.name == "mcp-gateway"
        names = {t.name for t in await all_tools(c)}
        assert {f"{server}__{name}" for name in EXPECTED_TOOLS[server]} <= names
        check(await c.call_tool(f"{server}__{tool}", arguments), expected)


@pytest.mark.parametrize("server", list(UPSTREAMS))
async def test_per_server_endpoint_lists_and_calls(gateway: Gateway, server: str) -> None:
    tool, arguments, expected = UPSTREAMS[server]
    async with client(gateway.mcp(server)) as c:
        names = {t.name for t in await all_tools(c)}
        assert names == EXPECTED_TOOLS[server]
        check(await c.call_tool(tool, arguments), expected)


async def test_third_party_time_server_convert_time(gateway: Gateway) -> None:
    async with client(gateway.mcp()) as c:
        result = await c.call_tool(
            "time__convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
        )
        assert not result.is_error, text(result)
        body = json.loads(text(result))
        assert body["target"]["timezone"] == "Asia/Tokyo"
        assert body["target"]["datetime"].endswith("T21:00:00+09:00")


async def test_auto_mode_chooses_the_stateless_revision(gateway: Gateway) -> None:
    async with client(gateway.mcp(), mode="auto") as c:
        assert c.protocol_version == "2026-07-28"
        result = await c.call_tool("demo__add", {"a": 2, "b": 40})
        assert result.structured_content == {"sum": 42}


@pytest.mark.parametrize("server", ["demo", "demohttp", "sdksse", "sdkjson"])
async def test_structured_content(gateway: Gateway, server: str) -> None:
    async with client(gateway.mcp()) as c:
        result = await c.call_tool(f"{server}__add", {"a": 1.5, "b": 2})
        assert not result.is_error
        assert result.structured_content == {"sum": 3.5}


@pytest.mark.parametrize("server", ["demo", "demohttp"])
async def test_tool_execution_error_stays_a_result(gateway: Gateway, server: str) -> None:
    async with client(gateway.mcp()) as c:
        result = await c.call_tool(f"{server}__fail", {"message": "expected failure"})
        assert result.is_error is True
        assert text(result) == "expected failure"


async def test_upstream_jsonrpc_error_reaches_sdk_client(gateway: Gateway) -> None:
    from mcp.shared.exceptions import MCPError

    for server in ("sdksse", "sdkjson"):
        async with client(gateway.mcp()) as c:
            with pytest.raises(MCPError) as caught:
                await c.call_tool(f"{server}__rpc_error", {})
            assert caught.value.code == -31999
            assert caught.value.message == "sdk custom failure"
            assert caught.value.data == {"detail": "kept", "n": 7}


async def test_resources_list_and_read(gateway: Gateway) -> None:
    async with client(gateway.mcp()) as c:
        uris = [r.uri for r in (await c.list_resources()).resources]
        # Kept as-is where unique; a URI already taken by an earlier server is rewritten, never dropped.
        assert uris.count("demo://readme") == 1
        assert "mcp-gateway://demohttp/demo://readme" in uris
        assert uris.count("sdk://info") == 1
        assert "mcp-gateway://sdkjson/sdk://info" in uris
        assert len(uris) == len(set(uris))

        readme = await c.read_resource("demo://readme")
        assert readme.contents[0].text == "# Demo\nThe gateway's built-in demo server."
        config = await c.read_resource("demo://config.json")
        assert json.loads(config.contents[0].text) == {"demo": True}
        sse_info = await c.read_resource("sdk://info")
        assert sse_info.contents[0].text == "sdk fixture in sse mode"
        json_info = await c.read_resource("mcp-gateway://sdkjson/sdk://info")
        assert json_info.contents[0].text == "sdk fixture in json mode"
        rewritten = await c.read_resource("mcp-gateway://demohttp/demo://readme")
        assert rewritten.contents[0].text == "# Demo\nThe gateway's built-in demo server."


async def test_resource_templates(gateway: Gateway) -> None:
    async with client(gateway.mcp()) as c:
        templates = {t.uri_template for t in (await c.list_resource_templates()).resource_templates}
        assert {"demo://greeting/{name}", "sdk://item/{item_id}"} <= templates
        greeting = await c.read_resource("demo://greeting/Ada")
        assert greeting.contents[0].text == "Hello, Ada!"
        item = await c.read_resource("sdk://item/42")
        assert item.contents[0].text == "item 42"
    async with client(gateway.mcp("demohttp")) as c:
        templates = [t.uri_template for t in (await c.list_resource_templates()).resource_templates]
        assert templates == ["demo://greeting/{name}"]
        greeting = await c.read_resource("demo://greeting/Grace%20Hopper")
        assert greeting.contents[0].text == "Hello, Grace Hopper!"


async def test_prompts_list_and_get(gateway: Gateway) -> None:
    async with client(gateway.mcp()) as c:
        names = {p.name for p in (await c.list_prompts()).prompts}
        assert {"demo__greet", "demo__review", "demohttp__greet", "sdksse__hello", "sdkjson__hello"} <= names
        greet = await c.get_prompt("demo__greet", {"name": "Ada"})
        assert greet.messages[0].content.text == "Please write a short, warm greeting for Ada."
        review = await c.get_prompt("demohttp__review", {"code": "x = 1", "language": "python"})
        assert review.messages[0].content.text == "Please review this code (python):\nx = 1"
        hello = await c.get_prompt("sdkjson__hello", {"name": "Bob"})
        assert hello.messages[0].content.text == "Say hello to Bob."
    async with client(gateway.mcp("sdksse")) as c:
        assert [p.name for p in (await c.list_prompts()).prompts] == ["hello"]
        hello = await c.get_prompt("hello", {"name": "Linus"})
        assert hello.messages[0].content.text == "Say hello to Linus."


async def test_completion(gateway: Gateway) -> None:
    async with client(gateway.mcp()) as c:
        done = await c.complete(PromptReference(type="ref/prompt", name="demo__greet"), {"name": "name", "value": "A"})
        assert done.completion.values == ["Ada", "Alan"]
        done = await c.complete(PromptReference(type="ref/prompt", name="sdksse__hello"), {"name": "name", "value": "g"})
        assert done.completion.values == ["Grace"]
        done = await c.complete(
            ResourceTemplateReference(type="ref/resource", uri="demo://greeting/{name}"), {"name": "name", "value": "l"}
        )
        assert done.completion.values == ["Linus"]
    async with client(gateway.mcp("demohttp")) as c:
        done = await c.complete(PromptReference(type="ref/prompt", name="greet"), {"name": "name", "value": "M"})
        assert done.completion.values == ["Margaret"]


@pytest.mark.parametrize(
    "server, tool, arguments, expected",
    [
        ("demo", "slow", {"steps": 3, "delayMs": 20}, [(1, 3, "step 1 of 3"), (2, 3, "step 2 of 3"), (3, 3, "step 3 of 3")]),
        ("demohttp", "slow", {"steps": 2, "delayMs": 20}, [(1, 2, "step 1 of 2"), (2, 2, "step 2 of 2")]),
        ("sdksse", "progress", {"steps": 3}, [(1, 3, "sdk step 1"), (2, 3, "sdk step 2"), (3, 3, "sdk step 3")]),
    ],
)
@pytest.mark.parametrize("endpoint", ["aggregated", "per-server"])
async def test_progress_reaches_the_caller(gateway: Gateway, server, tool, arguments, expected, endpoint) -> None:
    """The SDK matches progress by its own progressToken, so receiving it proves the token was restored."""
    received: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.append((progress, total, message))

    url, name = (gateway.mcp(), f"{server}__{tool}") if endpoint == "aggregated" else (gateway.mcp(server), tool)
    async with client(url) as c:
        result = await c.call_tool(name, arguments, progress_callback=on_progress)
        assert not result.is_error
    assert received == expected


@pytest.mark.parametrize(
    "server, tool, level, logger",
    [("demo", "log", "warning", "demo"), ("demohttp", "log", "notice", "demo"), ("sdksse", "log", "info", "sdk")],
)
async def test_log_messages_reach_the_client(gateway: Gateway, server, tool, level, logger) -> None:
    """stdio servers' logs arrive on the session's GET stream, HTTP servers' on the call's own SSE response."""
    arrived = asyncio.Event()
    messages: list[types.LoggingMessageNotificationParams] = []
    marker = f"log line for {server}"

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        messages.append(params)
        if params.data == marker:
            arrived.set()

    async with client(gateway.mcp(), logging_callback=on_log) as c:
        arguments = {"message": marker} if server == "sdksse" else {"message": marker, "level": level}
        result = await c.call_tool(f"{server}__{tool}", arguments)
        assert not result.is_error
        await asyncio.wait_for(arrived.wait(), 10)
    match = [m for m in messages if m.data == marker]
    assert len(match) == 1
    assert match[0].level == level
    assert match[0].logger == logger


async def test_set_logging_level_filters_stdio_logs(gateway: Gateway) -> None:
    """logging/setLevel is per session: below-level messages are not delivered, the others are."""
    messages: list[types.LoggingMessageNotificationParams] = []
    got_error = asyncio.Event()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        messages.append(params)
        if params.data == "level-test error":
            got_error.set()

    async with client(gateway.mcp(), logging_callback=on_log) as c:
        await c.set_logging_level("error")
        await c.call_tool("demo__log", {"message": "level-test warning", "level": "warning"})
        await c.call_tool("demo__log", {"message": "level-test error", "level": "error"})
        await asyncio.wait_for(got_error.wait(), 10)
    assert [m.data for m in messages if str(m.data).startswith("level-test")] == ["level-test error"]


async def test_long_names_get_a_deterministic_alias_that_maps_back(tmp_path_factory, gateway: Gateway) -> None:
    full = f"{LONG_PREFIX}__echo"
    assert len(full) > 64
    async with client(gateway.mcp()) as c:
        aliases = [t.name for t in await all_tools(c) if t.name.startswith(LONG_PREFIX[:40])]
        assert len(aliases) == 5  # echo, add, slow, log, fail of the long-prefixed demo server
        for alias in aliases:
            assert len(alias) <= 64
            assert alias[-9] == "_" and all(ch in "0123456789abcdef" for ch in alias[-8:]), alias
        assert len(set(aliases)) == 5
        tools = {t.name: t for t in await all_tools(c) if t.name in aliases}
        echo_alias = next(name for name, t in tools.items() if t.description == "Returns the text it is given.")
        result = await c.call_tool(echo_alias, {"text": "through an alias"})
        assert text(result) == "through an alias"
    # Same alias in a second session, and from a second gateway with the same configuration.
    async with client(gateway.mcp()) as c:
        assert echo_alias in {t.name for t in await all_tools(c)}
    other = Gateway(tmp_path_factory.mktemp("alias"), gateway.config_path.read_text(), env=gateway.env).start()
    try:
        async with client(other.mcp()) as c:
            assert echo_alias in {t.name for t in await all_tools(c)}
    finally:
        other.stop_and_check()


async def test_filtered_tools_are_hidden(gateway: Gateway) -> None:
    async with client(gateway.mcp()) as c:
        names = {t.name for t in await all_tools(c)}
        assert "filt__echo" in names
        assert not {"filt__add", "filt__slow", "filt__log", "filt__fail"} & names
    async with client(gateway.mcp("filtered")) as c:
        assert {t.name for t in await all_tools(c)} == {"echo"}


async def test_list_changed_reaches_the_client_and_refreshes_the_list(gateway: Gateway) -> None:
    """A stdio server's notifications/tools/list_changed reaches the client; the merged list then has the new tool."""
    changed = asyncio.Event()

    async def on_message(message) -> None:
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            changed.set()

    async with client(gateway.mcp(), message_handler=on_message, cache=None) as c:
        before = {t.name for t in await all_tools(c)}
        assert "raw__fresh_tool" not in before
        result = await c.call_tool("raw__grow", {"name": "fresh_tool"})
        assert text(result) == "grew fresh_tool"
        await asyncio.wait_for(changed.wait(), 10)
        after = {t.name for t in await all_tools(c)}
        assert "raw__fresh_tool" in after
        assert text(await c.call_tool("raw__fresh_tool", {})) == "called fresh_tool"


@pytest.mark.parametrize("server", ["sdksse", "sdkjson"])
async def test_http_server_list_changed_reaches_other_sessions(gateway: Gateway, server: str) -> None:
    """An HTTP server's notifications/tools/list_changed (not tied to a request) reaches a session that did not
    cause it, through the gateway's standalone stream to the server or the request's own stream."""
    changed = asyncio.Event()

    async def on_message(message) -> None:
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            changed.set()

    # Both on the server's own endpoint: a session on /mcp would also hear other servers becoming ready.
    async with client(gateway.mcp(server), message_handler=on_message, cache=None) as bystander:
        await all_tools(bystander)
        async with client(gateway.mcp(server), cache=None) as caller:
            assert text(await caller.call_tool("announce_tools_changed", {})) == "announced"
        await asyncio.wait_for(changed.wait(), 10)


async def test_resource_updates_reach_subscribers_only(gateway: Gateway) -> None:
    subscriber: list[str] = []
    bystander: list[str] = []
    updated = asyncio.Event()
    bystander_changed = asyncio.Event()

    def recorder(log: list[str], updated_event: asyncio.Event | None, changed_event: asyncio.Event | None):
        async def on_message(message) -> None:
            method = getattr(message, "method", None)
            if method is None:
                return
            uri = getattr(getattr(message, "params", None), "uri", None)
            log.append(f"{method} {uri}" if uri else method)
            if method == "notifications/resources/updated" and updated_event is not None:
                updated_event.set()
            if method == "notifications/tools/list_changed" and changed_event is not None:
                changed_event.set()

        return on_message

    async with (
        client(gateway.mcp(), message_handler=recorder(subscriber, updated, None)) as a,
        client(gateway.mcp(), message_handler=recorder(bystander, None, bystander_changed)) as b,
    ):
        await a.subscribe_resource("raw://thing")
        await b.list_tools()  # the bystander's session is live, but it never subscribes
        assert text(await a.call_tool("raw__touch", {"uri": "raw://thing"})) == "touched"
        await asyncio.wait_for(updated.wait(), 10)
        # A list_changed goes to every session: once the bystander has it, any resource update would have come first.
        await a.call_tool("raw__grow", {"name": "sentinel_tool"})
        await asyncio.wait_for(bystander_changed.wait(), 10)
    assert "notifications/resources/updated raw://thing" in subscriber
    assert not [entry for entry in bystander if entry.startswith("notifications/resources/updated")]
