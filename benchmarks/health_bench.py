"""Feed health's cost per frame: deferred, vectorised arrivals against the per-symbol loop.

Run ``python benchmarks/health_bench.py`` (``--frames N`` per run, ``--repeat N``). One line
per figure as ``name: value unit``; lines starting with ``#`` narrate.

What is measured
----------------
:class:`tradecore.health.FeedMonitor` watches 500 symbols, as ``tradecore live`` with 500
active symbols at 50k msgs/s: one frame every millisecond (of a wall clock the script moves),
each a trade group of 50 symbols drawn from the 500, handed to ``observe_grouped``; ``check``
runs every 500 frames (``check_interval_seconds`` 0.5). Every symbol stays healthy, the common
case the per-frame cost is about.

- ``new``: the monitor as it is (a healthy frame is only remembered; ``check`` folds the
  remembered frames into each symbol's last arrival and learner).
- ``old`` (the baseline, measured in the same run on the same frames):
  :class:`tradecore.health.ImmediateFeedMonitor`, the monitor's former per-symbol loop (a dict lookup, ``_arrived`` and the learner's
  ``add`` for each symbol of each frame).

``observe_*_p50/p99`` time each ``observe_grouped`` call (the cost on a frame's path to the
engines); ``check_*`` one ``check`` (the new one includes the fold); ``*_per_frame`` is
everything (observe and check) over the frames, the cost a run pays on its event loop.
Runs alternate (old, new, ``--repeat`` times) and the fastest of each kind counts.
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np
from benchlib import report
from tradecore import schema
from tradecore.bus import EventBus
from tradecore.config import HealthConfig
from tradecore.health import FeedMonitor, ImmediateFeedMonitor
from tradecore.streams.base import EventKind, GroupedBatch

SYMBOLS = 500
PER_FRAME = 50
CHECK_EVERY = 500  # frames: check_interval_seconds 0.5 at one frame a millisecond


class Wall:
    """Monotonic seconds that the script moves one millisecond per frame."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def frames(count: int, seed: int = 1) -> tuple[list[str], list[GroupedBatch]]:
    rng = np.random.default_rng(seed)
    names = [f"S{k:03d}" for k in range(SYMBOLS)]
    out = []
    for frame in range(count):
        chosen = np.sort(rng.choice(SYMBOLS, PER_FRAME, replace=False))
        events = schema.empty(schema.TRADE, PER_FRAME)
        events["ts_event"] = 1_790_000_000 * 10**9 + frame * 1_000_000 + chosen
        events["price"], events["size"] = 10.0, 100
        out.append(GroupedBatch(EventKind.TRADE, events, np.arange(PER_FRAME + 1),
                                [names[k] for k in chosen.tolist()]))
    return names, out


def run(monitor_type: type[FeedMonitor], names: list[str], groups: list[GroupedBatch]) -> dict[str, float]:
    wall = Wall()
    monitor = monitor_type(HealthConfig(), bus=EventBus(), journal=None, clock=lambda: 0, wall=wall)
    for name in names:
        monitor.track(name)
    observe = np.empty(len(groups), np.int64)
    checks = []
    clock = time.perf_counter_ns
    gc.collect()
    for index, group in enumerate(groups):
        wall.now += 0.001
        start = clock()
        monitor.observe_grouped(group)
        observe[index] = clock() - start
        if index % CHECK_EVERY == CHECK_EVERY - 1:
            start = clock()
            monitor.check()
            checks.append(clock() - start)
    learned = sum(h.learner.samples for h in monitor.symbols.values())
    return {"observe_p50": float(np.percentile(observe, 50)) / 1e3,
            "observe_p99": float(np.percentile(observe, 99)) / 1e3,
            "check": float(np.median(checks)) / 1e3,
            "per_frame": (int(observe.sum()) + sum(checks)) / len(groups) / 1e3,
            "learned": learned}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000, help="frames per run (1 ms each)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind")
    args = parser.parse_args()
    names, groups = frames(args.frames)
    print(f"# {SYMBOLS} symbols, frames of {PER_FRAME}, check every {CHECK_EVERY} frames, "
          f"{args.frames} frames per run, best of {args.repeat}", flush=True)
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):
        for kind, monitor_type in (("old", ImmediateFeedMonitor), ("new", FeedMonitor)):
            result = run(monitor_type, names, groups)
            if kind not in best or result["per_frame"] < best[kind]["per_frame"]:
                best[kind] = result
    old, new = best["old"], best["new"]
    # Both learned the same gaps (the test suite proves they learn exactly the same ones).
    assert old["learned"] == new["learned"], (old["learned"], new["learned"])
    for kind, result in (("old", old), ("new", new)):
        report(f"health_observe_{kind}_p50", result["observe_p50"], "us")
        report(f"health_observe_{kind}_p99", result["observe_p99"], "us")
        report(f"health_check_{kind}", result["check"], "us")
        report(f"health_{kind}_per_frame", result["per_frame"], "us")
    report("health_observe_p50_old_over_new", old["observe_p50"] / new["observe_p50"], "x")
    report("health_observe_p99_old_over_new", old["observe_p99"] / new["observe_p99"], "x")
    report("health_per_frame_old_over_new", old["per_frame"] / new["per_frame"], "x")


if __name__ == "__main__":
    main()
