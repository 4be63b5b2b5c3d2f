"""What every benchmark script shares: timing by best-of-N and the one output format.

Scripts run as ``python benchmarks/<name>.py``, so this folder is on ``sys.path`` and they
``from benchlib import best_of, report``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

__all__ = ["best_of", "report", "rss_mib"]


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """Return the fastest of ``repeat`` runs in seconds (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def report(name: str, value: float, unit: str) -> None:
    """Print one figure as ``name: value unit``."""
    print(f"{name}: {value:.4g} {unit}", flush=True)


def rss_mib() -> float:
    """Resident memory of this process now, MiB (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
