"""What the runtime needs from the scheduler (a layer above it): the schedule operations the
schedule tools call. The gateway installs the scheduler's implementation in `RuntimeDeps`."""

from __future__ import annotations

from typing import Protocol

from openhermit.protocol.schedules import (
    ScheduleCreate,
    ScheduleRecord,
    ScheduleRunRecord,
    ScheduleUpdate,
)


class ScheduleOperations(Protocol):
    async def list(self, agent_id: str | None, status: str | None = None) -> list[ScheduleRecord]: ...

    async def runs(self, agent_id: str, schedule_id: str, limit: int) -> list[ScheduleRunRecord]: ...

    async def create(
        self, agent_id: str, body: ScheduleCreate, *, acting_user: str | None
    ) -> ScheduleRecord: ...

    async def update(self, agent_id: str, schedule_id: str, body: ScheduleUpdate) -> ScheduleRecord: ...

    async def delete(self, agent_id: str, schedule_id: str) -> None: ...

    async def trigger(self, agent_id: str, schedule_id: str) -> ScheduleRecord: ...
