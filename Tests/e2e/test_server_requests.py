"""Server-to-client requests in the legacy era: `sampling/createMessage`, `elicitation/create`, `roots/list`.

The extended catalogue's `ask_sampling`, `ask_elicitation` and `ask_roots` tools ask the client (on the call's own
stream, as requests related to the call) and return what it answered, as JSON text. Each case runs straight against
the fixture first (`direct`, no gateway needed), then through `/mcp/{server}` and `/mcp`. With two clients at once,
each one's callback must get only its own request (every answer echoes a per-client marker). Over a connection whose
messages name no request (stdio, HTTP+SSE) the gateway places a request only when one client has calls in flight;
otherwise it refuses it rather than guess.

Upstreams: the catalogue over Streamable HTTP with SSE answers (`catsse`), over stdio (`catstdio`), and over the
legacy HTTP+SSE transport (`catlegacy`). In JSON-answer mode (`catjson`) the server has no channel for requests
during a call; there the tool fails the same way with and without the gateway.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import mcp_types as types
import pytest
from mcp import Client, ClientSession
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from conftest import (
    CATALOGUE_SERVER,
    GATEWAY_BIN,
    LATEST,
    PYTHON,
    RawSession,
    SSEStreamReader,
    final_message,
    http_client,
    modern_headers,
    modern_meta,
    modern_request,
    text_of,
    text,
    websocket_transport,
    ws_url,
)

TIMEOUT = 15.0
GATEWAYS = {"catsse": "catalogue_gateway", "catstdio": "catalogue_gateway", "catjson": "catalogue_gateway",
            "catlegacy": "legacy_upstream_gateway"}
FIXTURES = {"catsse": "cat_sse", "catjson": "cat_json", "catlegacy": "cat_legacy"}


def where_to(request: pytest.FixtureRequest, server: str, where: str) -> tuple[Any, str]:
    """(what to give `Client`, tool-name prefix) for `where` = direct, per-server or aggregated (Streamable HTTP), or
    per-server through another client door: `sse` (HTTP+SSE), `ws` (WebSocket), `connect` (the stdio bridge)."""
    if where == "direct":
        if server == "catstdio":
            return StdioServerParameters(command=PYTHON, args=[str(CATALOGUE_SERVER), "--transport", "stdio"]), ""
        url = request.getfixturevalue(FIXTURES[server]).url
        return (sse_client(url, timeout=TIMEOUT) if server == "catlegacy" else url), ""
    gw = request.getfixturevalue(GATEWAYS[server])
    if where == "sse":
        return sse_client(gw.mcp(server) + "/sse", timeout=TIMEOUT), ""
    if where == "ws":
        return websocket_transport(ws_url(gw.mcp(server)) + "/ws"), ""
    if where == "connect":
        return StdioServerParameters(command=GATEWAY_BIN, args=["connect", gw.mcp(server)]), ""
    return (gw.mcp(server), "") if where == "per-server" else (gw.mcp(), f"{server}__")


class Answers:
    """Callbacks for one client: each records what the server asked and answers with this client's marker.

    `barrier` (optional) holds every callback until `expected` callbacks across clients are running at once, so
    concurrent requests really are in flight together."""

    def __init__(self, marker: str, barrier: "Barrier | None" = None) -> None:
        self.marker = marker
        self.barrier = barrier
        self.seen: list[tuple[str, Any]] = []

    async def _hold(self) -> None:
        if self.barrier is not None:
            await self.barrier.arrive()

    async def sampling(self, context, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.seen.append(("sampling", [params.max_tokens, params.messages[0].role, params.messages[0].content.text]))
        await self._hold()
        reply = f"{self.marker} answers {params.messages[0].content.text}"
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text=reply),
                                         model=f"model-{self.marker}")

    async def elicitation(self, context, params) -> types.ElicitResult:
        self.seen.append(("elicitation", [params.message, params.requested_schema]))
        await self._hold()
        return types.ElicitResult(action="accept", content={"answer": f"{self.marker} says yes to {params.message}"})

    async def roots(self, context) -> types.ListRootsResult:
        self.seen.append(("roots", None))
        await self._hold()
        return types.ListRootsResult(roots=[types.Root(uri=f"file:///work/{self.marker}", name=f"root-{self.marker}")])

    def client_kwargs(self) -> dict[str, Any]:
        return {"sampling_callback": self.sampling, "elicitation_callback": self.elicitation,
                "list_roots_callback": self.roots}


class Barrier:
    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.count = 0
        self.released = asyncio.Event()

    async def arrive(self) -> None:
        self.count += 1
        if self.count >= self.parties:
            self.released.set()
        try:
            await asyncio.wait_for(self.released.wait(), 10)
        except asyncio.TimeoutError:
            raise AssertionError(f"only {self.count} of {self.parties} server requests were in flight together") from None


def connect(target: Any, answers: Answers) -> Client:
    return Client(target, mode="legacy", read_timeout_seconds=TIMEOUT, cache=None, **answers.client_kwargs())


SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def expected_answer(tool: str, marker: str, ask: str) -> Any:
    if tool == "ask_sampling":
        return {"model": f"model-{marker}", "role": "assistant", "text": f"{marker} answers {ask}"}
    if tool == "ask_elicitation":
        return {"action": "accept", "content": {"answer": f"{marker} says yes to {ask}"}}
    return [{"uri": f"file:///work/{marker}", "name": f"root-{marker}"}]


def expected_seen(tool: str, ask: str) -> tuple[str, Any]:
    if tool == "ask_sampling":
        return ("sampling", [64, "user", ask])
    if tool == "ask_elicitation":
        return ("elicitation", [ask, SCHEMA])
    return ("roots", None)


def arguments(tool: str, ask: str) -> dict[str, Any]:
    return {"ask_sampling": {"prompt": ask}, "ask_elicitation": {"question": ask}, "ask_roots": {}}[tool]


TOOLS = ["ask_sampling", "ask_elicitation", "ask_roots"]
WHERES = ["direct", "per-server", "aggregated"]
DOORS = ["sse", "ws", "connect"]


@pytest.mark.parametrize("where", WHERES + DOORS)
@pytest.mark.parametrize("server", ["catsse", "catstdio", "catlegacy"])
@pytest.mark.parametrize("tool", TOOLS)
async def test_answer_round_trips(request, tool: str, server: str, where: str) -> None:
    target, prefix = where_to(request, server, where)
    answers = Answers("solo")
    ask = f"question for {tool} via {where}"
    async with connect(target, answers) as c:
        result = await asyncio.wait_for(c.call_tool(f"{prefix}{tool}", arguments(tool, ask)), 30)
        assert not result.is_error, text(result)
        assert json.loads(text(result)) == expected_answer(tool, "solo", ask)
    assert answers.seen == [expected_seen(tool, ask)]


@pytest.mark.parametrize("where", WHERES + DOORS)
@pytest.mark.parametrize("server", ["catsse"])
@pytest.mark.parametrize("tool", TOOLS)
async def test_concurrent_clients_each_get_their_own_request(request, tool: str, server: str, where: str) -> None:
    barrier = Barrier(2)
    a, b = Answers("alpha", barrier), Answers("beta", barrier)
    target_a, prefix = where_to(request, server, where)
    target_b, _ = where_to(request, server, where)
    async with connect(target_a, a) as ca, connect(target_b, b) as cb:
        result_a, result_b = await asyncio.wait_for(
            asyncio.gather(
                ca.call_tool(f"{prefix}{tool}", arguments(tool, "from alpha")),
                cb.call_tool(f"{prefix}{tool}", arguments(tool, "from beta")),
            ),
            30,
        )
    assert json.loads(text(result_a)) == expected_answer(tool, "alpha", "from alpha")
    assert json.loads(text(result_b)) == expected_answer(tool, "beta", "from beta")
    assert a.seen == [expected_seen(tool, "from alpha")]
    assert b.seen == [expected_seen(tool, "from beta")]


class HeldSampling(Answers):
    """Answers sampling only once `release` is set, and sets `asked` when the request arrives."""

    def __init__(self, marker: str) -> None:
        super().__init__(marker)
        self.asked = asyncio.Event()
        self.release = asyncio.Event()

    async def sampling(self, context, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        result = await super().sampling(context, params)
        self.asked.set()
        await asyncio.wait_for(self.release.wait(), TIMEOUT)
        return result


@pytest.mark.parametrize("where", ["per-server", "aggregated"])
@pytest.mark.parametrize("server", ["catstdio", "catlegacy"])
async def test_shared_connection_never_guesses_the_client(request, server: str, where: str) -> None:
    """Over stdio and HTTP+SSE a server's request names no call, and the gateway shares one connection between
    clients. While one client's call is in flight the request is that client's; while calls of two clients are in
    flight it is refused (the server's tool fails with the reason), never sent to a guess."""
    a, b = HeldSampling("alpha"), Answers("beta")
    target_a, prefix = where_to(request, server, where)
    target_b, _ = where_to(request, server, where)
    async with connect(target_a, a) as ca, connect(target_b, b) as cb:
        call_a = asyncio.create_task(ca.call_tool(f"{prefix}ask_sampling", {"prompt": "from alpha"}))
        await asyncio.wait_for(a.asked.wait(), TIMEOUT)
        with pytest.raises(MCPError) as caught:
            await asyncio.wait_for(cb.call_tool(f"{prefix}ask_sampling", {"prompt": "from beta"}), 30)
        a.release.set()
        result_a = await asyncio.wait_for(call_a, 30)
    assert caught.value.message.endswith(
        "The gateway cannot relay sampling/createMessage: 2 clients have requests in flight on this shared "
        "connection, and the request names none of them"
    ), caught.value.message
    assert json.loads(text(result_a)) == expected_answer("ask_sampling", "alpha", "from alpha")
    assert a.seen == [expected_seen("ask_sampling", "from alpha")]
    assert b.seen == []


@pytest.mark.parametrize("where", WHERES)
async def test_all_three_in_one_session(request, where: str) -> None:
    """Sampling, elicitation and roots one after another on one session, with a call in between."""
    target, prefix = where_to(request, "catsse", where)
    answers = Answers("one")
    async with connect(target, answers) as c:
        for tool in TOOLS:
            result = await asyncio.wait_for(c.call_tool(f"{prefix}{tool}", arguments(tool, f"ask {tool}")), 30)
            assert json.loads(text(result)) == expected_answer(tool, "one", f"ask {tool}")
            assert text(await c.call_tool(f"{prefix}echo", {"text": "between"})) == "between"
    assert answers.seen == [expected_seen(tool, f"ask {tool}") for tool in TOOLS]


@pytest.mark.parametrize("where", WHERES)
async def test_json_answer_mode_has_no_channel_for_requests(request, where: str) -> None:
    """A server answering with plain JSON cannot ask during a call; the error is the same with and without the gateway."""
    target, prefix = where_to(request, "catjson", where)
    answers = Answers("unused")
    async with connect(target, answers) as c:
        with pytest.raises(MCPError) as caught:
            await asyncio.wait_for(c.call_tool(f"{prefix}ask_sampling", {"prompt": "x"}), 30)
    assert caught.value.message == (
        "Cannot send 'sampling/createMessage': this transport context has no back-channel for server-initiated requests."
    )
    assert answers.seen == []


@pytest.mark.parametrize("server", ["catsse", "catstdio"])
async def test_http_sse_client_answers_a_sampling_request(request, server: str) -> None:
    """A 2024-11-05 HTTP+SSE client of the gateway (`/mcp/{server}/sse`) gets the request on its stream too."""
    gw = request.getfixturevalue(GATEWAYS[server])
    answers = Answers("sse")
    async with sse_client(f"{gw.mcp(server)}/sse", timeout=TIMEOUT) as (read, write):
        async with ClientSession(read, write, sampling_callback=answers.sampling) as session:
            await asyncio.wait_for(session.initialize(), TIMEOUT)
            result = await asyncio.wait_for(session.call_tool("ask_sampling", {"prompt": "over http+sse"}), 30)
    assert json.loads(text(result)) == expected_answer("ask_sampling", "sse", "over http+sse")
    assert answers.seen == [expected_seen("ask_sampling", "over http+sse")]


# --- a 2026-07-28 client: the upstream's requests become input_required ---------------------------------------------


@pytest.mark.parametrize("where", ["per-server", "aggregated"])
@pytest.mark.parametrize("server", ["catsse", "catstdio", "catlegacy"])
@pytest.mark.parametrize("tool", TOOLS)
async def test_modern_client_answers_through_input_required(request, tool: str, server: str, where: str) -> None:
    """The session-based upstream asks during the call; the 2026-07-28 client gets `input_required`, answers, and
    its retry completes the very call that asked (the SDK drives the rounds)."""
    target, prefix = where_to(request, server, where)
    answers = Answers("modern")
    ask = f"modern {tool} via {where}"
    async with Client(target, mode="2026-07-28", read_timeout_seconds=TIMEOUT, cache=None,
                      **answers.client_kwargs()) as c:
        result = await asyncio.wait_for(c.call_tool(f"{prefix}{tool}", arguments(tool, ask)), 30)
        assert not result.is_error, text(result)
        assert json.loads(text(result)) == expected_answer(tool, "modern", ask)
        assert text(await c.call_tool(f"{prefix}echo", {"text": "after"})) == "after"
    assert answers.seen == [expected_seen(tool, ask)]


CAPABLE = {"sampling": {}, "elicitation": {}, "roots": {}}


def modern_call(tool: str, arguments: dict[str, Any], *, id: Any, **extra: Any) -> dict[str, Any]:
    meta = modern_meta(**{"io.modelcontextprotocol/clientCapabilities": CAPABLE})
    return modern_request("tools/call", {"name": tool, "arguments": arguments, **extra}, id=id, meta=meta)


async def post_modern(http, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(url, json=body, headers=modern_headers(body))
    assert response.status_code == 200, response.text
    return final_message(response)


async def test_request_state_is_one_use_and_bound_to_its_request(catalogue_gateway) -> None:
    """Raw 2026-07-28 requests: the first answer is `input_required` with the upstream's request under a key; a
    retry with other params or a forged state is refused with -32602 and leaves the call parked; the right retry
    completes it under the retry's own id; the state cannot be used again."""
    url = catalogue_gateway.mcp("catsse")
    async with http_client() as http:
        first = await post_modern(http, url, modern_call("ask_sampling", {"prompt": "raw"}, id="first"))
        assert first["id"] == "first"
        result = first["result"]
        assert result["resultType"] == "input_required"
        [(key, asked)] = result["inputRequests"].items()
        assert asked["method"] == "sampling/createMessage"
        assert asked["params"]["messages"][0]["content"]["text"] == "raw"
        state = result["requestState"]
        answer = {key: {"role": "assistant", "content": {"type": "text", "text": "raw answer"}, "model": "m"}}

        for wrong, reason in [
            (modern_call("ask_sampling", {"prompt": "other"}, id=2, inputResponses=answer, requestState=state),
             "belongs to another request"),
            (modern_call("ask_sampling", {"prompt": "raw"}, id=3, inputResponses=answer, requestState=state + "x"),
             "is not one this gateway issued"),
        ]:
            refused = await post_modern(http, url, wrong)
            assert refused["error"]["code"] == -32602, refused
            assert reason in refused["error"]["message"], refused
        # The refused retries left the call parked: the right one (params rebuilt in another order) continues it.
        reordered = modern_call("ask_sampling", {"prompt": "raw"}, id="retry", inputResponses=answer,
                                requestState=state)
        reordered["params"] = dict(reversed(list(reordered["params"].items())))
        assert list(reordered["params"])[-2:] == ["arguments", "name"]
        done = await post_modern(http, url, reordered)
        assert done["id"] == "retry"
        assert done["result"]["resultType"] == "complete"
        assert json.loads(done["result"]["content"][0]["text"])["text"] == "raw answer"
        replay = await post_modern(
            http, url, modern_call("ask_sampling", {"prompt": "raw"}, id=5, inputResponses=answer,
                                   requestState=state))
        assert replay["error"]["code"] == -32602 and "was used already" in replay["error"]["message"], replay


async def test_modern_client_without_the_capability_is_not_asked(catalogue_gateway) -> None:
    """A 2026-07-28 client that declared no sampling is never sent `input_required` for it: the upstream hears why."""
    url = catalogue_gateway.mcp("catsse")
    body = modern_request("tools/call", {"name": "ask_sampling", "arguments": {"prompt": "x"}}, id=1)
    async with http_client() as http:
        answer = await post_modern(http, url, body)
    assert "input_required" not in json.dumps(answer)
    assert "did not declare the sampling capability" in json.dumps(answer), answer


@pytest.mark.parametrize("server", ["catstdio", "catlegacy"])
async def test_an_ended_session_leaves_nothing_in_flight(request, server: str) -> None:
    """A session deleted while the server waits for its answer: its calls are cancelled upstream, so the shared
    connection has no other client's call in flight and serves the next client's requests again."""
    gw = request.getfixturevalue(GATEWAYS[server])
    url = gw.mcp(server)
    async with http_client() as http:
        session = RawSession(http, url)
        init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": LATEST, "capabilities": {"sampling": {}},
                           "clientInfo": {"name": "leaves", "version": "1"}}}
        response = await session.post(init, session=False)
        session.session_id = response.headers["mcp-session-id"]
        session.version = final_message(response)["result"]["protocolVersion"]
        assert (await session.post({"jsonrpc": "2.0", "method": "notifications/initialized"})).status_code == 202
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "ask_sampling", "arguments": {"prompt": "never answered"}}}
        async with http.stream("POST", url, content=json.dumps(call), headers=session.headers()) as streamed:
            asked = await asyncio.wait_for(SSEStreamReader(streamed).next_message(), TIMEOUT)
            assert asked["method"] == "sampling/createMessage", asked
            assert (await session.delete()).status_code == 200
    answers = Answers("next")
    async with connect(url, answers) as c:
        result = await asyncio.wait_for(c.call_tool("ask_sampling", {"prompt": "after"}), 30)
    assert json.loads(text(result)) == expected_answer("ask_sampling", "next", "after")


async def test_an_answer_to_nothing_is_accepted_and_changes_nothing(catalogue_gateway) -> None:
    """A response the client POSTs for a request nobody sent it (an id the gateway never minted) gets 202 and goes
    nowhere: the session keeps working, and a later relayed request still round-trips."""
    url = catalogue_gateway.mcp("catsse")
    async with http_client() as http:
        session = RawSession(http, url)
        await session.initialize()
        for stray in ({"jsonrpc": "2.0", "id": 987654, "result": {}},
                      {"jsonrpc": "2.0", "id": "nobody", "error": {"code": -1, "message": "no"}}):
            assert (await session.post(stray)).status_code == 202
        assert text_of((await session.call("echo", {"text": "still here"}))["result"]) == "still here"
    answers = Answers("after-stray")
    async with connect(url, answers) as c:
        result = await asyncio.wait_for(c.call_tool("ask_roots", {}), 30)
    assert json.loads(text(result)) == expected_answer("ask_roots", "after-stray", "")
