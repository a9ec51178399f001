-- wrk script: POST one stateless MCP 2026-07-28 tools/call per request (no session; version, method and name in
-- headers that match the body). BODY and NAME come from the environment (set by bench/bench.py).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = os.getenv("NAME")
wrk.body = os.getenv("BODY")
