"""Per-stage latency in live runs, as histograms (ns).

The stages of a live event: ``receive_to_decoded`` (per WebSocket frame), then per event
``receive_to_engine_start`` (decoding and queues), ``receive_to_engine_done`` and
``receive_to_intent`` (when the engine decides); ``clock_to_intent`` for an intent a market
clock tick caused (a bar closed, a time rule fired: :mod:`tradecore.clock`), from when the clock
gave the tick; ``intent_to_ack`` per intent, from that decision (waiting to be routed, risk,
router, broker). Each keeps counts in HdrHistogram-style
log-linear buckets: 32 sub-buckets per power of two, so recording is a few integer operations
(it runs for every event) and any percentile is within 1/32 (3 %) of the true value, over the
whole run rather than a recent window.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["DECADE_LABELS", "Histogram", "LatencyStats", "freeze_long_lived", "quiet_gc"]

GC_GEN0_THRESHOLD = 50_000
"""Allocations between young collections in a live process (CPython's default is 700)."""


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """Keep the garbage collector from pausing a live process for milliseconds (while inside).

    CPython's full collections walk every tracked object, and a trading process holds hundreds
    of thousands (modules, engines, decoders' recent trade keys): measured, one full collection
    under load delayed ticks by 80 ms, two orders of magnitude above the p99 budget. Called once
    the process is set up, this moves everything alive into the permanent generation
    (``gc.freeze``: never walked again) and makes young collections rarer. Cycles created later
    are still collected. On exit the collector is as before. What the process builds later to
    keep (a symbol's engine and runner) is frozen as it is built (:func:`freeze_long_lived`).
    """
    global _quiet
    gc.collect()
    gc.freeze()
    before = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, *before[1:])
    _quiet += 1
    try:
        yield
    finally:
        _quiet -= 1
        gc.set_threshold(*before)
        gc.unfreeze()


_quiet = 0  # how many quiet_gc() scopes are open


def freeze_long_lived() -> None:
    """Inside :func:`quiet_gc`, after building long-lived objects (a symbol starting): collect
    the young generations (cheap: only what was made since the last freeze) and freeze what
    survived. Else the next young collection walks all of it: measured, the first one after 500
    symbols started paused the live process for 30 ms. Outside quiet_gc it does nothing."""
    if _quiet:
        gc.collect(1)
        gc.freeze()


_SUB_BITS = 5
_SUB = 1 << _SUB_BITS
_MAX_BITS = 42  # values are clamped below 2**42 ns (73 minutes)
_BUCKETS = (_MAX_BITS - _SUB_BITS + 1) << _SUB_BITS
_DECADES = (10_000, 100_000, 1_000_000, 10_000_000, 100_000_000)  # 10 µs ... 100 ms
DECADE_LABELS = ("<10µs", "<100µs", "<1ms", "<10ms", "<100ms", "≥100ms")


def _index(value: int) -> int:
    shift = value.bit_length() - _SUB_BITS - 1
    if shift <= 0:
        return value
    return (shift << _SUB_BITS) + (value >> shift)


def _bounds(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``[low, high)`` values of bucket ``index`` (inverse of :func:`_index`)."""
    shift = np.maximum((index >> _SUB_BITS) - 1, 0)
    low = (index - (shift << _SUB_BITS)) << shift
    return low, low + (1 << shift)


class Histogram:
    """Counts of non-negative integer values (ns) in log-linear buckets."""

    __slots__ = ("count", "counts", "max")

    def __init__(self) -> None:
        self.counts = [0] * _BUCKETS
        self.count = 0
        self.max = 0

    def record(self, value: int, count: int = 1) -> None:
        """Count ``value`` (ns) ``count`` times (the events of a frame share their times)."""
        if value < 0:
            value = 0  # clocks of different sources may disagree by a little
        elif value >= 1 << _MAX_BITS:
            value = (1 << _MAX_BITS) - 1
        self.counts[_index(value)] += count
        self.count += count
        self.max = max(self.max, value)

    def decades(self, edges_ns: tuple[int, ...] = _DECADES) -> list[int]:
        """Counts below each edge and above the last (coarse, for a glance on the dashboard)."""
        low, _, counts = self.buckets()
        bands: list[int] = np.bincount(np.searchsorted(edges_ns, low, side="right"), counts,
                                       len(edges_ns) + 1).astype(int).tolist()
        return bands

    def buckets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The non-empty buckets as ``(low_ns, high_ns, count)`` arrays, ascending."""
        counts = np.asarray(self.counts, np.int64)
        index = np.flatnonzero(counts)
        low, high = _bounds(index)
        return low, high, counts[index]

    def percentiles(self, qs: tuple[float, ...]) -> tuple[float, ...]:
        """Percentiles (0-100) in ns: the middle of the bucket holding each (NaN when empty)."""
        if not self.count:
            return tuple(float("nan") for _ in qs)
        low, high, counts = self.buckets()
        cumulative = np.cumsum(counts)
        out = []
        for q in qs:
            rank = max(1, int(np.ceil(q / 100 * self.count)))
            i = int(np.searchsorted(cumulative, rank))
            out.append(min(float(low[i] + high[i] - 1) / 2, float(self.max)))
        return tuple(out)


class LatencyStats:
    """One :class:`Histogram` per stage, in nanoseconds."""

    def __init__(self) -> None:
        self.histograms: dict[str, Histogram] = {}

    def add(self, stage: str, nanoseconds: int, count: int = 1) -> None:
        histogram = self.histograms.get(stage)
        if histogram is None:
            histogram = self.histograms[stage] = Histogram()
        histogram.record(nanoseconds, count)

    @property
    def counts(self) -> dict[str, int]:
        return {stage: h.count for stage, h in self.histograms.items()}

    def percentiles(self, stage: str, qs: tuple[float, ...] = (50, 99)) -> tuple[float, ...]:
        """Percentiles of a stage in ns (NaN when it has no samples)."""
        histogram = self.histograms.get(stage)
        return histogram.percentiles(qs) if histogram else tuple(float("nan") for _ in qs)

    def stages(self) -> list[str]:
        return sorted(self.histograms)

    def summary(self) -> dict[str, dict[str, float]]:
        """``{stage: {"p50_us", "p99_us", "p999_us", "max_us", "count"}}``."""
        out = {}
        for stage in self.stages():
            histogram = self.histograms[stage]
            p50, p99, p999 = histogram.percentiles((50, 99, 99.9))
            out[stage] = {"p50_us": p50 / 1e3, "p99_us": p99 / 1e3, "p999_us": p999 / 1e3,
                          "max_us": histogram.max / 1e3, "count": float(histogram.count)}
        return out

    def records(self) -> list[dict[str, Any]]:
        """Each stage's histogram as a journal record's data: the non-empty buckets
        (``low_ns``/``high_ns``/``count``) and the percentiles read from them."""
        out = []
        for stage in self.stages():
            histogram = self.histograms[stage]
            low, high, counts = histogram.buckets()
            p50, p99, p999 = histogram.percentiles((50, 99, 99.9))
            out.append({"name": stage, "count": histogram.count, "max_ns": histogram.max,
                        "p50_ns": round(p50), "p99_ns": round(p99), "p999_ns": round(p999),
                        "buckets": {"low_ns": low.tolist(), "high_ns": high.tolist(),
                                    "count": counts.tolist()}})
        return out
