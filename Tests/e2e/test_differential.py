"""Differential tests: the same SDK client code run straight against an upstream and through the gateway's
`/mcp/{server}` for that upstream must see the same thing.

For each scenario and client mode (`legacy`, `2026-07-28`, `auto`; over the gateway's other client doors, HTTP+SSE,
WebSocket and the `connect` stdio bridge, `legacy`) and each transport of the extended catalogue
fixture (`fixtures/sdk_catalogue_server.py`: Streamable HTTP with SSE answers, with JSON answers, stdio, and the
legacy HTTP+SSE transport), a transcript is recorded on both legs and normalised: ids, `_meta` (serverInfo),
`resultType`, cache hints and cursors are dropped, and lists whose order the protocol does not define are sorted.

The dual-era catalogue is reached through the gateway in both upstream eras: pinned to the session-based revisions
(`catsse`, `catjson`, `catstdio`) and as the gateway's probe finds it, 2026-07-28 (`catssem`, `catjsonm`,
`catstdiom`); `catmodern` and `catlegacyonly` are single-era servers. So every client mode meets every upstream era,
and the `mrtr` scenario (elicitation, sampling and roots asked during a call) crosses the bridge both ways: requests
mid-call for session clients, `input_required` for 2026-07-28 clients, whatever the upstream speaks. The direct leg
of a single-era server is always a client of that era (no other reaches it directly).

- `test_direct_leg` checks the direct transcript against explicit expectations (it needs no gateway), so that no
  comparison passes because both legs are wrong in the same way;
- `test_gateway_matches_direct` checks the direct transcript again, then asserts the gateway's is equal to it.

Keys starting with `~` are facts about one leg (e.g. how many pages a list had); they are checked on the direct leg
and left out of the comparison, since the gateway may page differently.

Also: two clients on one shared upstream never see each other's log messages, and each gets its own level.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference, ResourceTemplateReference
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel

from conftest import CATALOGUE_SERVER, GATEWAY_BIN, MODERN, PYTHON, text, websocket_transport, ws_url

TIMEOUT = 15.0
MODES = ["legacy", MODERN, "auto"]
# How a client reaches the gateway: Streamable HTTP (every mode), and the session-based doors, which carry the
# handshake revisions only: legacy HTTP+SSE (`sse_client`), MCP over WebSocket, and stdio through
# `mcp-gateway connect` (which itself speaks WebSocket to the gateway).
DOORS = ["sse", "ws", "connect"]


@dataclass(frozen=True)
class Upstream:
    fixture: str | None  # the conftest fixture of the upstream process (None: stdio, started by each client)
    gateway: str  # the conftest fixture of the gateway that has it
    transport: str  # http | sse | stdio
    label: str  # how the catalogue names itself (cat://info)
    streams: bool  # whether the upstream can send notifications during a call (not in JSON-answer mode)
    direct_mode: str | None = None  # a single-era server: the only client mode that reaches it directly
    same_direct_as: str | None = None  # the same upstream as this entry, reached in the other era through the gateway


UPSTREAMS = {
    "catsse": Upstream("cat_sse", "catalogue_gateway", "http", "sse-mode", True),
    "catjson": Upstream("cat_json", "catalogue_gateway", "http", "json", False),
    "catstdio": Upstream(None, "catalogue_gateway", "stdio", "stdio", True),
    "catlegacy": Upstream("cat_legacy", "legacy_upstream_gateway", "sse", "legacy-sse", True),
    "catssem": Upstream("cat_sse", "catalogue_gateway", "http", "sse-mode", True, same_direct_as="catsse"),
    "catjsonm": Upstream("cat_json", "catalogue_gateway", "http", "json", False, same_direct_as="catjson"),
    "catstdiom": Upstream(None, "catalogue_gateway", "stdio", "stdio", True, same_direct_as="catstdio"),
    "catmodern": Upstream("cat_modern_only", "catalogue_gateway", "http", "modern-only", True, direct_mode=MODERN),
    "catlegacyonly": Upstream("cat_legacy_only", "catalogue_gateway", "http", "legacy-only", True, direct_mode="legacy"),
}
# Entries whose direct leg is another entry's: their direct leg is not tested twice, nor their other doors.
DISTINCT = [name for name, up in UPSTREAMS.items() if up.same_direct_as is None]
SESSION_DOORS = ["catsse", "catjson", "catstdio", "catlegacy", "catssem", "catstdiom"]

TOOLS_IN_ORDER = [
    "echo", "add", "fail", "rpc_error", "progress", "log", "log_levels", "announce_tools_changed",
    "announce_prompts_changed", "ask_sampling", "ask_elicitation", "ask_roots", "mrtr_elicitation", "mrtr_sampling",
    "mrtr_roots", "pad_1", "pad_2", "pad_3", "pad_4",
]
RESOURCES_IN_ORDER = ["cat://info", "cat://doc/1", "cat://doc/2", "cat://doc/3", "cat://doc/4"]
PROMPTS_IN_ORDER = ["hello", "review"]
DROP = {"_meta", "resultType", "ttlMs", "cacheScope", "nextCursor"}


def plain(value: Any) -> Any:
    """JSON form of an SDK model (or of plain data) without the fields that legitimately differ between legs."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, mode="json", exclude_none=True)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k not in DROP}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def compared(transcript: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in transcript.items() if not k.startswith("~")}


