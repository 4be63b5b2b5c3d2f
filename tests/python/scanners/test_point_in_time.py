"""Point-in-time scanning on replayed LEAN ticks: what a scan at t sees is exactly the events
before t (checked against the tick files directly), never later ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tradecore import schema
from tradecore.config import ScannerConfig
from tradecore.data import lean as lean_reader
from tradecore.journal import Journal
from tradecore.scanners import (
    EnrichmentCache,
    PointInTimeInputs,
    PremarketScanner,
    RecordedScanner,
    Reference,
    ScanFilters,
    StaticReferences,
    build_scanner,
    replay_scans,
)
from tradecore.streams.replay import LeanSource, ReplayStream

SYMBOLS = ["AIG", "BAC", "IBM", "SPY"]
SCAN_TIMES = [pd.Timestamp(t, tz="America/New_York").value for t in (
    "2013-10-08 07:00", "2013-10-08 09:00", "2013-10-08 09:29:59.5", "2013-10-09 08:30")]
REFERENCES = StaticReferences([
    Reference("AIG", float_shares=1_470_000_000), Reference("BAC", float_shares=10_500_000_000),
    Reference("IBM", float_shares=1_090_000_000), Reference("SPY", asset_type="etf"),
])


def ny(text: str) -> int:
    return pd.Timestamp(text, tz="America/New_York").value


def expected_inputs(lean_root: Path, symbol: str, t: int) -> tuple[float, float, float] | None:
    """(last price, volume since 04:00, prior close) at t straight from the files; None before
    the symbol's first print of the replay (which starts 2013-10-08 04:00)."""
    local = pd.Timestamp(t, unit="ns", tz="UTC").tz_convert("America/New_York")
    ticks = schema.concatenate([lean_reader.read_trade_ticks(lean_root, symbol, day)
                                for day in ("20131008", "20131009")], schema.TRADE)
    before = ticks[ticks["ts_event"] < t]
    clean = before[(before["flags"] & schema.TradeFlag.SUSPICIOUS) == 0]
    if not len(clean):
        return None
    today = before[before["ts_event"] >= ny(local.strftime("%Y-%m-%d 04:00"))]
    daily = lean_reader.read_daily_bars(lean_reader.lean_path(lean_root, "trade", symbol, None, "daily"))
    prior = daily[daily["ts_event"] < ny(local.strftime("%Y-%m-%d 00:00"))]["close"][-1]
    return float(clean["price"][-1]), float(today["size"].sum()), float(prior)


def make(lean_root: Path, end: int, journal: Journal | None = None):  # type: ignore[no-untyped-def]
    stream = ReplayStream(LeanSource(lean_root), datasets=["daily", "trade"],
                          start=ny("2013-10-08 04:00"), end=end)
    inputs = PointInTimeInputs(SYMBOLS)
    cache = EnrichmentCache(StaticReferences(REFERENCES.references), clock=lambda: inputs.now)
    filters = ScanFilters(min_gap_percent=None, min_price=None, max_price=None, max_symbols=2)
    scanner = PremarketScanner(inputs, cache, filters, journal=journal, clock=lambda: inputs.now)
    return stream, inputs, scanner


