"""50 clients at once, each in its own session, all using the same JSON-RPC id and the same progressToken,
calling one shared stdio process. Raw HTTP, so the ids and tokens are exactly what the test writes."""

from __future__ import annotations

import asyncio
import json
import secrets
import time

import httpx2
import pytest

from conftest import Gateway, RawSession, http_client, messages_of, parse_sse, text_of

CLIENTS = 50


async def open_sessions(gateway: Gateway, client: httpx2.AsyncClient, count: int) -> list[RawSession]:
    sessions = [RawSession(client, gateway.mcp()) for _ in range(count)]
    await asyncio.wait_for(asyncio.gather(*(s.initialize() for s in sessions)), 60)
    assert len({s.session_id for s in sessions}) == count
    return sessions


def pool() -> httpx2.AsyncClient:
    return http_client(
        limits=httpx2.Limits(max_connections=CLIENTS * 2, max_keepalive_connections=CLIENTS * 2),
        timeout=httpx2.Timeout(60.0),
    )


async def test_same_id_same_token_fifty_sessions_one_stdio_process(gateway: Gateway) -> None:
    """Each caller gets its own nonce back, with its own id, although every request says id 1 and token "tok"."""
    async with pool() as client:
        sessions = await open_sessions(gateway, client, CLIENTS)
        nonces = [f"nonce-{i}-{secrets.token_hex(8)}" for i in range(CLIENTS)]
        start = asyncio.Event()

        async def one(session: RawSession, nonce: str) -> tuple[str, str]:
            body = ('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"raw__nonce",'
                    '"arguments":{"text":%s,"ms":600},"_meta":{"progressToken":"tok"}}}' % json.dumps(nonce))
            await start.wait()
            response = await session.post(body)
            assert response.status_code == 200, response.text
            return nonce, response.text

        tasks = [asyncio.create_task(one(s, n)) for s, n in zip(sessions, nonces)]
        began = time.monotonic()
        start.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), 60)
        elapsed = time.monotonic() - began

    for nonce, body in results:
        message = json.loads(body) if body.lstrip().startswith("{") else None
        if message is None:  # an SSE answer: its last event is the response
            message = parse_sse(body)[-1]
        assert message["id"] == 1 and isinstance(message["id"], int), body
        assert text_of(message["result"]) == nonce, body
    # The upstream sleeps 600 ms per call on its own thread; one at a time would take 30 s.
    assert elapsed < 15, f"50 calls of 600 ms took {elapsed:.1f}s: the calls were not in flight together"


async def test_same_id_same_token_progress_goes_to_the_right_session(gateway: Gateway) -> None:
    """Client i asks for 1 + i % 4 steps: it must get exactly that many progress notifications, with its token."""
    async with pool() as client:
        sessions = await open_sessions(gateway, client, CLIENTS)
        start = asyncio.Event()

        async def one(session: RawSession, steps: int):
            body = ('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo__slow",'
                    '"arguments":{"steps":%d,"delayMs":40},"_meta":{"progressToken":"tok"}}}' % steps)
            await start.wait()
            response = await session.post(body)
            assert response.status_code == 200, response.text
            return steps, response

        tasks = [asyncio.create_task(one(s, 1 + i % 4)) for i, s in enumerate(sessions)]
        start.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), 60)

    for steps, response in results:
        assert response.headers["content-type"].startswith("text/event-stream")
        messages = messages_of(response)
        progress = [m for m in messages if m.get("method") == "notifications/progress"]
        assert [p["params"]["progress"] for p in progress] == list(range(1, steps + 1))
        assert all(p["params"]["progressToken"] == "tok" and p["params"]["total"] == steps for p in progress)
        final = messages[-1]
        assert final["id"] == 1
        assert text_of(final["result"]) == f"done after {steps} steps"


async def test_same_id_across_endpoints_and_servers_at_once(gateway: Gateway) -> None:
    """Aggregated and per-server sessions, stdio and HTTP upstreams, all with id "same" at the same moment."""
    targets = [
        (None, "demo__echo"), ("demo", "echo"), (None, "demohttp__echo"), ("demohttp", "echo"),
        (None, "sdksse__echo"), ("sdkjson", "echo"), (None, "raw__nonce"), ("raw", "nonce"),
    ] * 4
    async with pool() as client:
        sessions = []
        for server, _ in targets:
            sessions.append(RawSession(client, gateway.mcp(server)))
        await asyncio.wait_for(asyncio.gather(*(s.initialize() for s in sessions)), 60)
        start = asyncio.Event()

        async def one(index: int, session: RawSession, tool: str):
            expected = f"{tool}-{index}-{secrets.token_hex(4)}"
            await start.wait()
            message = await session.call(tool, {"text": expected}, id="same")
            return expected, message

        tasks = [asyncio.create_task(one(i, s, t)) for i, (s, (_, t)) in enumerate(zip(sessions, targets))]
        start.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), 60)
    for expected, message in results:
        assert message["id"] == "same"
        assert text_of(message["result"]) == expected


@pytest.mark.parametrize("server", ["demo", "demohttp"])
async def test_cancelled_call_ends_at_once_and_the_server_keeps_serving(gateway: Gateway, server: str) -> None:
    """notifications/cancelled ends the client's own waiting call (its POST is answered at once, with an error),
    leaves other clients' calls with the same id alone, and the server keeps serving."""
    async with http_client() as client:
        mine, theirs = RawSession(client, gateway.mcp()), RawSession(client, gateway.mcp())
        await mine.initialize()
        await theirs.initialize()
        slow = {"steps": 1, "delayMs": 3000}
        my_call = asyncio.create_task(mine.call(f"{server}__slow", slow, id="same"))
        their_call = asyncio.create_task(theirs.call(f"{server}__slow", {"steps": 1, "delayMs": 500}, id="same"))
        await asyncio.sleep(0.3)  # let both calls reach the server (nothing announces that they have)
        began = time.monotonic()
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "same"}}
        assert (await mine.post(cancel)).status_code == 202
        cancelled = await asyncio.wait_for(my_call, 5)
        assert time.monotonic() - began < 1.5, "the cancelled call was not ended at once"
        assert cancelled["id"] == "same" and "error" in cancelled, cancelled
        theirs_done = await asyncio.wait_for(their_call, 5)
        assert text_of(theirs_done["result"]) == "done after 1 steps", theirs_done
        again = await mine.call(f"{server}__echo", {"text": "still serving"})
        assert text_of(again["result"]) == "still serving"

