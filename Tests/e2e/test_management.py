"""The management API (`/gateway/*`, `ADMIN_TOKEN`), registering and removing instances while the gateway runs (over
HTTP and with the CLI), the registry file surviving a restart, and the MCP Platform REST routes
(`/mcp/{server}/tools/list` and friends)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    E2E_DIR,
    GATEWAY_BIN,
    PYTHON,
    Gateway,
    RawSession,
    Upstream,
    alive,
    demo_stdio,
    descendants,
    http_client,
    text_of,
    wait_until,
)

ADMIN = "e2e-admin-token"
REGISTRATION = "e2e-registration-token"
FLEET_SERVER = E2E_DIR / "fixtures" / "fleet_http_server.py"


def auth(token: str = ADMIN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def instances() -> Iterator[dict[str, Upstream]]:
    started: dict[str, Upstream] = {}
    for name in ("a", "b"):
        started[name] = Upstream([PYTHON, str(FLEET_SERVER), "--name", name], r"^listening (http://\S+)", on_stderr=False)
    yield started
    for upstream in started.values():
        upstream.stop()


def empty_gateway(tmp_path: Path, **env: str) -> Gateway:
    """A gateway with a configuration that declares no server: it must serve and wait for registrations."""
    return Gateway(tmp_path / "gw", {"mcpServers": {}}, env={"ADMIN_TOKEN": ADMIN, **env}).start()


def cli(gw: Gateway, *args: str, token: str | None = ADMIN) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ADMIN_TOKEN", "MCP_GATEWAY_REGISTRATION_TOKEN")}
    if token is not None:
        env["ADMIN_TOKEN"] = token
    return subprocess.run(
        [GATEWAY_BIN, *args, "--gateway-url", gw.url], capture_output=True, text=True, timeout=60, env=env
    )


async def whoami(gw: Gateway) -> str:
    async with http_client() as client:
        session = RawSession(client, gw.mcp("fleet"))
        await session.initialize()
        message = await session.call("whoami")
        assert "result" in message, message
        return text_of(message["result"])


async def test_management_needs_a_token_whatever_the_peer(tmp_path) -> None:
    gw = Gateway(tmp_path / "off", {"mcpServers": {"demo": demo_stdio()}}).start()
    async with http_client() as client:
        # No ADMIN_TOKEN configured: refused, although the request comes from loopback.
        response = await client.get(f"{gw.url}/gateway/registry")
        assert response.status_code == 401 and "ADMIN_TOKEN" in response.text
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert (await client.get(f"{gw.url}/health")).json() == {"status": "healthy"}
    gw.stop_and_check()

    gw = empty_gateway(tmp_path, MCP_GATEWAY_REGISTRATION_TOKEN=REGISTRATION)
    async with http_client() as client:
        for headers in ({}, auth("wrong"), {"Authorization": ADMIN}):
            assert (await client.get(f"{gw.url}/gateway/health", headers=headers)).status_code == 401
        assert (await client.get(f"{gw.url}/gateway/health", headers=auth())).status_code == 200
        # The registration token registers and deregisters, and reads nothing.
        assert (await client.get(f"{gw.url}/gateway/registry", headers=auth(REGISTRATION))).status_code == 401
        body = {"server": "demo", "instance": {"id": "d1", "command": GATEWAY_BIN, "args": ["demo-server"]}}
        response = await client.post(f"{gw.url}/gateway/register", json=body, headers=auth(REGISTRATION))
        assert response.status_code == 201, response.text
        response = await client.delete(f"{gw.url}/gateway/deregister/demo/d1", headers=auth(REGISTRATION))
        assert response.status_code == 200, response.text
    gw.stop_and_check()


async def test_register_and_deregister_while_serving(tmp_path, instances) -> None:
    gw = empty_gateway(tmp_path)
    async with http_client() as client:
        registry = (await client.get(f"{gw.url}/gateway/registry", headers=auth())).json()
        assert registry["total_servers"] == 0

        for name in ("a", "b"):
            body = {"template": "fleet", "instance": {"id": name, "endpoint": instances[name].url}}
            response = await client.post(f"{gw.url}/gateway/register", json=body, headers=auth())
            assert response.status_code == 201, response.text
            assert response.json()["instance"]["id"] == name

        async def both_healthy() -> bool:
            health = (await client.get(f"{gw.url}/mcp/fleet/health")).json()
            return health["healthy_instances"] == 2

        await wait_until(both_healthy, 15, what="both registered instances to be ready")
        assert {await whoami(gw) for _ in range(4)} == {"a", "b"}

        duplicate = {"template": "fleet", "instance": {"id": "a", "endpoint": instances["a"].url}}
        response = await client.post(f"{gw.url}/gateway/register", json=duplicate, headers=auth())
        assert response.status_code == 409, response.text

        bad = [
            ({"instance": {"endpoint": "http://x/mcp"}}, "server"),
            ({"server": "fleet", "instance": {"endpoint": "not a url"}}, "instance.endpoint"),
            ({"server": "fleet", "instance": {"command": ""}}, "instance.command"),
            ({"server": "fleet", "instance": {"endpoint": "http://x/mcp", "weight": "heavy"}}, "instance.weight"),
            ({"server": "bad name", "instance": {"endpoint": "http://x/mcp"}}, "bad name"),
        ]
        for body, field in bad:
            response = await client.post(f"{gw.url}/gateway/register", json=body, headers=auth())
            assert response.status_code == 400, (body, response.text)
            assert field in response.json()["error"]["message"], response.text
        response = await client.post(f"{gw.url}/gateway/register", content=b"{not json", headers=auth())
        assert response.status_code == 400

        response = await client.delete(f"{gw.url}/gateway/deregister/fleet/a", headers=auth())
        assert response.status_code == 200, response.text
        assert {await whoami(gw) for _ in range(4)} == {"b"}
        response = await client.delete(f"{gw.url}/gateway/deregister/fleet/a", headers=auth())
        assert response.status_code == 404
        response = await client.delete(f"{gw.url}/gateway/deregister/fleet/b", headers=auth())
        assert response.status_code == 200
        # The last instance took the server with it.
        assert (await client.get(f"{gw.url}/mcp/fleet/health")).status_code == 404
        assert (await client.get(f"{gw.url}/gateway/registry", headers=auth())).json()["total_servers"] == 0
    gw.stop_and_check()


async def test_cli_registry_file_and_restart(tmp_path) -> None:
    registry_file = tmp_path / "registry.json"
    env = {"MCP_GATEWAY_REGISTRY_FILE": str(registry_file)}
    gw = empty_gateway(tmp_path, **env)

    result = cli(gw, "register", "demo2", "--command", f"{GATEWAY_BIN} demo-server", "--id", "d1", "--weight", "2",
                 "--env", "DEMO_SETTING=secret-value")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "registered demo2/d1"
    assert stat.S_IMODE(registry_file.stat().st_mode) == 0o600
    saved = json.loads(registry_file.read_text())
    assert saved["instances"][0]["server"] == "demo2"
    assert saved["instances"][0]["instance"]["args"] == ["demo-server"]

    result = cli(gw, "registry")
    assert result.returncode == 0, result.stderr
    assert "demo2" in result.stdout and "d1" in result.stdout and "registered" in result.stdout
    assert "secret-value" not in result.stdout
    raw = cli(gw, "registry", "--json")
    assert json.loads(raw.stdout)["servers"]["demo2"]["instances"][0]["env"] == ["DEMO_SETTING"]

    failure = cli(gw, "register", "demo2", "--endpoint", "ftp://nope")
    assert failure.returncode != 0 and len(failure.stderr.strip().splitlines()) == 1
    assert "instance.endpoint" in failure.stderr
    assert cli(gw, "registry", token="wrong").returncode != 0
    unreachable = subprocess.run([GATEWAY_BIN, "health", "--gateway-url", "http://127.0.0.1:9"],
                                 capture_output=True, text=True, timeout=30)
    assert unreachable.returncode != 0 and "cannot reach" in unreachable.stderr

    async def ready() -> bool:
        return "1/1" in cli(gw, "health").stdout

    await wait_until(ready, 15, what="the registered stdio instance to be healthy")
    gw.stop_and_check()

    # The registration survives a restart.
    gw = empty_gateway(tmp_path, **env)
    await wait_until(ready, 15, what="the registered instance to be back after a restart")
    async with http_client() as client:
        session = RawSession(client, gw.mcp("demo2"))
        await session.initialize()
        message = await session.call("echo", {"text": "after restart"})
        assert text_of(message["result"]) == "after restart"
    children = descendants(gw.pid)
    assert children, "the registered stdio instance should be a child of the gateway"

    result = cli(gw, "deregister", "demo2", "d1")
    assert result.returncode == 0, result.stderr
    # Removing the instance stops its process.
    await wait_until(lambda: _async(not alive(children)), 10, what="the deregistered process to exit")
    assert json.loads(registry_file.read_text())["instances"] == []
    health = cli(gw, "health")
    assert health.returncode == 0 and "demo2" not in health.stdout

    # sync imports a registry file; what is already there is left alone.
    (tmp_path / "import.json").write_text(json.dumps(saved))
    first = cli(gw, "sync", str(tmp_path / "import.json"))
    assert first.returncode == 0 and "1 instance(s) registered, 0 already present" in first.stdout, first
    again = cli(gw, "sync", str(tmp_path / "import.json"))
    assert "0 instance(s) registered, 1 already present" in again.stdout, again
    gw.stop_and_check()


async def _async(value: Any) -> Any:
    return value


async def test_rest_routes(tmp_path) -> None:
    gw = Gateway(tmp_path / "rest", {"mcpServers": {"demo": demo_stdio()}}).start()
    base = f"{gw.url}/mcp/demo"
    async with http_client() as client:
        tools = (await client.get(f"{base}/tools/list")).json()
        assert tools["count"] == len(tools["tools"]) and "echo" in {t["name"] for t in tools["tools"]}
        result = (await client.post(f"{base}/tools/call", json={"name": "echo", "arguments": {"text": "rest"}})).json()
        assert result["content"][0]["text"] == "rest" and not result.get("isError")
        invalid = (await client.post(f"{base}/tools/call", json={"name": "echo", "arguments": {"text": 7}})).json()
        assert invalid["isError"] is True
        for body, status in (({"name": "nope"}, 404), ({"arguments": {}}, 400), ({"name": "echo", "arguments": 3}, 400)):
            response = await client.post(f"{base}/tools/call", json=body)
            assert response.status_code == status, (body, response.text)
            assert "error" in response.json()
        json_type = {"Content-Type": "application/json"}
        assert (await client.post(f"{base}/tools/call", content=b"[", headers=json_type)).status_code == 400
        # Like /mcp: another origin's page is refused, and so is a POST that does not say it is JSON (a "simple"
        # cross-site request needs no preflight).
        evil = {"Origin": "https://evil.example"}
        assert (await client.get(f"{base}/tools/list", headers=evil)).status_code == 403
        refused = await client.post(f"{base}/tools/call", content=b'{"name":"echo","arguments":{"text":"x"}}',
                                    headers={"Content-Type": "text/plain"})
        assert refused.status_code == 415, refused.text

        resources = (await client.get(f"{base}/resources/list")).json()
        assert resources["count"] >= 1
        uri = resources["resources"][0]["uri"]
        read = (await client.post(f"{base}/resources/read", json={"uri": uri})).json()
        assert read["contents"][0]["uri"] == uri
        assert (await client.post(f"{base}/resources/read", json={"uri": "demo://nope"})).status_code == 404

        prompts = (await client.get(f"{base}/prompts/list")).json()
        assert prompts["count"] == len(prompts["prompts"]) >= 1
        name = prompts["prompts"][0]["name"]
        arguments = {a["name"]: "x" for a in prompts["prompts"][0].get("arguments", [])}
        got = (await client.post(f"{base}/prompts/get", json={"name": name, "arguments": arguments})).json()
        assert got["messages"], got

        assert (await client.get(f"{gw.url}/mcp/nosuch/tools/list")).status_code == 404
        # Lists are GETs, calls POSTs.
        assert (await client.post(f"{base}/tools/list")).status_code in (404, 405)
    gw.stop_and_check()
