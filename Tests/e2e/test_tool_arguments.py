"""Tool-call arguments checked against the tool's `inputSchema` before they are forwarded, and 2026-07-28's
`Mcp-Param-*` headers checked against the arguments they mirror.

The JSON Schema vectors the Swift unit tests use (`Tests/Fixtures/json-schema-vectors.json`) are first checked against
python-jsonschema, the reference implementation the SDK itself uses, so a vector that misreads the specification
fails here; then every vector becomes a tool of a low-level SDK server behind the gateway, and each call must be
refused by the gateway exactly when the vector says the instance is invalid, naming the vector's location, and must
otherwise reach the server unchanged.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import jsonschema
import pytest
from jsonschema.validators import validator_for
from mcp import Client

from conftest import (
    PYTHON,
    REPO,
    E2E_DIR,
    Gateway,
    RawSession,
    http_client,
    list_all,
    modern_headers,
    modern_request,
    text,
    text_of,
)

VECTORS_FILE = REPO / "Tests" / "Fixtures" / "json-schema-vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text())
SCHEMA_SERVER = E2E_DIR / "fixtures" / "schema_server.py"
TIMEOUT = 15.0


@pytest.fixture(scope="module")
def schema_gateway(tmp_path_factory) -> Iterator[Gateway]:
    config = {"mcpServers": {"schema": {"command": PYTHON, "args": [str(SCHEMA_SERVER), str(VECTORS_FILE)]}}}
    gw = Gateway(tmp_path_factory.mktemp("schema-gateway"), config)
    gw.shared = True
    gw.start()
    yield gw
    gw.stop_and_check()


@pytest.fixture
async def session(schema_gateway) -> AsyncIterator[RawSession]:
    async with http_client() as client:
        raw = RawSession(client, schema_gateway.mcp("schema"))
        await raw.initialize()
        yield raw


def test_the_vectors_agree_with_python_jsonschema() -> None:
    checked = 0
    for index, vector in enumerate(VECTORS):
        if "oracleSkip" in vector:
            continue
        schema = vector["schema"]
        validator = validator_for(schema, default=jsonschema.Draft202012Validator)
        assert validator(schema).is_valid(vector["instance"]) == vector["valid"], f"vector {index}: {vector}"
        checked += 1
    assert checked >= 100


async def test_the_gateway_refuses_exactly_the_invalid_vectors(session: RawSession) -> None:
    """Each vector is the schema of a tool's one argument, `value`, so locations gain a `/value` prefix. A vector
    marked `gatewayForwards` is invalid JSON Schema but accepted by the servers users run (the gateway reads JSON in
    strings as the Python SDK's servers do), so the gateway forwards it."""
    for index, vector in enumerate(VECTORS):
        answer = await session.call(f"v{index}", {"value": vector["instance"]}, id=index)
        where = f"vector {index} {json.dumps(vector)}: {answer}"
        result = answer.get("result")
        assert result is not None, where
        if vector["valid"] or "gatewayForwards" in vector:
            assert text_of(result) == f"ran v{index} " + json.dumps({"value": vector["instance"]}, sort_keys=True), where
        else:
            at = "/value" + vector["at"]
            assert result.get("isError") is True, where
            assert text_of(result).startswith(f"Invalid arguments for tool v{index}: {at}: "), where
    assert len(VECTORS) >= 100


async def test_valid_arguments_arrive_byte_for_byte(session: RawSession) -> None:
    arguments = {"city": "Oslo", "days": 14, "opts": {"metric": True}}
    answer = await session.call("forecast", arguments)
    assert text_of(answer["result"]) == f"ran forecast {json.dumps(arguments, sort_keys=True)}"


async def test_the_sdk_client_sees_a_tool_error_naming_the_argument(schema_gateway) -> None:
    async with Client(schema_gateway.mcp(), mode="legacy", read_timeout_seconds=TIMEOUT) as client:
        result = await client.call_tool("schema__forecast", {"city": "Oslo", "days": 15})
        assert result.is_error
        assert text(result) == "Invalid arguments for tool schema__forecast: /days: must be at most 14"
        result = await client.call_tool("schema__forecast", {"city": "Oslo", "unit": "K"})
        assert text(result) == 'Invalid arguments for tool schema__forecast: property "unit" is not allowed'
        result = await client.call_tool("schema__forecast", {})
        assert text(result) == 'Invalid arguments for tool schema__forecast: missing required property "city"'


async def test_a_tool_with_invalid_header_annotations_is_hidden_from_2026_clients_only(
    schema_gateway, session: RawSession
) -> None:
    names = {tool["name"] for tool in await list_all(session, "tools/list", "tools")}
    assert {"forecast", "bad_header"} <= names  # a session client: the annotation means nothing to it
    async with http_client() as client:
        body = modern_request("tools/list", {})
        listed = await client.post(schema_gateway.mcp("schema"), content=json.dumps(body), headers=modern_headers(body))
        modern = {tool["name"] for tool in listed.json()["result"]["tools"]}
        assert "forecast" in modern and "bad_header" not in modern
        body = modern_request("tools/call", {"name": "bad_header", "arguments": {"tags": ["a"]}})
        called = await client.post(schema_gateway.mcp("schema"), content=json.dumps(body), headers=modern_headers(body))
    error = called.json()["error"]
    assert error["code"] == -32602 and "bad_header" in error["message"], error


async def test_what_python_sdk_servers_accept_is_forwarded(session: RawSession) -> None:
    """Stringified JSON for a number or an object (clients send it; the SDK's servers parse it) and null arguments."""
    answer = await session.call("forecast", {"city": "Oslo", "days": "3", "opts": '{"metric": true}'})
    assert text_of(answer["result"]).startswith("ran forecast "), answer
    answer = await session.request("tools/call", {"name": "v0", "arguments": None})
    assert text_of(answer["result"]) == "ran v0 null", answer


# --- 2026-07-28: Mcp-Param-* -------------------------------------------------------------------------------------


def forecast_call(arguments: dict[str, Any]) -> dict[str, Any]:
    return modern_request("tools/call", {"name": "forecast", "arguments": arguments})


async def post_modern(schema_gateway, body: dict[str, Any], **headers: str | None) -> httpx2.Response:
    async with http_client() as client:
        return await client.post(
            schema_gateway.mcp("schema"), content=json.dumps(body), headers=modern_headers(body, **headers))


async def test_the_sdk_client_in_2026_mode_mirrors_the_headers_and_is_served(schema_gateway) -> None:
    async with Client(schema_gateway.mcp("schema"), mode="2026-07-28", read_timeout_seconds=TIMEOUT) as client:
        listed = await client.list_tools()
        assert "forecast" in {tool.name for tool in listed.tools}
        result = await client.call_tool("forecast", {"city": "Zürich", "region": "eu-central-2 ü", "opts": {"metric": False}})
        assert text(result) == 'ran forecast {"city": "Z\\u00fcrich", "opts": {"metric": false}, "region": "eu-central-2 \\u00fc"}'


async def test_matching_headers_are_accepted_plain_and_base64(schema_gateway) -> None:
    plain = await post_modern(schema_gateway, forecast_call({"city": "Oslo", "region": "eu-1"}), Mcp_Param_Region="eu-1")
    assert plain.status_code == 200, plain.text
    encoded = "=?base64?" + base64.b64encode("Zürich".encode()).decode() + "?="
    wrapped = await post_modern(schema_gateway, forecast_call({"city": "Oslo", "region": "Zürich"}), Mcp_Param_Region=encoded)
    assert wrapped.status_code == 200, wrapped.text
    assert "ran forecast" in wrapped.text


@pytest.mark.parametrize(
    "arguments, headers, reason",
    [
        ({"city": "Oslo", "region": "eu-1"}, {}, "the Mcp-Param-Region header is required"),
        ({"city": "Oslo", "region": "eu-1"}, {"Mcp_Param_Region": "us-1"}, "does not match body value"),
        ({"city": "Oslo"}, {"Mcp_Param_Region": "eu-1"}, "is sent but arguments.region has no value to mirror"),
        ({"city": "Oslo", "opts": {"metric": True}}, {"Mcp_Param_Metric": "false"}, "Mcp-Param-Metric"),
        ({"city": "Oslo", "region": "eu-1"}, {"Mcp_Param_Region": "=?base64?%%%?="}, "not valid base64"),
    ],
)
async def test_header_and_body_disagreeing_is_400_header_mismatch(schema_gateway, arguments, headers, reason) -> None:
    response = await post_modern(schema_gateway, forecast_call(arguments), **headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == -32020 and reason in error["message"], error


async def test_headers_for_arguments_no_tool_mirrors_are_ignored(schema_gateway) -> None:
    response = await post_modern(schema_gateway, forecast_call({"city": "Oslo"}), Mcp_Param_Unrelated="x")
    assert response.status_code == 200, response.text
