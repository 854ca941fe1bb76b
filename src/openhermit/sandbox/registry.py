"""Sandbox backends by type name, registered through the `openhermit.sandboxes` entry points.

A backend is a factory `(SandboxSpec) -> Sandbox`; built-ins register in pyproject.toml exactly
as a third-party package would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from openhermit.errors import Invalid
from openhermit.sandbox.base import Sandbox

GROUP = "openhermit.sandboxes"


@dataclass(frozen=True)
class SandboxSpec:
    """Everything a backend needs to build one agent's sandbox."""

    id: str  # the sandboxes row id
    agent_id: str
    alias: str
    config: Mapping[str, Any]
    workspace_dir: Path  # the agent's workspace folder on the gateway's machine
    env: Mapping[str, str] = field(default_factory=dict)  # pass-through secrets
    runtime_state: Mapping[str, Any] = field(default_factory=dict)


BackendFactory = Callable[[SandboxSpec], Sandbox]
ConfigT = TypeVar("ConfigT", bound=BaseModel)


def parse_config(model: type[ConfigT], spec: SandboxSpec, type_name: str) -> ConfigT:
    """A backend's config model from the row's config; a 400 naming the backend when invalid."""
    try:
        return model.model_validate(dict(spec.config))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise Invalid(f"Invalid {type_name} sandbox config: {where}: {first['msg']}") from None


def backend_names() -> list[str]:
    """Every installed backend's type name."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


@cache
def backend(type_name: str) -> BackendFactory:
    """The factory of one backend, imported on first use (its vendor SDK with it)."""
    found = [ep for ep in entry_points(group=GROUP) if ep.name == type_name]
    if not found:
        known = ", ".join(backend_names()) or "none"
        raise Invalid(f"Unknown sandbox type {type_name!r} (installed: {known}).")
    factory: BackendFactory = found[0].load()
    return factory


def build(type_name: str, spec: SandboxSpec) -> Sandbox:
    return backend(type_name)(spec)


def unavailable_reason(type_name: str) -> str | None:
    """Why a backend cannot run on this machine (a missing binary, SDK…), or None."""
    check = getattr(backend(type_name), "unavailable_reason", None)
    return check() if callable(check) else None
