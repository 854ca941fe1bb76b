"""The shared services every part of the runtime works with."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field

from openhermit.attachments.blobs import BlobStore
from openhermit.config import Settings
from openhermit.runtime.bus import EventBus
from openhermit.runtime.histories import Histories
from openhermit.runtime.journal import Journal
from openhermit.runtime.leases import Leases
from openhermit.runtime.metrics import RuntimeMetrics
from openhermit.runtime.models.providers import ModelClients
from openhermit.runtime.scheduling import ScheduleOperations
from openhermit.sandbox.base import SandboxResolver
from openhermit.secrets.base import SecretStore
from openhermit.store.engine import Database


def new_instance_id() -> str:
    """Names this process in turn leases: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class RuntimeDeps:
    settings: Settings
    db: Database
    secrets: SecretStore
    bus: EventBus = field(default_factory=EventBus)
    metrics: RuntimeMetrics = field(default_factory=RuntimeMetrics)
    instance_id: str = field(default_factory=new_instance_id)
    models: ModelClients = field(default_factory=ModelClients)
    # Reaches an agent's sandbox; the gateway installs the real one at start.
    sandboxes: SandboxResolver | None = None
    # Where attachment bytes live; opened from settings on first use (runtime/attachments.py).
    blobs: BlobStore | None = None
    # Creates and changes schedules (the scheduler installs it); used by the schedule tools.
    schedules: ScheduleOperations | None = None
    # Recent sessions' contexts: a claim reads only the rows stored since (runtime/histories.py).
    histories: Histories = field(init=False)
    journal: Journal = field(init=False)
    leases: Leases = field(init=False)

    def __post_init__(self) -> None:
        self.histories = Histories(max_bytes=int(self.settings.context_cache_mb * 1024 * 1024))
        self.journal = Journal(self.db, self.bus)
        self.leases = Leases(self.db, self.instance_id)

    async def aclose(self) -> None:
        await self.leases.aclose()
        await self.models.close()
