"""Turn leases: one renewal for every turn this process runs.

A running turn names its process and holds a lease that peers respect until it runs out
(`runtime/recovery.py`). Instead of a timer per turn, the process keeps the ids of the turns
it runs and renews all their leases in one statement a third of a lease apart, so a lease
never runs out while its turn runs here, however many turns there are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from openhermit.store.engine import Database
from openhermit.store.repos import turns

log = logging.getLogger(__name__)
LEASE_SECONDS = 60.0


class Leases:
    def __init__(self, db: Database, owner: str, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self.db = db
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._held: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    def hold(self, turn_id: int) -> None:
        """Keep renewing the turn's lease (taken when it was claimed) until `release`."""
        self._held.add(turn_id)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._renew(), name="turn leases")

    def release(self, turn_id: int) -> None:
        self._held.discard(turn_id)

    async def _renew(self) -> None:
        """Renew every held lease a third of a lease apart; ends once none is held."""
        while self._held:
            await asyncio.sleep(self.lease_seconds / 3)
            held = list(self._held)
            if not held:
                return
            try:
                async with self.db.driver_connection() as conn:
                    await turns.renew_leases(conn, held, owner=self.owner, lease_seconds=self.lease_seconds)
            except Exception:
                log.warning("could not renew the leases of %d turns", len(held), exc_info=True)

    async def aclose(self) -> None:
        self._held.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
