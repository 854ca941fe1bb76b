"""The scheduler every gateway process runs.

It sleeps until the earliest due fire (no fixed tick); a NOTIFY from any process (a schedule
created, changed or triggered, a queued run unblocked) wakes it early. Due fires are claimed
in PostgreSQL (`repos.schedules.lock_due`), so each fire runs exactly once however many
gateways share the database. A run belongs to the process that claimed it (`lease_owner`);
when that process dies, the next sweep anywhere marks the run `failed` (`gateway_lost`).

Missed fires (all gateways down): with catch-up `once` (default) an overdue schedule runs one
time for the whole missed window, then resumes its cadence; with `skip`, a fire later than the
grace period is recorded as `skipped` instead. Never a burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from openhermit.config import Settings
from openhermit.errors import Invalid, OpenHermitError
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.fleet import Fleet
from openhermit.scheduler.book import ScheduleBook
from openhermit.scheduler.cron import next_fire
from openhermit.scheduler.execution import Fire, Outcome, RunFailed, execute
from openhermit.store.notify import owner_is_alive
from openhermit.store.repos import schedules

log = logging.getLogger(__name__)
BACKOFF_SECONDS = [30.0, 60.0, 300.0, 900.0, 3600.0]
ONCE_ATTEMPTS = len(BACKOFF_SECONDS)
CLAIM_BATCH = 50  # per transaction: several gateways share a burst of due fires
MAX_SLEEP_SECONDS = 30.0
SWEEP_SECONDS = 5.0
BUSY = "skipped: the previous run was still running"
MISSED = "skipped: missed while no gateway was running"


class Scheduler:
    def __init__(self, deps: RuntimeDeps, fleet: Fleet, settings: Settings) -> None:
        self.deps = deps
        self.fleet = fleet
        self.settings = settings
        self.book = ScheduleBook(deps.db, wake=self.wake)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._runs: set[asyncio.Task[None]] = set()
        self._claiming: asyncio.Future[int] | None = None
        self._last_sweep = 0.0

    # Signals -------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def receive(self, message: dict[str, Any]) -> None:
        """Listener handler: any process changed schedules or freed a queued one."""
        if "schedules" in message:
            self._wake.set()

    # The loop ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="scheduler")

    async def _loop(self) -> None:
        while True:
            self._wake.clear()  # before reading: a change committed meanwhile wakes us again
            delay = MAX_SLEEP_SECONDS
            try:
                if time.monotonic() - self._last_sweep >= SWEEP_SECONDS:
                    await self.sweep_lost()
                # A claim commits run rows and starts their tasks: never cut it in half.
                self._claiming = asyncio.ensure_future(self.claim_due())
                if await asyncio.shield(self._claiming) >= CLAIM_BATCH:
                    continue
                async with self.deps.db.transaction() as tx:
                    until = await schedules.seconds_until_due(tx)
                if until is not None:
                    delay = min(delay, max(0.0, until) + 0.002)
                delay = min(delay, max(0.05, SWEEP_SECONDS - (time.monotonic() - self._last_sweep)))
            except Exception:
                log.exception("scheduler pass failed")
                delay = 1.0
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):  # not wait_for: it may swallow a cancel (3.11)
                    await self._wake.wait()

    async def claim_due(self) -> int:
        """Claim due fires (at most one batch) and start their runs; returns fires claimed."""
        claimed: list[Fire] = []
        async with self.deps.db.transaction() as tx:
            due = await schedules.lock_due(tx, CLAIM_BATCH)
            now = await schedules.db_now(tx)
            for schedule, late, busy in due:
                fire_at = schedule.next_run_at
                assert fire_at is not None
                following = None
                if schedule.type == "cron":
                    try:
                        following = next_fire(
                            schedule.cron_expression or "", schedule.timezone, max(now, fire_at)
                        )
                    except Invalid as exc:  # stored before validation existed: stop it, visibly
                        await schedules.update_schedule(
                            tx,
                            schedule.agent_id,
                            schedule.schedule_id,
                            status="failed",
                            next_run_at=None,
                            last_error=exc.message,
                        )
                        continue
                await schedules.update_schedule(
                    tx, schedule.agent_id, schedule.schedule_id, next_run_at=following
                )
                missed = (
                    self.settings.schedule_catch_up == "skip"
                    and late > self.settings.schedule_misfire_grace_seconds
                )
                if busy or missed:
                    await schedules.insert_run(
                        tx,
                        schedule,
                        fire_at=fire_at,
                        status="skipped",
                        owner=None,
                        error=BUSY if busy else MISSED,
                    )
                    continue
                run_id = await schedules.insert_run(
                    tx, schedule, fire_at=fire_at, status="running", owner=self.deps.instance_id
                )
                if run_id is not None:
                    claimed.append(Fire(run_id, schedule, fire_at))
        for fire in claimed:
            task = asyncio.create_task(self._run(fire), name=f"schedule:{fire.schedule.schedule_id}")
            self._runs.add(task)
            task.add_done_callback(self._runs.discard)
        return len(due)

    async def _run(self, fire: Fire) -> None:
        schedule = fire.schedule
        timeout = float(schedule.policy.timeout_seconds or self.settings.schedule_timeout_seconds)
        try:
            outcome = await execute(self.deps, self.fleet, fire, timeout)
        except RunFailed as exc:
            outcome = Outcome("failed", str(exc))
        except OpenHermitError as exc:  # e.g. the session is no longer visible to the user
            outcome = Outcome("failed", exc.message)
        except Exception as exc:
            log.exception("run %s of schedule %s crashed", fire.run_id, schedule.schedule_id)
            outcome = Outcome("failed", f"Internal error: {type(exc).__name__}: {exc}")
        try:
            await self._finish(fire, outcome)
        except Exception:
            log.exception("could not record run %s of schedule %s", fire.run_id, schedule.schedule_id)

    async def _finish(self, fire: Fire, outcome: Outcome) -> None:
        schedule = fire.schedule
        async with self.deps.db.transaction() as tx:
            if not await schedules.finish_run(tx, fire.run_id, status=outcome.status, error=outcome.error):
                return  # a peer already ended it (it took this process for dead)
            await self._count(tx, schedule.agent_id, schedule.schedule_id, outcome)
            if schedule.policy.concurrency == "queue":
                await self.book.announce(tx)  # its next fire may be waiting behind this run
        self.wake()

    async def _count(self, tx: Any, agent_id: str, schedule_id: str, outcome: Outcome) -> None:
        if outcome.status == "completed":
            await schedules.record_success(tx, agent_id, schedule_id)
        else:
            await schedules.record_failure(
                tx, agent_id, schedule_id, outcome.error or "failed", BACKOFF_SECONDS, ONCE_ATTEMPTS
            )

    # Crash safety ----------------------------------------------------------------------------
    async def sweep_lost(self) -> int:
        """Mark runs of dead gateway processes `failed` (`gateway_lost`); returns how many."""
        self._last_sweep = time.monotonic()
        async with self.deps.db.transaction() as tx:
            running = await schedules.running_runs(tx)
            alive: dict[str, bool] = {}
            for run in running:
                owner = run.owner or ""
                if owner and owner != self.deps.instance_id and owner not in alive:
                    alive[owner] = await owner_is_alive(tx, owner)
        lost = [
            r for r in running if r.owner != self.deps.instance_id and not alive.get(r.owner or "", False)
        ]
        ended = await self._end_runs(lost, "gateway_lost")
        if ended:
            log.warning("%d schedule run(s) ended: their gateway is gone", ended)
        return ended

    async def _end_runs(self, runs: list[schedules.RunningRun], reason: str) -> int:
        ended = 0
        for run in runs:
            async with self.deps.db.transaction() as tx:
                if not await schedules.end_running_run(tx, run.id, reason):
                    continue
                await self._count(tx, run.agent_id, run.schedule_id, Outcome("failed", reason))
                await self.book.announce(tx)
            ended += 1
        return ended

    async def stop(self) -> None:
        """Stop claiming; runs still going here end `failed` (`gateway_stopped`)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._claiming is not None:
            await asyncio.gather(self._claiming, return_exceptions=True)
        runs = list(self._runs)
        for task in runs:
            task.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        async with self.deps.db.transaction() as tx:
            mine = [r for r in await schedules.running_runs(tx) if r.owner == self.deps.instance_id]
        await self._end_runs(mine, "gateway_stopped")
