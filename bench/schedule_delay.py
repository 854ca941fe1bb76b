"""Delay between a schedule's due time and the start of its turn, with many active schedules.

Starts an embedded PostgreSQL, the fake model server (instant replies) and a real gateway
process on 127.0.0.1; creates N active cron schedules through the HTTP API, each firing once
an hour at its own second (spread evenly over the hour: 10,000 schedules = 2.8 fires/s), then
lets the scheduler run for --seconds and reads the ledger: due time (`schedule_runs.fire_at`)
-> run claimed (`schedule_runs.started_at`) -> turn started (`turns.started_at`).

Run: .venv/bin/python bench/schedule_delay.py [--schedules 10000] [--seconds 120] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from openhermit.store.embedded import EmbeddedPostgres
from openhermit.store.engine import open_database
from openhermit.testing.fake_model import FakeModelServer, Reply
from openhermit.testing.gateway_process import GatewayProcess

TOKEN = "bench-admin"
AGENT = "bench"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _setup(http: httpx.AsyncClient, model: FakeModelServer, count: int) -> float:
    (await http.post("/api/agents", json={"agentId": AGENT})).raise_for_status()
    config = (await http.get(f"/api/agents/{AGENT}/config")).json()
    config["model"] = model.agent_model()
    config["memory"] = {"introspection": {"enabled": False}}
    (await http.put(f"/api/agents/{AGENT}/config", json=config)).raise_for_status()
    user = (await http.post("/api/users", json={"channel": "cli", "channelUserId": "bench"})).json()
    (await http.post(f"/api/agents/{AGENT}/users/{user['userId']}/promote-to-owner")).raise_for_status()
    gate = asyncio.Semaphore(32)

    async def create(i: int) -> None:
        offset = int(i * 3600 / count)  # seconds into the hour
        body = {
            "type": "cron",
            "prompt": f"job {i}",
            "cronExpression": f"{offset % 60} {offset // 60} * * * *",
            "id": f"job-{i:05d}",
        }
        async with gate:
            (await http.post(f"/api/agents/{AGENT}/schedules", json=body)).raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(create(i) for i in range(count)))
    return time.perf_counter() - started


async def measure(url: str, home: Path, count: int, seconds: float) -> tuple[list[Any], int, float]:
    model = FakeModelServer().start()
    model.default = Reply(text="ok")
    env = {"GATEWAY_ADMIN_TOKEN": TOKEN, "FAKE_API_KEY": "sk-bench", "OPENHERMIT_LOG_LEVEL": "warning"}
    gateway = GatewayProcess(home, DATABASE_URL=url, **env).start()
    db = open_database(url, pool_size=2)
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=gateway.url, headers=headers, timeout=120) as http:
            create_seconds = await _setup(http, model, count)
        async with db.transaction() as tx:
            window_start = (await tx.execute(text("SELECT now()"))).scalar_one()
        await asyncio.sleep(seconds)
        async with db.transaction() as tx:
            rows = (
                await tx.execute(
                    text(
                        "SELECT extract(epoch FROM r.started_at - r.fire_at), "
                        "extract(epoch FROM t.started_at - r.fire_at), r.status, "
                        "extract(epoch FROM t.created_at - r.started_at), "
                        "extract(epoch FROM t.started_at - t.created_at) "
                        "FROM schedule_runs r LEFT JOIN turns t ON t.agent_id = r.agent_id "
                        "AND t.session_id = r.session_id AND t.message_id = 'schedule-run-' || r.id "
                        "WHERE r.fire_at >= :start AND r.fire_at <= now() - interval '5 seconds'"
                    ),
                    {"start": window_start},
                )
            ).all()
            active = (
                await tx.execute(text("SELECT count(*) FROM schedules WHERE status = 'active'"))
            ).scalar_one()
    finally:
        gateway.stop()
        await db.dispose()
        model.stop()
    return list(rows), int(active), create_seconds


def run(count: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp).chmod(0o755)  # the embedded server runs as its own user
        server = EmbeddedPostgres(Path(tmp) / "pgdata")
        url = make_url(server.start()).set(database="postgres").render_as_string(hide_password=False)
        try:
            rows, active, create_seconds = asyncio.run(measure(url, Path(tmp) / "home", count, seconds))
        finally:
            server.stop()
    claim = [float(r[0]) * 1000 for r in rows]
    turn = [float(r[1]) * 1000 for r in rows if r[1] is not None]
    post = [float(r[3]) * 1000 for r in rows if r[3] is not None]
    queued = [float(r[4]) * 1000 for r in rows if r[4] is not None]
    return {
        "scenario": "schedule_due_to_turn_start",
        "active_schedules": active,
        "window_seconds": seconds,
        "fires": len(rows),
        "fires_without_turn": len(rows) - len(turn),
        "statuses": {s: sum(1 for r in rows if r[2] == s) for s in {r[2] for r in rows}},
        "claim_p50_ms": round(statistics.median(claim), 1),
        "claim_p99_ms": round(percentile(claim, 0.99), 1),
        "turn_start_p50_ms": round(statistics.median(turn), 1),
        "turn_start_p99_ms": round(percentile(turn, 0.99), 1),
        "turn_start_max_ms": round(max(turn), 1),
        "claim_to_message_p50_p99_ms": [round(statistics.median(post), 1), round(percentile(post, 0.99), 1)],
        "message_to_turn_p50_p99_ms": [
            round(statistics.median(queued), 1),
            round(percentile(queued, 0.99), 1),
        ],
        "create_seconds": round(create_seconds, 1),
        "machine": f"{platform.machine()} {platform.system()} python {platform.python_version()}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.schedules, args.seconds)
    for name, value in result.items():
        print(f"{name:22} {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
