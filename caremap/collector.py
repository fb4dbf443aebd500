"""Fewer passes of the cyclic garbage collector during a long batch (an ETL run, a coverage
build), whose objects mostly live until it ends: with the defaults (700, 10, 10) each pass walks
them, and the reference data the process holds, again and again."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

# The collector's thresholds within (generation 0: allocations; 1 and 2: collections of the
# younger generation).
BATCH_GC_THRESHOLDS = (20_000, 20, 20)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Within: what exists already (reference data, modules) frozen out of the collector's
    reach (``gc.freeze``; kept frozen if something froze objects before), and collections
    rarer (:data:`BATCH_GC_THRESHOLDS`); both restored after."""
    thresholds = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(*BATCH_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not frozen_before:
            gc.unfreeze()
