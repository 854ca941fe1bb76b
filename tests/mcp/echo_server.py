"""A small MCP server written with the `mcp` SDK, for tests: stdio or Streamable HTTP.

    python tests/mcp/echo_server.py stdio --log calls.jsonl
    python tests/mcp/echo_server.py http --port 8123 --log calls.jsonl

Every call is appended to the log (arguments, and the Authorization header it arrived with).
`crash` kills the process; `hang` never answers; with `--down-flag F` it exits at start while F exists.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from mcp.server.mcpserver import Context, MCPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True)
    parser.add_argument("--down-flag", help="Exit at once while this file exists (a server that is down).")
    options = parser.parse_args()
    if options.down_flag and os.path.exists(options.down_flag):
        raise SystemExit(1)
    server = MCPServer("echo", log_level="WARNING")

    def record(tool: str, args: dict[str, object], ctx: Context | None = None) -> None:
        headers = dict(ctx.headers or {}) if ctx is not None else {}
        entry = {
            "tool": tool,
            "args": args,
            "authorization": headers.get("authorization"),
            "pid": os.getpid(),
        }
        with open(options.log, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")

    @server.tool()
    def echo(text: str, ctx: Context) -> str:
        """Repeat the text back."""
        record("echo", {"text": text}, ctx)
        return f"echo: {text}"

    @server.tool()
    def add(a: int, b: int, ctx: Context) -> str:
        """Add two integers."""
        record("add", {"a": a, "b": b}, ctx)
        return str(a + b)

    @server.tool()
    def crash(ctx: Context) -> str:
        """Kill the server process."""
        record("crash", {}, ctx)
        os._exit(3)

    @server.tool()
    async def hang(ctx: Context) -> str:
        """Never answer."""
        record("hang", {}, ctx)
        await asyncio.sleep(3600)
        return "late"

    if options.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=options.port)


if __name__ == "__main__":
    main()
