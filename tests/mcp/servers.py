"""Starting the test MCP server (`echo_server.py`) and reading what it received."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ECHO_SERVER = str(Path(__file__).resolve().parent / "echo_server.py")


class HttpEchoServer:
    """The echo server over Streamable HTTP in its own process; can be stopped and restarted."""

    def __init__(self, log: Path, port: int) -> None:
        self.log, self.port = log, port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> None:
        command = [sys.executable, ECHO_SERVER, "http", "--port", str(self.port), "--log", str(self.log)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the MCP test server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def stdio_definition(server_id: str, log: Path, down_flag: Path | None = None) -> dict[str, Any]:
    args = [ECHO_SERVER, "stdio", "--log", str(log)]
    if down_flag is not None:
        args += ["--down-flag", str(down_flag)]
    return {"id": server_id, "command": sys.executable, "args": args}


def calls(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]
