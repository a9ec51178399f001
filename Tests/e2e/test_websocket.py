"""MCP over WebSocket (`/ws`, `/mcp/{server}/ws`) and the `mcp-gateway connect` stdio bridge: the transport's rules
and bad input. (That both carry every scenario exactly like a direct connection is `test_differential.py`'s
`test_every_door_matches_direct`; server-to-client requests over them are in `test_server_requests.py`.)
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

import httpx2
import pytest
import websockets
from mcp import Client

from conftest import GATEWAY_BIN, Gateway, demo_stdio, text, websocket_transport, ws_url

TIMEOUT = 15.0
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "e2e-ws", "version": "1"}},
}


@pytest.fixture(scope="module")
def ws_gateway(tmp_path_factory) -> Any:
    config = {"mcpServers": {"demo": demo_stdio()}, "limits": {"requestHeadTimeout": "1s"}}
    gw = Gateway(tmp_path_factory.mktemp("ws-gateway"), config)
    gw.shared = True
    gw.start()
    yield gw
    gw.stop_and_check()


def endpoint(gw: Gateway, server: str | None = None) -> str:
    return ws_url(gw.url) + ("/ws" if server is None else f"/mcp/{server}/ws")


async def exchange(ws, message: Any) -> dict[str, Any]:
    await ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))


async def initialized(ws, version: str = "2025-11-25") -> dict[str, Any]:
    body = json.loads(json.dumps(INITIALIZE))
    body["params"]["protocolVersion"] = version
    answer = await exchange(ws, body)
    await ws.send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    return answer


async def test_the_sdk_client_over_websocket_lists_and_calls(ws_gateway) -> None:
    async with Client(websocket_transport(endpoint(ws_gateway)), mode="legacy", read_timeout_seconds=TIMEOUT) as c:
        tools = {tool.name for tool in (await c.list_tools()).tools}
        assert "demo__echo" in tools
        assert text(await c.call_tool("demo__echo", {"text": "over a websocket"})) == "over a websocket"
    async with Client(websocket_transport(endpoint(ws_gateway, "demo")), mode="legacy", read_timeout_seconds=TIMEOUT) as c:
        assert text(await c.call_tool("echo", {"text": "one server"})) == "one server"


async def test_the_upgrade_answers_with_the_mcp_subprotocol(ws_gateway) -> None:
    async with websockets.connect(endpoint(ws_gateway), subprotocols=["chat", "mcp"]) as ws:
        assert ws.subprotocol == "mcp"


@pytest.mark.parametrize(
    "path, headers, status, reason",
    [
        ("/ws", {}, 426, "MCP over WebSocket"),
        ("/ws", {"Sec-WebSocket-Protocol": "chat"}, 426, "MCP over WebSocket"),
        ("/mcp/nosuch/ws", {"Sec-WebSocket-Protocol": "mcp"}, 404, "nosuch"),
        ("/ws", {"Sec-WebSocket-Protocol": "mcp", "Origin": "https://evil.example"}, 403, "https://evil.example"),
    ],
)
async def test_a_refused_upgrade_is_400_and_a_plain_get_says_why(ws_gateway, path, headers, status, reason) -> None:
    """The WebSocket layer refuses with a bare 400; the same request without the upgrade runs the same checks and
    answers with the reason (or 426 when only the subprotocol was missing: a plain GET offers none)."""
    ws_headers = {k: v for k, v in headers.items() if k != "Sec-WebSocket-Protocol"}
    protocols = [headers["Sec-WebSocket-Protocol"]] if "Sec-WebSocket-Protocol" in headers else None
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(ws_url(ws_gateway.url) + path, subprotocols=protocols,
                                      additional_headers=ws_headers):
            pass
    assert refused.value.response.status_code == 400
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        response = await http.get(ws_gateway.url + path, headers=headers)
    assert response.status_code == status, response.text
    assert reason in response.json()["error"]["message"], response.text


async def test_a_plain_get_is_told_to_upgrade(ws_gateway) -> None:
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        response = await http.get(ws_gateway.url + "/ws")
    assert response.status_code == 426
    assert response.headers["upgrade"] == "websocket"
    assert "MCP over WebSocket" in response.json()["error"]["message"]


async def test_a_non_browser_origin_is_accepted(ws_gateway) -> None:
    async with websockets.connect(endpoint(ws_gateway), subprotocols=["mcp"], origin="ws://127.0.0.1") as ws:
        assert (await initialized(ws))["result"]["protocolVersion"] == "2025-11-25"


async def test_requests_before_initialize_and_text_that_is_not_json_get_errors_and_the_connection_stays(
    ws_gateway,
) -> None:
    async with websockets.connect(endpoint(ws_gateway), subprotocols=["mcp"]) as ws:
        early = await exchange(ws, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert early["error"]["code"] == -32600 and "initialize" in early["error"]["message"]
        assert (await exchange(ws, {"jsonrpc": "2.0", "id": 2, "method": "ping"}))["result"] == {}
        await initialized(ws)
        garbage = await exchange(ws, "this is not json")
        assert garbage["id"] is None and garbage["error"]["code"] == -32700
        duplicate = await exchange(ws, '{"jsonrpc":"2.0","id":3,"id":4,"method":"ping"}')
        assert duplicate["error"]["code"] == -32600
        again = await exchange(ws, INITIALIZE)
        assert again["error"]["code"] == -32600 and "initialised already" in again["error"]["message"]
        call = await exchange(ws, {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                                   "params": {"name": "demo__echo", "arguments": {"text": "still here"}}})
        assert call["result"]["content"][0]["text"] == "still here"


async def test_batches_only_at_2025_03_26(ws_gateway) -> None:
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "id": 2, "method": "ping"}]
    async with websockets.connect(endpoint(ws_gateway), subprotocols=["mcp"]) as ws:
        await initialized(ws, "2025-03-26")
        answers = await exchange(ws, batch)
        assert sorted(answer["id"] for answer in answers) == [1, 2]
    async with websockets.connect(endpoint(ws_gateway), subprotocols=["mcp"]) as ws:
        await initialized(ws)
        refused = await exchange(ws, batch)
        assert refused["error"]["code"] == -32600 and "2025-03-26" in refused["error"]["message"]


async def test_a_binary_frame_closes_with_1003(ws_gateway) -> None:
    async with websockets.connect(endpoint(ws_gateway), subprotocols=["mcp"]) as ws:
        await initialized(ws)
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert closed.value.rcvd.code == 1003
    assert "text frames" in closed.value.rcvd.reason


@pytest.mark.parametrize("fragmented", [False, True])
async def test_a_message_over_the_body_limit_closes_with_1009(ws_gateway, fragmented: bool) -> None:
    """One frame, or many frames of one message, over `limits.maxRequestBodyBytes` (1 MiB)."""
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "demo__echo", "arguments": {"text": "x" * (1024 * 1024 + 10)}}})
    async with websockets.connect(endpoint(ws_gateway), subprotocols=["mcp"], max_size=None) as ws:
        await initialized(ws)
        if fragmented:
            await ws.send(big[i:i + 65536] for i in range(0, len(big), 65536))
        else:
            await ws.send(big)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    # The gateway still serves the next client.
    async with websockets.connect(endpoint(ws_gateway), subprotocols=["mcp"]) as ws:
        assert "result" in await initialized(ws)


async def test_a_message_at_the_limit_is_served(ws_gateway) -> None:
    text_size = 1024 * 1024 - 200
    async with websockets.connect(endpoint(ws_gateway), subprotocols=["mcp"], max_size=None) as ws:
        await initialized(ws)
        answer = await exchange(ws, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                     "params": {"name": "demo__echo", "arguments": {"text": "y" * text_size}}})
        assert len(answer["result"]["content"][0]["text"]) == text_size


async def test_concurrent_requests_on_one_connection_are_answered_by_id(ws_gateway) -> None:
    """200 calls sent at once: each is answered under its own id, with its own result, or refused while 64 are in
    flight; none is lost."""
    async with websockets.connect(endpoint(ws_gateway), subprotocols=["mcp"]) as ws:
        await initialized(ws)
        for i in range(200):
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                                      "params": {"name": "demo__echo", "arguments": {"text": f"n{i}"}}}))
        answers = {}
        while len(answers) < 200:
            message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            answers[message["id"]] = message
    assert set(answers) == set(range(200))
    served = {i for i, m in answers.items() if "result" in m}
    assert len(served) >= 64 and all(answers[i]["result"]["content"][0]["text"] == f"n{i}" for i in served)
    assert all(answers[i]["error"]["code"] == -32603 for i in set(answers) - served)


async def test_a_busy_connection_refuses_the_65th_request_and_keeps_reading(ws_gateway) -> None:
    """64 requests may be in flight on one connection; one more is refused at once, and answers to everything
    else (here: the client's cancellation of one call) are still read while the 64 run."""
    slow = {"name": "demo__slow", "arguments": {"steps": 1, "delayMs": 1500}}
    async with websockets.connect(endpoint(ws_gateway), subprotocols=["mcp"]) as ws:
        await initialized(ws)
        for i in range(64):
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": slow}))
        refused = await exchange(ws, {"jsonrpc": "2.0", "id": 64, "method": "tools/call", "params": slow})
        assert refused["id"] == 64 and refused["error"]["code"] == -32603, refused
        assert "64 requests are in flight" in refused["error"]["message"]
        await ws.send(json.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 0}}))
        answered = {}
        while len(answered) < 64:
            message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            answered[message["id"]] = message
        assert set(answered) == set(range(64))
        # The cancellation was read while the connection was busy: the call ended without its result.
        assert "result" not in answered[0] and answered[0]["error"]["message"] == "request cancelled", answered[0]
        assert all("result" in answered[i] for i in range(1, 64))
        after = await exchange(ws, {"jsonrpc": "2.0", "id": 99, "method": "ping"})
        assert after["result"] == {}


