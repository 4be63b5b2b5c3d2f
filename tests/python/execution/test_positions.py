"""PositionTracker: exact decimal cash, average price, realised/unrealised PnL, flips."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from tradecore.execution.positions import PositionTracker
from tradecore.schema import Side


def test_three_partial_fills_at_different_prices_with_commissions_are_exact() -> None:
    t = PositionTracker(D(10000))
    t.on_fill("ABC", Side.BUY, D(30), D("10.01"), D("1.00"))
    t.on_fill("ABC", Side.BUY, D(30), D("10.02"), D("0.15"))
    t.on_fill("ABC", Side.BUY, D(40), D("10.03"), D("0.20"))
    pos = t.position("ABC")
    assert pos.qty == D(100)
    assert pos.cost_basis == D("300.30") + D("300.60") + D("401.20") == D("1002.10")
    assert pos.avg_entry_price == D("10.021")
    assert t.cash == D(10000) - D("1002.10") - D("1.35") == D("8996.55")
    t.mark("ABC", D("10.50"))
    assert t.unrealized == D("1050.00") - D("1002.10") == D("47.90")
    change = t.on_fill("ABC", Side.SELL, D(100), D("10.50"), D("0.50"))
    assert change.qty == 0 and change.realized_pl == D("47.90")
    assert t.realized == D("47.90") and t.commissions == D("1.85")
    assert t.cash == D("10046.05")
    assert t.equity - t.starting_cash == t.realized + t.unrealized - t.commissions


def test_partial_close_uses_fifo_lots_and_the_identity_holds() -> None:
    t = PositionTracker(D(1000))
    t.on_fill("X", Side.BUY, D(1), D(10))
    t.on_fill("X", Side.BUY, D(2), D(11))
    assert t.position("X").avg_entry_price == D("10.666667")  # 32/3, reported to 6 places
    t.on_fill("X", Side.SELL, D(2), D(12), D("0.01"))
    assert t.realized == D(2) + D(1)  # lot @10 then one share of lot @11
    assert t.qty("X") == 1 and t.symbol("X").cost_basis == D(11)
    t.mark("X", D("9.99"))
    assert t.equity - t.starting_cash == t.realized + t.unrealized - t.commissions


def test_flip_long_to_short_realises_the_long_and_opens_the_short_at_the_fill_price() -> None:
    t = PositionTracker(D(5000))
    t.on_fill("F", Side.BUY, D(100), D("5.00"))
    change = t.on_fill("F", Side.SELL, D(150), D("5.20"))
    assert change.qty == D(-50) and change.realized_pl == D("20.00")
    assert change.avg_entry_price == D("5.2") and t.short_market_value == D("-260.00")
    t.mark("F", D("5.00"))
    assert t.unrealized == D("10.00")  # short 50 from 5.20 to 5.00
    t.on_fill("F", Side.BUY, D(50), D("5.00"))
    assert t.qty("F") == 0 and t.realized == D("30.00")
    assert t.cash == D("5030.00")


def test_daily_pnl_counts_from_the_day_start_and_includes_commissions() -> None:
    t = PositionTracker(D(1000))
    t.on_fill("A", Side.BUY, D(10), D(10), D(1))
    t.mark("A", D(9))
    assert t.daily_pnl() == D(-11)
    t.start_day()
    t.mark("A", D("8.5"))
    assert t.daily_pnl() == D("-5.0")


def test_rejects_non_positive_fill() -> None:
    with pytest.raises(ValueError):
        PositionTracker().on_fill("A", Side.BUY, D(0), D(1))


def test_a_float_mark_is_the_decimal_price_makes_of_it() -> None:
    """A feed's float mark stays a float until read: every figure is what marking with its
    Decimal gives, a repeated price changes nothing, and a fill in between is not undone."""
    from tradecore.execution.market import price

    by_float, by_decimal = PositionTracker(D(10000)), PositionTracker(D(10000))
    for tracker in (by_float, by_decimal):
        tracker.on_fill("ABC", Side.BUY, D(30), D("10.01"), D("0.30"))
        tracker.on_fill("XYZ", Side.SELL, D(10), D("5.5"), D("0.10"))
    for symbol, last in [("ABC", 10.07), ("XYZ", 5.31), ("ABC", 10.07), ("ABC", 9.995), ("XYZ", 0.1 + 0.2)]:
        by_float.mark(symbol, last)
        by_decimal.mark(symbol, price(last))
        assert by_float.equity == by_decimal.equity
        assert by_float.positions() == by_decimal.positions()
    assert by_float.symbol("XYZ").last_price == D("0.3")
    by_float.on_fill("ABC", Side.BUY, D(10), D("10.50"))  # the fill's price is the mark now
    by_float.mark("ABC", 9.995)  # the float marked before the fill: applied again, not skipped
    assert by_float.symbol("ABC").last_price == D("9.995")
    by_float.mark_all(["ABC", "XYZ"], [0.0, -1.0])  # no price seen: nothing changes
    assert by_float.symbol("ABC").last_price == D("9.995") and by_float.symbol("XYZ").last_price == D("0.3")
    assert by_float.unrealized == (D(40) * D("9.995") - D("300.30") - D("105.0")) + (D(-10) * D("0.3") + D("55.0"))


def test_held_symbols_follow_fills_and_loads() -> None:
    t = PositionTracker(D(10000))
    t.on_fill("ABC", Side.BUY, D(10), D(5))
    t.on_fill("XYZ", Side.BUY, D(10), D(5))
    t.on_fill("ABC", Side.SELL, D(10), D(6))  # flat
    assert t.open_symbols() == ["XYZ"] and not t.holds("ABC") and t.holds("XYZ")
    t.on_fill("XYZ", Side.SELL, D(15), D(6))  # flipped short
    assert t.open_symbols() == ["XYZ"] and t.qty("XYZ") == D(-5)
    t.load(D(500), [t.position("XYZ")])
    assert t.open_symbols() == ["XYZ"] and set(t.held) == {"XYZ"}
    t.load(D(500), [])
    assert t.open_symbols() == [] and not t.holds("XYZ")


def test_a_fills_change_reports_the_positions_own_figures() -> None:
    t = PositionTracker(D(10000))
    for side, qty, px in [(Side.BUY, "30", "10.01"), (Side.BUY, "7", "10.333"), (Side.SELL, "50", "9.87"),
                          (Side.BUY, "13", "9.5"), (Side.SELL, "3", "11")]:
        change = t.on_fill("ABC", side, D(qty), D(px), D("0.07"))
        pos = t.symbol("ABC")
        assert (change.qty, change.avg_entry_price, change.unrealized_pl, change.realized_pl) == (
            pos.qty, pos.avg_entry_price, pos.unrealized, pos.realized)
