"""Risk checks between the router and the broker, and the daily-loss kill switch.

Every order passes :meth:`RiskManager.check` before it is sent; the answer is a
:class:`~tradecore.execution.events.RiskDecision` (accepted or not, the rule, the reason and the
numbers compared), and every decision is also handed to ``on_event`` for the journal.

Rules, in the order they are checked (the first that fails decides):

================== ========================================================================
``kill_switch``     tripped: only orders that reduce a position pass
``halted``          the symbol is halted / paused (market data or :meth:`halt`)
``no_short``        the order would leave the symbol short and shorts are disabled
``price_band``      limit/stop price more than ``price_band_percent`` from the reference
                    (last trade, else NBBO mid); an entry without a reference is refused
                    (an exit is not: nothing stands in the way of getting flat)
``max_shares``      |position + open orders + order| > ``max_shares_per_symbol``
``max_notional``    that many shares * price > ``max_notional_per_symbol``
``max_positions``   opens a new symbol while ``max_open_positions`` are held
``gross_exposure``  gross exposure + the order's notional > ``max_gross_exposure``
``daily_loss``      daily PnL <= -``daily_loss_limit``: trips the kill switch
================== ========================================================================

Orders that only reduce a position (exits) skip the size, exposure and loss rules: risk never
stands in the way of getting flat. Exposure counts open orders too, so a burst of entries cannot
pass one by one.

"Daily" is the New York trading day starting at ``RiskLimits.day_start`` (04:00, the premarket
open, by default): :class:`TradingDay` tells the execution pipeline when a new one begins, which
restarts the daily PnL and resets a tripped kill switch (the trip and the reset both journaled).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from tradecore.errors import ConfigError
from tradecore.execution.broker import OrderRequest
from tradecore.execution.events import (
    ExecutionEvent,
    KillSwitchReset,
    KillSwitchTripped,
    RiskDecision,
)
from tradecore.execution.market import MarketSnapshot, to_decimal

__all__ = ["RiskContext", "RiskLimits", "RiskManager", "TradingDay"]

_ZERO = Decimal(0)
_C = TypeVar("_C")


def _dec(value: object) -> Decimal | None:
    return None if value is None else to_decimal(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimits:
    """Limits; ``None`` disables a rule.

    Attributes
    ----------
    max_shares_per_symbol
        Shares, absolute position including open orders.
    max_notional_per_symbol
        Dollars, absolute position including open orders, at the order's price.
    max_open_positions
        Symbols held at once.
    max_gross_exposure
        Dollars, sum of |market value| of positions and open orders.
    daily_loss_limit
        Dollars (positive): realised + unrealised - commissions since the day's start at or
        below ``-daily_loss_limit`` trips the kill switch.
    price_band_percent
        Percent: a limit or stop price may differ from the reference by at most this much.
    allow_short
        Allow orders that leave a position short (default False).
    day_start
        New York wall time ("HH:MM") at which a trading day begins: the daily PnL restarts and
        a tripped kill switch resets (default "04:00", the premarket open).
    """

    max_shares_per_symbol: Decimal | None = None
    max_notional_per_symbol: Decimal | None = None
    max_open_positions: int | None = None
    max_gross_exposure: Decimal | None = None
    daily_loss_limit: Decimal | None = None
    price_band_percent: Decimal | None = Decimal(10)
    allow_short: bool = False
    day_start: str = "04:00"

    def __post_init__(self) -> None:
        try:
            time.fromisoformat(self.day_start)
        except (TypeError, ValueError):
            raise ConfigError(f"RiskLimits.day_start must be a New York time as HH:MM, "
                              f"got {self.day_start!r}") from None
        for name in ("max_shares_per_symbol", "max_notional_per_symbol", "max_gross_exposure",
                     "daily_loss_limit", "price_band_percent"):
            value = _dec(getattr(self, name))
            if value is not None and value <= 0:
                raise ConfigError(f"RiskLimits.{name} must be > 0 (or None to disable)")
            object.__setattr__(self, name, value)
        if self.max_open_positions is not None and self.max_open_positions < 1:
            raise ConfigError("RiskLimits.max_open_positions must be >= 1 (or None)")

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> RiskLimits:
        """Build from a config file's table; unknown keys are a :class:`ConfigError`."""
        return _from_mapping(cls, values)


