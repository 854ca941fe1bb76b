"""Sandbox presets: named `{type, config}` templates in the gateway config (`meta` table, one key),
seeded with defaults on first read; `local` is the default preset where bubblewrap exists."""

from __future__ import annotations

from openhermit.errors import Invalid, NotFound
from openhermit.protocol.sandboxes import CreateSandbox, SandboxPreset, SandboxPresets
from openhermit.sandbox.registry import backend, unavailable_reason
from openhermit.store.engine import Tx
from openhermit.store.repos.meta import get_meta, put_meta, put_meta_if_absent

META_KEY = "sandbox_presets"


def default_presets() -> SandboxPresets:
    presets = {
        "local": SandboxPreset(type="local", config={}),
        "local-network": SandboxPreset(type="local", config={"network": True}),
        "docker-ubuntu": SandboxPreset(
            type="docker", config={"image": "ubuntu:24.04", "username": "root", "agent_home": "/root"}
        ),
    }
    auto = "local" if unavailable_reason("local") is None else None
    return SandboxPresets(presets=presets, auto_provision_sandbox=auto)


async def load_presets(tx: Tx) -> SandboxPresets:
    stored = await get_meta(tx, META_KEY)
    if stored is None:
        seeded = default_presets()
        await put_meta_if_absent(
            tx, META_KEY, seeded.wire() | {"autoProvisionSandbox": seeded.auto_provision_sandbox}
        )
        stored = await get_meta(tx, META_KEY)
    return SandboxPresets.model_validate(stored)


async def save_presets(tx: Tx, presets: SandboxPresets) -> None:
    for name, preset in presets.presets.items():
        backend(preset.type)  # unknown types are refused here, not at first use
        if not name:
            raise Invalid("A preset needs a name.")
    if presets.auto_provision_sandbox and presets.auto_provision_sandbox not in presets.presets:
        raise Invalid(f"autoProvisionSandbox names no preset: {presets.auto_provision_sandbox}")
    await put_meta(tx, META_KEY, presets.wire() | {"autoProvisionSandbox": presets.auto_provision_sandbox})


async def resolve_request(tx: Tx, body: CreateSandbox) -> SandboxPreset:
    """The `{type, config}` a create request asks for (a preset, explicit, or the default)."""
    if body.type is not None:
        backend(body.type)
        return SandboxPreset(type=body.type, config=body.config or {})
    presets = await load_presets(tx)
    name = body.preset or presets.auto_provision_sandbox
    if name is None:
        raise Invalid("No preset given and the gateway has no default sandbox preset.")
    preset = presets.presets.get(name)
    if preset is None:
        raise NotFound(f"Sandbox preset {name} not found.")
    return preset
