"""Waiting in tests for something that happens in the background: poll a probe until its answer
is accepted, with a deadline generous enough for a slow, loaded CI machine. A test waits for a
state, never for a length of time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
PATIENCE_SECONDS = 60.0  # only a broken feature takes this long; the per-test limit is 120 s


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], object] = bool,
    *,
    what: str = "the awaited state",
    within: float = PATIENCE_SECONDS,
    interval: float = 0.05,
) -> T:
    """The first answer of `probe()` that `accept` approves; AssertionError after `within` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if accept(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within:.0f} s; last seen: {value!r}")
        await asyncio.sleep(interval)
