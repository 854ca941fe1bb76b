"""Schedules: validation at creation, runs through the message path, the run ledger, time
limits, concurrency policies, error backoff, catch-up and runs of dead gateways."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from openhermit.gateway.platform import Platform
from openhermit.scheduler.service import BUSY, MISSED, Scheduler
from openhermit.store.engine import Database
from openhermit.testing.fake_model import FakeModelServer, Reply
from tests.polling import PATIENCE_SECONDS
from tests.runtime_helpers import create_agent, open_session, point_at_fake

H = {"Authorization": "Bearer test-admin-token"}
BASE = "/api/agents/{a}/schedules"


async def _agent(client: httpx.AsyncClient, db: Database, fake: FakeModelServer, name: str) -> str:
    """An agent on the fake model with an owner (schedules run as their creator)."""
    await create_agent(client, H, name)
    await point_at_fake(db, name, fake, memory={"introspection": {"enabled": False}})
    user = (
        await client.post("/api/users", json={"channel": "cli", "channelUserId": f"{name}-owner"}, headers=H)
    ).json()
    promoted = await client.post(f"/api/agents/{name}/users/{user['userId']}/promote-to-owner", headers=H)
    assert promoted.status_code == 200, promoted.text
    return user["userId"]


async def _create(client: httpx.AsyncClient, agent: str, **body: Any) -> dict[str, Any]:
    response = await client.post(BASE.format(a=agent), json=body, headers=H)
    assert response.status_code == 201, response.text
    return response.json()


async def _runs(client: httpx.AsyncClient, agent: str, sid: str) -> list[dict[str, Any]]:
    response = await client.get(f"{BASE.format(a=agent)}/{sid}/runs", params={"limit": 200}, headers=H)
    assert response.status_code == 200, response.text
    return response.json()


async def _until(check: Any, within: float = PATIENCE_SECONDS) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = await check()
        if found and (check.__name__ != "enough" or found is True):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached: {found!r}")
        await asyncio.sleep(0.05)


async def _finished_runs(client: httpx.AsyncClient, agent: str, sid: str, count: int) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        runs = await _runs(client, agent, sid)
        done = [r for r in runs if r["status"] != "running"]
        return runs if len(done) >= count else None

    return await _until(check)  # type: ignore[no-any-return]


async def _schedule(client: httpx.AsyncClient, agent: str, sid: str) -> dict[str, Any]:
    listed = (await client.get(BASE.format(a=agent), headers=H)).json()
    return next(s for s in listed if s["scheduleId"] == sid)


@pytest.fixture
async def scheduler(client: httpx.AsyncClient, platform: Platform) -> AsyncIterator[Scheduler]:
    platform.scheduler.start()
    yield platform.scheduler
    await platform.scheduler.stop()


# Creation and validation ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "cron", "prompt": "p", "cronExpression": "61 * * * *"}, "Invalid cron expression"),
        ({"type": "cron", "prompt": "p", "cronExpression": "* * *"}, "expected 5 fields"),
        (
            {"type": "cron", "prompt": "p", "cronExpression": "0 9 * * *", "timezone": "Mars/Base"},
            "Unknown time zone",
        ),
        ({"type": "once", "prompt": "p", "runAt": "2001-01-01T00:00:00Z"}, "in the past"),
        ({"type": "once", "prompt": "p", "runAt": "2999-01-01T00:00:00"}, "time zone"),
        ({"type": "once", "prompt": "p"}, "needs runAt"),
        ({"type": "cron", "prompt": "p"}, "needs cronExpression"),
        ({"type": "cron", "prompt": "", "cronExpression": "0 9 * * *"}, "prompt"),
        ({"type": "weekly", "prompt": "p"}, "type"),
        ({"type": "cron", "prompt": "p", "cronExpression": "0 9 * * *", "colour": "red"}, "colour"),
        (
            {"type": "cron", "prompt": "p", "cronExpression": "0 9 * * *", "policy": {"concurrency": "x"}},
            "concurrency",
        ),
        (
            {
                "type": "cron",
                "prompt": "p",
                "cronExpression": "0 9 * * *",
                "delivery": {"kind": "session", "sessionId": "nope"},
            },
            "does not exist",
        ),
        (
            {"type": "cron", "prompt": "p", "cronExpression": "0 9 * * *", "createdBy": "usr-nobody"},
            "no role",
        ),
    ],
)
async def test_invalid_schedules_are_refused_at_creation(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, body: dict[str, Any], message: str
) -> None:
    await _agent(client, db, fake_model, "v")
    response = await client.post(BASE.format(a="v"), json=body, headers=H)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert message in error["message"]


async def test_schedule_lifecycle_over_http(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    owner = await _agent(client, db, fake_model, "life")
    created = await _create(
        client,
        "life",
        type="cron",
        prompt="morning digest",
        cronExpression="0 9 * * *",
        timezone="Europe/Paris",
        id="digest",
        policy={"timeout_seconds": 30, "concurrency": "queue"},
    )
    assert created["scheduleId"] == "digest"
    assert created["status"] == "active"
    assert created["createdBy"] == owner
    assert created["sessionMode"] == {"kind": "dedicated"}
    assert created["delivery"]["kind"] == "silent"
    assert (created["policy"]["timeout_seconds"], created["policy"]["concurrency"]) == (30, "queue")
    next_run = datetime.fromisoformat(created["nextRunAt"])
    assert next_run.astimezone(UTC).hour in (7, 8)  # 09:00 in Paris (summer or winter time)

    duplicate = await client.post(
        BASE.format(a="life"),
        json={"type": "cron", "prompt": "p", "cronExpression": "* * * * *", "id": "digest"},
        headers=H,
    )
    assert duplicate.status_code == 409

    once = await _create(client, "life", type="once", prompt="remind me", runAt="2999-01-01T10:00:00+02:00")
    assert once["nextRunAt"].startswith("2999-01-01T08:00:00")
    assert len(once["scheduleId"]) == 8

    paused = await client.put(f"{BASE.format(a='life')}/digest", json={"status": "paused"}, headers=H)
    assert paused.status_code == 200
    assert paused.json()["status"] == "paused"
    listed = await client.get(BASE.format(a="life"), params={"status": "paused"}, headers=H)
    assert [s["scheduleId"] for s in listed.json()] == ["digest"]
    changed = await client.put(
        f"{BASE.format(a='life')}/digest",
        json={"status": "active", "cronExpression": "30 6 * * 1"},
        headers=H,
    )
    assert changed.json()["cronExpression"] == "30 6 * * 1"
    assert changed.json()["status"] == "active"
    bad = await client.put(f"{BASE.format(a='life')}/digest", json={"cronExpression": "nope"}, headers=H)
    assert bad.status_code == 400
    assert "Invalid cron expression" in bad.json()["error"]["message"]
    bad = await client.put(f"{BASE.format(a='life')}/digest", json={"status": "completed"}, headers=H)
    assert bad.status_code == 400

    everything = await client.get("/api/admin/schedules", headers=H)
    assert {s["scheduleId"] for s in everything.json()} == {"digest", once["scheduleId"]}
    bad_status = await client.get("/api/admin/schedules", params={"status": "sleeping"}, headers=H)
    assert bad_status.status_code == 400

    for method, suffix in [("PUT", ""), ("DELETE", ""), ("POST", "/trigger"), ("GET", "/runs")]:
        missing = await client.request(
            method, f"{BASE.format(a='life')}/ghost{suffix}", json={} if method == "PUT" else None, headers=H
        )
        assert missing.status_code == 404, (method, suffix)
    gone = await client.get(BASE.format(a="ghost-agent"), headers=H)
    assert gone.status_code == 404

    deleted = await client.delete(f"{BASE.format(a='life')}/digest", headers=H)
    assert deleted.json() == {"ok": True}
    assert [s["scheduleId"] for s in (await client.get(BASE.format(a="life"), headers=H)).json()] == [
        once["scheduleId"]
    ]


async def test_an_agent_without_owner_needs_created_by(client: httpx.AsyncClient) -> None:
    await create_agent(client, H, "orphan")
    response = await client.post(
        BASE.format(a="orphan"),
        json={"type": "cron", "prompt": "p", "cronExpression": "0 9 * * *"},
        headers=H,
    )
    assert response.status_code == 400
    assert "no owner" in response.json()["error"]["message"]


# Runs ---------------------------------------------------------------------------------------
async def test_trigger_runs_the_prompt_as_its_creator(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, scheduler: Scheduler
) -> None:
    owner = await _agent(client, db, fake_model, "trig")
    await open_session(client, H, "trig", "inbox-like")
    fake_model.script(Reply(text="Here is your digest."))
    await _create(
        client,
        "trig",
        type="cron",
        prompt="Write the digest",
        cronExpression="0 0 1 1 *",
        id="d",
        delivery={"kind": "session", "sessionId": "inbox-like"},
        policy={"model": "other-model"},
    )
    triggered = await client.post(f"{BASE.format(a='trig')}/d/trigger", headers=H)
    assert triggered.json() == {"ok": True, "triggered": "d"}
    [run] = await _finished_runs(client, "trig", "d", 1)
    assert run["status"] == "completed", run
    assert run["sessionId"] == "schedule:d"
    assert run["durationMs"] is not None
    assert run["prompt"] == "Write the digest"

    history = (await client.get("/api/agents/trig/sessions/schedule:d/messages", headers=H)).json()
    assert [(m["role"], m["content"]) for m in history][-2:] == [
        (
            "user",
            "Write the digest\n\n[Delivery] Your final answer will be posted to session inside-like.".replace(
                "inside-like", "inbox-like"
            ),
        ),
        ("assistant", "Here is your digest."),
    ]
    delivered = (await client.get("/api/agents/trig/sessions/inbox-like/messages", headers=H)).json()
    assert delivered[-1]["content"] == "Here is your digest."
    sessions = (await client.get("/api/agents/trig/sessions", headers=H)).json()
    mine = next(s for s in sessions if s["sessionId"] == "schedule:d")
    assert mine["source"]["kind"] == "schedule"
    assert mine["source"]["interactive"] is False
    assert owner in mine["userIds"]
    assert fake_model.received[-1].body["model"] == "other-model"
    # The override was the run's own: the agent's next turn asks its configured model again.
    direct = await client.post(
        "/api/agents/trig/sessions/inbox-like/messages",
        params={"wait": "true"},
        json={"text": "hi"},
        headers=H,
    )
    assert direct.status_code == 200, direct.text
    assert fake_model.received[-1].body["model"] != "other-model"
    schedule = await _schedule(client, "trig", "d")
    assert schedule["runCount"] == 1
    assert schedule["consecutiveErrors"] == 0
    assert schedule["lastRunAt"] is not None


async def test_a_run_past_its_timeout_fails_and_the_agent_answers_next(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, scheduler: Scheduler
) -> None:
    await _agent(client, db, fake_model, "slow")
    late = threading.Event()  # the model answers only after the run has timed out
    fake_model.script(Reply(text="too late", hold=late))
    await _create(
        client,
        "slow",
        type="cron",
        prompt="think long",
        cronExpression="0 0 1 1 *",
        id="t",
        policy={"timeout_seconds": 1},
    )
    await client.post(f"{BASE.format(a='slow')}/t/trigger", headers=H)
    try:
        [run] = await _finished_runs(client, "slow", "t", 1)
    finally:
        late.set()
    assert (run["status"], run["error"]) == ("failed", "timeout")
    schedule = await _schedule(client, "slow", "t")
    assert schedule["consecutiveErrors"] == 1
    assert schedule["lastError"] == "timeout"
    answer = await client.post(
        "/api/agents/slow/sessions/schedule:t/messages",
        params={"wait": "true"},
        json={"text": "still there?"},
        headers=H,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"] == "ok"


async def test_skip_records_fires_that_arrive_while_a_run_runs(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, scheduler: Scheduler
) -> None:
    await _agent(client, db, fake_model, "skip")
    answer = threading.Event()  # the first run lasts until two fires have been skipped
    fake_model.default = Reply(text="slow", hold=answer)
    await _create(client, "skip", type="cron", prompt="tick", cronExpression="* * * * * *", id="s")

    def enough(skipped: int, completed: int) -> Any:
        async def enough() -> Any:
            runs = await _runs(client, "skip", "s")
            statuses = [r["status"] for r in runs]
            if statuses.count("skipped") >= skipped and statuses.count("completed") >= completed:
                return True
            return [(r["status"], r["error"]) for r in runs] or False

        return enough

    try:
        await _until(enough(skipped=2, completed=0))
    finally:
        answer.set()
    await _until(enough(skipped=2, completed=1))
    await client.put(f"{BASE.format(a='skip')}/s", json={"status": "paused"}, headers=H)
    runs = await _runs(client, "skip", "s")
    skipped = [r for r in runs if r["status"] == "skipped"]
    assert all(r["error"] == BUSY for r in skipped)
    fires = [r["fireAt"] for r in runs]
    assert len(fires) == len(set(fires))
    starts = sorted(datetime.fromisoformat(r["startedAt"]) for r in runs if r["status"] != "skipped")
    ends = sorted(datetime.fromisoformat(r["finishedAt"]) for r in runs if r["status"] == "completed")
    assert all(start >= end for start, end in zip(starts[1:], ends, strict=False))  # never two at once


async def test_queue_runs_a_fire_after_the_running_one(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, scheduler: Scheduler
) -> None:
    await _agent(client, db, fake_model, "q")
    fake_model.default = Reply(text="slow", delay=1.5)
    await _create(
        client,
        "q",
        type="cron",
        prompt="tick",
        cronExpression="* * * * * *",
        id="q",
        policy={"concurrency": "queue"},
    )
    runs = await _finished_runs(client, "q", "q", 3)
    await client.put(f"{BASE.format(a='q')}/q", json={"status": "paused"}, headers=H)
    done = sorted((r for r in runs if r["status"] != "running"), key=lambda r: r["id"])
    assert all(r["status"] == "completed" for r in done), done
    for before, after in itertools.pairwise(done):
        assert datetime.fromisoformat(after["startedAt"]) >= datetime.fromisoformat(before["finishedAt"])


async def test_a_failing_model_backs_off_30s_1m_5m_15m_60m(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, scheduler: Scheduler
) -> None:
    await _agent(client, db, fake_model, "boff")
    fake_model.default = Reply(status=500)
    await _create(client, "boff", type="cron", prompt="fail", cronExpression="* * * * * *", id="b")
    steps = []
    for attempt in range(1, 7):
        if attempt > 1:
            await client.post(f"{BASE.format(a='boff')}/b/trigger", headers=H)
        await _finished_runs(client, "boff", "b", attempt)
        schedule = await _until(lambda n=attempt: _errors_reached(client, n))
        gap = datetime.fromisoformat(schedule["nextRunAt"]) - datetime.fromisoformat(schedule["lastRunAt"])
        steps.append(round(gap.total_seconds() / 10) * 10)
        assert schedule["status"] == "active"
        assert "model request failed" in schedule["lastError"]
    assert steps == [30, 60, 300, 900, 3600, 3600]
    fake_model.default = Reply(text="fine again")
    await client.post(f"{BASE.format(a='boff')}/b/trigger", headers=H)
    recovered = await _until(lambda: _errors_reached(client, 0, runs=7))
    assert recovered["lastError"] is None


async def _errors_reached(
    client: httpx.AsyncClient, errors: int, runs: int | None = None
) -> dict[str, Any] | None:
    schedule = await _schedule(client, "boff", "b")
    if schedule["consecutiveErrors"] != errors or (runs is not None and schedule["runCount"] != runs):
        return None
    return schedule


async def test_a_one_shot_runs_once_then_completes(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, scheduler: Scheduler
) -> None:
    await _agent(client, db, fake_model, "one")
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    await _create(
        client, "one", type="once", prompt="remind", runAt=later, id="o", sessionMode={"kind": "ephemeral"}
    )
    # Due now (a runAt a second ahead could already be past when a slow machine sends it).
    async with db.transaction() as tx:
        await tx.execute(text("UPDATE schedules SET next_run_at = now() WHERE schedule_id = 'o'"))
    scheduler.wake()
    [run] = await _finished_runs(client, "one", "o", 1)
    assert run["status"] == "completed"
    assert run["sessionId"] == f"schedule:o:{run['id']}"
    schedule = await _until(lambda: _status(client, "one", "o", "completed"))
    assert schedule["nextRunAt"] is None
    sessions = (await client.get("/api/agents/one/sessions", headers=H)).json()
    assert run["sessionId"] not in {s["sessionId"] for s in sessions}  # torn down: inactive


async def _status(client: httpx.AsyncClient, agent: str, sid: str, status: str) -> dict[str, Any] | None:
    schedule = await _schedule(client, agent, sid)
    return schedule if schedule["status"] == status else None


async def test_missed_fires_run_once_for_the_window(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, platform: Platform
) -> None:
    await _agent(client, db, fake_model, "late")
    await _create(client, "late", type="cron", prompt="hourly", cronExpression="* * * * *", id="m")
    async with db.transaction() as tx:  # the gateways were down for three hours
        await tx.execute(text("UPDATE schedules SET next_run_at = now() - interval '3 hours'"))
    claimed_at = datetime.now(UTC)
    assert await platform.scheduler.claim_due() == 1
    assert await platform.scheduler.claim_due() == 0
    [run] = await _finished_runs(client, "late", "m", 1)
    assert run["status"] == "completed"
    schedule = await _schedule(client, "late", "m")
    # The cadence resumes after the claim (the next minute may have come since).
    assert datetime.fromisoformat(schedule["nextRunAt"]) > claimed_at


async def test_catch_up_skip_records_missed_fires(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, platform: Platform
) -> None:
    await _agent(client, db, fake_model, "miss")
    await _create(client, "miss", type="cron", prompt="hourly", cronExpression="* * * * *", id="m")
    async with db.transaction() as tx:
        await tx.execute(text("UPDATE schedules SET next_run_at = now() - interval '3 hours'"))
    skipping = Scheduler(
        platform.runtime, platform.fleet, platform.settings.model_copy(update={"schedule_catch_up": "skip"})
    )
    assert await skipping.claim_due() == 1
    [run] = await _runs(client, "miss", "m")
    assert (run["status"], run["error"]) == ("skipped", MISSED)


async def test_a_stored_expression_that_no_longer_parses_fails_visibly(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, platform: Platform
) -> None:
    await _agent(client, db, fake_model, "bad")
    await _create(client, "bad", type="cron", prompt="p", cronExpression="* * * * *", id="broken")
    await _create(client, "bad", type="cron", prompt="p", cronExpression="* * * * *", id="fine")
    async with db.transaction() as tx:
        await tx.execute(
            text(
                "UPDATE schedules SET next_run_at = now(), cron_expression = CASE schedule_id "
                "WHEN 'broken' THEN '99 * * * *' ELSE cron_expression END"
            )
        )
    assert await platform.scheduler.claim_due() == 2
    broken = await _schedule(client, "bad", "broken")
    assert broken["status"] == "failed"
    assert "Invalid cron expression" in broken["lastError"]
    assert [r["status"] for r in await _finished_runs(client, "bad", "fine", 1)] == ["completed"]


async def test_a_run_of_a_dead_gateway_is_marked_lost(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, platform: Platform
) -> None:
    await _agent(client, db, fake_model, "lost")
    await _create(client, "lost", type="cron", prompt="p", cronExpression="0 0 1 1 *", id="l")
    async with db.transaction() as tx:
        await tx.execute(
            text(
                "INSERT INTO schedule_runs (agent_id, schedule_id, fire_at, status, prompt, lease_owner) "
                "VALUES ('lost', 'l', now(), 'running', 'p', 'gone-host:1:dead00')"
            )
        )
    assert await platform.scheduler.sweep_lost() == 1
    [run] = await _runs(client, "lost", "l")
    assert (run["status"], run["error"]) == ("failed", "gateway_lost")
    schedule = await _schedule(client, "lost", "l")
    assert schedule["consecutiveErrors"] == 1
    assert schedule["lastError"] == "gateway_lost"


async def test_max_iterations_limits_tool_calls(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, scheduler: Scheduler
) -> None:
    await _agent(client, db, fake_model, "iter")
    fake_model.default = Reply(tool_calls=[("memory_list", {"prefix": ""})])
    await _create(
        client,
        "iter",
        type="cron",
        prompt="loop",
        cronExpression="0 0 1 1 *",
        id="i",
        policy={"max_iterations": 2},
    )
    await client.post(f"{BASE.format(a='iter')}/i/trigger", headers=H)
    [run] = await _finished_runs(client, "iter", "i", 1)
    assert run["status"] == "completed"
    history = (await client.get("/api/agents/iter/sessions/schedule:i/messages", headers=H)).json()
    assert sum(1 for m in history if m.get("toolPhase") == "result") == 2


# Tools --------------------------------------------------------------------------------------
async def test_owner_creates_and_lists_schedules_with_tools(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    owner = await _agent(client, db, fake_model, "tools")
    await open_session(client, H, "tools", "chat")
    fake_model.script(
        Reply(
            tool_calls=[
                (
                    "schedule_create",
                    {
                        "type": "cron",
                        "prompt": "water the plants",
                        "cron_expression": "0 8 * * *",
                        "id": "plants",
                    },
                ),
                ("schedule_create", {"type": "cron", "prompt": "x", "cron_expression": "every day"}),
                ("schedule_list", {}),
                ("schedule_trigger", {"id": "ghost"}),
            ]
        ),
        Reply(text="done"),
    )
    user = {"channel": "cli", "channelUserId": "tools-owner"}
    answer = await client.post(
        "/api/agents/tools/sessions/chat/messages",
        params={"wait": "true"},
        json={"text": "schedule it", "sender": user},
        headers=H,
    )
    calls = answer.json()["toolCalls"]
    assert [c["isError"] for c in calls] == [False, True, False, True]
    assert "Invalid cron expression" in calls[1]["text"]
    assert "plants" in calls[2]["text"]
    assert "not found" in calls[3]["text"]
    created = await _schedule(client, "tools", "plants")
    assert created["createdBy"] == owner
    assert "schedule_create" in fake_model.received[0].tool_names
