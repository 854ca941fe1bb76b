"""Profile sequential `wait` turns in-process: SQL statements and transactions per turn, and
a pyinstrument profile of where the gateway spends its time.

Starts an embedded PostgreSQL in a temporary home and the fake model server; drives the ASGI
app in-process (no sockets between client and gateway), so the profile shows only gateway work.

Run: .venv/bin/python bench/profile_turn.py [--turns 200] [--html profile.html]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import pstats
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pyinstrument import Profiler
from sqlalchemy import event

from openhermit.config import Settings
from openhermit.gateway.app import create_app
from openhermit.gateway.heap import settle_heap
from openhermit.gateway.platform import Platform
from openhermit.secrets.crypto import SecretCipher
from openhermit.secrets.db_store import DbSecretStore
from openhermit.store.bootstrap import open_store
from openhermit.testing.fake_model import FakeModelServer, Reply

TOKEN = "bench-admin"


def _count_driver_statements(statements: Counter[str], counting: Any) -> None:
    """Count what goes straight to asyncpg (the hot-path statements, BEGIN) next to SQLAlchemy's."""
    connection = asyncpg.connection.Connection
    for name in ("execute", "fetch", "fetchrow", "fetchval"):
        original = getattr(connection, name)

        def counted(self: Any, query: str, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            if counting() and not query.startswith(("COMMIT", "ROLLBACK")):
                statements["BEGIN" if query.startswith("BEGIN") else " ".join(query.split())[:160]] += 1
            return _original(self, query, *args, **kwargs)

        setattr(connection, name, counted)


class _NoProfiler:
    """Stands in for a profiler to measure CPU per turn without profiling overhead."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


async def run(
    turns: int,
    html: Path | None,
    show_sql: bool,
    use_cprofile: bool,
    plain: bool,
    sort: str = "tottime",
    rows: int = 40,
) -> None:
    model = FakeModelServer().start()
    model.default = Reply(text="ok", input_tokens=50, output_tokens=5)
    model.record = False  # the request log would dominate the process's memory
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            home=Path(tmp) / "home",
            admin_token=TOKEN,
            secrets_key=base64.b64encode(b"b" * 32).decode(),
            jwt_secret="bench-jwt-secret-of-at-least-32-bytes",
            provider_api_keys={"FAKE_API_KEY": "sk-bench"},
        )
        store = await open_store(settings)
        cipher = SecretCipher(base64.b64decode(b"b" * 32 and base64.b64encode(b"b" * 32)))
        secrets = DbSecretStore(store.db, cipher)
        platform = Platform(settings=settings, store=store, secrets=secrets)
        app = create_app(settings, platform)
        settle_heap()  # as the gateway process does once started
        statements: Counter[str] = Counter()
        counting = False

        def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if counting:
                statements[" ".join(statement.split())[:160]] += 1

        event.listen(store.db.engine.sync_engine, "before_cursor_execute", on_execute)
        _count_driver_statements(statements, lambda: counting)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://gw", headers=headers) as http,
        ):
            agent = "bench"
            (await http.post("/api/agents", json={"agentId": agent})).raise_for_status()
            config = (await http.get(f"/api/agents/{agent}/config")).json()
            config["model"] = model.agent_model()
            (await http.put(f"/api/agents/{agent}/config", json=config)).raise_for_status()
            spec = {"sessionId": "bench", "source": {"kind": "api", "interactive": False}}
            (await http.post(f"/api/agents/{agent}/sessions", json=spec)).raise_for_status()
            url = f"/api/agents/{agent}/sessions/bench/messages"
            for i in range(10):
                (await http.post(url, params={"wait": "true"}, json={"text": f"warm {i}"})).raise_for_status()
            profiler: Any = (
                _NoProfiler()
                if plain
                else cProfile.Profile()
                if use_cprofile
                else Profiler(async_mode="enabled", interval=0.0005)
            )
            latencies = []
            counting = True
            cpu_started = time.process_time()
            thread_started = time.thread_time()
            profiler.enable() if use_cprofile else profiler.start()
            for i in range(turns):
                started = time.perf_counter()
                r = await http.post(url, params={"wait": "true"}, json={"text": f"turn {i}"})
                latencies.append((time.perf_counter() - started) * 1000)
                r.raise_for_status()
            profiler.disable() if use_cprofile else profiler.stop()
            cpu_ms = (time.process_time() - cpu_started) * 1000 / turns
            main_ms = (time.thread_time() - thread_started) * 1000 / turns
            counting = False
            await asyncio.sleep(0.5)
        await platform.fleet.stop()
        await platform.runtime.aclose()
        await store.close()
    model.stop()
    begins = statements.pop("BEGIN", 0)
    total = sum(statements.values())
    print(
        f"turns {turns}  p50 {statistics.median(latencies):.2f} ms  mean {statistics.fmean(latencies):.2f} ms"
    )
    print(f"CPU per turn: {cpu_ms:.2f} ms in the process, {main_ms:.2f} ms in the main thread")
    print("  (the main thread runs the gateway and the in-process client; the fake model has its own)")
    print(f"SQL statements per turn: {total / turns:.1f}")
    print(f"transactions per turn: {begins / turns:.1f}")
    if show_sql:
        for stmt, count in statements.most_common():
            print(f"{count / turns:6.2f}  {stmt}")
    if plain:
        return
    if use_cprofile:
        stats = pstats.Stats(profiler)
        stats.sort_stats(sort).print_stats(rows)
        _print_by_package(stats, turns)
        return
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    if html:
        await asyncio.to_thread(html.write_text, profiler.output_html())


def _print_by_package(stats: pstats.Stats, turns: int) -> None:
    """Own time per turn, summed by the top-level package of each function."""
    by_package: Counter[str] = Counter()
    for (filename, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
        package = "builtins"
        if "site-packages/" in filename:
            package = filename.split("site-packages/", 1)[1].split("/", 1)[0]
        elif "/openhermit/" in filename:
            package = "openhermit." + filename.split("/openhermit/", 1)[1].split("/", 1)[0]
        elif filename.startswith("/usr/lib/python") or "/lib/python3" in filename:
            package = "stdlib." + Path(filename).stem
        by_package[package] += row[2]
    print("own CPU per turn by package (ms):")
    for package, seconds in by_package.most_common(25):
        print(f"  {seconds * 1000 / turns:7.2f}  {package}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--html", type=Path)
    parser.add_argument("--sql", action="store_true", help="list every statement with its count per turn")
    parser.add_argument("--cprofile", action="store_true", help="cProfile (own time)")
    parser.add_argument("--plain", action="store_true", help="no profiler: latency and CPU per turn only")
    parser.add_argument("--sort", default="tottime", help="cProfile order (tottime, cumulative, ...)")
    parser.add_argument("--rows", type=int, default=40, help="cProfile rows to print")
    args = parser.parse_args()
    asyncio.run(run(args.turns, args.html, args.sql, args.cprofile, args.plain, args.sort, args.rows))


if __name__ == "__main__":
    main()