def _from_mapping(cls: type[_C], values: Mapping[str, object]) -> _C:
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(known)}")
    return cls(**values)


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskContext:
    """What the checks look at, taken at one instant.

    Attributes
    ----------
    positions
        Signed shares held per symbol.
    open_orders
        Signed shares of open orders (not yet filled) per symbol.
    marks
        Dollars per share per symbol (for exposure).
    market
        The order's symbol's snapshot (NBBO, last, trading state).
    daily_pnl
        Dollars since the day's start.
    now
        ns UTC.
    """

    positions: Mapping[str, Decimal] = field(default_factory=dict)
    open_orders: Mapping[str, Decimal] = field(default_factory=dict)
    marks: Mapping[str, Decimal] = field(default_factory=dict)
    market: MarketSnapshot | None = None
    daily_pnl: Decimal = _ZERO
    now: int = 0


_NEW_YORK = ZoneInfo("America/New_York")


class TradingDay:
    """Which New York trading day a timestamp falls in, for daily limits.

    A day runs from ``start`` (New York wall time) to the same time the next calendar day, so
    DST changes move it with the clock. :meth:`advance` is O(1) between day boundaries.
    """

    def __init__(self, start: str = "04:00") -> None:
        self.start = time.fromisoformat(start)
        self.day: str | None = None  # ISO date of the current trading day
        self._ends = -1  # ns; the first advance() sets the day without reporting a new one

    def advance(self, now: int) -> str | None:
        """Move to ``now`` (ns since the epoch); return the new day's date if one began."""
        if now < self._ends:
            return None
        first = self.day is None
        local = datetime.fromtimestamp(now / 1e9, _NEW_YORK)
        day = local.date() if local.time() >= self.start else local.date() - timedelta(days=1)
        ends = datetime.combine(day + timedelta(days=1), self.start, _NEW_YORK)
        self._ends = int(ends.timestamp()) * 1_000_000_000
        if self.day == day.isoformat():
            return None
        self.day = day.isoformat()
        return None if first else self.day


