"""Token usage and cost, summed from the `usage` block of assistant events."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Float, Numeric, func, select
from sqlalchemy.sql.elements import ColumnElement

from openhermit.protocol.usage import UsageTotals
from openhermit.store.engine import Tx
from openhermit.store.tables.sessions import SessionEvent


def _sum_int(path: str) -> ColumnElement[int]:
    return func.coalesce(func.sum(SessionEvent.payload[("usage", path)].as_float()), 0)


async def usage_totals(
    tx: Tx, *, agent_id: str | None = None, within: timedelta | None = None
) -> UsageTotals:
    cost = func.coalesce(
        func.sum(func.cast(SessionEvent.payload[("usage", "cost", "total")].as_string(), Numeric)), 0
    )
    stmt = select(
        _sum_int("input"), _sum_int("output"), _sum_int("cacheRead"), _sum_int("cacheWrite"), cost.cast(Float)
    ).where(SessionEvent.event_type == "assistant", SessionEvent.payload.has_key("usage"))
    if agent_id is not None:
        stmt = stmt.where(SessionEvent.agent_id == agent_id)
    if within is not None:
        stmt = stmt.where(SessionEvent.ts >= func.now() - within)
    inp, out, cache_read, cache_write, cost_usd = (await tx.execute(stmt)).one()
    return UsageTotals(
        input_tokens=int(inp),
        output_tokens=int(out),
        cache_read_tokens=int(cache_read),
        cache_write_tokens=int(cache_write),
        cost_usd=float(cost_usd),
    )


async def activity(tx: Tx, agent_id: str, *, within: timedelta) -> tuple[int, int, datetime | None]:
    """(sessions active in the window, error events in the window, last event time) of an agent."""
    since = func.now() - within
    sessions_n = (
        await tx.execute(
            select(func.count(func.distinct(SessionEvent.session_id))).where(
                SessionEvent.agent_id == agent_id, SessionEvent.ts >= since
            )
        )
    ).scalar_one()
    errors_n = (
        await tx.execute(
            select(func.count()).where(
                SessionEvent.agent_id == agent_id,
                SessionEvent.ts >= since,
                SessionEvent.event_type == "error",
            )
        )
    ).scalar_one()
    last = (
        await tx.execute(select(func.max(SessionEvent.ts)).where(SessionEvent.agent_id == agent_id))
    ).scalar_one()
    return int(sessions_n), int(errors_n), last
