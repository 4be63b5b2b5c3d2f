"""Event-driven positions, cash and PnL in exact decimals.

Fills are the only input that changes holdings; marks (last prices) only change unrealised PnL.
Open shares are kept as FIFO lots of (signed shares, price) so every figure is a finite sum of
products of the inputs: cash, cost basis, realised and unrealised PnL are exact, with no
rounding anywhere. The average entry price (cost basis / shares) is the one derived figure that
may not terminate; it is reported to 6 decimal places.

Identity (tested): ``equity - starting_cash == realized + unrealized - commissions``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal

from tradecore.execution.broker import BrokerEvent, Position
from tradecore.execution.events import PositionChanged
from tradecore.execution.market import price
from tradecore.schema import Side

__all__ = ["PositionTracker", "SymbolPosition"]

_ZERO = Decimal(0)
_AVG_PLACES = Decimal("0.000001")


@dataclass
class SymbolPosition:
    """Mutable state of one symbol: FIFO lots, realised PnL and commissions (dollars)."""

    symbol: str
    lots: deque[list[Decimal]] = field(default_factory=deque)  # [signed shares, price]
    realized: Decimal = _ZERO
    commissions: Decimal = _ZERO
    # The mark: a feed's float is kept as given and made its Decimal only when a figure is read
    # (a held symbol is marked by every trade; its figures are read far less often).
    _mark: float = field(default=0.0, repr=False)  # the feed's price of the mark (0: none, or given as a Decimal)
    _price: Decimal | None = field(default=None, repr=False)  # the mark as a Decimal (None: not made yet, or never marked)

    @property
    def last_price(self) -> Decimal | None:
        """The price open shares are valued at (dollars; None: never marked)."""
        if self._price is None and self._mark:
            self._price = price(self._mark)
        return self._price

    def set_mark(self, last_price: Decimal | float | None) -> None:
        if isinstance(last_price, float):
            self._mark, self._price = last_price, None
        else:
            self._mark, self._price = 0.0, last_price

    @property
    def qty(self) -> Decimal:
        return sum((lot[0] for lot in self.lots), _ZERO)

    @property
    def cost_basis(self) -> Decimal:
        """Signed dollars paid for the open shares (negative for a short)."""
        return sum((lot[0] * lot[1] for lot in self.lots), _ZERO)

    @property
    def avg_entry_price(self) -> Decimal:
        qty = self.qty
        return _ZERO if qty == 0 else (self.cost_basis / qty).quantize(_AVG_PLACES)

    @property
    def market_value(self) -> Decimal:
        """Signed value of the open shares at the mark (cost basis if never marked)."""
        if self.last_price is None:
            return self.cost_basis
        return self.qty * self.last_price

    @property
    def unrealized(self) -> Decimal:
        return self.market_value - self.cost_basis


class PositionTracker:
    """Cash, positions and PnL of one account, updated from fills.

    Parameters
    ----------
    starting_cash
        Dollars at the start (also the start of the first day for :meth:`daily_pnl`).
    """

    def __init__(self, starting_cash: Decimal | int | str = Decimal(100000)) -> None:
        self.starting_cash = Decimal(starting_cash)
        self.cash = self.starting_cash
        self._symbols: dict[str, SymbolPosition] = {}
        self._held: set[str] = set()  # symbols with lots (risk asks at every order: no scan of every symbol)
        self._day_start_equity = self.starting_cash
        # Equity is read for every mark of a held symbol (the kill switch): the sum of market
        # values is kept up to date by re-valuing only the symbols touched since the last read.
        self._values: dict[str, Decimal] = {}
        self._value_total = _ZERO
        self._touched: set[str] = set()
        # Feed marks (floats > 0) not applied yet: a held symbol is marked by every trade and its
        # figures are read far less often, so the latest price waits here (one dict store a mark)
        # and every figure that depends on marks applies them first (_apply_marks).
        self._pending: dict[str, float] = {}

    # -- inputs -------------------------------------------------------------------------------

    def on_fill(self, symbol: str, side: Side, qty: Decimal, price: Decimal,
                commission: Decimal = _ZERO, *, ts_event: int = 0,
                client_order_id: str = "") -> PositionChanged:
        """Apply one execution: ``qty`` shares (> 0) at ``price`` dollars, ``commission`` dollars.

        A fill larger than the open position closes it and opens the rest the other way.
        """
        if qty <= 0:
            raise ValueError(f"{symbol}: fill quantity must be > 0, got {qty}")
        pos = self._position(symbol)
        self._pending.pop(pos.symbol, None)  # the fill's price is the newer mark (set below)
        signed = qty if (side if type(side) is Side else Side(side)) == Side.BUY else -qty
        self.cash -= signed * price + commission
        pos.commissions += commission
        remaining = signed
        while remaining != 0 and pos.lots and (pos.lots[0][0] > 0) != (remaining > 0):
            lot = pos.lots[0]
            closed = min(abs(remaining), abs(lot[0]))
            direction = 1 if lot[0] > 0 else -1  # +1 closing a long lot, -1 a short one
            pos.realized += (price - lot[1]) * closed * direction
            lot[0] -= closed * direction
            remaining += closed * direction
            if lot[0] == 0:
                pos.lots.popleft()
        if remaining != 0:
            pos.lots.append([remaining, price])
        if pos.lots:
            self._held.add(pos.symbol)
        else:
            self._held.discard(pos.symbol)
        pos.set_mark(price)
        held, cost = pos.qty, pos.cost_basis  # once: the figures below are SymbolPosition's
        return PositionChanged(
            ts_event=ts_event, symbol=pos.symbol, qty=held,
            avg_entry_price=_ZERO if held == 0 else (cost / held).quantize(_AVG_PLACES),
            realized_pl=pos.realized, unrealized_pl=held * price - cost, commissions=pos.commissions,
            cash=self.cash, fill_qty=signed, fill_price=price, client_order_id=client_order_id)

    def on_event(self, event: BrokerEvent) -> PositionChanged | None:
        """Apply a broker fill event (other events change nothing); return the change."""
        if not event.is_fill or event.fill_qty is None or event.fill_price is None:
            return None
        return self.on_fill(event.symbol, event.order.side, event.fill_qty, event.fill_price,
                            event.commission, ts_event=event.ts_event,
                            client_order_id=event.order.client_order_id)

    def mark(self, symbol: str, last_price: Decimal | float) -> None:
        """Set the price open shares of ``symbol`` are valued at (dollars). A float (a feed's
        price) stands for the Decimal :func:`~tradecore.execution.market.price` makes of it; one
        of 0 or less (none seen) changes nothing."""
        if isinstance(last_price, float):
            self.mark_all((symbol.upper(),), (last_price,))
        else:
            pos = self._position(symbol)
            self._pending.pop(pos.symbol, None)
            pos.set_mark(last_price)

    def mark_all(self, symbols: Sequence[str], last_prices: Sequence[float]) -> None:
        """:meth:`mark` each of ``symbols`` (upper case) with its feed price: a frame's held
        symbols in one call. Kept for when a figure is read (a held symbol is marked by every
        trade: this is one dict update)."""
        if min(last_prices, default=1.0) > 0:
            self._pending.update(zip(symbols, last_prices))
        else:  # no price seen (0 or less) changes nothing: an earlier price stays
            self._pending.update((s, last) for s, last in zip(symbols, last_prices) if last > 0)

    def _apply_marks(self) -> None:
        """Apply the pending feed marks (before any figure that depends on marks is read)."""
        if not self._pending:
            return
        known, touched = self._symbols, self._touched
        for symbol, last in self._pending.items():
            pos = known.get(symbol)
            if pos is not None and pos._mark == last:
                continue  # the same price again: nothing to re-value
            if pos is None:
                pos = self._position(symbol)
                symbol = pos.symbol
            pos.set_mark(last)
            touched.add(symbol)
        self._pending.clear()

    def load(self, cash: Decimal, positions: list[Position]) -> None:
        """Start from a broker's figures: ``cash`` dollars and its open positions.

        Each position becomes one lot at its average entry price (what brokers report), marked
        at its current price; realised PnL and commissions start at 0. Also starts the day.
        """
        self.cash = cash
        self._pending.clear()
        self._symbols.clear()
        self._held.clear()
        self._values.clear()
        self._value_total = _ZERO
        self._touched.clear()
        for position in positions:
            if position.qty == 0:
                continue
            state = self._position(position.symbol)
            state.lots.append([position.qty, position.avg_entry_price])
            self._held.add(state.symbol)
            state.set_mark(position.current_price)
        self.start_day()

    def start_day(self) -> None:
        """Make the current equity the base of :meth:`daily_pnl` (call at each session start)."""
        self._day_start_equity = self.equity

    # -- figures ------------------------------------------------------------------------------

    def holds(self, symbol: str) -> bool:
        """Whether any shares of ``symbol`` (upper case) are held: :meth:`qty` != 0, cheaply."""
        return symbol in self._held

    @property
    def held(self) -> AbstractSet[str]:
        """The symbols with shares held, as they change (copy it to keep it)."""
        return self._held

    def qty(self, symbol: str) -> Decimal:
        """Signed shares held (0 if none)."""
        pos = self._symbols.get(symbol.upper())
        return _ZERO if pos is None else pos.qty

    def symbol(self, symbol: str) -> SymbolPosition:
        """The state of ``symbol`` (created empty if unknown), its mark applied."""
        self._apply_marks()
        return self._position(symbol)

    def position(self, symbol: str) -> Position:
        """A :class:`Position` snapshot of ``symbol``."""
        self._apply_marks()
        pos = self._position(symbol)
        return Position(symbol=pos.symbol, qty=pos.qty, avg_entry_price=pos.avg_entry_price,
                        cost_basis=pos.cost_basis, market_value=pos.market_value,
                        current_price=pos.last_price, unrealized_pl=pos.unrealized,
                        realized_pl=pos.realized)

    def positions(self) -> list[Position]:
        """Snapshots of every non-flat symbol, by symbol."""
        self._apply_marks()
        return [self.position(s) for s in sorted(self._symbols) if self._symbols[s].qty != 0]

    def open_symbols(self) -> list[str]:
        """Symbols with shares held, sorted (a held position has lots: no share sums needed)."""
        return sorted(self._held)

    @property
    def realized(self) -> Decimal:
        return sum((p.realized for p in self._symbols.values()), _ZERO)

    @property
    def unrealized(self) -> Decimal:
        self._apply_marks()
        return sum((p.unrealized for p in self._symbols.values()), _ZERO)

    @property
    def commissions(self) -> Decimal:
        return sum((p.commissions for p in self._symbols.values()), _ZERO)

    @property
    def long_market_value(self) -> Decimal:
        self._apply_marks()
        return sum((p.market_value for p in self._symbols.values() if p.qty > 0), _ZERO)

    @property
    def short_market_value(self) -> Decimal:
        self._apply_marks()
        return sum((p.market_value for p in self._symbols.values() if p.qty < 0), _ZERO)

    @property
    def gross_exposure(self) -> Decimal:
        """Sum of |market value| over symbols (dollars)."""
        self._apply_marks()
        return sum((abs(p.market_value) for p in self._symbols.values()), _ZERO)

    @property
    def equity(self) -> Decimal:
        """Cash plus the signed market value of every position."""
        self._apply_marks()
        for symbol in self._touched:
            value = self._symbols[symbol].market_value
            self._value_total += value - self._values.get(symbol, _ZERO)
            self._values[symbol] = value
        self._touched.clear()
        return self.cash + self._value_total

    def daily_pnl(self) -> Decimal:
        """Realised + unrealised - commissions since :meth:`start_day` (dollars)."""
        return self.equity - self._day_start_equity

    def _position(self, symbol: str) -> SymbolPosition:
        """The state of ``symbol``, to be changed: it is re-valued at the next equity read."""
        key = symbol.upper()
        pos = self._symbols.get(key)
        if pos is None:
            pos = self._symbols[key] = SymbolPosition(key)
        self._touched.add(key)
        return pos
