"""tradecore.bars through the bindings: API, policies, zero-copy batches."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from tradecore import bars, schema
from tradecore.errors import ConfigError, DataError

NEW_YORK = ZoneInfo("America/New_York")
SECOND = 1_000_000_000
MINUTE = 60 * SECOND


def ny(hh: int, mm: int, ss: float = 0.0, day: int = 7, month: int = 10) -> int:
    """UTC ns of a New York wall-clock time in 2013 (independent of the core's DST code)."""
    local = datetime(2013, month, day, hh, mm, tzinfo=NEW_YORK) + timedelta(seconds=ss)
    return round(local.astimezone(timezone.utc).timestamp()) * SECOND + round((ss % 1) * 1e9)


def trades(*rows: tuple) -> np.ndarray:
    out = schema.empty(schema.TRADE, len(rows))
    for i, row in enumerate(rows):
        ts, price, size, *rest = row
        out[i]["ts_event"], out[i]["price"], out[i]["size"] = ts, price, size
        if rest:
            out[i]["conditions"] = rest[0]
    return out


def test_aggregate_builds_minute_bars() -> None:
    t = trades((ny(4, 0, 1), 10.0, 100), (ny(4, 0, 30), 11.0, 300), (ny(4, 1, 5), 9.0, 100))
    b = bars.aggregate(t, "1min")
    assert b.dtype == schema.BAR
    assert list(b["ts_event"]) == [ny(4, 0), ny(4, 1)]
    assert list(b["ts_end"]) == [ny(4, 1), ny(4, 2)]
    assert b[0]["open"] == 10.0 and b[0]["high"] == 11.0 and b[0]["close"] == 11.0
    assert b[0]["volume"] == 400 and b[0]["trade_count"] == 2
    assert b[0]["vwap"] == pytest.approx((1000 + 3300) / 400, rel=1e-15)
    assert b[0]["session"] == schema.Session.PREMARKET


def test_session_boundaries_and_dst_agree_with_zoneinfo() -> None:
    # Across the 2013-11-03 change: 09:29 and 09:30 New York in EDT and in EST.
    for day, month in ((1, 11), (4, 11)):
        t = trades((ny(9, 29, 30, day, month), 10.0, 1), (ny(9, 30, 0, day, month), 10.0, 1))
        b = bars.aggregate(t, "1h")
        assert list(b["session"]) == [schema.Session.PREMARKET, schema.Session.REGULAR]
        assert list(b["ts_event"]) == [ny(9, 0, 0, day, month), ny(9, 30, 0, day, month)]
        assert list(b["ts_end"]) == [ny(9, 30, 0, day, month), ny(10, 0, 0, day, month)]


def test_streaming_equals_batch() -> None:
    rng = np.random.default_rng(7)
    n = 5000
    t = schema.empty(schema.TRADE, n)
    t["ts_event"] = ny(9, 0) + np.cumsum(rng.integers(0, 2 * SECOND, n))
    t["price"] = 20 + np.cumsum(rng.normal(0, 0.01, n))
    t["size"] = rng.integers(1, 500, n)
    batch = bars.aggregate(t, "1min")
    agg = bars.BarAggregator("1min")
    pieces = [agg.update(int(r["ts_event"]), float(r["price"]), float(r["size"])) for r in t]
    pieces.append(agg.flush())
    streamed = schema.concatenate(pieces, schema.BAR)
    np.testing.assert_array_equal(streamed, batch)


def test_update_batch_accepts_only_trade_arrays() -> None:
    agg = bars.BarAggregator("1min")
    with pytest.raises(TypeError, match="TRADE"):
        agg.update_batch(np.zeros(3))
    # A strided view is made contiguous (the only copy the batch path ever makes).
    t = trades((ny(4, 0, 1), 10.0, 1), (ny(4, 0, 2), 99.0, 1), (ny(4, 0, 3), 11.0, 1))
    assert agg.update_batch(t[::2]).size == 0
    assert agg.flush()[0]["high"] == 11.0


def test_bad_price_raises_with_the_row_and_keeps_earlier_bars() -> None:
    t = trades((ny(4, 0, 1), 10.0, 1), (ny(4, 1, 1), 10.5, 1), (ny(4, 1, 2), float("nan"), 1))
    agg = bars.BarAggregator("1min")
    with pytest.raises(DataError, match="row 2") as info:
        agg.update_batch(t)
    assert info.value.row == 2
    kept = agg.drain()
    assert len(kept) == 1 and kept[0]["close"] == 10.0  # the 04:00 bar, closed by row 1
    # Resume after the bad row: nothing accepted was lost.
    agg.update_batch(t[3:])
    assert agg.flush()[0]["close"] == 10.5


@pytest.mark.parametrize(
    ("price", "size"), [(float("nan"), 1), (float("inf"), 1), (0.0, 1), (-2.0, 1), (10.0, -1.0)]
)
def test_bad_trades_are_skipped_and_counted_by_policy(price: float, size: float) -> None:
    t = trades((ny(4, 0, 1), 10.0, 1), (ny(4, 0, 2), price, size), (ny(4, 0, 3), 11.0, 1))
    agg = bars.BarAggregator("1min", bad="skip")
    agg.update_batch(t)
    b = agg.flush()
    assert b[0]["trade_count"] == 2 and b[0]["high"] == 11.0
    assert agg.stats["bad_skipped"] == 1


def test_late_policies() -> None:
    t = trades((ny(4, 0, 10), 10.0, 1), (ny(4, 1, 10), 11.0, 1), (ny(4, 0, 20), 30.0, 5))
    dropped = bars.BarAggregator("1min")
    dropped.update_batch(t)
    assert dropped.stats["late_dropped"] == 1
    amended = bars.BarAggregator("1min", late="amend")
    amended.update_batch(t)
    last = amended.flush()[0]
    assert last["high"] == 30.0 and last["close"] == 11.0 and last["volume"] == 6
    assert last["flags"] & schema.BarFlag.AMENDED
    with pytest.raises(DataError, match="late"):
        bars.BarAggregator("1min", late="raise").update_batch(t)


def test_flat_bars_and_clock() -> None:
    agg = bars.BarAggregator("1min", empty="flat")
    agg.update(ny(4, 0, 5), 10.0, 100)
    assert agg.on_clock(ny(4, 0, 59)).size == 0
    closed = agg.on_clock(ny(4, 3, 0))
    assert list(closed["ts_event"]) == [ny(4, 0), ny(4, 1), ny(4, 2)]
    assert list(closed["flags"]) == [0, schema.BarFlag.FLAT, schema.BarFlag.FLAT]
    assert agg.stats["flat_bars"] == 2


def test_information_bars() -> None:
    t = trades(*[(ny(4, 0, i), 10.0 + i * 0.01, 100) for i in range(10)])
    assert list(bars.aggregate(t, kind="tick", size=3)["trade_count"]) == [3, 3, 3, 1]
    assert list(bars.aggregate(t, kind="volume", size=400)["volume"]) == [400, 400, 200]
    value = bars.aggregate(t, kind="value", size=2500)
    assert np.sum(value["vwap"] * value["volume"]) == pytest.approx(np.sum(t["price"] * t["size"]))
    assert all(b["high"] - b["low"] <= 0.05 + 1e-9 for b in bars.aggregate(t, kind="range", size=0.05))


def test_resample_matches_direct_aggregation() -> None:
    rng = np.random.default_rng(3)
    n = 20000
    t = schema.empty(schema.TRADE, n)
    t["ts_event"] = ny(4, 0) + np.sort(rng.integers(0, 16 * 3600 * SECOND, n))
    t["price"] = 5 + np.abs(np.cumsum(rng.normal(0, 0.01, n)))
    t["size"] = rng.integers(1, 1000, n)
    direct = bars.aggregate(t, "5min")
    via_minutes = bars.resample(bars.aggregate(t, "1min"), "5min")
    exact = [f for f in schema.BAR.names if f != "vwap"]
    np.testing.assert_array_equal(via_minutes[exact], direct[exact])
    np.testing.assert_allclose(via_minutes["vwap"], direct["vwap"], rtol=1e-12)


def test_quote_bars() -> None:
    q = schema.empty(schema.QUOTE, 3)
    q["ts_event"] = [ny(4, 0, 0), ny(4, 0, 30), ny(4, 1, 0)]
    q["bid_price"], q["ask_price"] = [10.0, 10.02, 10.01], [10.1, 10.06, 10.03]
    q["bid_size"], q["ask_size"] = 100, 100
    qb = bars.aggregate_quotes(q, "1min")
    assert qb.dtype == schema.QUOTE_BAR and len(qb) == 2
    assert qb[0]["bid_high"] == 10.02 and qb[0]["ask_low"] == 10.06
    assert qb[0]["spread_twa"] == pytest.approx((0.1 * 30 + 0.04 * 30) / 60)
    q["bid_price"][1] = 10.2  # crossed
    with pytest.raises(DataError, match="crossed"):
        bars.aggregate_quotes(q, "1min")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"period": "1ms"},
        {"period": "2d"},
        {"period": "fortnight"},
        {"kind": "volume"},
        {"late": "ignore"},
        {"sessions": ("lunch",)},
        {"sessions": ()},
    ],
)
def test_bad_configuration_is_a_config_error(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        bars.BarAggregator(**kwargs)


def test_parse_period() -> None:
    assert bars.parse_period("5min") == 5 * MINUTE
    assert bars.parse_period("1d") == 86400 * SECOND
    assert bars.parse_period(timedelta(seconds=30)) == 30 * SECOND