class Leg:
    """How one leg connects: straight to the upstream, or through the gateway's /mcp/{server}."""

    def __init__(
        self, request: pytest.FixtureRequest, server: str, mode: str, via_gateway: bool, door: str = "http"
    ) -> None:
        self.server = server
        self.door = door
        self.upstream = UPSTREAMS[server]
        self.mode = mode if via_gateway else (self.upstream.direct_mode or mode)
        self.via_gateway = via_gateway
        if via_gateway:
            self.url = request.getfixturevalue(self.upstream.gateway).mcp(server)
        elif self.upstream.fixture is not None:
            self.url = request.getfixturevalue(self.upstream.fixture).url
        else:
            self.url = None
        # Whether log messages can reach this leg during a call. Over stdio and HTTP+SSE, where a log message names no
        # request, the gateway places it on the call of the only client with calls in flight.
        self.logs_expected = self.upstream.streams

    def target(self) -> Any:
        if self.via_gateway and self.door == "sse":
            return sse_client(self.url + "/sse", timeout=TIMEOUT)
        if self.via_gateway and self.door == "ws":
            return websocket_transport(ws_url(self.url) + "/ws")
        if self.via_gateway and self.door == "connect":
            return StdioServerParameters(command=GATEWAY_BIN, args=["connect", self.url])
        if self.via_gateway or self.upstream.transport == "http":
            return self.url
        if self.upstream.transport == "sse":
            return sse_client(self.url, timeout=TIMEOUT)
        return StdioServerParameters(command=PYTHON, args=[str(CATALOGUE_SERVER), "--transport", "stdio"])

    def connect(self, **kwargs: Any) -> Client:
        kwargs.setdefault("read_timeout_seconds", TIMEOUT)
        kwargs.setdefault("cache", None)
        return Client(self.target(), mode=self.mode, **kwargs)


async def pages(fetch: Callable[..., Awaitable[Any]], key: str) -> list[list[Any]]:
    """Every page of a paginated list, following nextCursor (bounded)."""
    out: list[list[Any]] = []
    cursor = None
    for _ in range(50):
        page = await fetch(cursor=cursor)
        out.append(list(getattr(page, key)))
        cursor = page.next_cursor
        if cursor is None:
            return out
    raise AssertionError(f"{key}: more than 50 pages")


def flat(all_pages: list[list[Any]]) -> list[Any]:
    return [item for page in all_pages for item in page]


async def wait_for_item(items: list[Any], changed: asyncio.Event, predicate, what: str) -> None:
    async def until() -> None:
        while not any(predicate(item) for item in items):
            changed.clear()
            await changed.wait()

    try:
        await asyncio.wait_for(until(), 10)
    except asyncio.TimeoutError:
        raise AssertionError(f"{what} never arrived; got {items}") from None


# --- scenarios: each returns a normalised transcript ---------------------------------------------------------------


async def sc_tools_list(leg: Leg) -> dict[str, Any]:
    async with leg.connect() as c:
        tools = flat(await pages(c.list_tools, "tools"))
    return {"tools": sorted((plain(t) for t in tools), key=lambda t: t["name"])}


