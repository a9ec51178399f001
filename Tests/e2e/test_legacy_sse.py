"""The 2024-11-05 HTTP+SSE transport on the client side: `GET /sse` + `POST /messages?sessionId=…`, aggregated and per
server, driven by the official SDK's `sse_client` and by raw HTTP."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from mcp import ClientSession
from mcp.client.sse import sse_client

from conftest import Gateway, SSEStreamReader, http_client, text, wait_until

TIMEOUT = 15.0


@pytest.mark.parametrize(
    "server,tool,arguments,expected",
    [
        ("demo", "echo", {"text": "sse over stdio"}, "sse over stdio"),
        ("demohttp", "echo", {"text": "sse over http"}, "sse over http"),
        ("sdksse", "echo", {"text": "sse sdk"}, "sse sdk"),
        ("sdkjson", "echo", {"text": "sse sdk json"}, "sse sdk json"),
    ],
)
async def test_sse_client_aggregated_and_per_server(gateway: Gateway, server, tool, arguments, expected) -> None:
    for url, name in ((f"{gateway.url}/sse", f"{server}__{tool}"), (f"{gateway.mcp(server)}/sse", tool)):
        async with sse_client(url, timeout=TIMEOUT) as (read, write):
            async with ClientSession(read, write) as session:
                await asyncio.wait_for(session.initialize(), TIMEOUT)
                names = {t.name for t in (await session.list_tools()).tools}
                assert name in names
                result = await asyncio.wait_for(session.call_tool(name, arguments), TIMEOUT)
                assert not result.is_error and text(result) == expected


async def test_sse_client_progress_and_resources(gateway: Gateway) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with sse_client(f"{gateway.url}/sse", timeout=TIMEOUT) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("sdksse__progress", {"steps": 3}, progress_callback=on_progress)
            assert text(result) == "sdk done after 3 steps"
            readme = await session.read_resource("demo://readme")
            assert readme.contents[0].text == "# Demo\nThe gateway's built-in demo server."
    assert seen == [1, 2, 3]


async def test_raw_endpoint_event_and_message_rules(gateway: Gateway) -> None:
    async with http_client() as http:
        async with http.stream("GET", f"{gateway.mcp('demo')}/sse", headers={"Accept": "text/event-stream"}) as stream:
            assert stream.status_code == 200
            reader = SSEStreamReader(stream)
            first = await asyncio.wait_for(reader.next_block(), TIMEOUT)
            assert first.startswith("event: endpoint\n")
            match = re.search(r"data: (/mcp/demo/messages\?sessionId=([0-9a-f]{32}))$", first)
            assert match, first
            endpoint, session_id = match.group(1), match.group(2)
            post_url = f"{gateway.url}{endpoint}"

            init = {
                "jsonrpc": "2.0",
                "id": "i",
                "method": "initialize",
                "params": {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
            }
            accepted = await http.post(post_url, content=json.dumps(init), headers={"Content-Type": "application/json"})
            assert accepted.status_code == 202
            answer = await asyncio.wait_for(reader.next_message(), TIMEOUT)
            assert answer["id"] == "i" and answer["result"]["protocolVersion"] == "2024-11-05"

            # session_id spelling works too; the answer arrives on the stream, not in the POST.
            call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "raw"}}}
            response = await http.post(
                f"{gateway.mcp('demo')}/messages?session_id={session_id}",
                content=json.dumps(call),
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 202
            answer = await asyncio.wait_for(reader.next_message(), TIMEOUT)
            assert answer["id"] == 9 and answer["result"]["content"][0]["text"] == "raw"

            headers = {"Content-Type": "application/json"}
            # Unknown session, missing session, bad JSON, and a session of another endpoint.
            assert (await http.post(f"{gateway.url}/mcp/demo/messages?sessionId={'0' * 32}", content="{}", headers=headers)).status_code == 404
            assert (await http.post(f"{gateway.url}/mcp/demo/messages", content="{}", headers=headers)).status_code == 400
            bad = await http.post(post_url, content="{not json", headers=headers)
            assert bad.status_code == 400 and bad.json()["error"]["code"] == -32700
            other = await http.post(f"{gateway.url}/messages?sessionId={session_id}", content=json.dumps(call), headers=headers)
            assert other.status_code == 404
    # Once the stream is closed, the session is gone. The gateway notices when a write fails: TCP reports the closed
    # peer on the write after the first keep-alive (every 15 s), so this takes up to about 30 s.
    async with http_client() as http:
        ping = {"jsonrpc": "2.0", "method": "notifications/initialized"}

        async def gone() -> bool:
            response = await http.post(post_url, content=json.dumps(ping), headers={"Content-Type": "application/json"})
            return response.status_code == 404

        await wait_until(gone, 40.0, interval=0.5, what="the closed HTTP+SSE session to be removed")


async def test_request_before_initialize_is_refused_on_the_stream(gateway: Gateway) -> None:
    async with http_client() as http:
        async with http.stream("GET", f"{gateway.url}/sse", headers={"Accept": "text/event-stream"}) as stream:
            reader = SSEStreamReader(stream)
            endpoint = re.search(r"data: (\S+)", await asyncio.wait_for(reader.next_block(), TIMEOUT)).group(1)
            call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
            assert (await http.post(f"{gateway.url}{endpoint}", content=json.dumps(call), headers={"Content-Type": "application/json"})).status_code == 202

            message = await asyncio.wait_for(reader.next_message(), TIMEOUT)
            assert message["id"] == 1 and message["error"]["code"] == -32600
            assert "initialize" in message["error"]["message"]