async def test_a_connection_that_sends_no_request_head_is_closed(ws_gateway) -> None:
    host, port = ws_gateway.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /health HTTP/1.1\r\nHost: x")  # and never the blank line
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the gateway, unanswered
    writer.close()
    # A complete head within the limit is served.
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await writer.drain()
    assert (await asyncio.wait_for(reader.read(), 10)).startswith(b"HTTP/1.1 200")
    writer.close()


async def test_a_large_answer_arrives_whole(ws_gateway) -> None:
    """Answers over 1 MiB travel as a text frame and continuations."""
    async with websockets.connect(endpoint(ws_gateway), subprotocols=["mcp"], max_size=None) as ws:
        await initialized(ws)
        chunk = "z" * 900_000
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                  "params": {"name": "demo__echo", "arguments": {"text": chunk}}}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert answer["result"]["content"][0]["text"] == chunk


async def test_shutdown_closes_open_connections(tmp_path) -> None:
    gw = Gateway(tmp_path, {"mcpServers": {"demo": demo_stdio()}}).start()
    async with websockets.connect(endpoint(gw), subprotocols=["mcp"]) as ws:
        await initialized(ws)
        stopping = asyncio.get_running_loop().run_in_executor(None, gw.stop)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:  # notifications may come first (a server stopping changes the lists)
                await asyncio.wait_for(ws.recv(), TIMEOUT)
        code, survivors, elapsed = await stopping
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    assert code == 0 and not survivors and elapsed < 5, (code, survivors, elapsed)


