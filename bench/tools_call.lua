-- wrk script: POST one MCP tools/call per request on an existing session.
-- SESSION and BODY come from the environment (set by bench/bench.py).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Mcp-Session-Id"] = os.getenv("SESSION")
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
wrk.body = os.getenv("BODY")
