"""Per-stage latency in live runs: bounded sample windows with percentiles (ns)."""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["LatencyStats"]


class LatencyStats:
    """The last ``window`` samples of each stage (``receive_to_engine``, ``receive_to_intent``,
    ``intent_to_ack``, ...), in nanoseconds."""

    def __init__(self, window: int = 100_000) -> None:
        self.window = window
        self._samples: dict[str, deque[int]] = {}
        self.counts: dict[str, int] = {}

    def add(self, stage: str, nanoseconds: int) -> None:
        samples = self._samples.get(stage)
        if samples is None:
            samples = self._samples[stage] = deque(maxlen=self.window)
        samples.append(nanoseconds)
        self.counts[stage] = self.counts.get(stage, 0) + 1

    def percentiles(self, stage: str, qs: tuple[float, ...] = (50, 99)) -> tuple[float, ...]:
        """Percentiles of a stage in ns (NaN when it has no samples)."""
        samples = self._samples.get(stage)
        if not samples:
            return tuple(float("nan") for _ in qs)
        return tuple(float(v) for v in np.percentile(np.fromiter(samples, np.int64), qs))

    def stages(self) -> list[str]:
        return sorted(self._samples)

    def summary(self) -> dict[str, dict[str, float]]:
        """``{stage: {"p50_us", "p99_us", "count"}}``."""
        out = {}
        for stage in self.stages():
            p50, p99 = self.percentiles(stage)
            out[stage] = {"p50_us": p50 / 1e3, "p99_us": p99 / 1e3, "count": float(self.counts[stage])}
        return out
