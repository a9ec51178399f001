"""Resumable answer streams (2025-03-26 … 2025-11-25): a session client whose connection breaks during a call
reconnects with `GET` and `Last-Event-ID` and reads on from the next event; a disconnect is not a cancellation.

The call is `ask_elicitation` on the catalogue (a session-based upstream), which waits for the client's answer, so the
break happens at a known point: after the request to the client, before the result.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from conftest import ACCEPT_BOTH, Gateway, RawSession, SSEStreamReader, http_client

TIMEOUT = 15.0
CALL = {"name": "ask_elicitation", "arguments": {"question": "resume?"}}
ELICITATION = {"elicitation": {"form": {}}}


def event(block: str) -> tuple[str | None, str]:
    """(id, data) of a raw SSE event block."""
    fields: dict[str, list[str]] = {}
    for line in block.splitlines():
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
    return (fields.get("id") or [None])[-1], "\n".join(fields.get("data", []))


async def next_event(reader: SSEStreamReader) -> tuple[str | None, str]:
    while True:
        block = await asyncio.wait_for(reader.next_block(), TIMEOUT)
        if any(not line.startswith(":") for line in block.splitlines() if line):
            return event(block)


async def session_at(http, url: str, version: str) -> RawSession:
    session = RawSession(http, url)
    body = {
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": ELICITATION, "clientInfo": {"name": "e2e", "version": "1"}},
    }
    response = await http.post(url, json=body, headers={"Content-Type": "application/json", "Accept": ACCEPT_BOTH})
    session.session_id = response.headers["mcp-session-id"]
    session.version = version
    assert (await session.post({"jsonrpc": "2.0", "method": "notifications/initialized"})).status_code == 202
    return session


def get_headers(session: RawSession, last_event_id: str) -> dict[str, str]:
    headers = session.headers({"Accept": "text/event-stream", "Last-Event-ID": last_event_id})
    headers.pop("Content-Type")
    return headers


async def answer(session: RawSession, request: dict[str, Any]) -> None:
    reply = {"jsonrpc": "2.0", "id": request["id"], "result": {"action": "accept", "content": {"answer": "yes"}}}
    assert (await session.post(reply)).status_code == 202


@pytest.mark.parametrize("server", ["catsse", "catstdio"])
async def test_a_broken_answer_stream_is_resumed_and_the_call_completes(catalogue_gateway: Gateway, server: str) -> None:
    async with http_client() as http:
        session = await session_at(http, catalogue_gateway.mcp(server), "2025-11-25")
        body = json.dumps({"jsonrpc": "2.0", "id": "c1", "method": "tools/call", "params": CALL})
        async with http.stream("POST", session.url, content=body, headers=session.headers()) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            reader = SSEStreamReader(stream)
            priming = await next_event(reader)
            assert priming[1] == "" and priming[0] is not None  # an id, no data: the client can resume from here
            first_id, first = await next_event(reader)
            asked = json.loads(first)
            assert asked["method"] == "elicitation/create" and first_id is not None
        # The connection is gone; the call is not cancelled. Resume after the priming event: the request again.
        async with http.stream("GET", session.url, headers=get_headers(session, priming[0])) as resumed:
            assert resumed.status_code == 200
            reader = SSEStreamReader(resumed)
            again_id, again = await next_event(reader)
            assert (again_id, json.loads(again)) == (first_id, asked)
            await answer(session, asked)
            final_id, final = await next_event(reader)
            result = json.loads(final)
            assert result["id"] == "c1"
            assert json.loads(result["result"]["content"][0]["text"]) == {"action": "accept", "content": {"answer": "yes"}}
        # The finished stream is still readable from an earlier event, ending with the result.
        async with http.stream("GET", session.url, headers=get_headers(session, first_id)) as late:
            assert late.status_code == 200
            assert await next_event(SSEStreamReader(late)) == (final_id, final)


async def test_no_priming_event_before_2025_11_25(catalogue_gateway: Gateway) -> None:
    async with http_client() as http:
        session = await session_at(http, catalogue_gateway.mcp("catsse"), "2025-06-18")
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": CALL})
        async with http.stream("POST", session.url, content=body, headers=session.headers()) as stream:
            reader = SSEStreamReader(stream)
            first_id, first = await next_event(reader)
            assert json.loads(first)["method"] == "elicitation/create" and first_id is not None
            await answer(session, json.loads(first))
            assert json.loads((await next_event(reader))[1])["id"] == 1


@pytest.mark.parametrize("last_event_id", ["r999-1", "nonsense", "r1-999"])
async def test_an_unknown_event_id_is_refused(catalogue_gateway: Gateway, last_event_id: str) -> None:
    async with http_client() as http:
        session = await session_at(http, catalogue_gateway.mcp("catsse"), "2025-11-25")
        response = await http.get(session.url, headers=get_headers(session, last_event_id))
        assert response.status_code == 400
        assert "Last-Event-ID" in response.json()["error"]["message"]


async def test_the_get_stream_is_resumed_with_what_came_while_it_was_closed(catalogue_gateway: Gateway) -> None:
    """List changes pushed while the client's GET stream was down reach it when it resumes."""
    async with http_client() as http:
        session = await session_at(http, catalogue_gateway.mcp("catsse"), "2025-11-25")
        headers = get_headers(session, "")
        headers.pop("Last-Event-ID")
        call = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "announce_tools_changed", "arguments": {}}}
        async with http.stream("GET", session.url, headers=headers) as stream:
            reader = SSEStreamReader(stream)
            assert await next_event(reader) == ("g-0", "")  # priming
            assert (await session.post(call)).status_code == 200
            seen_id, seen = await next_event(reader)
            assert json.loads(seen)["method"] == "notifications/tools/list_changed"
        call["id"] = 6
        assert (await session.post(call)).status_code == 200  # while no GET stream is open
        async with http.stream("GET", session.url, headers=get_headers(session, seen_id)) as resumed:
            assert resumed.status_code == 200
            missed_id, missed = await next_event(SSEStreamReader(resumed))
            assert json.loads(missed)["method"] == "notifications/tools/list_changed"
            assert int(missed_id[2:]) > int(seen_id[2:])
