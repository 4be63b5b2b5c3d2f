"""Performance summary on hand-computed fills (tradecore.analysis.summary)."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tradecore import schema
from tradecore.analysis import Execution, executions_from_fills, executions_from_journal, summarize
from tradecore.journal import Journal


def ny(text: str) -> int:
    return pd.Timestamp(text, tz="America/New_York").value


T1, T2, T3, T4 = ny("2024-01-02 10:00"), ny("2024-01-02 10:30"), ny("2024-01-02 11:00"), ny("2024-01-02 12:00")
T5, T6, T7 = ny("2024-01-03 10:00"), ny("2024-01-03 11:00"), ny("2024-01-04 10:00")

FILLS = [
    Execution.of("AAPL", T1, "BUY", 10.00, 100, 1.00, reference_price=9.98),
    Execution.of("AAPL", T2, "BUY", 10.50, 100, 1.00),
    Execution.of("AAPL", T3, "SELL", 11.00, 150, 1.50),
    Execution.of("AAPL", T4, "SELL", 9.90, 50, 0.50),
    Execution.of("TSLA", T5, "SELL", 200.00, 10, 0, reference_price=200.10),
    Execution.of("TSLA", T6, "BUY", 205.00, 30, 0.30),  # covers 10, opens a long of 20
    Execution.of("TSLA", T7, "SELL", 206.00, 20, 0, reference_price=205.90),
]


def test_round_trips_are_fifo_flat_to_flat_with_exact_pnl() -> None:
    summary = summarize(FILLS)
    first, second, third = summary.trips
    assert (first.symbol, first.direction, first.quantity) == ("AAPL", "LONG", Decimal(200))
    assert first.entry_price == Decimal("10.25") and first.exit_price == Decimal("10.725")
    assert first.gross_pnl == Decimal("95.00") and first.commission == Decimal("4.00")
    assert first.net_pnl == Decimal("91.00")
    assert (second.direction, second.quantity) == ("SHORT", Decimal(10))
    assert second.gross_pnl == Decimal("-50.00") and second.net_pnl == Decimal("-50.10")
    assert (third.direction, third.quantity, third.net_pnl) == ("LONG", Decimal(20),
                                                                Decimal("19.80"))
    assert (third.entry_ts, third.exit_ts) == (T6, T7)


def test_summary_metrics_match_the_hand_computation() -> None:
    s = summarize(FILLS, starting_equity=100_000)
    assert (s.round_trips, s.winners, s.losers, s.fills) == (3, 2, 1, 7)
    assert s.win_rate == pytest.approx(2 / 3)
    assert s.gross_profit == Decimal("110.80") and s.gross_loss == Decimal("50.10")
    assert s.net_pnl == Decimal("60.70") and s.commissions == Decimal("4.30")
    assert s.profit_factor == pytest.approx(110.80 / 50.10)
    assert s.expectancy == Decimal("60.70") / 3
    assert s.average_win == Decimal("55.40") and s.average_loss == Decimal("-50.10")
    assert s.max_drawdown == Decimal("50.10")
    assert s.max_drawdown_fraction == pytest.approx(50.10 / 100_091)
    daily = np.array([91.00, -50.10, 19.80]) / 100_000  # Jan 2, 3, 4
    assert s.sharpe == pytest.approx(daily.mean() / daily.std(ddof=1) * math.sqrt(252))
    assert s.sortino == pytest.approx(daily.mean() / math.sqrt((0.000501**2) / 3) * math.sqrt(252))
    # Positions open 10:00-12:00 on Jan 2 and from 10:00 Jan 3 to 10:00 Jan 4: 26 h of 48 h.
    assert s.exposure == pytest.approx(26 / 48)
    # Buy 0.02 worse than seen x100, sell 0.10 worse x10, sell 0.10 better x20.
    assert s.slippage == Decimal("1.00")
    assert s.slippage_bps == pytest.approx(1.00 / 7117 * 10_000)
    assert s.open_positions == {}
    text = s.format()
    assert "round trips" in text and "60.70" in text
    assert s.to_dict()["net_pnl"] == 60.70


def test_decimal_exactness_and_open_positions() -> None:
    s = summarize([Execution.of("X", 1, "BUY", 0.1, 3), Execution.of("X", 2, "SELL", 0.3, 3),
                   Execution.of("Y", 3, "BUY", 1.0, 5)])
    assert s.net_pnl == Decimal("0.6")  # 0.3 * 3 - 0.1 * 3, exactly
    assert s.open_positions == {"Y": Decimal(5)}
    assert s.profit_factor == math.inf and s.sharpe is None


def test_a_position_still_open_at_the_end_counts_as_exposure_up_to_the_period_end() -> None:
    """Bought at 10:00, still held when the run ended at 12:00: exposed 10:00-12:00, not 0."""
    s = summarize([Execution.of("X", T1, "BUY", 10.0, 100)], period_start=ny("2024-01-02 09:00"), period_end=T4)
    assert s.exposure == pytest.approx(2 / 3) and s.open_positions == {"X": Decimal(100)}
    closed_then_open = [*FILLS[:4], Execution.of("X", T4, "BUY", 1.0, 1)]
    s = summarize(closed_then_open, period_start=T1, period_end=ny("2024-01-02 14:00"))
    assert s.exposure == pytest.approx(1.0)  # AAPL 10:00-12:00, then X 12:00-14:00


def test_no_fills_gives_an_empty_summary() -> None:
    s = summarize([])
    assert s.round_trips == 0 and s.win_rate is None and s.profit_factor is None
    assert s.exposure is None and s.net_pnl == 0


def test_fills_from_arrays_and_from_a_journal_give_the_same_summary(tmp_path: Path) -> None:
    fills = np.zeros(len(FILLS), schema.FILL)
    ids = {"AAPL": 0, "TSLA": 1}
    for i, e in enumerate(FILLS):
        fills[i]["ts_event"], fills[i]["order_id"] = e.ts_event, i
        fills[i]["price"], fills[i]["quantity"] = float(e.price), float(e.quantity)
        fills[i]["commission"], fills[i]["instrument_id"] = float(e.commission), ids[e.symbol]
        fills[i]["side"] = schema.Side[e.side]
    references = {i: float(e.reference_price) for i, e in enumerate(FILLS) if e.reference_price}
    from_array = summarize(executions_from_fills(fills, {0: "AAPL", 1: "TSLA"}, references))
    with Journal(tmp_path / "j.sqlite", synchronous="NORMAL") as journal:
        for i, row in enumerate(fills):
            journal.fill(FILLS[i].symbol, row, reference_price=references.get(i))
        from_journal = summarize(executions_from_journal(journal))
    expected = summarize(FILLS)
    assert from_array.to_dict() == expected.to_dict() == from_journal.to_dict()