def ex_tools_list(t: dict[str, Any], up: Upstream) -> None:
    tools = {tool["name"]: tool for tool in t["tools"]}
    assert sorted(tools) == sorted(TOOLS_IN_ORDER)
    assert tools["echo"]["inputSchema"]["required"] == ["text"]
    assert tools["echo"]["description"] == "Returns the text it is given."
    assert tools["add"]["outputSchema"]["additionalProperties"] == {"type": "number"}


async def sc_pagination(leg: Leg) -> dict[str, Any]:
    async with leg.connect() as c:
        tools = await pages(c.list_tools, "tools")
        resources = await pages(c.list_resources, "resources")
        prompts = await pages(c.list_prompts, "prompts")
    return {
        "tools": [t.name for t in flat(tools)],
        "resources": [r.uri for r in flat(resources)],
        "prompts": [p.name for p in flat(prompts)],
        "~pages": {"tools": len(tools), "resources": len(resources), "prompts": len(prompts)},
    }


def ex_pagination(t: dict[str, Any], up: Upstream) -> None:
    # Followed across pages, in the server's order.
    assert t["tools"] == TOOLS_IN_ORDER
    assert t["resources"] == RESOURCES_IN_ORDER
    assert t["prompts"] == PROMPTS_IN_ORDER
    assert t["~pages"] == {"tools": 4, "resources": 3, "prompts": 2}


async def sc_call_text(leg: Leg) -> dict[str, Any]:
    async with leg.connect() as c:
        result = await c.call_tool("echo", {"text": "différentiel ✓ \"quoted\"\nline"})
    return {"result": plain(result)}


def ex_call_text(t: dict[str, Any], up: Upstream) -> None:
    value = "différentiel ✓ \"quoted\"\nline"
    assert t["result"] == {
        "content": [{"type": "text", "text": value}],
        "structuredContent": {"result": value},
        "isError": False,
    }


async def sc_structured(leg: Leg) -> dict[str, Any]:
    async with leg.connect() as c:
        result = await c.call_tool("add", {"a": 1.5, "b": 2})
    return {"result": plain(result)}


def ex_structured(t: dict[str, Any], up: Upstream) -> None:
    assert t["result"]["structuredContent"] == {"sum": 3.5}
    assert t["result"]["isError"] is False
    assert t["result"]["content"] == [{"type": "text", "text": '{\n  "sum": 3.5\n}'}]


async def sc_is_error(leg: Leg) -> dict[str, Any]:
    async with leg.connect() as c:
        result = await c.call_tool("fail", {"message": "differential failure"})
    return {"result": plain(result)}


def ex_is_error(t: dict[str, Any], up: Upstream) -> None:
    assert t["result"] == {
        "content": [{"type": "text", "text": "Error executing tool fail: differential failure"}],
        "isError": True,
    }


async def sc_rpc_error(leg: Leg) -> dict[str, Any]:
    async with leg.connect() as c:
        with pytest.raises(MCPError) as caught:
            await c.call_tool("rpc_error", {})
    return {"error": {"code": caught.value.code, "message": caught.value.message, "data": caught.value.data}}


def ex_rpc_error(t: dict[str, Any], up: Upstream) -> None:
    assert t["error"] == {"code": -31998, "message": "catalogue custom failure", "data": {"detail": "kept", "list": [1, "two"]}}


