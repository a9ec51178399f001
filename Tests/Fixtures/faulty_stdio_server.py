#!/usr/bin/env python3
"""A stdio MCP server that misbehaves on request, for testing how the gateway survives its upstreams.

Standard library only. Tools:
  echo {text}            answers with the text
  sleep {ms, text}       answers after ms milliseconds (concurrent calls run in parallel)
  crash {status,message} writes message to stderr and exits with status, without answering
  hang                   never answers
  garbage                writes a line that is not JSON, and never answers
  env                    answers with the sorted names of its environment variables
  pid                    answers with its process id
Flags: --banner (print a non-JSON line before anything else), --no-initialize (never answer initialize).
"""
import json
import os
import sys
import threading
import time

lock = threading.Lock()


def send(message):
    data = json.dumps(message, separators=(",", ":")) + "\n"
    with lock:
        sys.stdout.write(data)
        sys.stdout.flush()


def text(request_id, value):
    send({"jsonrpc": "2.0", "id": request_id, "result": {"content": [{"type": "text", "text": value}]}})


TOOLS = [
    {"name": name, "inputSchema": {"type": "object"}}
    for name in ["echo", "sleep", "crash", "hang", "garbage", "env", "pid"]
]


def call(request_id, name, arguments):
    if name == "echo":
        text(request_id, str(arguments.get("text", "")))
    elif name == "sleep":
        time.sleep(int(arguments.get("ms", 100)) / 1000)
        text(request_id, str(arguments.get("text", "slept")))
    elif name == "crash":
        sys.stderr.write(str(arguments.get("message", "fixture crashed on purpose")) + "\n")
        sys.stderr.flush()
        os._exit(int(arguments.get("status", 3)))
    elif name == "hang":
        pass
    elif name == "garbage":
        with lock:
            sys.stdout.write("this line is not JSON-RPC\n")
            sys.stdout.flush()
    elif name == "env":
        text(request_id, ",".join(sorted(os.environ)))
    elif name == "pid":
        text(request_id, str(os.getpid()))
    else:
        send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32602, "message": "Unknown tool: " + name}})


def main():
    if "--banner" in sys.argv:
        print("faulty fixture starting (this banner is not JSON)", flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        message = json.loads(line)
        method, request_id = message.get("method"), message.get("id")
        if request_id is None:
            continue
        if method == "initialize":
            if "--no-initialize" in sys.argv:
                continue
            send({"jsonrpc": "2.0", "id": request_id, "result": {
                "protocolVersion": message["params"].get("protocolVersion", "2025-11-25"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "faulty-fixture", "version": "1"}}})
        elif method == "tools/list":
            send({"jsonrpc": "2.0", "id": request_id, "result": {"tools": TOOLS}})
        elif method == "tools/call":
            params = message.get("params", {})
            threading.Thread(
                target=call, args=(request_id, params.get("name"), params.get("arguments") or {}), daemon=True
            ).start()
        elif method == "ping":
            send({"jsonrpc": "2.0", "id": request_id, "result": {}})
        else:
            send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": "Method not found"}})


if __name__ == "__main__":
    main()
