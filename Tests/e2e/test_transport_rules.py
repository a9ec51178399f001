"""Streamable HTTP and JSON-RPC rules, checked with raw HTTP against the shared gateway.

Every test here ends with the autouse `still_serving` check: a fresh session can still initialize, ping and call a
tool, so no bad input leaves the gateway broken.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx2
import pytest

from conftest import (
    ACCEPT_BOTH,
    BODY_LIMIT,
    CORS_ORIGIN,
    LEGACY_VERSIONS,
    Gateway,
    RawSession,
    final_message,
    http_client,
    list_all,
    messages_of,
    sse_data_lines,
    text_of,
)

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with http_client() as client:
        yield client


@pytest.fixture
async def session(gateway: Gateway, http: httpx2.AsyncClient) -> RawSession:
    s = RawSession(http, gateway.mcp())
    await s.initialize()
    return s


@pytest.fixture(autouse=True)
async def still_serving(gateway: Gateway) -> AsyncIterator[None]:
    yield
    async with http_client() as client:
        s = RawSession(client, gateway.mcp())
        await s.initialize()
        assert (await s.request("ping"))["result"] == {}
        result = (await s.call("demo__echo", {"text": "still serving"}))["result"]
        assert text_of(result) == "still serving"


def error_of(response: httpx2.Response) -> dict:
    body = response.json()
    assert "error" in body, body
    return body


# --- management endpoints ------------------------------------------------------------------------------------------


async def test_health_and_ready(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    health = await http.get(f"{gateway.url}/health")
    assert health.status_code == 200 and health.json() == {"status": "healthy"}
    ready = await http.get(f"{gateway.url}/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["servers"] == 8 and 1 <= ready.json()["servers_with_ready_instances"] <= 8


async def test_unknown_server_is_404(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    s = RawSession(http, gateway.mcp("no-such-server"))
    response = await s.post(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25",
         "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}}
    )
    assert response.status_code == 404


# --- sessions ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", LEGACY_VERSIONS)
async def test_initialize_negotiates_each_version(gateway: Gateway, http: httpx2.AsyncClient, version: str) -> None:
    s = RawSession(http, gateway.mcp())
    result = await s.initialize(version)
    assert result["protocolVersion"] == version
    assert re.fullmatch(r"[0-9a-f]{32}", s.session_id), s.session_id
    assert result["serverInfo"]["name"] == "mcp-gateway"
    assert "tools" in result["capabilities"]
    message = await s.call("demo__echo", {"text": f"at {version}"})
    assert text_of(message["result"]) == f"at {version}"


async def test_initialize_with_unknown_version_gets_a_supported_one(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    s = RawSession(http, gateway.mcp())
    result = await s.initialize("1999-01-01")
    assert result["protocolVersion"] in LEGACY_VERSIONS


async def test_sessions_are_distinct(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    ids = set()
    for _ in range(5):
        s = RawSession(http, gateway.mcp())
        await s.initialize()
        ids.add(s.session_id)
    assert len(ids) == 5


async def test_missing_session_is_400(session: RawSession) -> None:
    response = await session.post(PING, session=False)
    assert response.status_code == 400
    assert error_of(response)["error"]["code"] == -32600


async def test_unknown_session_is_404(session: RawSession) -> None:
    response = await session.post(PING, {"Mcp-Session-Id": "0123456789abcdef0123456789abcdef"})
    assert response.status_code == 404


async def test_delete_ends_the_session(session: RawSession, http: httpx2.AsyncClient) -> None:
    assert (await session.request("ping"))["result"] == {}
    deleted = await session.delete()
    assert deleted.status_code == 200
    assert (await session.post(PING)).status_code == 404
    assert (await session.delete()).status_code == 404
    get = await http.get(session.url, headers={"Mcp-Session-Id": session.session_id, "Accept": "text/event-stream"})
    assert get.status_code == 404


async def test_protocol_version_header_must_match(session: RawSession) -> None:
    ok = await session.post(PING, {"MCP-Protocol-Version": session.version})
    assert ok.status_code == 200
    wrong = await session.post(PING, {"MCP-Protocol-Version": "2025-06-18"})
    assert wrong.status_code == 400
    bogus = await session.post(PING, {"MCP-Protocol-Version": "not-a-version"})
    assert bogus.status_code == 400


async def test_protocol_version_header_may_be_omitted(session: RawSession) -> None:
    headers = session.headers()
    del headers["MCP-Protocol-Version"]
    response = await session.client.post(session.url, content=json.dumps(PING), headers=headers)
    assert response.status_code == 200 and response.json()["result"] == {}


async def test_notifications_and_responses_are_accepted_with_202(session: RawSession) -> None:
    notification = await session.post({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                       "params": {"requestId": 4242, "reason": "test"}})
    assert notification.status_code == 202
    assert notification.content == b""
    response = await session.post({"jsonrpc": "2.0", "id": 4242, "result": {}})
    assert response.status_code == 202
    assert response.content == b""


async def test_ping_is_answered(session: RawSession) -> None:
    message = await session.request("ping", id=7)
    assert message == {"jsonrpc": "2.0", "id": 7, "result": {}}


async def test_get_opens_an_event_stream(session: RawSession, http: httpx2.AsyncClient) -> None:
    headers = {"Mcp-Session-Id": session.session_id, "Accept": "text/event-stream",
               "MCP-Protocol-Version": session.version}
    async with http.stream("GET", session.url, headers=headers, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")


async def test_2024_11_05_client_works_without_version_header(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    s = RawSession(http, gateway.mcp())
    await s.initialize("2024-11-05")
    assert "MCP-Protocol-Version" not in s.headers()
    assert text_of((await s.call("demohttp__echo", {"text": "old client"}))["result"]) == "old client"


# --- batches ----------------------------------------------------------------------------------------------------------


async def test_batch_at_2025_03_26(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    s = RawSession(http, gateway.mcp())
    await s.initialize("2025-03-26")
    response = await s.post([
        {"jsonrpc": "2.0", "id": "a", "method": "ping"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "demo__echo", "arguments": {"text": "b"}}},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}},
        {"jsonrpc": "2.0", "id": 3, "method": "no/such/method"},
    ])
    assert response.status_code == 200
    by_id = {m["id"]: m for m in messages_of(response) if "id" in m}
    assert set(by_id) == {"a", 2, 3}
    assert by_id["a"]["result"] == {}
    assert text_of(by_id[2]["result"]) == "b"
    assert by_id[3]["error"]["code"] == -32601


@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25"])
async def test_batch_rejected_after_2025_03_26(gateway: Gateway, http: httpx2.AsyncClient, version: str) -> None:
    s = RawSession(http, gateway.mcp())
    await s.initialize(version)
    response = await s.post([PING])
    assert response.status_code == 400
    assert error_of(response)["error"]["code"] == -32600


# --- HTTP-level checks -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1.evil.example", "null"])
async def test_foreign_origin_is_403(session: RawSession, origin: str) -> None:
    response = await session.post(PING, {"Origin": origin})
    assert response.status_code == 403
    headers = session.headers({"Origin": origin, "Accept": "text/event-stream"})
    get = await session.client.get(session.url, headers=headers, timeout=5)
    assert get.status_code == 403
    delete = await session.client.delete(session.url, headers=headers)
    assert delete.status_code == 403
    assert (await session.post(PING)).status_code == 200, "a refused DELETE must not end the session"


@pytest.mark.parametrize("origin", ["http://127.0.0.1:9999", "http://localhost:3000", "http://[::1]:8080", CORS_ORIGIN])
async def test_loopback_and_configured_origins_are_allowed(session: RawSession, origin: str) -> None:
    response = await session.post(PING, {"Origin": origin})
    assert response.status_code == 200
    assert response.json()["result"] == {}


async def test_foreign_origin_is_403_before_initialize(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    s = RawSession(http, gateway.mcp())
    response = await s.post(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25",
         "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}},
        {"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert "mcp-session-id" not in response.headers


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/json"])
async def test_wrong_content_type_is_415(session: RawSession, content_type: str) -> None:
    response = await session.post(PING, {"Content-Type": content_type})
    assert response.status_code == 415


async def test_json_content_type_with_charset_is_accepted(session: RawSession) -> None:
    response = await session.post(PING, {"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200


@pytest.mark.parametrize("accept", ["application/json", "text/event-stream", "text/html"])
async def test_incomplete_accept_is_406(session: RawSession, accept: str) -> None:
    response = await session.post(PING, {"Accept": accept})
    assert response.status_code == 406


@pytest.mark.parametrize("accept", [None, "*/*", "text/event-stream, application/json", ACCEPT_BOTH])
async def test_complete_or_missing_accept_is_tolerated(session: RawSession, accept: str | None) -> None:
    headers = session.headers()
    if accept is None:
        del headers["Accept"]
    else:
        headers["Accept"] = accept
    response = await session.client.post(session.url, content=json.dumps(PING), headers=headers)
    assert response.status_code == 200
    assert response.json()["result"] == {}


async def test_body_over_the_limit_is_413(session: RawSession) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "demo__echo", "arguments": {"text": "x" * (BODY_LIMIT + 10)}}})
    response = await session.post(body)
    assert response.status_code == 413


async def test_chunked_body_over_the_limit_is_413(session: RawSession) -> None:
    async def chunks():
        yield b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo__echo","arguments":{"text":"'
        for _ in range(BODY_LIMIT // 4096 + 2):
            yield b"x" * 4096
        yield b'"}}}'

    response = await session.client.post(session.url, content=chunks(), headers=session.headers())
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413


async def test_body_just_under_the_limit_is_served(session: RawSession) -> None:
    envelope = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "demo__echo", "arguments": {"text": ""}}}
    filler = BODY_LIMIT - len(json.dumps(envelope, separators=(",", ":"))) - 16
    message = await session.call("demo__echo", {"text": "y" * filler})
    assert text_of(message["result"]) == "y" * filler


# --- JSON-RPC errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b'{"jsonrpc":', b"{'jsonrpc': '2.0'}", b"", b"\xff\xfe", b'{"jsonrpc":"2.0","id":1,} '])
async def test_malformed_json_is_parse_error(session: RawSession, body: bytes) -> None:
    response = await session.post(body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["error"]["code"] == -32700
    assert error["id"] is None


INVALID_REQUESTS = {
    "number": b"42",
    "string": b'"ping"',
    "null": b"null",
    "no jsonrpc": b'{"id":1,"method":"ping"}',
    "jsonrpc 1.0": b'{"jsonrpc":"1.0","id":1,"method":"ping"}',
    "method not a string": b'{"jsonrpc":"2.0","id":1,"method":5}',
    "object id": b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}',
    "duplicate top-level key": b'{"jsonrpc":"2.0","id":1,"method":"ping","method":"ping"}',
    "duplicate id": b'{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}',
    "duplicate nested key": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo__echo",'
    b'"arguments":{"text":"a","text":"b"}}}',
    "duplicate via escape": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo__echo",'
    b'"\\u006eame":"demo__fail","arguments":{"text":"x"}}}',
    "duplicate deep in arguments": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo__echo",'
    b'"arguments":{"text":"x","deep":[{"k":1,"\\u006b":2}]}}}',
    "nesting 200 deep": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo__echo","arguments":'
    b'{"text":"x","d":' + b"[" * 200 + b"]" * 200 + b"}}}",
}


@pytest.mark.parametrize("body", INVALID_REQUESTS.values(), ids=INVALID_REQUESTS.keys())
async def test_invalid_request(session: RawSession, body: bytes) -> None:
    response = await session.post(body)
    assert response.status_code == 400
    assert error_of(response)["error"]["code"] == -32600


async def test_nesting_within_the_limit_is_served(session: RawSession) -> None:
    body = (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo__echo","arguments":'
            b'{"text":"deep ok","d":' + b"[" * 100 + b"]" * 100 + b"}}}")
    response = await session.post(body)
    assert response.status_code == 200
    assert text_of(final_message(response)["result"]) == "deep ok"


async def test_unknown_method(session: RawSession) -> None:
    response = await session.post({"jsonrpc": "2.0", "id": 5, "method": "tools/frobnicate", "params": {}})
    assert response.status_code == 200
    message = response.json()
    assert message["id"] == 5
    assert message["error"]["code"] == -32601


@pytest.mark.parametrize("name", ["demo__nope", "echo", "nope__echo", "filt__add", "filt__fail", "demo__"])
async def test_unknown_or_filtered_tool(session: RawSession, name: str) -> None:
    response = await session.post({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                                   "params": {"name": name, "arguments": {}}})
    assert response.status_code == 200
    message = response.json()
    assert message["id"] == 9
    assert message["error"]["code"] == -32602
    assert message["error"]["message"] == f"Unknown tool: {name}"


async def test_filtered_tool_on_its_own_endpoint(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    s = RawSession(http, gateway.mcp("filtered"))
    await s.initialize()
    message = await s.call("add", {"a": 1, "b": 2})
    assert message["error"]["code"] == -32602
    assert message["error"]["message"] == "Unknown tool: add"
    assert text_of((await s.call("echo", {"text": "allowed"}))["result"]) == "allowed"


@pytest.mark.parametrize("params", [[1, 2], "demo__echo", 3, True])
async def test_params_not_an_object(session: RawSession, params) -> None:
    response = await session.post({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": params})
    assert response.status_code == 200
    message = response.json()
    assert message["id"] == 3
    assert message["error"]["code"] == -32602


async def test_forged_cursor_is_invalid_params(session: RawSession) -> None:
    for method in ("tools/list", "prompts/list", "resources/list", "resources/templates/list"):
        message = await session.request(method, {"cursor": "eyJmb3JnZWQiOnRydWV9"})
        assert message["error"]["code"] == -32602, (method, message)


async def test_pagination_with_gateway_cursors(gateway: Gateway, session: RawSession, http: httpx2.AsyncClient) -> None:
    """The raw fixture pages its tools two at a time; the merged list follows it with the gateway's own cursors."""
    first = await session.request("tools/list", {})
    cursor = first["result"].get("nextCursor")
    assert isinstance(cursor, str) and cursor
    assert not cursor.startswith("page-"), "the upstream's cursor leaked to the client"
    merged = [t["name"] for t in await list_all(session, "tools/list", "tools")]
    assert len(merged) == len(set(merged))
    direct = RawSession(http, gateway.mcp("raw"))
    await direct.initialize()
    raw_tools = [t["name"] for t in await list_all(direct, "tools/list", "tools")]
    assert len(raw_tools) >= 6
    assert [n for n in merged if n.startswith("raw__")] == [f"raw__{n}" for n in raw_tools]
    # A cursor with one character changed is refused.
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    message = await session.request("tools/list", {"cursor": tampered})
    assert message["error"]["code"] == -32602


