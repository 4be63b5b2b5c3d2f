"""Standard performance summaries from fills.

Money is exact where it is summed: prices, quantities and commissions become
:class:`~decimal.Decimal` through ``str(float)`` (the shortest text that reads back as the same
float, so a fill at 5.43 counts as exactly 5.43, not 5.4299999999999997). Ratios (Sharpe,
Sortino, win rate) are floats.

Definitions (units in brackets)
-------------------------------
Round trip
    A symbol's position from flat back to flat (a fill that reverses the position closes one
    round trip and opens the next with the remainder). Exits are matched to entries FIFO, lot by
    lot; ``entry_price``/``exit_price`` are the quantity-weighted averages of the matched lots.
    ``gross_pnl`` = sum over matched lots of (exit - entry) x quantity (long) or (entry - exit)
    x quantity (short) [$]; ``commission`` = the entry lots' share of their fills' commissions
    plus the exits' share [$]; ``net_pnl`` = gross - commission [$]. A position still open at
    the end is not a round trip; it is reported in ``open_positions`` [shares].
win_rate
    Round trips with net_pnl > 0 / all round trips (breakeven trades count as not winning).
profit_factor
    Sum of winning net_pnl / -sum of losing net_pnl; ``inf`` with wins and no losses, ``None``
    with neither.
expectancy
    Mean net_pnl per round trip [$]; ``average_win``/``average_loss`` likewise [$].
Daily returns
    Realized net PnL of the round trips closing on each New York trading day, over every
    weekday from the first to the last fill's day (days without closes return 0), divided by
    ``starting_equity`` [fraction]. Not compounded: the capital is taken as constant.
sharpe
    mean(daily) / std(daily, ddof=1) x sqrt(252), risk-free rate 0; ``None`` with fewer than two
    days or no variation.
sortino
    mean(daily) / sqrt(mean(min(daily, 0)^2)) x sqrt(252); ``None`` without a losing day.
max_drawdown
    The largest fall of realized equity (``starting_equity`` + cumulative net PnL, marked at each
    round trip's exit) from a previous peak [$]; ``max_drawdown_fraction`` is it over that peak.
exposure
    The fraction of ``[period_start, period_end]`` (default: first to last fill) during which
    at least one position was open [fraction of time].
slippage
    For fills with a ``reference_price`` (what the decision saw): (price - reference) x quantity
    for buys, (reference - price) x quantity for sells, summed [$; positive = cost];
    ``slippage_bps`` = that over the reference notional x 10,000 [bp].
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from tradecore import schema
from tradecore.execution.market import to_decimal

__all__ = [
    "Execution",
    "PerformanceSummary",
    "RoundTrip",
    "executions_from_fills",
    "executions_from_journal",
    "round_trips",
    "summarize",
]

_ZERO = Decimal(0)
_NEW_YORK = "America/New_York"


@dataclass(frozen=True, slots=True)
class Execution:
    """One fill: ``side`` "BUY"/"SELL", ``price`` [$/share], ``quantity`` [shares, > 0],
    ``commission`` [$], ``ts_event`` [ns UTC]."""

    symbol: str
    ts_event: int
    side: str
    price: Decimal
    quantity: Decimal
    commission: Decimal = _ZERO
    reference_price: Decimal | None = None

    @classmethod
    def of(cls, symbol: str, ts_event: int, side: object, price: object, quantity: object,
           commission: object = 0, reference_price: object = None) -> Execution:
        """Build one from plain numbers (floats become exact decimals via ``str``)."""
        if isinstance(side, str):
            side_name = side.upper()
        else:
            side_name = schema.Side(int(side)).name  # type: ignore[call-overload]
        return cls(symbol.upper(), int(ts_event), side_name, to_decimal(price), to_decimal(quantity),
                   to_decimal(commission),
                   None if reference_price in (None, 0, 0.0) else to_decimal(reference_price))


def executions_from_fills(fills: np.ndarray, symbols: Mapping[int, str] | str,
                          reference_prices: Mapping[int, float] | None = None) -> list[Execution]:
    """Executions from FILL rows; ``symbols`` maps ``instrument_id`` (or one symbol for all);
    ``reference_prices`` maps ``order_id`` to the price its decision saw."""
    found = []
    for row in fills:
        symbol = symbols if isinstance(symbols, str) else symbols[int(row["instrument_id"])]
        reference = (reference_prices or {}).get(int(row["order_id"]))
        found.append(Execution.of(symbol, int(row["ts_event"]), int(row["side"]),
                                  float(row["price"]), float(row["quantity"]),
                                  float(row["commission"]), reference))
    return found


def executions_from_journal(journal: Any) -> list[Execution]:
    """Executions from a :class:`~tradecore.journal.Journal`'s fill records."""
    return [
        Execution.of(r.symbol or "", r.ts_event, r.data["side"], r.data["price"],
                     r.data["quantity"], r.data.get("commission", 0.0),
                     r.data.get("reference_price"))
        for r in journal.records("fill")
    ]


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A position from flat to flat (see the module docstring for every field's meaning)."""

    symbol: str
    direction: str  # "LONG" or "SHORT"
    quantity: Decimal
    entry_ts: int
    exit_ts: int
    entry_price: Decimal
    exit_price: Decimal
    gross_pnl: Decimal
    commission: Decimal
    net_pnl: Decimal

    @property
    def return_fraction(self) -> float:
        """net_pnl over the entry notional [fraction]."""
        notional = self.entry_price * self.quantity
        return float(self.net_pnl / notional) if notional else 0.0


@dataclass
class _Lot:
    ts: int
    price: Decimal
    quantity: Decimal
    commission_per_share: Decimal


@dataclass
class _Open:
    sign: int
    lots: deque[_Lot] = field(default_factory=deque)
    entry_ts: int = 0
    quantity: Decimal = _ZERO
    entry_notional: Decimal = _ZERO
    exit_notional: Decimal = _ZERO
    gross: Decimal = _ZERO
    commission: Decimal = _ZERO


def _match(executions: Iterable[Execution], until: int | None = None
           ) -> tuple[list[RoundTrip], dict[str, Decimal], list[tuple[int, int]]]:
    """FIFO-match executions; return round trips, open positions and the intervals a position
    was open (one still open at the end: up to ``until``, by default the last fill)."""
    trips: list[RoundTrip] = []
    book: dict[str, _Open] = {}
    intervals: list[tuple[int, int]] = []
    ordered = sorted(executions, key=lambda e: e.ts_event)  # stable: same-time fills keep order
    for execution in ordered:
        if execution.quantity <= 0:
            continue
        sign = 1 if execution.side == "BUY" else -1
        per_share = execution.commission / execution.quantity
        remaining = execution.quantity
        state = book.get(execution.symbol)
        while remaining > 0 and state is not None and state.sign != sign:
            lot = state.lots[0]
            taken = min(lot.quantity, remaining)
            state.quantity += taken
            state.entry_notional += lot.price * taken
            state.exit_notional += execution.price * taken
            state.gross += (execution.price - lot.price) * taken * state.sign
            state.commission += (lot.commission_per_share + per_share) * taken
            lot.quantity -= taken
            remaining -= taken
            if lot.quantity == 0:
                state.lots.popleft()
            if not state.lots:
                trips.append(RoundTrip(
                    execution.symbol, "LONG" if state.sign > 0 else "SHORT", state.quantity,
                    state.entry_ts, execution.ts_event,
                    state.entry_notional / state.quantity, state.exit_notional / state.quantity,
                    state.gross, state.commission, state.gross - state.commission,
                ))
                intervals.append((state.entry_ts, execution.ts_event))
                del book[execution.symbol]
                state = None
        if remaining > 0:
            if state is None:
                state = book[execution.symbol] = _Open(sign, entry_ts=execution.ts_event)
            state.lots.append(_Lot(execution.ts_event, execution.price, remaining, per_share))
    end = until if until is not None else (ordered[-1].ts_event if ordered else 0)
    open_positions = {}
    for symbol, state in book.items():
        open_positions[symbol] = sum((lot.quantity for lot in state.lots), _ZERO) * state.sign
        intervals.append((state.entry_ts, end))
    return trips, open_positions, intervals


def round_trips(executions: Iterable[Execution]) -> list[RoundTrip]:
    """Round trips in the order they closed (FIFO per symbol; see the module docstring)."""
    return _match(executions)[0]


@dataclass(frozen=True)
class PerformanceSummary:
    """The standard summary; units as in the module docstring. Money fields are Decimal."""

    round_trips: int
    winners: int
    losers: int
    win_rate: float | None
    gross_profit: Decimal
    gross_loss: Decimal
    net_pnl: Decimal
    commissions: Decimal
    profit_factor: float | None
    expectancy: Decimal | None
    average_win: Decimal | None
    average_loss: Decimal | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: Decimal
    max_drawdown_fraction: float
    exposure: float | None
    slippage: Decimal
    slippage_bps: float | None
    fills: int
    open_positions: dict[str, Decimal]
    trips: list[RoundTrip] = field(repr=False, default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly metrics (Decimals as float, no round-trip list) for the registry."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if key == "trips":
                continue
            if isinstance(value, Decimal):
                value = float(value)
            elif isinstance(value, dict):
                value = {k: float(v) for k, v in value.items()}
            elif isinstance(value, float) and math.isinf(value):
                value = "inf"
            out[key] = value
        return out

    def format(self) -> str:
        """A plain-text table for the terminal."""
        def show(value: object, unit: str = "") -> str:
            if value is None:
                return "-"
            if isinstance(value, Decimal):
                return f"{value:,.2f}{unit}"
            if isinstance(value, float):
                return f"{value:,.4g}{unit}"
            return f"{value}{unit}"

        rows = [
            ("round trips", show(self.round_trips)),
            ("win rate", "-" if self.win_rate is None else f"{self.win_rate:.1%}"),
            ("net PnL", show(self.net_pnl, " $")),
            ("gross profit / loss", f"{show(self.gross_profit)} / {show(self.gross_loss)} $"),
            ("commissions", show(self.commissions, " $")),
            ("profit factor", show(self.profit_factor)),
            ("expectancy", show(self.expectancy, " $/trip")),
            ("average win / loss", f"{show(self.average_win)} / {show(self.average_loss)} $"),
            ("Sharpe (daily, annualized)", show(self.sharpe)),
            ("Sortino (daily, annualized)", show(self.sortino)),
            ("max drawdown", f"{show(self.max_drawdown)} $ ({self.max_drawdown_fraction:.2%})"),
            ("exposure", "-" if self.exposure is None else f"{self.exposure:.1%} of time"),
            ("slippage", f"{show(self.slippage)} $ ({show(self.slippage_bps)} bp)"),
            ("fills", show(self.fills)),
        ]
        if self.open_positions:
            rows.append(("open at end", ", ".join(f"{s} {q:+}" for s, q in
                                                  self.open_positions.items())))
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _daily_returns(trips: list[RoundTrip], first_ts: int, last_ts: int,
                   starting_equity: Decimal) -> np.ndarray:
    def day(ts: int) -> dt.date:
        return pd.Timestamp(ts, unit="ns", tz="UTC").tz_convert(_NEW_YORK).date()

    days = pd.bdate_range(day(first_ts), day(last_ts)).date
    pnl = dict.fromkeys(days, _ZERO)
    for trip in trips:
        key = day(trip.exit_ts)
        pnl[key] = pnl.get(key, _ZERO) + trip.net_pnl
    return np.array([float(pnl[d] / starting_equity) for d in sorted(pnl)], dtype=float)


def _exposure(intervals: list[tuple[int, int]], start: int, end: int) -> float | None:
    if end <= start:
        return None
    covered, reach = 0, start
    for low, high in sorted(intervals):
        low, high = max(low, reach), min(high, end)
        if high > low:
            covered += high - low
            reach = high
    return covered / (end - start)


def summarize(executions: Iterable[Execution], *, starting_equity: float = 100_000.0,
              period_start: int | None = None, period_end: int | None = None
              ) -> PerformanceSummary:
    """Compute the summary of the module docstring from executions.

    Parameters
    ----------
    executions
        Fills of any symbols, any order (sorted by time, stably).
    starting_equity
        Capital the returns are relative to [$].
    period_start, period_end
        The period exposure is measured over [ns UTC]; default first and last fill.
    """
    executions = list(executions)
    equity0 = to_decimal(starting_equity)
    trips, open_positions, intervals = _match(executions, period_end)
    wins = [t.net_pnl for t in trips if t.net_pnl > 0]
    losses = [t.net_pnl for t in trips if t.net_pnl < 0]
    gross_profit = sum(wins, _ZERO)
    gross_loss = -sum(losses, _ZERO)
    net = sum((t.net_pnl for t in trips), _ZERO)
    if gross_loss > 0:
        profit_factor: float | None = float(gross_profit / gross_loss)
    else:
        profit_factor = math.inf if gross_profit > 0 else None
    sharpe = sortino = None
    exposure = None
    if executions:
        first = min(e.ts_event for e in executions)
        last = max(e.ts_event for e in executions)
        returns = _daily_returns(trips, first, last, equity0)
        if len(returns) >= 2:
            deviation = float(np.std(returns, ddof=1))
            if deviation > 0:
                sharpe = float(np.mean(returns) / deviation * math.sqrt(252))
            downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
            if downside > 0:
                sortino = float(np.mean(returns) / downside * math.sqrt(252))
        exposure = _exposure(intervals, period_start if period_start is not None else first,
                             period_end if period_end is not None else last)
    peak, equity, drawdown, drawdown_fraction = equity0, equity0, _ZERO, 0.0
    for trip in trips:
        equity += trip.net_pnl
        peak = max(peak, equity)
        if peak - equity > drawdown:
            drawdown = peak - equity
            drawdown_fraction = float(drawdown / peak) if peak > 0 else 0.0
    slippage, reference_notional = _ZERO, _ZERO
    for e in executions:
        if e.reference_price is None:
            continue
        per_share = e.price - e.reference_price if e.side == "BUY" else e.reference_price - e.price
        slippage += per_share * e.quantity
        reference_notional += e.reference_price * e.quantity
    count = len(trips)
    return PerformanceSummary(
        round_trips=count,
        winners=len(wins),
        losers=len(losses),
        win_rate=len(wins) / count if count else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        net_pnl=net,
        commissions=sum((t.commission for t in trips), _ZERO),
        profit_factor=profit_factor,
        expectancy=net / count if count else None,
        average_win=gross_profit / len(wins) if wins else None,
        average_loss=-gross_loss / len(losses) if losses else None,
        sharpe=sharpe,
        sortino=sortino,
        max_drawdown=drawdown,
        max_drawdown_fraction=drawdown_fraction,
        exposure=exposure,
        slippage=slippage,
        slippage_bps=float(slippage / reference_notional * 10_000) if reference_notional else None,
        fills=len(executions),
        open_positions=open_positions,
        trips=trips,
    )
