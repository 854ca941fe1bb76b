"""Schedules across real gateway processes: exactly-once fires with two gateways on one
database, a gateway killed mid-run, and the `hermit schedules` commands."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from openhermit.store.engine import Database
from openhermit.testing.fake_model import FakeModelServer, Reply
from openhermit.testing.gateway_process import GatewayProcess, base_env
from tests.e2e.test_cli import hermit
from tests.polling import PATIENCE_SECONDS, eventually
from tests.runtime_helpers import point_at_fake

pytestmark = pytest.mark.e2e
TOKEN = "e2e-admin"
H = {"Authorization": f"Bearer {TOKEN}"}
SCHEDULES = 200
EVERY_SECONDS = 10


@pytest.fixture
def gateways(tmp_path: Path, db_url: str) -> Iterator[list[GatewayProcess]]:
    started: list[GatewayProcess] = []
    yield started
    for process in started:
        process.kill()


def _start(tmp_path: Path, db_url: str, name: str, gateways: list[GatewayProcess]) -> GatewayProcess:
    process = GatewayProcess(
        tmp_path / name,
        DATABASE_URL=db_url,
        GATEWAY_ADMIN_TOKEN=TOKEN,
        FAKE_API_KEY="sk-e2e",
        OPENHERMIT_LOG_LEVEL="warning",
    ).start()
    gateways.append(process)
    return process


async def _agent_with_owner(http: httpx.AsyncClient, db: Database, fake: FakeModelServer, agent: str) -> str:
    assert (await http.post("/api/agents", json={"agentId": agent})).status_code == 201
    await point_at_fake(db, agent, fake, memory={"introspection": {"enabled": False}})
    user = (await http.post("/api/users", json={"channel": "cli", "channelUserId": f"{agent}-owner"})).json()
    promoted = await http.post(f"/api/agents/{agent}/users/{user['userId']}/promote-to-owner")
    assert promoted.status_code == 200
    return str(user["userId"])


async def _rows(db: Database, sql: str, **params: object) -> list[tuple[object, ...]]:
    async with db.transaction() as tx:
        return [tuple(r) for r in await tx.execute(text(sql), params)]


async def test_two_gateways_run_every_fire_exactly_once(
    tmp_path: Path, db_url: str, db: Database, fake_model: FakeModelServer, gateways: list[GatewayProcess]
) -> None:
    a = _start(tmp_path, db_url, "a", gateways)
    b = _start(tmp_path, db_url, "b", gateways)
    async with (
        httpx.AsyncClient(base_url=a.url, headers=H, timeout=60) as on_a,
        httpx.AsyncClient(base_url=b.url, headers=H, timeout=60) as on_b,
    ):
        await _agent_with_owner(on_a, db, fake_model, "fleet")
        cron = f"*/{EVERY_SECONDS} * * * * *"  # six fields: seconds first

        async def create(i: int) -> None:
            http = on_a if i % 2 else on_b
            body = {"type": "cron", "prompt": f"job {i}", "cronExpression": cron, "id": f"job-{i:03d}"}
            response = await http.post("/api/agents/fleet/schedules", json=body)
            assert response.status_code == 201, response.text

        for start in range(0, SCHEDULES, 25):
            await asyncio.gather(*(create(i) for i in range(start, min(start + 25, SCHEDULES))))
        created = (await _rows(db, "SELECT now()"))[0][0]
        # Wait for two whole fire times after creation: 200 runs each (or give up after 90 s).
        for _ in range(900):
            counts = await _rows(
                db,
                "SELECT fire_at, count(*) FROM schedule_runs WHERE fire_at > :t GROUP BY 1 ORDER BY 1",
                t=created,
            )
            if len([c for _, c in counts if c == SCHEDULES]) >= 2:
                break
            await asyncio.sleep(0.1)
    exit_codes = (a.stop(), b.stop())

    runs = await _rows(db, "SELECT id, schedule_id, fire_at, status, lease_owner, error FROM schedule_runs")
    per_fire = Counter((r[1], r[2]) for r in runs)
    assert max(per_fire.values()) == 1  # no fire recorded twice
    per_time = Counter(r[2] for r in runs if r[2] > created)  # type: ignore[operator]
    complete = sorted(t for t, n in per_time.items() if n == SCHEDULES)
    assert len(complete) >= 2, per_time  # every schedule ran at each fire time (none lost)
    assert all(n <= SCHEDULES for n in per_time.values())
    # One turn per run: the user messages that carry each run's id.
    messages = dict(
        await _rows(
            db,
            "SELECT (payload->'metadata'->>'schedule_run_id')::bigint, count(*) FROM session_events "
            "WHERE agent_id = 'fleet' AND event_type = 'user' GROUP BY 1",
        )
    )
    assert set(messages.values()) == {1}
    completed = [r for r in runs if r[3] == "completed"]
    assert all(messages.get(r[0]) == 1 for r in completed)
    still_running = [r for r in runs if r[3] == "running"]
    assert not still_running, (
        exit_codes,
        len(still_running),
        still_running[:3],
    )  # a graceful stop ends its runs
    assert len({r[4] for r in completed}) == 2  # both gateways took their share


async def _long_runs(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await http.get("/api/agents/crash/schedules/long/runs")).json()  # type: ignore[no-any-return]


async def test_a_gateway_killed_mid_run_leaves_a_lost_run(
    tmp_path: Path, db_url: str, db: Database, fake_model: FakeModelServer, gateways: list[GatewayProcess]
) -> None:
    first = _start(tmp_path, db_url, "a", gateways)
    fake_model.script(Reply(text="never finishes", hang_after_first_delta=60), Reply(text="after restart"))
    async with httpx.AsyncClient(base_url=first.url, headers=H, timeout=30) as http:
        await _agent_with_owner(http, db, fake_model, "crash")
        body = {"type": "cron", "prompt": "long job", "cronExpression": "0 0 1 1 *", "id": "long"}
        assert (await http.post("/api/agents/crash/schedules", json=body)).status_code == 201
        assert (await http.post("/api/agents/crash/schedules/long/trigger")).status_code == 200
        await eventually(
            lambda: _long_runs(http),
            lambda runs: bool(runs) and runs[0]["status"] == "running" and bool(fake_model.received),
            what="the run waiting on the model",
        )
        first.stop(signal.SIGKILL)
    second = _start(tmp_path, db_url, "b", gateways)
    async with httpx.AsyncClient(base_url=second.url, headers=H, timeout=30) as http:
        runs = await eventually(
            lambda: _long_runs(http), lambda runs: runs[0]["status"] != "running", what="the lost run ended"
        )
        assert (runs[0]["status"], runs[0]["error"]) == ("failed", "gateway_lost")
        assert runs[0]["finishedAt"] is not None
        schedule = (await http.get("/api/agents/crash/schedules")).json()[0]
        assert schedule["consecutiveErrors"] == 1
        assert schedule["lastError"] == "gateway_lost"
        assert schedule["status"] == "active"  # never silently disabled


def test_hermit_schedules_commands(
    tmp_path: Path, db_url: str, gateways: list[GatewayProcess], fake_model: FakeModelServer
) -> None:
    gateway = _start(tmp_path, db_url, "cli", gateways)
    env = base_env(tmp_path / "client", OPENHERMIT_GATEWAY_URL=gateway.url, OPENHERMIT_TOKEN=TOKEN)
    http = httpx.Client(base_url=gateway.url, headers=H, timeout=30)
    assert http.post("/api/agents", json={"agentId": "main"}).status_code == 201
    user = http.post("/api/users", json={"channel": "cli", "channelUserId": "me"}).json()
    http.post(f"/api/agents/main/users/{user['userId']}/promote-to-owner")

    def ok(*args: str) -> subprocess.CompletedProcess[str]:
        result = hermit("schedules", *args, env=env)
        assert result.returncode == 0, result.stderr
        return result

    bad = hermit("schedules", "create", "--prompt", "x", "--cron", "99 * * * *", env=env)
    assert bad.returncode != 0
    assert "Invalid cron expression" in bad.stderr
    bad = hermit(
        "schedules", "create", "--prompt", "x", "--cron", "0 9 * * *", "--tz", "Nowhere/Land", env=env
    )
    assert "Unknown time zone" in bad.stderr
    created = ok(
        "create", "--prompt", "daily digest", "--cron", "0 9 * * *", "--id", "digest", "--tz", "Asia/Tokyo"
    )
    assert "created digest" in created.stdout
    assert "digest" in ok("list").stdout
    assert "paused" in ok("pause", "digest").stdout
    assert "active" in ok("resume", "digest").stdout
    assert "triggered" in ok("trigger", "digest").stdout
    deadline = time.monotonic() + PATIENCE_SECONDS
    while (
        not (runs := http.get("/api/agents/main/schedules/digest/runs").json())
        or runs[0]["status"] == "running"
    ):
        assert time.monotonic() < deadline, f"the triggered run did not end: {runs}"
        time.sleep(0.05)
    [run] = json.loads(ok("runs", "digest", "--json").stdout)
    assert run["sessionId"] == "schedule:digest"
    assert run["status"] == "failed"  # the agent has no model key here: recorded, not lost
    assert run["error"]
    assert "deleted" in ok("delete", "digest").stdout
    assert http.get("/api/agents/main/schedules").json() == []
    http.close()
