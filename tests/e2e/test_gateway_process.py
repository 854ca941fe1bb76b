"""The gateway as a user runs it: embedded PostgreSQL, clean stop, data kept, clear errors."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import signal
import socket
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from openhermit.store.embedded import EmbeddedPostgres
from openhermit.store.engine import to_libpq_url
from openhermit.testing.gateway_process import GatewayProcess, free_port, run_gateway_expecting_failure

pytestmark = pytest.mark.e2e
ADMIN = {"Authorization": "Bearer e2e-admin"}


def _postmaster_running(pgdata: Path) -> bool:
    return (pgdata / "postmaster.pid").exists()


async def _insert_agent(pgdata: Path) -> None:
    handle = EmbeddedPostgres(pgdata)
    url = handle.start()  # attaches to the running server
    conn = await asyncpg.connect(to_libpq_url(url))
    try:
        await conn.execute("INSERT INTO agents (agent_id, workspace_dir) VALUES ('kept', '/tmp/kept')")
    finally:
        await conn.close()
        handle.stop()  # releases our hold only: the gateway still holds the server


def _idle_connection_stays_usable(url: str) -> None:
    """A kept-alive connection idle longer than a client's own idle timeout (httpx: 5 s) is
    still open: the client closes it first, never the gateway while a request is on its way."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        for wait in (0, 6):
            time.sleep(wait)
            conn.request("GET", "/health")  # on the same connection: http.client keeps it open
            response = conn.getresponse()
            assert response.status == 200
            assert json.loads(response.read()) == {"ok": True, "role": "gateway"}
    finally:
        conn.close()


def test_embedded_start_stop_and_reuse(tmp_path: Path) -> None:
    home = tmp_path / "home"
    gateway = GatewayProcess(home, GATEWAY_ADMIN_TOKEN="e2e-admin").start()
    try:
        assert httpx.get(f"{gateway.url}/health").json() == {"ok": True, "role": "gateway"}
        assert _postmaster_running(home / "pgdata")
        _idle_connection_stays_usable(gateway.url)
        asyncio.run(_insert_agent(home / "pgdata"))
    finally:
        code = gateway.stop(signal.SIGINT)
    assert code == 0
    assert not _postmaster_running(home / "pgdata"), "PostgreSQL was left running"

    again = GatewayProcess(home, GATEWAY_ADMIN_TOKEN="e2e-admin").start()
    try:
        stats = httpx.get(f"{again.url}/api/admin/stats", headers=ADMIN).json()
        assert stats["counts"]["agents"] == 1  # the data survived the restart
    finally:
        # uvicorn re-raises SIGTERM after a graceful shutdown, so the exit is "killed by SIGTERM".
        assert again.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert not _postmaster_running(home / "pgdata")


def test_stop_after_a_killed_gateway_still_stops_postgres(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = GatewayProcess(home).start()
    first.stop(signal.SIGKILL)
    assert _postmaster_running(home / "pgdata")  # orphaned by the kill
    second = GatewayProcess(home).start()
    assert second.stop(signal.SIGINT) == 0
    assert not _postmaster_running(home / "pgdata")


def _assert_one_clear_line(result: object, fragment: str) -> None:
    assert result.returncode != 0  # type: ignore[attr-defined]
    stderr = result.stderr.strip()  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    last = stderr.splitlines()[-1]
    assert fragment in last, stderr


def test_malformed_secrets_key(tmp_path: Path) -> None:
    result = run_gateway_expecting_failure(
        tmp_path / "home", OPENHERMIT_SECRETS_KEY=base64.b64encode(b"too short").decode()
    )
    _assert_one_clear_line(result, "OPENHERMIT_SECRETS_KEY: must decode to exactly 32 bytes")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_database(tmp_path: Path) -> None:
    result = run_gateway_expecting_failure(
        tmp_path / "home", DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    )
    _assert_one_clear_line(result, "DATABASE_URL: cannot connect to 127.0.0.1")


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_gateway_expecting_failure(tmp_path / "home", GATEWAY_PORT=str(port))
    _assert_one_clear_line(result, f"GATEWAY_PORT: 127.0.0.1:{port} is already in use")
    assert not (tmp_path / "home" / "pgdata").exists()  # failed before touching the database


def test_wrong_secrets_key_on_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key_a = base64.b64encode(b"a" * 32).decode()
    key_b = base64.b64encode(b"b" * 32).decode()
    gateway = GatewayProcess(home, OPENHERMIT_SECRETS_KEY=key_a).start()
    assert gateway.stop() == 0
    result = run_gateway_expecting_failure(home, OPENHERMIT_SECRETS_KEY=key_b)
    _assert_one_clear_line(result, "OPENHERMIT_SECRETS_KEY: does not match the key")
    assert not _postmaster_running(home / "pgdata")