async def sc_progress(leg: Leg) -> dict[str, Any]:
    received: list[list[Any]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.append([progress, total, message])

    async with leg.connect() as c:
        result = await c.call_tool("progress", {"steps": 3}, progress_callback=on_progress)
    return {"progress": received, "result": plain(result)}


def ex_progress(t: dict[str, Any], up: Upstream) -> None:
    expected = [[1.0, 3.0, "catalogue step 1"], [2.0, 3.0, "catalogue step 2"], [3.0, 3.0, "catalogue step 3"]]
    # A server answering with plain JSON has no channel for notifications during a call.
    assert t["progress"] == (expected if up.streams else [])
    assert t["result"]["content"] == [{"type": "text", "text": "catalogue done after 3 steps"}]


async def sc_logging(leg: Leg) -> dict[str, Any]:
    """`warning` and up: by logging/setLevel on a legacy connection, by the per-request logLevel on a modern one."""
    logs: list[list[Any]] = []
    changed = asyncio.Event()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append([params.level, params.logger, params.data])
        changed.set()

    async with leg.connect(logging_callback=on_log, log_level="warning") as c:
        modern = c.protocol_version in MODERN_PROTOCOL_VERSIONS
        if not modern:
            await c.set_logging_level("warning")
        first = await c.call_tool("log_levels", {"tag": "first"})
        second = await c.call_tool("log_levels", {"tag": "second"})
        if leg.logs_expected:
            await wait_for_item(logs, changed, lambda entry: entry[2] == "second error", "the log 'second error'")
    return {"logs": logs, "results": [text(first), text(second)]}


def ex_logging(t: dict[str, Any], up: Upstream) -> None:
    expected = [
        ["warning", "cat", "first warning"],
        ["error", "cat", "first error"],
        ["warning", "cat", "second warning"],
        ["error", "cat", "second error"],
    ]
    assert t["logs"] == (expected if up.streams else [])
    assert t["results"] == ["levels sent for first", "levels sent for second"]


async def sc_resources(leg: Leg) -> dict[str, Any]:
    async with leg.connect() as c:
        resources = flat(await pages(c.list_resources, "resources"))
        reads = {r.uri: plain((await c.read_resource(r.uri)).contents) for r in resources}
    return {"resources": sorted((plain(r) for r in resources), key=lambda r: r["uri"]), "reads": reads}


def ex_resources(t: dict[str, Any], up: Upstream) -> None:
    assert [r["uri"] for r in t["resources"]] == sorted(RESOURCES_IN_ORDER)
    assert all(r["mimeType"] == "text/plain" for r in t["resources"])
    assert t["reads"]["cat://info"] == [{"uri": "cat://info", "mimeType": "text/plain", "text": f"catalogue fixture ({up.label})"}]
    for n in range(1, 5):
        assert t["reads"][f"cat://doc/{n}"] == [
            {"uri": f"cat://doc/{n}", "mimeType": "text/plain", "text": f"document {n} of the catalogue"}
        ]


async def sc_templates(leg: Leg) -> dict[str, Any]:
    async with leg.connect() as c:
        templates = flat(await pages(c.list_resource_templates, "resource_templates"))
        item = await c.read_resource("cat://item/42")
    return {"templates": sorted((plain(x) for x in templates), key=lambda x: x["uriTemplate"]), "item": plain(item)}


def ex_templates(t: dict[str, Any], up: Upstream) -> None:
    assert [x["uriTemplate"] for x in t["templates"]] == ["cat://item/{item_id}"]
    assert t["item"] == {"contents": [{"uri": "cat://item/42", "mimeType": "text/plain", "text": "catalogue item 42"}]}


async def sc_prompts(leg: Leg) -> dict[str, Any]:
    async with leg.connect() as c:
        prompts = flat(await pages(c.list_prompts, "prompts"))
        hello = await c.get_prompt("hello", {"name": "Ada"})
        review = await c.get_prompt("review", {"code": "x = 1", "language": "python"})
        default = await c.get_prompt("review", {"code": "y"})
    return {
        "prompts": sorted((plain(p) for p in prompts), key=lambda p: p["name"]),
        "hello": plain(hello),
        "review": plain(review),
        "default": plain(default),
    }


def ex_prompts(t: dict[str, Any], up: Upstream) -> None:
    assert [p["name"] for p in t["prompts"]] == ["hello", "review"]
    review_args = {a["name"]: a.get("required", False) for a in t["prompts"][1]["arguments"]}
    assert review_args == {"code": True, "language": False}
    assert t["hello"]["messages"] == [{"role": "user", "content": {"type": "text", "text": "Say hello to Ada."}}]
    assert t["review"]["messages"][0]["content"]["text"] == "Review this python code:\nx = 1"
    assert t["default"]["messages"][0]["content"]["text"] == "Review this text code:\ny"


async def sc_completion(leg: Leg) -> dict[str, Any]:
    async with leg.connect() as c:
        hello = await c.complete(PromptReference(type="ref/prompt", name="hello"), {"name": "name", "value": "a"})
        review = await c.complete(PromptReference(type="ref/prompt", name="review"), {"name": "language", "value": "r"})
        item = await c.complete(
            ResourceTemplateReference(type="ref/resource", uri="cat://item/{item_id}"), {"name": "item_id", "value": "1"}
        )
    return {"hello": plain(hello), "review": plain(review), "item": plain(item)}


def ex_completion(t: dict[str, Any], up: Upstream) -> None:
    assert t["hello"] == {"completion": {"values": ["Ada", "Alan"], "total": 2, "hasMore": False}}
    assert t["review"] == {"completion": {"values": ["rust", "ruby"], "total": 2, "hasMore": False}}
    assert t["item"] == {"completion": {"values": ["1", "10"], "total": 2, "hasMore": False}}


async def sc_missing_resource(leg: Leg) -> dict[str, Any]:
    async with leg.connect() as c:
        with pytest.raises(MCPError) as caught:
            await c.read_resource("cat://nowhere")
    return {"error": {"code": caught.value.code, "message": caught.value.message, "data": caught.value.data}}


def ex_missing_resource(t: dict[str, Any], up: Upstream) -> None:
    assert t["error"] == {"code": -32602, "message": "Unknown resource: cat://nowhere", "data": {"uri": "cat://nowhere"}}


async def sc_mrtr(leg: Leg) -> dict[str, Any]:
    """The upstream asks the client during a call (elicitation, sampling, roots), through `Resolve(...)`."""
    seen: list[Any] = []

    async def sampling(context, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        seen.append(["sampling", params.max_tokens, params.messages[0].content.text])
        content = types.TextContent(type="text", text=f"sampled {params.messages[0].content.text}")
        return types.CreateMessageResult(role="assistant", content=content, model="differential-model")

    async def elicitation(context, params) -> types.ElicitResult:
        # The SDK renders the schema with a top-level title in a session and without one in 2026-07-28.
        schema = params.requested_schema
        seen.append(["elicitation", params.message, schema["properties"], schema["required"]])
        return types.ElicitResult(action="accept", content={"answer": f"yes to {params.message}"})

    async def roots(context) -> types.ListRootsResult:
        seen.append(["roots"])
        return types.ListRootsResult(roots=[types.Root(uri="file:///differential", name="differential")])

    callbacks = {"sampling_callback": sampling, "elicitation_callback": elicitation, "list_roots_callback": roots}
    async with leg.connect(**callbacks) as c:
        results = [
            text(await c.call_tool("mrtr_elicitation", {"question": "proceed?"})),
            text(await c.call_tool("mrtr_sampling", {"prompt": "a haiku"})),
            text(await c.call_tool("mrtr_roots", {})),
        ]
    return {"results": results, "seen": seen}


def ex_mrtr(t: dict[str, Any], up: Upstream) -> None:
    assert t["results"] == [
        '{"answer": "yes to proceed?"}',
        '{"model": "differential-model", "role": "assistant", "text": "sampled a haiku"}',
        '[{"name": "differential", "uri": "file:///differential"}]',
    ]
    properties = {"answer": {"title": "Answer", "type": "string"}}
    assert t["seen"] == [["elicitation", "proceed?", properties, ["answer"]], ["sampling", 64, "a haiku"], ["roots"]]


SCENARIOS: dict[str, tuple[Callable[[Leg], Awaitable[dict[str, Any]]], Callable[[dict[str, Any], Upstream], None]]] = {
    "tools_list": (sc_tools_list, ex_tools_list),
    "pagination": (sc_pagination, ex_pagination),
    "call_text": (sc_call_text, ex_call_text),
    "structured": (sc_structured, ex_structured),
    "is_error": (sc_is_error, ex_is_error),
    "rpc_error": (sc_rpc_error, ex_rpc_error),
    "progress": (sc_progress, ex_progress),
    "logging": (sc_logging, ex_logging),
    "resources": (sc_resources, ex_resources),
    "templates": (sc_templates, ex_templates),
    "prompts": (sc_prompts, ex_prompts),
    "completion": (sc_completion, ex_completion),
    "missing_resource": (sc_missing_resource, ex_missing_resource),
    "mrtr": (sc_mrtr, ex_mrtr),
}


async def record(
    request, scenario: str, server: str, mode: str, via_gateway: bool, door: str = "http"
) -> dict[str, Any]:
    run, _ = SCENARIOS[scenario]
    up = UPSTREAMS[server]
    if scenario == "mrtr" and not up.streams:
        if up.same_direct_as is None:
            pytest.skip("a session with a JSON-answer server has no channel for requests during a call")
        # Directly, only a 2026-07-28 client can be asked anything by a JSON-answer server (through input_required);
        # through the gateway, which speaks 2026-07-28 to it, every client can.
        if not via_gateway:
            mode = MODERN
    return await asyncio.wait_for(run(Leg(request, server, mode, via_gateway, door)), 60)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("server", DISTINCT)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_direct_leg(request, scenario: str, server: str, mode: str) -> None:
    transcript = await record(request, scenario, server, mode, via_gateway=False)
    SCENARIOS[scenario][1](transcript, UPSTREAMS[server])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("server", list(UPSTREAMS))
@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_gateway_matches_direct(request, scenario: str, server: str, mode: str) -> None:
    direct = await record(request, scenario, server, mode, via_gateway=False)
    SCENARIOS[scenario][1](direct, UPSTREAMS[server])
    through = await record(request, scenario, server, mode, via_gateway=True)
    assert compared(through) == compared(direct)


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("server", SESSION_DOORS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_every_door_matches_direct(request, scenario: str, server: str, door: str) -> None:
    """The session-based client doors, in legacy mode (the direct leg is checked by `test_direct_leg`)."""
    direct = await record(request, scenario, server, "legacy", via_gateway=False)
    through = await record(request, scenario, server, "legacy", via_gateway=True, door=door)
    assert compared(through) == compared(direct)


# --- two clients on one shared upstream ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def log_client(leg: Leg, level: str) -> AsyncIterator[tuple[Client, list[list[Any]], asyncio.Event]]:
    logs: list[list[Any]] = []
    changed = asyncio.Event()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append([params.level, params.data])
        changed.set()

    async with leg.connect(logging_callback=on_log) as c:
        await c.set_logging_level(level)
        yield c, logs, changed


async def logging_pair(request, server: str, via_gateway: bool) -> tuple[list[list[Any]], list[list[Any]]]:
    """Client A asks for `error` and up, client B for everything; each makes the upstream log twice.

    Over Streamable HTTP a log message travels on its call's own stream, so the two clients run concurrently. A stdio
    or HTTP+SSE server has one stream for everything, where only "the request in flight" can tell whose message it
    is, so there they take turns (A finishes before B starts) and the messages are still attributable."""
    leg = Leg(request, server, "legacy", via_gateway)
    concurrent = UPSTREAMS[server].transport == "http"

    async def run(c: Client, logs, changed, tag: str) -> None:
        await c.call_tool("log_levels", {"tag": f"{tag}1"})
        await c.call_tool("log_levels", {"tag": f"{tag}2"})
        await wait_for_item(logs, changed, lambda entry: entry[1] == f"{tag}2 error", f"{tag}'s last log message")

    async with log_client(leg, "error") as (a, a_logs, a_changed), log_client(leg, "debug") as (b, b_logs, b_changed):
        if concurrent:
            await asyncio.wait_for(asyncio.gather(run(a, a_logs, a_changed, "A"), run(b, b_logs, b_changed, "B")), 30)
        else:
            await asyncio.wait_for(run(a, a_logs, a_changed, "A"), 15)
            await asyncio.wait_for(run(b, b_logs, b_changed, "B"), 15)
    return a_logs, b_logs


def check_pair(a_logs: list[list[Any]], b_logs: list[list[Any]]) -> None:
    assert a_logs == [["error", "A1 error"], ["error", "A2 error"]]
    assert b_logs == [[level, f"B{n} {level}"] for n in (1, 2) for level in ("debug", "info", "warning", "error")]


@pytest.mark.parametrize("server", ["catsse", "catstdio", "catlegacy"])
async def test_direct_logging_pair(request, server: str) -> None:
    check_pair(*await logging_pair(request, server, via_gateway=False))


@pytest.mark.parametrize("server", ["catsse", "catstdio", "catlegacy"])
async def test_shared_upstream_keeps_each_clients_logs_and_level(request, server: str) -> None:
    check_pair(*await logging_pair(request, server, via_gateway=False))
    check_pair(*await logging_pair(request, server, via_gateway=True))
