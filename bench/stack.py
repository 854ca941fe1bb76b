"""What every benchmark scenario runs against: an instant fake model (in a process of its own,
plus a second one that pauses after its first token, for the streaming scenario), a PostgreSQL
server (embedded, started here, or `--database-url`) and one real gateway process on 127.0.0.1.

Scenarios drive the gateway through its public HTTP/SSE API only; the database handle is used
to seed large data sets that would take the API minutes to create, and to count connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import platform
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
from model_process import ModelProcess

from openhermit.store.embedded import EmbeddedPostgres
from openhermit.store.engine import ensure_database, to_libpq_url
from openhermit.testing.fake_model import Reply
from openhermit.testing.gateway_process import GatewayProcess

TOKEN = "bench-admin"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of `values` (q in 0..1)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def gateway_client(url: str, **options: Any) -> httpx.AsyncClient:
    """An HTTP client of the gateway at `url`, authenticated as its admin."""
    return httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=120, **options)


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def machine() -> str:
    cores = len(__import__("os").sched_getaffinity(0))
    return f"{platform.machine()} {platform.system()}, {cores} cores, Python {platform.python_version()}"


@dataclass
class Stack:
    model: ModelProcess
    streaming_model: ModelProcess
    gateway: GatewayProcess
    database_url: str
    http: httpx.AsyncClient
    peak_connections: int = 0
    _sampler: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def gateway_pid(self) -> int:
        assert self.gateway.proc is not None
        return self.gateway.proc.pid

    async def connect_db(self) -> asyncpg.Connection:
        return await asyncpg.connect(to_libpq_url(self.database_url))

    async def configure_agent(
        self,
        agent_id: str,
        *,
        create: bool = True,
        model: ModelProcess | None = None,
        introspection: bool = True,
    ) -> None:
        """Create the agent (optionally) and point it at the fake model (or `model`)."""
        if create:
            (await self.http.post("/api/agents", json={"agentId": agent_id})).raise_for_status()
        config = (await self.http.get(f"/api/agents/{agent_id}/config")).json()
        config["model"] = (model or self.model).agent_model()
        config["memory"]["introspection"]["enabled"] = introspection
        (await self.http.put(f"/api/agents/{agent_id}/config", json=config)).raise_for_status()

    def client(self) -> aiohttp.ClientSession:
        """A client of its own (as a user's), authenticated like `http`, for the timed loops.

        aiohttp rather than httpx: it costs the harness about a third of the CPU per request
        (0.35 against 1.11 ms per turn), CPU taken from the cores the gateway runs on."""
        return aiohttp.ClientSession(
            self.gateway.url, headers=HEADERS, timeout=aiohttp.ClientTimeout(total=120)
        )

    async def open_session(self, agent_id: str, session_id: str) -> str:
        spec = {"sessionId": session_id, "source": {"kind": "api", "interactive": False}}
        (await self.http.post(f"/api/agents/{agent_id}/sessions", json=spec)).raise_for_status()
        return f"/api/agents/{agent_id}/sessions/{session_id}/messages"

    async def _sample_connections(self) -> None:
        conn = await self.connect_db()
        try:
            while True:
                count = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'openhermit%'"
                )
                self.peak_connections = max(self.peak_connections, int(count))
                await asyncio.sleep(0.1)
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def running_stack(database_url: str | None = None) -> AsyncIterator[Stack]:
    """Fake models + PostgreSQL + one gateway process, torn down on exit."""
    model, streaming = await asyncio.gather(
        asyncio.to_thread(ModelProcess(Reply(text="ok", input_tokens=50, output_tokens=5)).start),
        asyncio.to_thread(
            ModelProcess(Reply(text="first token, then the rest", chunk=6, hang_after_first_delta=0.02)).start
        ),
    )
    with tempfile.TemporaryDirectory(prefix="openhermit-bench-") as tmp:
        embedded: EmbeddedPostgres | None = None
        if database_url is None:
            embedded = EmbeddedPostgres(Path(tmp) / "pgdata")
            database_url = await asyncio.to_thread(embedded.start)
            await ensure_database(database_url)
        env = {
            "GATEWAY_ADMIN_TOKEN": TOKEN,
            "FAKE_API_KEY": "sk-bench",
            "OPENHERMIT_LOG_LEVEL": "warning",
            "DATABASE_URL": database_url,
        }
        gateway = await asyncio.to_thread(GatewayProcess(Path(tmp) / "home", **env).start)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        try:
            async with gateway_client(gateway.url, limits=limits) as http:
                stack = Stack(model, streaming, gateway, database_url, http)
                stack._sampler = asyncio.create_task(stack._sample_connections())
                try:
                    yield stack
                finally:
                    stack._sampler.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await stack._sampler
        finally:
            await asyncio.to_thread(gateway.stop)
            model.stop()
            streaming.stop()
            if embedded is not None:
                embedded.stop()


def stamp(result: dict[str, Any]) -> dict[str, Any]:
    """Add the machine and the date to a scenario's figures."""
    return {**result, "machine": machine(), "date": datetime.now(UTC).isoformat(timespec="seconds")}
