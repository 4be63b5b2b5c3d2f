"""How often feed-health settings flag a healthy feed, on real ticks (the defaults' evidence).

Replays the arrival times of every LEAN tick file pair (trades and quotes, what the live stream
subscribes to; SPY and AIG have trades only on most days) through
:class:`tradecore.health.IntervalLearner` exactly as :class:`~tradecore.health.FeedMonitor`
applies it, and counts the gaps longer than the stale threshold. The data has no outages, so
every such gap is a false alarm. Reported per session (premarket 04:00-09:30, regular
09:30-16:00 New York) and per setting:

    false_alarms_per_hour.<session>.k<k>.q<quantile>: value 1/h
    median_threshold.<session>.k<k>.q<quantile>: value s   (how long a real outage goes unseen)

plus the gap quantiles themselves, and the monitor's cost on the live path
(``observe_ns_per_batch``, called for every batch the stream delivers) against queueing the same
batch for its symbol's task (what the consume loop does with it anyway). The baseline, measured in the same run, is a median learner
(the first setting): the ratio lines compare each setting's alarm rate against it. Rates are
per symbol and hour of the session.
Run: ``TRADECORE_DATA=/work/shared/data python benchmarks/feed_gaps.py``.
"""

from __future__ import annotations

import asyncio
import os
import time
import zipfile
from pathlib import Path

import numpy as np
from tradecore import schema
from tradecore.bus import EventBus
from tradecore.config import HealthConfig
from tradecore.health import FeedHealth, FeedMonitor, IntervalLearner
from tradecore.streams.base import EventBatch, EventKind

SESSIONS = {"premarket": (4 * 3600, 9.5 * 3600), "regular": (9.5 * 3600, 16 * 3600)}
# (interval_window, interval_quantile, stale_multiple, min_stale_seconds); the first is the
# baseline (a median learner), the last the defaults.
SETTINGS = [(128, 0.5, 4.0, 5.0), (128, 0.9, 4.0, 5.0), (128, 0.9, 4.0, 15.0), (1024, 0.95, 4.0, 5.0),
            (1024, 0.99, 4.0, 10.0), (512, 0.95, 4.0, 10.0)]


def _times(path: Path) -> np.ndarray:
    with zipfile.ZipFile(path) as archive, archive.open(archive.namelist()[0]) as member:
        first = [line.split(b",", 1)[0] for line in member]
    return np.asarray(first, dtype=np.float64) / 1000.0  # ms since local midnight -> s


def _arrivals(root: Path) -> list[np.ndarray]:
    days = []
    for trade in sorted(root.glob("*/*_trade.zip")):
        times = [_times(trade)]
        quote = trade.with_name(trade.name.replace("_trade", "_quote"))
        if quote.exists():
            times.append(_times(quote))
        days.append(np.unique(np.concatenate(times)))  # one arrival per distinct millisecond
    return days


def _replay(arrivals: np.ndarray, settings: HealthConfig) -> tuple[int, list[float]]:
    learner = IntervalLearner(window=settings.interval_window, quantile=settings.interval_quantile,
                              min_samples=settings.min_samples)
    health = FeedHealth("X", learner, float(arrivals[0]) if len(arrivals) else 0.0)
    alarms, thresholds = 0, []
    for index, gap in enumerate(np.diff(arrivals)):
        # As the monitor: the threshold (a sort of the recent gaps) only for a gap that could
        # pass it; sampled for the median threshold reported.
        if index % 64 == 0:
            thresholds.append(health.threshold(settings))
        if gap > settings.min_stale_seconds and gap > health.threshold(settings):
            alarms += 1  # the monitor would flag it, and not learn the gap that ends a silence
        else:
            learner.add(float(gap))
    return alarms, thresholds


def _observe_cost(count: int = 200_000) -> None:
    batches = []
    for k in range(count):
        events = schema.empty(schema.TRADE, 1)
        events["ts_event"] = k * 1_000_000
        batches.append(EventBatch(EventKind.TRADE, f"S{k % 50}", events))
    monitor = FeedMonitor(HealthConfig(), bus=EventBus(), journal=None, clock=lambda: 0)
    for k in range(50):
        monitor.track(f"S{k}")
    queue: asyncio.Queue[EventBatch] = asyncio.Queue()
    started = time.perf_counter_ns()
    for batch in batches:
        queue.put_nowait(batch)
    baseline = (time.perf_counter_ns() - started) / count
    started = time.perf_counter_ns()
    for batch in batches:
        monitor.observe(batch)
    cost = (time.perf_counter_ns() - started) / count
    print(f"queue_put_ns_per_batch: {baseline:.0f} ns")
    print(f"observe_ns_per_batch: {cost:.0f} ns")
    print(f"observe_vs_queue_put: {cost / baseline:.2f} x")


def main() -> None:
    _observe_cost()
    data = Path(os.environ.get("TRADECORE_DATA", "/work/shared/data"))
    days = _arrivals(data / "quantconnect-lean/Data/equity/usa/tick")
    print(f"symbol_days: {len(days)} days")
    for session, (start, end) in SESSIONS.items():
        parts = [d[(d >= start) & (d < end)] for d in days]
        parts = [p for p in parts if len(p) > 1]
        hours = len(parts) * (end - start) / 3600
        gaps = np.concatenate([np.diff(p) for p in parts])
        for q in (0.5, 0.9, 0.99):
            print(f"gap_p{round(q * 100)}.{session}: {np.quantile(gaps, q):.2f} s")
        baseline = None
        for window, quantile, multiple, floor in SETTINGS:
            settings = HealthConfig(interval_window=window, interval_quantile=quantile,
                                      stale_multiple=multiple, min_stale_seconds=floor)
            alarms, thresholds = 0, []
            for part in parts:
                found, seen = _replay(part, settings)
                alarms += found
                thresholds += seen
            rate = alarms / hours
            tag = f"{session}.w{window}.q{quantile:g}.k{multiple:g}.min{floor:g}"
            print(f"false_alarms_per_hour.{tag}: {rate:.2f} 1/h")
            print(f"median_threshold.{tag}: {np.median(thresholds):.0f} s")
            if baseline is None:
                baseline = rate
            else:
                print(f"alarm_ratio_vs_median_learner.{tag}: {rate / baseline:.3f} x")


if __name__ == "__main__":
    main()