# --- ids, fidelity, pass-through --------------------------------------------------------------------------------------

IDS = ["12345678901234567890", "1.5", '"x"', "0", "-7", '""', '"\\u00e9t\\u00e9"', "1e3"]


@pytest.mark.parametrize("raw_id", IDS)
@pytest.mark.parametrize("kind", ["local ping", "stdio call", "http call", "error"])
async def test_id_is_echoed_byte_for_byte(session: RawSession, raw_id: str, kind: str) -> None:
    body = {
        "local ping": '{"jsonrpc":"2.0","id":%s,"method":"ping"}',
        "stdio call": '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"demo__echo","arguments":{"text":"i"}}}',
        "http call": '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"sdkjson__echo","arguments":{"text":"i"}}}',
        "error": '{"jsonrpc":"2.0","id":%s,"method":"no/such"}',
    }[kind] % raw_id
    response = await session.post(body)
    assert response.status_code == 200
    assert has_id(response.text, raw_id), response.text


def has_id(text: str, raw_id: str) -> bool:
    """Whether the JSON text has a member `"id":<raw_id>` spelled exactly so."""
    return re.search(r'"id"\s*:\s*' + re.escape(raw_id) + r"\s*[,}]", text) is not None


async def test_id_is_echoed_on_an_sse_response(session: RawSession) -> None:
    body = ('{"jsonrpc":"2.0","id":12345678901234567890,"method":"tools/call","params":{"name":"demo__slow",'
            '"arguments":{"steps":2,"delayMs":5},"_meta":{"progressToken":1.0}}}')
    response = await session.post(body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_data_lines(response.text)
    assert has_id(events[-1], "12345678901234567890"), events[-1]
    assert all('"progressToken":1.0' in e for e in events[:-1]), events


@pytest.mark.parametrize("token", ['"tok-\\u00e9"', "7", '"same"', "9007199254740993"])
async def test_progress_comes_first_on_an_sse_stream_with_the_clients_token(session: RawSession, token: str) -> None:
    body = ('{"jsonrpc":"2.0","id":"p","method":"tools/call","params":{"name":"demo__slow",'
            '"arguments":{"steps":3,"delayMs":5},"_meta":{"progressToken":%s}}}' % token)
    response = await session.post(body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    messages = messages_of(response)
    assert [m.get("method") for m in messages] == ["notifications/progress"] * 3 + [None]
    assert [m["params"]["progress"] for m in messages[:3]] == [1, 2, 3]
    expected_token = json.loads(token)
    assert all(m["params"]["progressToken"] == expected_token for m in messages[:3])
    assert messages[-1]["id"] == "p"
    assert text_of(messages[-1]["result"]) == "done after 3 steps"


async def test_plain_json_when_the_upstream_sends_nothing_first(session: RawSession) -> None:
    response = await session.post({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                   "params": {"name": "demo__slow", "arguments": {"steps": 2, "delayMs": 5}}})
    assert response.headers["content-type"].startswith("application/json")
    assert text_of(response.json()["result"]) == "done after 2 steps"


async def test_http_upstream_log_arrives_on_the_calls_sse_stream(session: RawSession) -> None:
    response = await session.post({"jsonrpc": "2.0", "id": 11, "method": "tools/call",
                                   "params": {"name": "demohttp__log", "arguments": {"message": "via sse", "level": "error"}}})
    assert response.headers["content-type"].startswith("text/event-stream")
    messages = messages_of(response)
    assert messages[0]["method"] == "notifications/message"
    assert messages[0]["params"]["data"] == "via sse"
    assert messages[0]["params"]["level"] == "error"
    assert messages[-1]["id"] == 11


ARGUMENTS = ('{"n":1.0,"big":12345678901234567890,"s":"data:,Hello%20World","neg":-0.0,"exp":1E+2,'
             '"esc":"caf\\u00e9 \\ud83d\\ude00 \\"q\\"","unknown":{"z":[],"a":{}},"order":{"b":1,"a":2}}')


async def test_arguments_reach_the_upstream_byte_identical(session: RawSession) -> None:
    body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"raw__seen","arguments":%s}}' % ARGUMENTS
    message = final_message(await session.post(body))
    upstream_line = text_of(message["result"])
    assert '"arguments":' + ARGUMENTS in upstream_line, upstream_line


