"""The long-lived parts a gateway process shares between requests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from openhermit.config import Settings
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.fleet import Fleet
from openhermit.secrets.backend import open_secret_store
from openhermit.secrets.base import SecretStore
from openhermit.store.bootstrap import StoreHandle, open_store
from openhermit.store.engine import Database


@dataclass
class Platform:
    settings: Settings
    store: StoreHandle
    secrets: SecretStore
    started_at: float = field(default_factory=time.time)
    closed: bool = False
    runtime: RuntimeDeps = field(init=False)
    fleet: Fleet = field(init=False)

    def __post_init__(self) -> None:
        self.runtime = RuntimeDeps(settings=self.settings, db=self.store.db, secrets=self.secrets)
        self.fleet = Fleet(self.runtime, ttl_seconds=self.settings.eviction_ttl_minutes * 60)

    @property
    def db(self) -> Database:
        return self.store.db

    async def close(self) -> None:
        """Release the pool and the embedded server; safe to call twice."""
        if not self.closed:
            self.closed = True
            await self.fleet.stop()
            await self.runtime.aclose()
            await self.store.close()


async def start_platform(settings: Settings) -> Platform:
    """Open the store and the secret store. Raises `ConfigError` on unusable configuration."""
    store = await open_store(settings)
    try:
        secrets = await open_secret_store(settings, store.db)
    except BaseException:
        await store.close()
        raise
    return Platform(settings=settings, store=store, secrets=secrets)
