"""The gateway process's garbage-collector settings, applied once start-up is done.

Start-up leaves about a quarter of a million objects the collector tracks (modules, classes,
validators, the platform) that live as long as the process. Each full collection walked all
of them: a pause of tens of milliseconds, in the middle of whatever turns were running.
Frozen, they are never scanned again.

A turn creates a few hundred container objects that reference counting frees soon after. At
CPython's default young-generation threshold (700) the collector ran about once per turn and
found nothing to free; a larger threshold lets those objects go first. Reference cycles are
still collected, only in larger batches.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Freeze what start-up allocated and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
