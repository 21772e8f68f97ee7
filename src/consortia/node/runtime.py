"""Settings of a node process (``consortia up``), made once it has opened its chain."""

from __future__ import annotations

import gc

# A node allocates dicts, receipts and cached state values by the hundred thousand a second, nearly
# all freed by reference counting. CPython's default thresholds (700, 10, 10) run a young collection
# every 700 allocations and a full one, which walks every cached value, every hundred of those.
# Measured with `consortia bench` on 2 cores: kv.put +7% (9.0-9.4k -> 9.7-10.2k tx/s, three pairs);
# trace.capture at executor level -20% CPU per event (issue 18).
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Leave what start-up made (modules, classes, the opened chain) out of every later collection,
    and collect young objects every 50,000 allocations instead of 700."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
