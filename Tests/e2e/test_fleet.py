"""Many instances of one server (Tests/e2e/fixtures/fleet_http_server.py, Python SDK servers whose replies name the
instance): strategies, session affinity, failover when an instance is killed, recovery when it returns, and
`/mcp/{server}/health` reflecting it. A tool call that may have reached an instance is never repeated."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from conftest import (
    E2E_DIR,
    PYTHON,
    Gateway,
    RawSession,
    Upstream,
    alive,
    demo_stdio,
    descendants,
    describe,
    faulty_stdio,
    http_client,
    text_of,
    wait_gone,
    wait_until,
)

FLEET_SERVER = E2E_DIR / "fixtures" / "fleet_http_server.py"
MODERN = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "e2e-fleet", "version": "1"},
}


def start_instance(name: str, *args: str, port: int = 0) -> Upstream:
    return Upstream(
        [PYTHON, str(FLEET_SERVER), "--name", name, "--port", str(port), *args],
        r"^listening (http://\S+)",
        on_stderr=False,
    )


class Fleet:
    """Instances started by a test, stopped at its end whatever happened."""

    def __init__(self) -> None:
        self.instances: dict[str, Upstream] = {}

    def start(self, name: str, *args: str, port: int = 0) -> Upstream:
        self.instances[name] = start_instance(name, *args, port=port)
        return self.instances[name]

    def kill(self, name: str) -> int:
        upstream = self.instances[name]
        os.kill(upstream.proc.pid, signal.SIGKILL)
        upstream.proc.wait(5)
        return upstream.port

    def stop_all(self) -> None:
        for upstream in self.instances.values():
            upstream.stop()


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    started = Fleet()
    yield started
    started.stop_all()


def fleet_gateway(tmp_path: Path, fleet: Fleet, names: list[str], balancer: dict[str, Any], **weights: int) -> Gateway:
    instances = [
        {"id": name, "url": fleet.instances[name].url, "type": "http", **({"weight": weights[name]} if name in weights else {})}
        for name in names
    ]
    config = {"servers": {"fleet": {"instances": instances, "loadBalancer": balancer}}}
    return Gateway(tmp_path / "gw", config).start()


async def stateless_call(client: httpx2.AsyncClient, gw: Gateway, tool: str, arguments: dict[str, Any] | None = None,
                         *, id: int = 1) -> dict[str, Any]:
    """A 2026-07-28 request (no session, so no affinity): each call is a fresh choice of instance."""
    body = {"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments or {}, "_meta": META}}
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": tool}
    response = await client.post(gw.mcp("fleet"), content=json.dumps(body), headers=headers)
    return response.json()


def answered_by(message: dict[str, Any]) -> str:
    assert "result" in message and not message["result"].get("isError"), message
    return text_of(message["result"])


async def health(client: httpx2.AsyncClient, gw: Gateway, server: str = "fleet") -> dict[str, Any]:
    response = await client.get(f"{gw.url}/mcp/{server}/health")
    assert response.status_code == 200, response.text
    return response.json()


async def test_round_robin_is_exact_over_sessions_and_each_session_keeps_its_instance(tmp_path, fleet) -> None:
    for name in ("a", "b", "c"):
        fleet.start(name)
    gw = fleet_gateway(tmp_path, fleet, ["a", "b", "c"], {"strategy": "round_robin"})
    firsts = []
    async with http_client() as client:
        for _ in range(30):
            session = RawSession(client, gw.mcp("fleet"))
            await session.initialize()
            answers = [answered_by(await session.call("whoami", id=i)) for i in range(4)]
            assert len(set(answers)) == 1, f"a session moved between instances: {answers}"
            firsts.append(answers[0])
            await session.delete()
    assert Counter(firsts) == {"a": 10, "b": 10, "c": 10}, Counter(firsts)
    # Consecutive sessions take the instances in turn.
    assert all(firsts[i] != firsts[i + 1] for i in range(len(firsts) - 1)), firsts
    gw.stop_and_check()


async def test_weighted_shares_follow_the_weights_within_five_percent(tmp_path, fleet) -> None:
    for name in ("a", "b", "c"):
        fleet.start(name)
    gw = fleet_gateway(tmp_path, fleet, ["a", "b", "c"], {"strategy": "weighted"}, a=1, b=2, c=7)
    async with http_client() as client:
        counts = Counter()
        for i in range(1000):
            counts[answered_by(await stateless_call(client, gw, "whoami", id=i))] += 1
    for name, share in (("a", 0.1), ("b", 0.2), ("c", 0.7)):
        expected = 1000 * share
        assert abs(counts[name] - expected) <= 0.05 * expected, counts
    gw.stop_and_check()


async def test_least_connections_avoids_a_slow_instance(tmp_path, fleet) -> None:
    fleet.start("fast1")
    fleet.start("fast2")
    fleet.start("slow", "--delay", "0.4")
    gw = fleet_gateway(tmp_path, fleet, ["fast1", "fast2", "slow"], {"strategy": "least_connections"})
    async with http_client() as client:
        counts = Counter()

        async def worker(offset: int) -> None:
            for i in range(15):
                counts[answered_by(await stateless_call(client, gw, "whoami", id=offset * 100 + i))] += 1

        await asyncio.gather(*(worker(n) for n in range(4)))
    total = sum(counts.values())
    assert total == 60
    # Round robin would give it a third (20); with calls in flight counted it gets a few (about 7 in a simulation of
    # the pool; ties between idle instances still go round).
    assert counts["slow"] <= 12, counts
    gw.stop_and_check()


async def test_a_killed_instance_fails_no_read_only_call_leaves_the_rotation_and_rejoins(tmp_path, fleet) -> None:
    for name in ("a", "b", "c"):
        fleet.start(name)
    gw = fleet_gateway(tmp_path, fleet, ["a", "b", "c"],
                       {"strategy": "round_robin", "healthCheckInterval": "1s", "healthTimeout": "1s"})
    failures: list[Any] = []
    seen: list[str] = []
    stop = asyncio.Event()
    async with http_client() as client:
        async def load(worker: int) -> None:
            i = 0
            while not stop.is_set():
                i += 1
                message = await stateless_call(client, gw, "whoami", id=worker * 100000 + i)
                if "result" in message and not message["result"].get("isError"):
                    seen.append(text_of(message["result"]))
                else:
                    failures.append(message)

        workers = [asyncio.create_task(load(n)) for n in range(4)]
        await wait_until(lambda: asyncio.sleep(0, result=len(seen) > 50), 20, what="load to start")
        port = fleet.kill("b")
        killed_at = len(seen)

        async def b_unhealthy() -> bool:
            report = await health(client, gw)
            return report["instances"]["b"]["healthy"] is False and report["healthy_instances"] == 2

        await wait_until(b_unhealthy, 10, what="b to be reported unhealthy")
        # Out of the rotation: no more calls are even tried on it (the pool counts every attempt).
        attempts = (await health(client, gw))["instances"]["b"]["calls"]
        served = len(seen)
        await wait_until(lambda: asyncio.sleep(0, result=len(seen) > served + 100), 20, what="more load")
        assert (await health(client, gw))["instances"]["b"]["calls"] == attempts, "calls still went to the dead instance"
        report = await health(client, gw)
        assert report["template_name"] == "fleet" and report["total_instances"] == 3
        assert report["health_percentage"] == pytest.approx(200 / 3, abs=0.1)

        fleet.start("b", port=port)
        rejoined_from = len(seen)

        async def b_back() -> bool:
            return "b" in seen[rejoined_from:]

        await wait_until(b_back, 10, what="b to take calls again")
        assert (await health(client, gw))["healthy_instances"] == 3
        stop.set()
        await asyncio.gather(*workers)
    assert not failures, f"{len(failures)} of {len(seen) + len(failures)} calls failed, first: {failures[0]}"
    assert len(seen) > killed_at
    gw.stop_and_check()


async def test_a_call_that_reached_an_instance_is_never_repeated(tmp_path, fleet) -> None:
    journals = {name: tmp_path / f"{name}.journal" for name in ("a", "b")}
    fleet.start("a", "--journal", str(journals["a"]), "--die-on-record")
    fleet.start("b", "--journal", str(journals["b"]))
    gw = fleet_gateway(tmp_path, fleet, ["a", "b"], {"strategy": "round_robin", "maxRetries": 2})
    outcomes: dict[str, bool] = {}
    async with http_client() as client:
        for i in range(6):
            token = f"token-{i}"
            message = await stateless_call(client, gw, "record", {"token": token}, id=i)
            outcomes[token] = "result" in message and not message["result"].get("isError")
            if not outcomes[token]:
                data = message["error"].get("data", {})
                assert data.get("server") == "fleet", message
    journaled = {name: set(path.read_text().split()) if path.exists() else set() for name, path in journals.items()}
    assert journaled["a"] & journaled["b"] == set(), journaled
    failed = {token for token, ok in outcomes.items() if not ok}
    assert failed, "no call reached the instance that dies"
    # What failed reached `a` (it journaled before dying) and nowhere else; the rest ran once, on `b`.
    assert failed == journaled["a"], (outcomes, journaled)
    assert set(outcomes) - failed == journaled["b"], (outcomes, journaled)
    gw.stop_and_check()


async def test_unknown_server_health_is_404(tmp_path, fleet) -> None:
    fleet.start("a")
    gw = fleet_gateway(tmp_path, fleet, ["a"], {})
    async with http_client() as client:
        response = await client.get(f"{gw.url}/mcp/nosuch/health")
        assert response.status_code == 404
        assert "nosuch" in response.text
        report = await health(client, gw)
        assert report["instances"]["a"]["healthy"] is True and report["health_percentage"] == 100
    gw.stop_and_check()


async def test_a_sigkilled_gateway_leaves_no_process_behind(tmp_path) -> None:
    config = {"servers": {"demo": {**demo_stdio(), "pool": {"size": 2}}, "crashy": faulty_stdio()}}
    gw = Gateway(tmp_path / "gw", config).start()
    async with http_client() as client:
        async def all_ready() -> bool:
            reports = [(await client.get(f"{gw.url}/mcp/{name}/health")).json() for name in ("demo", "crashy")]
            return [r["healthy_instances"] for r in reports] == [2, 1]

        await wait_until(all_ready, 15, what="three stdio processes to be ready")
    children = descendants(gw.pid)
    # A guard and a server per instance.
    assert len(children) >= 6, describe(children)
    os.kill(gw.pid, signal.SIGKILL)
    gw.proc.wait(5)
    survivors = wait_gone(children, 5.0)
    # Not running any more (the dead processes are the init process's to reap now that their parents are gone).
    assert not survivors, f"left behind after SIGKILL: {describe(survivors)}"


async def test_a_crashing_stdio_instance_fails_its_call_at_once_and_the_pool_keeps_serving(tmp_path) -> None:
    config = {"servers": {"crashy": {**faulty_stdio(), "pool": {"size": 2, "restartDelay": "100ms"}}}}
    gw = Gateway(tmp_path / "gw", config).start()
    async with http_client() as client:
        async def both_ready() -> bool:
            return (await client.get(f"{gw.url}/mcp/crashy/health")).json()["healthy_instances"] == 2

        await wait_until(both_ready, 15, what="both processes to be ready")
        started = asyncio.get_running_loop().time()
        crashed = (await client.post(f"{gw.url}/mcp/crashy/tools/call",
                                     json={"name": "crash", "arguments": {"status": 3, "message": "going down"}}))
        elapsed = asyncio.get_running_loop().time() - started
        assert crashed.status_code == 502, crashed.text
        error = crashed.json()["error"]
        assert "exited with status 3" in error["message"] and "going down" in error["data"]["stderr"]
        # At once, not after the call's timeout (60 s); bench/fleet.py measures how fast.
        assert elapsed < 5.0, f"the crashed call took {elapsed:.2f}s to fail"
        # The other process answers meanwhile; the crashed one is back after its short restart delay.
        answer = await client.post(f"{gw.url}/mcp/crashy/tools/call", json={"name": "echo", "arguments": {"text": "hi"}})
        assert answer.status_code == 200 and answer.json()["content"][0]["text"] == "hi"
        await wait_until(both_ready, 10, what="the crashed process to be restarted")
    gw.stop_and_check()


async def test_a_hung_instance_is_marked_unhealthy_without_stalling_other_servers(tmp_path, fleet) -> None:
    for name in ("a", "b"):
        fleet.start(name)
    instances = [{"id": name, "url": fleet.instances[name].url, "type": "http"} for name in ("a", "b")]
    config = {"servers": {
        "fleet": {"instances": instances, "timeout": "2s",
                  "loadBalancer": {"healthCheckInterval": "1s", "healthTimeout": "500ms"}},
        "other": demo_stdio(),
    }}
    gw = Gateway(tmp_path / "gw", config).start()
    async with http_client() as client:
        async def b_is(healthy: bool):
            async def check() -> bool:
                return (await health(client, gw))["instances"]["b"]["healthy"] is healthy
            return check

        await wait_until(await b_is(True), 15, what="b to be ready")
        # b stops answering: the kernel still accepts its connections, nothing replies.
        os.kill(fleet.instances["b"].proc.pid, signal.SIGSTOP)
        try:
            await wait_until(await b_is(False), 15, what="the hung instance to be marked unhealthy")
            report = (await health(client, gw))["instances"]["b"]
            assert report["breaker"] in ("open", "half_open") and report["consecutive_failures"] >= 3, report
            # Another server answers at once meanwhile, and so does the fleet (from a).
            started = asyncio.get_running_loop().time()
            other = await client.post(f"{gw.url}/mcp/other/tools/call", json={"name": "echo", "arguments": {"text": "x"}})
            # Not held up by the hung instance (whose calls wait up to the 2 s timeout).
            assert other.status_code == 200 and asyncio.get_running_loop().time() - started < 1.5
            answer = await client.post(f"{gw.url}/mcp/fleet/tools/call", json={"name": "whoami", "arguments": {}})
            assert answer.status_code == 200 and answer.json()["content"][0]["text"] == "a"
        finally:
            os.kill(fleet.instances["b"].proc.pid, signal.SIGCONT)
        await wait_until(await b_is(True), 15, what="the instance to be back once it answers again")
    gw.stop_and_check()


async def test_per_session_processes_are_started_lazily_capped_and_stopped(tmp_path) -> None:
    config = {"servers": {"iso": {**faulty_stdio(), "pool": {
        "isolation": "per-session", "maxSessions": 2, "idleTimeout": "1s", "start": "lazy"},
        "loadBalancer": {"healthCheckInterval": "300ms"}}}}
    gw = Gateway(tmp_path / "gw", config).start()
    # Lazy: nothing runs before a request needs it.
    assert not [pid for pid in descendants(gw.pid) if b"faulty" in open(f"/proc/{pid}/cmdline", "rb").read()]
    async with http_client() as client:
        async def pid_of(session: RawSession) -> int:
            message = await session.call("pid")
            assert "result" in message, message
            return int(text_of(message["result"]))

        first, second, third = (RawSession(client, gw.mcp("iso")) for _ in range(3))
        for session in (first, second, third):
            await session.initialize()
        a, b = await pid_of(first), await pid_of(second)
        assert a != b and await pid_of(first) == a and await pid_of(second) == b
        # Requests without a session use the configured process, which is neither session's.
        shared = (await client.post(f"{gw.url}/mcp/iso/tools/call", json={"name": "pid", "arguments": {}})).json()
        assert int(shared["content"][0]["text"]) not in (a, b)
        # The cap: a third session's process would be one too many.
        refused = await third.call("pid")
        assert "error" in refused and "maxSessions" in refused["error"]["message"], refused
        assert (await health(client, gw, "iso"))["session_processes"] == {"running": 2, "max": 2}

        # Ending a session stops its process; the freed place goes to the next session.
        await first.delete()
        await wait_until(lambda: asyncio.sleep(0, result=not alive({a})), 10, what="the ended session's process to exit")
        c = await pid_of(third)
        assert c not in (a, b)
        # A session idle for pool.idleTimeout loses its process (and gets a new one if it comes back).
        await wait_until(lambda: asyncio.sleep(0, result=not alive({b, c})), 10, what="idle processes to be stopped")
        assert await pid_of(second) not in (a, b, c)
    gw.stop_and_check()
