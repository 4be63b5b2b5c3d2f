"""The latest market state per symbol, as execution needs it: NBBO, last trade, halts.

Fed with the same :class:`~tradecore.streams.base.EventBatch` objects every market-data stream
produces; read by the router (marketable limits), risk (price bands, halts) and the position
tracker (marks).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from tradecore.schema import TradingState
from tradecore.streams.base import EventBatch, EventKind, GroupedBatch

__all__ = ["BookEntry", "MarketBook", "MarketSnapshot", "clean", "price", "to_decimal"]


def to_decimal(value: object) -> Decimal:
    """Return a number as the Decimal it stands for: a float as the shortest decimal that reads
    back as it (``0.1`` -> ``Decimal("0.1")``, not its binary expansion), a NumPy scalar as its
    Python value, a Decimal as it is, anything else through ``str``.

    Raises ``decimal.InvalidOperation`` (an ``ArithmeticError``) for text that is no number.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    return Decimal(repr(float(value)) if isinstance(value, float) else str(value))


def price(value: float) -> Decimal:
    """Return a float price from the native core as the Decimal it stands for (6 places max)."""
    return Decimal(repr(round(float(value), 6)))  # to_decimal of a float, without its type checks


def clean(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (``10.500`` -> ``10.5``)."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal.as_tuple().exponent > 0 else normal  # type: ignore[operator]


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Latest top of book and print of one symbol (dollars; ``None`` = not seen)."""

    symbol: str
    bid: Decimal | None = None
    ask: Decimal | None = None
    last: Decimal | None = None
    ts_event: int = 0
    state: TradingState = TradingState.UNKNOWN

    @property
    def halted(self) -> bool:
        return self.state in (TradingState.HALTED, TradingState.PAUSED, TradingState.QUOTE_ONLY)

    @property
    def mid(self) -> Decimal | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2

    @property
    def reference(self) -> Decimal | None:
        """The price sanity checks compare with: the last trade, else the NBBO midpoint."""
        return self.last if self.last is not None else self.mid


class BookEntry:
    """A symbol's latest values as the feed gave them (floats, 0 = not seen; read only for
    callers). The Decimal :class:`MarketSnapshot` is built when someone asks for it, not for
    every event."""

    __slots__ = ("ask", "bid", "last", "snapshot", "state", "ts_event")

    def __init__(self) -> None:
        self.bid = self.ask = self.last = 0.0
        self.ts_event = 0
        self.state = TradingState.UNKNOWN
        self.snapshot: MarketSnapshot | None = None


def _last_positive(values: np.ndarray) -> float:
    """The last positive value of a price column (0 when there is none)."""
    last = float(values[-1])
    if last > 0:
        return last
    positive = values[values > 0]
    return float(positive[-1]) if len(positive) else 0.0


class MarketBook:
    """Snapshots of every symbol seen."""

    def __init__(self) -> None:
        self._raw: dict[str, BookEntry] = {}
        self._set: dict[str, MarketSnapshot] = {}  # replaced by set() (tests, manual halts)

    def get(self, symbol: str) -> MarketSnapshot:
        """Return the snapshot of ``symbol`` (empty if never seen)."""
        key = symbol.upper()
        raw = self._raw.get(key)
        if raw is None:
            return self._set.get(key) or MarketSnapshot(key)
        if raw.snapshot is None:
            raw.snapshot = MarketSnapshot(key, bid=price(raw.bid) if raw.bid > 0 else None,
                                          ask=price(raw.ask) if raw.ask > 0 else None,
                                          last=price(raw.last) if raw.last > 0 else None,
                                          ts_event=raw.ts_event, state=raw.state)
        return raw.snapshot

    def last(self, symbol: str) -> float:
        """The last trade price folded in (dollars, 0 = none), without a snapshot."""
        raw = self._raw.get(symbol.upper())
        return raw.last if raw is not None else float(self.get(symbol).last or 0)

    def lasts(self, symbols: list[str]) -> list[float]:
        """:meth:`last` of each of ``symbols`` (upper case), in one call."""
        raw = self._raw
        return [raw[s].last if s in raw else self.last(s) for s in symbols]

    def reference(self, symbol: str) -> Decimal | None:
        """``get(symbol).reference`` without building the snapshot (risk reads it for every
        held symbol at each order)."""
        raw = self._raw.get(symbol.upper())
        if raw is None or raw.snapshot is not None:
            return self.get(symbol).reference
        if raw.last > 0:
            return price(raw.last)
        if raw.bid > 0 and raw.ask > 0:
            return (price(raw.bid) + price(raw.ask)) / 2
        return None

    def _entry(self, key: str) -> BookEntry:
        raw = self._raw.get(key)
        if raw is None:
            raw = self._raw[key] = BookEntry()
            given = self._set.pop(key, None)
            if given is not None:  # updates continue from a snapshot set by hand
                raw.bid, raw.ask, raw.last = (float(v or 0) for v in (given.bid, given.ask, given.last))
                raw.ts_event, raw.state = given.ts_event, given.state
        return raw

    def set_book(self, symbol: str, bid: float, ask: float, last: float, *, ts_event: int) -> MarketSnapshot:
        """Set a symbol's top of book and last print (dollars; 0 = not seen, kept as before)."""
        raw = self._entry(symbol.upper())
        if bid > 0:
            raw.bid = float(bid)
        if ask > 0:
            raw.ask = float(ask)
        if last > 0:
            raw.last = float(last)
        raw.ts_event = max(raw.ts_event, ts_event)
        raw.snapshot = None
        return self.get(symbol)

    def update(self, batch: EventBatch) -> BookEntry:
        """Fold a batch into the symbol's book (other kinds are ignored) and return its entry.
        Cheap on purpose: it runs for every event of every symbol."""
        events = batch.events
        kind = batch.kind
        raw = self._entry(batch.symbol)
        if len(events) == 0 or kind not in _BOOK_KINDS:
            return raw
        if kind is EventKind.TRADE:
            raw.last = float(events["price"][-1])
        elif kind is EventKind.QUOTE:
            raw.bid = _last_positive(events["bid_price"]) or raw.bid
            raw.ask = _last_positive(events["ask_price"]) or raw.ask
        else:
            raw.state = TradingState(int(events["state"][-1]))
        ts = int(events["ts_event"][-1])
        raw.ts_event = max(raw.ts_event, ts)
        raw.snapshot = None
        return raw

    def update_grouped(self, group: GroupedBatch, indices: list[int]) -> np.ndarray:
        """:meth:`update` for the groups ``indices`` of a frame, in one pass; return each one's
        book time afterwards (int64 ns)."""
        kind = group.kind
        symbols = [group.symbols[i] for i in indices]
        if kind not in _BOOK_KINDS or not indices:
            return np.array([self._entry(s).ts_event for s in symbols], np.int64)
        events = group.events
        rows = group.cuts[np.asarray(indices) + 1] - 1  # each group's last event
        times = events["ts_event"][rows].tolist()
        known = self._raw.get  # a symbol seen before (every frame's usual case) needs no _entry call
        after: list[int] = []
        if kind is EventKind.QUOTE:
            bids, asks = events["bid_price"][rows], events["ask_price"][rows]
            if not ((bids > 0).all() and (asks > 0).all()):  # a one-sided last quote: look further back
                return np.array([self.update(group.batch(i)).ts_event for i in indices], np.int64)
            for symbol, bid, ask, ts in zip(symbols, bids.tolist(), asks.tolist(), times):
                raw = known(symbol) or self._entry(symbol)
                raw.bid, raw.ask, raw.snapshot = bid, ask, None
                if ts > raw.ts_event:
                    raw.ts_event = ts
                after.append(raw.ts_event)
        else:
            values = events["price" if kind is EventKind.TRADE else "state"][rows].tolist()
            trades = kind is EventKind.TRADE
            for symbol, value, ts in zip(symbols, values, times):
                raw = known(symbol) or self._entry(symbol)
                if trades:
                    raw.last = value
                else:
                    raw.state = TradingState(value)
                raw.snapshot = None
                if ts > raw.ts_event:
                    raw.ts_event = ts
                after.append(raw.ts_event)
        return np.array(after, np.int64)

    def set(self, snapshot: MarketSnapshot) -> None:
        """Replace a symbol's snapshot (tests, manual halts)."""
        key = snapshot.symbol.upper()
        self._raw.pop(key, None)
        self._set[key] = snapshot

    def symbols(self) -> list[str]:
        return sorted(set(self._raw) | set(self._set))


_BOOK_KINDS = frozenset({EventKind.TRADE, EventKind.QUOTE, EventKind.STATUS})