class RiskManager:
    """Checks orders against :class:`RiskLimits` and owns the kill switch.

    Parameters
    ----------
    limits
        The limits.
    on_event
        Called with every :class:`RiskDecision`, :class:`KillSwitchTripped` and
        :class:`KillSwitchReset` (the journal / event bus).
    """

    def __init__(self, limits: RiskLimits,
                 on_event: Callable[[ExecutionEvent], None] | None = None) -> None:
        self.limits = limits
        self._on_event = on_event
        self._halted: set[str] = set()
        self.tripped: KillSwitchTripped | None = None

    @property
    def kill_switch_tripped(self) -> bool:
        return self.tripped is not None

    def halt(self, symbol: str) -> None:
        """Refuse orders for ``symbol`` until :meth:`resume` (besides market-data halts)."""
        self._halted.add(symbol.upper())

    def resume(self, symbol: str) -> None:
        self._halted.discard(symbol.upper())

    def check(self, order: OrderRequest, context: RiskContext) -> RiskDecision:
        """Return the verdict on ``order`` (and publish it)."""
        decision = self._check(order, context)
        self._emit(decision)
        return decision

    def update_pnl(self, daily_pnl: Decimal, *, now: int,
                   positions: Mapping[str, Decimal] | None = None) -> KillSwitchTripped | None:
        """Trip the kill switch if ``daily_pnl`` (dollars) breaches the limit; return the trip.

        ``positions`` (signed shares) become the trip's flatten list. Returns ``None`` when
        nothing changed (already tripped, or within the limit).
        """
        limit = self.limits.daily_loss_limit
        if self.tripped is not None or limit is None or daily_pnl > -limit:
            return None
        flatten = {s: q for s, q in sorted((positions or {}).items()) if q != 0}
        self.tripped = KillSwitchTripped(
            ts_event=now, daily_pnl=daily_pnl, limit=limit, flatten=flatten,
            reason=f"daily PnL {daily_pnl} <= -{limit}: cancel all, flatten, block new entries")
        self._emit(self.tripped)
        return self.tripped

    def reset_kill_switch(self, *, now: int, reason: str) -> None:
        """Allow entries again (an operator's decision, or a new day)."""
        if self.tripped is not None:
            self.tripped = None
            self._emit(KillSwitchReset(ts_event=now, reason=reason))

    # -- the rules ----------------------------------------------------------------------------

    def _check(self, order: OrderRequest, ctx: RiskContext) -> RiskDecision:
        limits = self.limits
        symbol = order.symbol
        held = ctx.positions.get(symbol, _ZERO)
        pending = ctx.open_orders.get(symbol, _ZERO)
        after = held + order.signed_qty
        reduces = held != 0 and abs(after) <= abs(held) and (after == 0 or (after > 0) == (held > 0))
        market = ctx.market or MarketSnapshot(symbol)

        def decide(rule: str, reason: str, **values: object) -> RiskDecision:
            return RiskDecision(accepted=rule == "accepted", rule=rule, reason=reason,
                                ts_event=ctx.now, symbol=symbol,
                                client_order_id=order.client_order_id, intent=order.intent,
                                values={k: str(v) for k, v in values.items()})

        if self.tripped is not None and not reduces:
            return decide("kill_switch", "kill switch tripped: only exits are allowed",
                          position_shares=held, order_shares=order.signed_qty,
                          daily_pnl=self.tripped.daily_pnl)
        if symbol in self._halted or market.halted:
            return decide("halted", f"{symbol} is halted", state=market.state.name)
        projected = after + pending  # what we would hold if every open order filled too
        if not limits.allow_short and (after < 0 or (projected < 0 and order.signed_qty < 0)):
            return decide("no_short", "the order would open a short position and shorts are "
                          "disabled", position_shares=held, open_order_shares=pending,
                          order_shares=order.signed_qty)
        reference = market.reference
        order_price = order.limit_price or order.stop_price or reference
        if limits.price_band_percent is not None and reference is None and not reduces:
            return decide("price_band", "no reference price (last trade or NBBO) to check "
                          "the order against")
        if limits.price_band_percent is not None and reference is not None:
            for name, level in (("limit_price", order.limit_price), ("stop_price", order.stop_price)):
                if level is None:
                    continue
                deviation = abs(level - reference) / reference * 100
                if deviation > limits.price_band_percent:
                    return decide("price_band", f"{name} {level} is {deviation:.2f}% from the "
                                  f"reference {reference}, band {limits.price_band_percent}%",
                                  **{name: level, "reference": reference,
                                     "deviation_percent": f"{deviation:.4f}",
                                     "band_percent": limits.price_band_percent})
        if reduces:
            return decide("accepted", "exit: reduces the position", position_shares=held,
                          order_shares=order.signed_qty)
        exposure_shares = abs(projected)
        if limits.max_shares_per_symbol is not None and exposure_shares > limits.max_shares_per_symbol:
            return decide("max_shares", f"{exposure_shares} shares > max "
                          f"{limits.max_shares_per_symbol} per symbol", position_shares=held,
                          open_order_shares=pending, order_shares=order.signed_qty,
                          max_shares=limits.max_shares_per_symbol)
        notional = (order.qty * order_price) if order_price is not None else None
        if limits.max_notional_per_symbol is not None and order_price is not None:
            symbol_notional = exposure_shares * order_price
            if symbol_notional > limits.max_notional_per_symbol:
                return decide("max_notional", f"${symbol_notional} > max "
                              f"${limits.max_notional_per_symbol} per symbol",
                              notional_dollars=symbol_notional, price=order_price,
                              max_notional_dollars=limits.max_notional_per_symbol)
        if limits.max_open_positions is not None and held == 0 and pending == 0:
            open_symbols = sorted({s for s, q in ctx.positions.items() if q != 0}
                                  | {s for s, q in ctx.open_orders.items() if q != 0})
            if len(open_symbols) >= limits.max_open_positions:
                return decide("max_positions", f"{len(open_symbols)} symbols held or pending, max "
                              f"{limits.max_open_positions}", open_symbols=",".join(open_symbols),
                              max_open_positions=limits.max_open_positions)
        if limits.max_gross_exposure is not None and notional is not None:
            gross = sum((abs(q) * ctx.marks.get(s, _ZERO) for s, q in ctx.positions.items()), _ZERO)
            own_price = order_price if order_price is not None else _ZERO
            gross += sum((abs(q) * ctx.marks.get(s, own_price if s == symbol else _ZERO)
                          for s, q in ctx.open_orders.items()), _ZERO)
            if gross + notional > limits.max_gross_exposure:
                return decide("gross_exposure", f"gross exposure ${gross} + order ${notional} > max "
                              f"${limits.max_gross_exposure}", gross_dollars=gross,
                              order_dollars=notional, max_gross_dollars=limits.max_gross_exposure)
        if limits.daily_loss_limit is not None and ctx.daily_pnl <= -limits.daily_loss_limit:
            self.update_pnl(ctx.daily_pnl, now=ctx.now, positions=ctx.positions)
            return decide("daily_loss", f"daily PnL ${ctx.daily_pnl} <= -${limits.daily_loss_limit}",
                          daily_pnl=ctx.daily_pnl, limit=limits.daily_loss_limit)
        return decide("accepted", "within limits", position_shares=held, open_order_shares=pending,
                      order_shares=order.signed_qty, price=order_price)

    def _emit(self, event: ExecutionEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)


