"""Shared bits of the peer runners: CLI, peak RSS, the JSON result."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

# Runnable as a script (benchmarks/peers/run_X.py) and importable with this folder on sys.path.
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

ORDER_QTY = 100


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--bars", choices=["lean", "synthetic"], default="lean",
                   help="lean: LEAN SPY minute bars 2013-10-07..11; synthetic: --n random-walk bars")
    p.add_argument("--n", type=int, default=200_000, help="number of synthetic bars")
    p.add_argument("--seed", type=int, default=42, help="synthetic bars seed")
    p.add_argument("--brief", action="store_true", help="omit the timestamp lists from the JSON")
    return p


def finish(result: dict, started: float, brief: bool) -> None:
    """Add total wall time and peak RSS, print one JSON document."""
    result["total_seconds"] = round(time.perf_counter() - started, 4)
    result["peak_rss_mib"] = round(peak_rss_mib(), 1)
    if brief:
        for key in ("entries", "exits", "entry_fills", "exit_fills"):
            result.pop(key, None)
    print(json.dumps(result, indent=None if brief else 1))
