"""The seeded premarket model and SimulatedMarket."""

from __future__ import annotations

import asyncio
import datetime as dt

import numpy as np
import pytest
from tradecore import schema
from tradecore.sim import AssetType, SimulatedMarket
from tradecore.sim.generator import ModelParams, default_start, new_york_ns, penny
from tradecore.streams.base import EventBatch, EventKind

START = new_york_ns(dt.date(2026, 11, 27), "04:00")
NS = 1_000_000_000
COARSE = ModelParams(step_s=1.0)  # whole-session tests: coarser steps, same model


def _run(seed: int, until_hhmm: str, **options: object) -> tuple[SimulatedMarket, list[EventBatch]]:
    options.setdefault("params", COARSE)
    market = SimulatedMarket(seed=seed, start=START, speed=0, **options)  # type: ignore[arg-type]
    seen: list[EventBatch] = []
    market.add_listener(seen.append)
    market.advance(new_york_ns(dt.date(2026, 11, 27), until_hhmm))
    return market, seen


def test_same_seed_gives_identical_events_and_another_seed_does_not() -> None:
    _, first = _run(11, "05:30", symbols=40, gappers=2)
    _, again = _run(11, "05:30", symbols=40, gappers=2)
    _, other = _run(12, "05:30", symbols=40, gappers=2)
    assert len(first) > 100
    assert [(b.kind, b.symbol, b.events.tobytes()) for b in first] == \
        [(b.kind, b.symbol, b.events.tobytes()) for b in again]
    assert [b.events.tobytes() for b in first] != [b.events.tobytes() for b in other]


def test_universe_has_scanner_reference_data_and_excludable_types() -> None:
    market = SimulatedMarket(seed=3, start=START, speed=0)
    assets = market.assets()
    assert len(assets) == 300 and len({a.symbol for a in assets}) == 300
    types = {a.asset_type for a in assets}
    assert {AssetType.COMMON, AssetType.ETF, AssetType.WARRANT, AssetType.UNIT,
            AssetType.RIGHT} <= types
    for asset in assets:
        assert 0 < asset.float_shares <= asset.shares_outstanding
        assert asset.prior_close > 0 and asset.prior_close == float(penny(asset.prior_close))
    for symbol in market.gappers:
        asset = market.asset(symbol)
        assert asset is not None and asset.asset_type is AssetType.COMMON
        assert asset.float_shares <= 20e6
        daily = market.prior_daily_bars(symbol)
        assert len(daily) == 30 and daily["close"][-1] == asset.prior_close


def test_gappers_gap_thirty_percent_by_the_open_and_quiet_names_do_not() -> None:
    market, seen = _run(5, "09:32", symbols=60, gappers=4)
    daily = [b for b in seen if b.kind is EventKind.DAILY_BAR]
    open_ns = new_york_ns(dt.date(2026, 11, 27), "09:30")
    assert daily, "daily bars follow each minute mark once the market is open"
    first_daily = seen.index(daily[0])
    assert all(b.events["ts_end"][0] <= open_ns + 60 * NS for b in seen[:first_daily]
               if b.kind is EventKind.BAR)
    for symbol in market.gappers:
        asset = market.asset(symbol)
        before_open = market.trades(symbol, 0, open_ns)
        assert asset is not None and len(before_open)
        last = before_open[np.argmax(before_open["ts_event"])]
        assert last["price"] / asset.prior_close - 1 > 0.2, symbol
    quiet = [s for s in market.symbols if s not in market.gappers and market.last_trade(s) is not None]
    moves = [abs(market.last_trade(s)["price"] / market.asset(s).prior_close - 1) for s in quiet]  # type: ignore[index,union-attr]
    assert np.median(moves) < 0.05


def test_prices_are_on_the_tick_grid_and_quotes_are_not_crossed() -> None:
    _, seen = _run(2, "08:30", symbols=50, gappers=3)
    trades = [b.events for b in seen if b.kind is EventKind.TRADE]
    quotes = [b.events for b in seen if b.kind is EventKind.QUOTE]
    prices = np.concatenate([t["price"] for t in trades])
    assert np.allclose(prices, penny(prices))
    q = schema.concatenate(quotes, schema.QUOTE)
    assert (q["ask_price"] > q["bid_price"]).all() and (q["bid_price"] > 0).all()
    assert np.allclose(q["bid_price"], penny(q["bid_price"]))


