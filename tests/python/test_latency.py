"""Latency histograms: percentiles within the bucket resolution, buckets that hold what was
recorded, journal records and the dashboard's table."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console
from tradecore.config import Config
from tradecore.latency import Histogram, LatencyStats
from tradecore.session import RunState


def test_percentiles_are_within_the_bucket_resolution() -> None:
    rng = np.random.default_rng(5)
    values = rng.lognormal(mean=11, sigma=1.5, size=50_000).astype(np.int64)  # ~60 µs, long tail
    histogram = Histogram()
    for value in values.tolist():
        histogram.record(value)
    qs = (50, 90, 99, 99.9)
    exact = np.percentile(values, qs, method="inverted_cdf")
    for got, want in zip(histogram.percentiles(qs), exact):
        assert abs(got - want) <= want / 32 + 1
    assert histogram.max == values.max()
    assert histogram.count == len(values)


def test_each_value_lands_in_a_bucket_that_holds_it() -> None:
    for value in [0, 1, 31, 63, 64, 65, 127, 128, 1_000, 12_345, 999_999_999, 2**41 + 5]:
        histogram = Histogram()
        histogram.record(value)
        low, high, counts = histogram.buckets()
        assert counts.tolist() == [1]
        assert low[0] <= value < high[0]
        assert high[0] - low[0] <= max(1, low[0] // 32)


def test_out_of_range_values_are_clamped_not_lost() -> None:
    histogram = Histogram()
    histogram.record(-5)  # clocks of two sources disagreeing a little
    histogram.record(2**60)
    assert histogram.count == 2
    assert histogram.buckets()[2].sum() == 2
    assert histogram.percentiles((0,))[0] == 0


def test_records_carry_the_whole_histogram() -> None:
    stats = LatencyStats()
    for ns in (1_000, 2_000, 2_000, 50_000, 3_000_000):
        stats.add("receive_to_intent", ns)
    stats.add("intent_to_ack", 40_000)
    records = {r["name"]: r for r in stats.records()}
    assert set(records) == {"receive_to_intent", "intent_to_ack"}
    intent = records["receive_to_intent"]
    assert intent["count"] == 5 and sum(intent["buckets"]["count"]) == 5
    assert intent["max_ns"] == 3_000_000
    assert intent["buckets"]["low_ns"] == sorted(intent["buckets"]["low_ns"])
    assert abs(intent["p50_ns"] - 2_000) <= 2_000 / 32
    assert stats.histograms["receive_to_intent"].decades() == [3, 1, 0, 1, 0, 0]


def test_the_dashboard_shows_each_stage_as_percentiles_and_bands() -> None:
    from tradecore.dashboard import Dashboard

    state = RunState.create(Config(), journal=None)
    stats = LatencyStats()
    for ns in (5_000, 50_000, 500_000, 5_000_000):
        stats.add("receive_to_engine_done", ns)
    console = Console(file=io.StringIO(), width=200)
    console.print(Dashboard(state, stats, lambda: 0, console=console).render())
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "p99.9" in text and "<10µs" in text and "≥100ms" in text
    row = next(line for line in text.splitlines() if "receive_to_engine_done" in line)
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells[-6:] == ["1", "1", "1", "1", "0", "0"]


def test_quiet_gc_freezes_the_heap_and_restores_the_collector() -> None:
    import gc

    from tradecore.latency import GC_GEN0_THRESHOLD, quiet_gc

    before = gc.get_threshold()
    with quiet_gc():
        assert gc.get_threshold()[0] == GC_GEN0_THRESHOLD
        assert gc.get_freeze_count() > 1000  # everything alive at entry is out of the collector's walk
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # cycles made later are still collected
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_long_lived_objects_built_later_are_frozen_inside_quiet_gc_only() -> None:
    import gc

    from tradecore.latency import freeze_long_lived, quiet_gc

    kept = [[i] for i in range(5_000)]  # e.g. a symbol's runner and engine, built while live
    freeze_long_lived()
    assert gc.get_freeze_count() == 0  # outside quiet_gc: nothing
    with quiet_gc():
        frozen = gc.get_freeze_count()
        more = [[i] for i in range(5_000)]
        garbage: list[object] = []
        garbage.append(garbage)  # a young cycle: collected, not frozen
        del garbage
        freeze_long_lived()
        assert gc.get_freeze_count() >= frozen + 5_000
        assert gc.get_count()[0] < 100  # the young generation is empty again: nothing to walk
        assert gc.collect() == 0  # the cycle went with the young collection
    assert gc.get_freeze_count() == 0
    del kept, more
