"""RiskManager: every rule accepts and rejects with its reason; the kill switch; events."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from tradecore.errors import ConfigError
from tradecore.execution.broker import OrderRequest
from tradecore.execution.events import KillSwitchTripped, RiskDecision
from tradecore.execution.market import MarketSnapshot
from tradecore.execution.risk import RiskContext, RiskLimits, RiskManager, TradingDay
from tradecore.schema import OrderType, Side, TradingState

MARKET = MarketSnapshot("ABC", bid=D("9.99"), ask=D("10.01"), last=D("10.00"))


def order(qty: str = "100", side: Side = Side.BUY, *, symbol: str = "ABC", limit: str | None = None,
          stop: str | None = None) -> OrderRequest:
    kind = (OrderType.STOP_LIMIT if limit and stop else OrderType.LIMIT if limit
            else OrderType.STOP if stop else OrderType.MARKET)
    return OrderRequest(client_order_id="t-1", symbol=symbol, side=side, type=kind, qty=D(qty),
                        limit_price=D(limit) if limit else None, stop_price=D(stop) if stop else None)


def ctx(**kw: object) -> RiskContext:
    kw.setdefault("market", MARKET)
    return RiskContext(**kw)  # type: ignore[arg-type]


def check(limits: RiskLimits, o: OrderRequest, context: RiskContext) -> RiskDecision:
    return RiskManager(limits).check(o, context)


def test_limits_are_immutable_keyword_only_and_validated() -> None:
    limits = RiskLimits(max_shares_per_symbol=D(500))
    with pytest.raises(AttributeError):
        limits.max_shares_per_symbol = D(1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        RiskLimits(bogus=1)  # type: ignore[call-arg]
    with pytest.raises(ConfigError):
        RiskLimits(daily_loss_limit=D(-5))
    with pytest.raises(ConfigError, match="max_share"):
        RiskLimits.from_mapping({"max_share": 5})
    loaded = RiskLimits.from_mapping({"max_gross_exposure": "25000", "allow_short": True})
    assert loaded.max_gross_exposure == D(25000) and loaded.allow_short


def test_max_shares_per_symbol_counts_position_and_open_orders() -> None:
    limits = RiskLimits(max_shares_per_symbol=D(500))
    assert check(limits, order("300"), ctx(positions={"ABC": D(200)})).accepted
    d = check(limits, order("300"), ctx(positions={"ABC": D(200)}, open_orders={"ABC": D(100)}))
    assert (d.accepted, d.rule) == (False, "max_shares") and "600 shares > max 500" in d.reason
    assert d.values["open_order_shares"] == "100"


def test_max_notional_per_symbol() -> None:
    limits = RiskLimits(max_notional_per_symbol=D(5000))
    assert check(limits, order("500", limit="10.00"), ctx()).accepted
    d = check(limits, order("501", limit="10.00"), ctx())
    assert d.rule == "max_notional" and d.values["notional_dollars"] == "5010.00"


def test_max_open_positions_blocks_a_new_symbol_not_an_existing_one() -> None:
    limits = RiskLimits(max_open_positions=2)
    held = {"AAA": D(10), "BBB": D(5)}
    d = check(limits, order(), ctx(positions=held))
    assert d.rule == "max_positions" and d.values["open_symbols"] == "AAA,BBB"
    assert check(limits, order(symbol="AAA"), ctx(positions=held)).accepted
    assert check(limits, order(), ctx(positions={"AAA": D(10)})).accepted


def test_max_gross_exposure_adds_the_order_to_positions_and_open_orders() -> None:
    limits = RiskLimits(max_gross_exposure=D(3000))
    context = ctx(positions={"AAA": D(100)}, marks={"AAA": D(10), "ABC": D(10)},
                  open_orders={"ABC": D(50)})
    assert check(limits, order("50"), context).accepted  # 1000 + 500 + 500... = 2000 <= 3000
    d = check(limits, order("151"), context)
    assert d.rule == "gross_exposure" and d.values["gross_dollars"] == "1500"


def test_daily_loss_limit_rejects_entries_and_trips_the_kill_switch() -> None:
    events: list[object] = []
    risk = RiskManager(RiskLimits(daily_loss_limit=D(500)), on_event=events.append)
    assert risk.check(order(), ctx(daily_pnl=D("-499.99"))).accepted
    d = risk.check(order(), ctx(daily_pnl=D(-500), positions={"XYZ": D(20)}))
    assert d.rule == "daily_loss" and not d.accepted
    assert risk.kill_switch_tripped
    trips = [e for e in events if isinstance(e, KillSwitchTripped)]
    assert len(trips) == 1 and trips[0].flatten == {"XYZ": D(20)}


def test_kill_switch_blocks_entries_but_allows_exits_and_can_be_reset() -> None:
    risk = RiskManager(RiskLimits(daily_loss_limit=D(100)))
    trip = risk.update_pnl(D(-150), now=5, positions={"ABC": D(100), "Z": D(0)})
    assert trip is not None and trip.flatten == {"ABC": D(100)}
    assert risk.update_pnl(D(-300), now=6) is None  # trips once
    entry = risk.check(order("10"), ctx(positions={"ABC": D(100)}))
    assert entry.rule == "kill_switch" and "only exits" in entry.reason
    assert risk.check(order("100", Side.SELL), ctx(positions={"ABC": D(100)})).accepted
    over = risk.check(order("150", Side.SELL), ctx(positions={"ABC": D(100)}))
    assert over.rule == "kill_switch"  # selling past flat is a new (short) entry
    risk.reset_kill_switch(now=7, reason="operator")
    assert risk.check(order("10"), ctx(positions={"ABC": D(100)})).accepted


def test_price_band_vs_last_trade_and_nbbo_mid() -> None:
    limits = RiskLimits(price_band_percent=D(5))
    assert check(limits, order(limit="10.50"), ctx()).accepted
    d = check(limits, order(limit="10.51"), ctx())
    assert d.rule == "price_band" and d.values["reference"] == "10.00"
    stop = check(limits, order(stop="9.40", side=Side.SELL), ctx(positions={"ABC": D(100)}))
    assert stop.rule == "price_band" and "stop_price" in stop.reason
    no_last = MarketSnapshot("ABC", bid=D("2.00"), ask=D("2.10"))
    assert check(limits, order(limit="2.15"), ctx(market=no_last)).accepted  # mid 2.05
    nothing = check(limits, order(), ctx(market=MarketSnapshot("ABC")))
    assert nothing.rule == "price_band" and "no reference price" in nothing.reason
    # Getting flat never waits for market data (a restored position on a quiet symbol).
    exit_blind = check(limits, order(side=Side.SELL), ctx(market=MarketSnapshot("ABC"),
                                                          positions={"ABC": D(100)}))
    assert exit_blind.accepted and exit_blind.reason == "exit: reduces the position"


def test_halted_symbols_from_market_data_and_manual_halts() -> None:
    halted = MarketSnapshot("ABC", last=D(10), state=TradingState.HALTED)
    d = check(RiskLimits(), order(), ctx(market=halted))
    assert d.rule == "halted" and d.values["state"] == "HALTED"
    risk = RiskManager(RiskLimits())
    risk.halt("abc")
    assert risk.check(order(), ctx()).rule == "halted"
    risk.resume("ABC")
    assert risk.check(order(), ctx()).accepted


def test_no_shorts_unless_enabled() -> None:
    d = check(RiskLimits(), order("10", Side.SELL), ctx())
    assert d.rule == "no_short" and not d.accepted
    assert check(RiskLimits(), order("10", Side.SELL), ctx(positions={"ABC": D(10)})).accepted
    flip = check(RiskLimits(), order("20", Side.SELL), ctx(positions={"ABC": D(10)}))
    assert flip.rule == "no_short"
    pending_sell = check(RiskLimits(), order("10", Side.SELL),
                         ctx(positions={"ABC": D(10)}, open_orders={"ABC": D(-10)}))
    assert pending_sell.rule == "no_short"
    assert check(RiskLimits(allow_short=True), order("10", Side.SELL), ctx()).accepted


def test_exits_skip_size_and_exposure_limits() -> None:
    limits = RiskLimits(max_shares_per_symbol=D(10), max_gross_exposure=D(1))
    assert check(limits, order("100", Side.SELL), ctx(positions={"ABC": D(100)})).accepted


def test_every_decision_is_an_event_with_a_json_record() -> None:
    events: list[object] = []
    risk = RiskManager(RiskLimits(max_shares_per_symbol=D(1)), on_event=events.append)
    risk.check(order("1"), ctx())
    risk.check(order("2"), ctx())
    assert [e.rule for e in events] == ["accepted", "max_shares"]  # type: ignore[attr-defined]
    record = events[1].to_record()  # type: ignore[attr-defined]
    assert record["record_type"] == "RiskDecision" and record["accepted"] is False
    assert record["values"]["max_shares"] == "1" and record["client_order_id"] == "t-1"
    import json
    json.dumps(record)


def test_trading_day_starts_at_the_configured_new_york_time_across_dst() -> None:
    import pandas as pd

    def ns(text: str) -> int:
        return pd.Timestamp(text, tz="America/New_York").value

    day = TradingDay("04:00")
    assert day.advance(ns("2024-03-08 20:00")) is None  # the first timestamp sets the day
    assert day.day == "2024-03-08"
    assert day.advance(ns("2024-03-09 03:59:59.999999999")) is None
    assert day.advance(ns("2024-03-09 04:00")) == "2024-03-09"
    # DST begins 2024-03-10 02:00: the day still starts at 04:00 local (08:00 UTC, not 09:00)
    assert day.advance(ns("2024-03-10 03:59")) is None
    assert day.advance(ns("2024-03-10 04:00")) == "2024-03-10"
    assert day.advance(ns("2024-03-12 12:00")) == "2024-03-12"  # a skipped day reports the new one
    with pytest.raises(ConfigError, match="HH:MM"):
        RiskLimits(day_start="4 am")