def test_pauses_publish_status_sequence_and_stop_trading() -> None:
    market, seen = _run(7, "09:30", symbols=30, gappers=6)
    statuses = [b for b in seen if b.kind is EventKind.STATUS]
    assert statuses, "six gappers should pause at least once"
    assert any(b.kind is EventKind.LULD for b in seen)
    by_symbol: dict[str, list[bytes]] = {}
    for b in statuses:
        by_symbol.setdefault(b.symbol, []).extend(bytes(c) for c in b.events["status_code"])
    for symbol, codes in by_symbol.items():
        text = b"".join(codes).decode()
        assert text.startswith("P") and "PP" not in text, (symbol, text)
    symbol = statuses[0].symbol
    paused_at = int(statuses[0].events["ts_event"][0])
    traded = [b.events["ts_event"] for b in seen if b.kind is EventKind.TRADE and b.symbol == symbol]
    ts = np.concatenate(traded)
    during = (ts > paused_at + NS) & (ts < paused_at + 280 * NS)
    assert not during.any()


def test_minute_bars_match_the_trades_and_arrive_after_the_minute() -> None:
    market, seen = _run(4, "07:00", symbols=40, gappers=2)
    symbol = max(market.symbols, key=lambda s: len(market.trades(s, 0, 2**62)))
    bars = market.bars(symbol, 0, 2**62)
    trades = market.trades(symbol, 0, 2**62)
    assert bars["volume"].sum() == trades["size"].sum()
    daily = market.bars(symbol, 0, 2**62, 86_400 * NS)
    assert len(daily) == 31  # 30 prior sessions + today's running bar
    published = [b for b in seen if b.kind is EventKind.BAR and b.symbol == symbol]
    assert published and all(int(b.events["ts_end"][0]) % (60 * NS) == 0 for b in published)


def test_default_start_is_a_weekday_at_four_new_york() -> None:
    saturday = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc)
    start = default_start(saturday)
    assert start == new_york_ns(dt.date(2026, 11, 30), "04:00")


@pytest.mark.asyncio
async def test_paced_run_publishes_what_unpaced_steps_do_on_the_session_clock() -> None:
    paced = SimulatedMarket(seed=9, start=START, speed=1800, symbols=20, gappers=1, params=COARSE)
    seen: list[EventBatch] = []
    paced.add_listener(seen.append)
    runner = asyncio.ensure_future(paced.run())
    await asyncio.sleep(0.5)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    elapsed_s = (paced.now() - START) / NS
    assert 500 <= elapsed_s <= 1100  # ~900 simulated seconds in 0.5 s at 1800x
    unpaced, again = _run(9, "04:00", symbols=20, gappers=1)
    unpaced.advance(paced.now())
    assert [b.events.tobytes() for b in seen] == [b.events.tobytes() for b in again]


@pytest.mark.parametrize(("day", "close", "end"), [(dt.date(2026, 11, 27), "13:00", "17:00"),  # after Thanksgiving
                                                   (dt.date(2026, 11, 24), "16:00", "20:00")])
def test_the_session_closes_as_the_calendar_says_early_close_days_included(day: dt.date, close: str, end: str) -> None:
    from tradecore.streams.alpaca import TRADE_CONDITION_BITS

    market = SimulatedMarket(seed=3, start=new_york_ns(day, "12:30"), speed=0, symbols=20, gappers=1,
                             params=ModelParams(step_s=5.0))
    seen: list[EventBatch] = []
    market.add_listener(seen.append)
    market.advance(new_york_ns(day, "23:00"))
    trades = schema.concatenate([b.events for b in seen if b.kind is EventKind.TRADE], schema.TRADE)
    ts = trades["ts_event"]
    assert ts.max() < new_york_ns(day, end) and ts.max() > new_york_ns(day, end) - 3600 * 10**9
    form_t = (trades["conditions"] & TRADE_CONDITION_BITS["T"]) != 0  # extended hours' "form T"
    late_regular = ts < new_york_ns(day, close) - 60 * 10**9  # (prints up to 9 s late keep their tag)
    assert not form_t[late_regular].any() and form_t[ts >= new_york_ns(day, close)].all()