async def test_results_reach_the_client_byte_identical(session: RawSession) -> None:
    from fixtures.raw_stdio_server import RAW_RESULT

    response = await session.post({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                   "params": {"name": "raw__raw_result", "arguments": {}}})
    assert response.status_code == 200
    assert '"result":' + RAW_RESULT in response.text, response.text


async def test_upstream_jsonrpc_error_passes_through_verbatim(session: RawSession) -> None:
    from fixtures.raw_stdio_server import RAW_ERROR

    response = await session.post({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                   "params": {"name": "raw__raw_error", "arguments": {}}})
    assert response.status_code == 200
    assert '"error":' + RAW_ERROR in response.text, response.text
    assert response.json()["id"] == 1


async def test_upstream_error_from_per_server_endpoint(gateway: Gateway, http: httpx2.AsyncClient) -> None:
    s = RawSession(http, gateway.mcp("demo"))
    await s.initialize()
    message = await s.request("resources/read", {"uri": "demo://missing"}, id="r")
    assert message["id"] == "r"
    assert message["error"] == {"code": -32002, "message": "Resource not found: demo://missing",
                                "data": {"uri": "demo://missing"}}
    prompt = await s.request("prompts/get", {"name": "greet", "arguments": {}})
    assert prompt["error"] == {"code": -32602, "message": "Missing required argument: name"}
    over_http = RawSession(http, gateway.mcp("demohttp"))
    await over_http.initialize()
    message = await over_http.request("resources/read", {"uri": "demo://gone"}, id=12345678901234567890)
    assert message["error"] == {"code": -32002, "message": "Resource not found: demo://gone",
                                "data": {"uri": "demo://gone"}}
