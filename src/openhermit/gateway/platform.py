"""The long-lived parts a gateway process shares between requests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from openhermit.attachments.blobs import open_blob_store
from openhermit.config import Settings
from openhermit.gateway.tokens import TokenSigner
from openhermit.protocol.agent_config import DEFAULT_PROVIDER
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.fleet import Fleet
from openhermit.runtime.models.providers import api_for
from openhermit.runtime.recovery import Recovery
from openhermit.runtime.relay import Relay
from openhermit.runtime.sandboxes import SandboxPool
from openhermit.runtime.skills import register_builtin_skills
from openhermit.scheduler.service import Scheduler
from openhermit.secrets.backend import open_secret_store
from openhermit.secrets.base import SecretStore
from openhermit.secrets.crypto import SecretCipher
from openhermit.store.bootstrap import StoreHandle, open_store
from openhermit.store.engine import Database
from openhermit.store.notify import Listener
from openhermit.store.repos import agents

log = logging.getLogger(__name__)


@dataclass
class Platform:
    settings: Settings
    store: StoreHandle
    secrets: SecretStore
    started_at: float = field(default_factory=time.time)
    closed: bool = False
    runtime: RuntimeDeps = field(init=False)
    fleet: Fleet = field(init=False)
    recovery: Recovery = field(init=False)
    scheduler: Scheduler = field(init=False)
    sandboxes: SandboxPool = field(init=False)
    signer: TokenSigner = field(init=False)
    cipher: SecretCipher | None = field(init=False)
    _listener: Listener | None = field(init=False, default=None)
    _sdk_loading: asyncio.Task[None] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.signer = TokenSigner(self.settings)
        key = self.settings.secrets_key_bytes
        self.cipher = SecretCipher(key) if key is not None else None
        self.runtime = RuntimeDeps(settings=self.settings, db=self.store.db, secrets=self.secrets)
        self.sandboxes = SandboxPool(self.store.db, self.secrets)
        self.runtime.sandboxes = self.sandboxes
        self.fleet = Fleet(self.runtime, ttl_seconds=self.settings.eviction_ttl_minutes * 60)
        self.recovery = Recovery(self.runtime, self.fleet)
        self.scheduler = Scheduler(self.runtime, self.fleet, self.settings)
        self.runtime.schedules = self.scheduler.book

    async def start_background(self) -> None:
        """Before serving: end turns orphaned by a crash; then eviction and recovery tickers,
        and the agents' model SDKs loading in the background."""
        await self.recovery.sweep()
        async with self.db.transaction() as tx:
            await register_builtin_skills(tx)
        self.recovery.start()
        self.fleet.start()
        if self.settings.scheduler_enabled:
            self.scheduler.start()
        self.sandboxes.start()
        self._sdk_loading = asyncio.create_task(self._load_model_sdks(), name="model-sdks")

    async def _load_model_sdks(self) -> None:
        """Import the model SDKs the fleet's agents use, off the event loop, while the gateway
        already serves: the first turn after a start would otherwise wait for them (about half
        a second for the OpenAI SDK)."""
        try:
            async with self.db.transaction() as tx:
                pairs = await agents.model_apis(tx)
            await self.runtime.models.load(
                api_for(provider or DEFAULT_PROVIDER, api) for provider, api in pairs
            )
        except Exception:
            log.exception("loading the agents' model SDKs failed; each loads with its first turn")

    @property
    def db(self) -> Database:
        return self.store.db

    async def connect_peers(self) -> None:
        """Listen for other gateway processes on the same database (NOTIFY), and announce
        this one's liveness."""
        listener = Listener(self.store.db.url, self.runtime.instance_id)
        relay = Relay(
            self.runtime.instance_id,
            self.runtime.bus,
            listener.send,
            self.runtime.journal.catch_up,
            peers=lambda: listener.has_peers,
        )
        relay.on_agent_changed.append(self.fleet.forget)
        relay.on_agent_changed.append(self.fleet.capabilities_changed)
        relay.on_interrupt.append(self.fleet.interrupt_here)
        listener.add_handler(relay.receive)
        listener.add_handler(self.scheduler.receive)
        listener.on_reconnect(self.fleet.catch_up_subscribed)
        await listener.start()
        self.runtime.journal.relay = relay
        self._listener = listener

    async def close(self) -> None:
        """Release the pool and the embedded server; safe to call twice."""
        if not self.closed:
            self.closed = True
            if self._sdk_loading is not None:
                self._sdk_loading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._sdk_loading
            await self.scheduler.stop()
            await self.recovery.stop()
            await self.fleet.stop()
            await self.sandboxes.stop()
            if self.runtime.journal.relay is not None:
                await self.runtime.journal.relay.close()
            if self._listener is not None:
                await self._listener.stop()
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
    platform = Platform(settings=settings, store=store, secrets=secrets)
    try:
        platform.runtime.blobs = open_blob_store(settings)  # a bad provider stops start-up
        await platform.connect_peers()
    except BaseException:
        await platform.close()
        raise
    return platform
