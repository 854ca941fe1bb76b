"""The gateway process's collector settings: start-up objects out of the way, cycles still freed."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from openhermit.gateway.heap import YOUNG_THRESHOLD, settle_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_start_up_objects_are_frozen_and_cycles_still_collected(restored_collector: None) -> None:
    survivor = _Node()
    settle_heap()
    assert gc.get_freeze_count() > 0
    assert not any(obj is survivor for obj in gc.get_objects())  # never scanned again
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD

    first, second = _Node(), _Node()
    first.other, second.other = second, first
    gone = weakref.ref(first)
    del first, second
    # Enough new, live container objects for the young generation to be collected.
    survivors = [[] for _ in range(YOUNG_THRESHOLD + 1)]
    assert gone() is None, "a reference cycle made after start-up was never collected"
    del survivors