# --- mcp-gateway connect --------------------------------------------------------------------------------------------


def bridge(*args: str, stdin: str = "", timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GATEWAY_BIN, "connect", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout)


async def test_connect_bridges_stdio_for_the_sdk_stdio_client(ws_gateway) -> None:
    from mcp.client.stdio import StdioServerParameters

    params = StdioServerParameters(command=GATEWAY_BIN, args=["connect", ws_gateway.mcp()])
    async with Client(params, mode="legacy", read_timeout_seconds=TIMEOUT) as c:
        assert text(await c.call_tool("demo__echo", {"text": "bridged"})) == "bridged"


def test_connect_ends_cleanly_when_stdin_closes(ws_gateway) -> None:
    done = bridge(ws_gateway.mcp("demo"), stdin="")
    assert done.returncode == 0, done.stderr


def test_connect_answers_what_was_sent_before_stdin_closed(ws_gateway) -> None:
    """Piped input that ends right after its requests still gets every answer; a last line without a newline counts."""
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "slow", "arguments": {"steps": 1, "delayMs": 300}}}
    ping = {"jsonrpc": "2.0", "id": 3, "method": "ping"}
    lines = [json.dumps(INITIALIZE), json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
             json.dumps(call), json.dumps(ping)]
    done = bridge(ws_gateway.mcp("demo"), stdin="\n".join(lines))  # no newline after the last line
    assert done.returncode == 0, done.stderr
    answers = {message["id"]: message for message in map(json.loads, done.stdout.splitlines()) if "id" in message}
    assert set(answers) == {0, 2, 3}, done.stdout
    assert answers[2]["result"]["content"][0]["type"] == "text"


def test_connect_exits_1_when_the_gateway_goes_away(tmp_path) -> None:
    gw = Gateway(tmp_path, {"mcpServers": {"demo": demo_stdio()}}).start()
    proc = subprocess.Popen([GATEWAY_BIN, "connect", gw.mcp()], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        proc.stdin.write(json.dumps(INITIALIZE) + "\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["id"] == 0
        gw.stop()
        assert proc.wait(TIMEOUT) == 1  # stdin is still open: the bridge ends because the gateway did
        assert "the gateway ended the connection" in proc.stderr.read()
    finally:
        proc.kill()


@pytest.mark.parametrize(
    "url, reason",
    [
        ("ftp://127.0.0.1/mcp", "unsupported scheme ftp"),
        ("http://127.0.0.1:1/elsewhere/path", "cannot tell the gateway's WebSocket path"),
        ("not a url", "not a URL"),
    ],
)
def test_connect_refuses_urls_it_cannot_use(url: str, reason: str) -> None:
    done = bridge(url)
    assert done.returncode != 0 and reason in done.stderr, done.stderr


def test_connect_reports_a_refused_upgrade(ws_gateway) -> None:
    done = bridge(ws_gateway.mcp("nosuch"))
    assert done.returncode != 0
    assert "cannot connect" in done.stderr and "upgrade" in done.stderr.lower(), done.stderr


def test_connect_reports_an_unreachable_gateway() -> None:
    done = bridge("http://127.0.0.1:1/mcp")
    assert done.returncode != 0 and "cannot connect" in done.stderr, done.stderr