@pytest.mark.asyncio
async def test_each_scan_sees_exactly_the_events_before_its_time(lean_root: Path,
                                                                 tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite", synchronous="NORMAL") as journal:
        stream, inputs, scanner = make(lean_root, ny("2013-10-09 09:30"), journal)
        seen: dict[int, dict[str, dict[str, object]]] = {}
        original = scanner.scan

        async def record() -> list:  # type: ignore[type-arg]
            rows = await original()
            seen[inputs.now] = {r.symbol: dict(r.values) for r in rows}
            return rows

        scanner.scan = record  # type: ignore[method-assign]
        changes = await replay_scans(stream, inputs, scanner, SCAN_TIMES)
        await stream.close()
        assert len(changes) == len(SCAN_TIMES)
        assert [len(seen[t]) for t in SCAN_TIMES] == [2, 4, 4, 4]  # two have no print before 07:00
        for t in SCAN_TIMES:
            for symbol in SYMBOLS:
                expected = expected_inputs(lean_root, symbol, t)
                if expected is None:
                    assert symbol not in seen[t]
                    continue
                price, volume, prior = expected
                values = seen[t][symbol]
                assert values["price"] == price, (symbol, t)
                assert values["volume"] == volume, (symbol, t)
                assert values["prior_close"] == prior, (symbol, t)
                assert values["gap_percent"] == pytest.approx((price / prior - 1) * 100)
        # The universe: the two largest gaps among the non-ETFs, SPY excluded as an ETF.
        for t, change in zip(SCAN_TIMES, changes, strict=True):
            gaps = {s: v["gap_percent"] for s, v in seen[t].items() if s != "SPY"}
            assert change.universe == tuple(sorted(gaps, key=lambda s: -gaps[s])[:2])
            assert change.ts == t
        # The recorded universe replays the same changes at the same times.
        recorded_clock = [0]
        recorded = RecordedScanner(journal, clock=lambda: recorded_clock[0])
        for t, change in zip(SCAN_TIMES, changes, strict=True):
            recorded_clock[0] = t
            assert (await recorded.update()).universe == change.universe


@pytest.mark.asyncio
async def test_a_scan_gives_the_same_result_whether_or_not_the_future_exists(
        lean_root: Path) -> None:
    t = SCAN_TIMES[1]
    results = []
    for end in (t, ny("2013-10-08 20:00")):  # the data stops at t, or goes on all day
        stream, inputs, scanner = make(lean_root, end)
        (change,) = await replay_scans(stream, inputs, scanner, [t])
        await stream.close()
        results.append((change.universe, [(r.symbol, r.values) for r in scanner.rows]))
    assert results[0] == results[1]


@pytest.mark.asyncio
async def test_prior_close_needs_the_daily_bar_to_have_ended() -> None:
    inputs = PointInTimeInputs(["X"])
    bars = np.zeros(2, schema.BAR)
    bars["ts_event"] = [ny("2013-10-07 00:00"), ny("2013-10-08 00:00")]
    bars["ts_end"] = [ny("2013-10-08 00:00"), ny("2013-10-09 00:00")]
    bars["close"] = [10.0, 11.0]
    inputs.seed_daily("X", bars)
    assert inputs.prior_close("X", ny("2013-10-08 09:00")) == 10.0  # not the day's own bar
    assert inputs.prior_close("X", ny("2013-10-09 09:00")) == 11.0
    assert inputs.prior_close("X", ny("2013-10-07 23:00")) is None


@pytest.mark.asyncio
async def test_a_backtest_builds_the_configured_top_gainers_with_their_filters(
        lean_root: Path) -> None:
    """The same `[scanner]` section as live, on point-in-time inputs: deny-list, volume and
    asset-type filters apply, and gainers rank by change vs the prior close."""
    stream = ReplayStream(LeanSource(lean_root), datasets=["daily", "trade"],
                          start=ny("2013-10-08 04:00"), end=ny("2013-10-09 09:30"))
    inputs = PointInTimeInputs(SYMBOLS)
    settings = ScannerConfig(kind="top_gainers", filters={
        "min_gap_percent": None, "min_price": None, "max_price": None,
        "min_premarket_volume": 1_000, "deny": ["aig"], "max_symbols": 2})
    scanner = build_scanner(settings, inputs=inputs, clock=lambda: inputs.now,
                            enrichment=EnrichmentCache(StaticReferences(REFERENCES.references),
                                                       clock=lambda: inputs.now))
    changes = await replay_scans(stream, inputs, scanner, SCAN_TIMES)
    await stream.close()
    for t, change in zip(SCAN_TIMES, changes, strict=True):
        changes_at = {}
        for symbol in SYMBOLS:
            expected = expected_inputs(lean_root, symbol, t)
            if expected is None:
                continue
            price, volume, prior = expected
            # AIG denied, SPY an ETF (excluded by default), thin premarkets left out.
            if symbol not in ("AIG", "SPY") and volume >= 1_000:
                changes_at[symbol] = (price / prior - 1) * 100
        assert change.universe == tuple(sorted(changes_at, key=lambda s: -changes_at[s])[:2])
    assert any(change.universe for change in changes)
    rows = {r.symbol: r.reasons for r in scanner.rows}
    assert rows["AIG"] == ("deny",) and rows["SPY"] == ("etf",)
