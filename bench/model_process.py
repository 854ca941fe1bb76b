"""The fake model server in a process of its own.

Run in a thread of the harness, the fake model shares an interpreter lock with the load client:
either one can hold up the other, which showed up as first-token outliers of 20-60 ms that the
gateway had no part in (its own share, chunk read to SSE frame sent, stayed under 1 ms). In a
process of its own it answers as a remote model would.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from openhermit.testing.fake_model import FakeModelServer, Reply


def _serve(reply: Reply, conn: Connection) -> None:
    server = FakeModelServer().start()
    server.default = reply
    server.record = False  # thousands of turns: keep no request bodies
    conn.send(server.port)
    while True:
        try:
            request = conn.recv()
        except EOFError:
            break
        if request == "first_token_sent":
            conn.send(list(server.first_token_sent))
        else:
            break
    server.stop()


class ModelProcess:
    """A `FakeModelServer` answering every request with `reply`, in a child process."""

    def __init__(self, reply: Reply) -> None:
        self._reply = reply
        self._address = FakeModelServer()  # not started: where the child listens, for configs
        self._conn: Connection | None = None
        self._process: Any = None

    def start(self) -> ModelProcess:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(self._reply, child), daemon=True)
        self._process.start()
        if not self._conn.poll(60):
            raise RuntimeError("the fake model process did not start")
        self._address.port = self._conn.recv()
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return int(self._process.pid)

    def agent_model(self, **overrides: Any) -> dict[str, Any]:
        """An agent's `model` config section pointing at this process's server."""
        return self._address.agent_model(**overrides)

    def first_token_sent(self) -> list[float]:
        """`time.monotonic()` (system-wide on Linux) when each reply's first text delta was sent."""
        assert self._conn is not None
        self._conn.send("first_token_sent")
        return self._conn.recv()  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.send("stop")
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
