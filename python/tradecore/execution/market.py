"""The latest market state per symbol, as execution needs it: NBBO, last trade, halts.

Fed with the same :class:`~tradecore.streams.base.EventBatch` objects every market-data stream
produces; read by the router (marketable limits), risk (price bands, halts) and the position
tracker (marks).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from tradecore._native import _core
from tradecore.schema import TradingState
from tradecore.streams.base import (
    NATIVE_FRAME_KIND,
    EventBatch,
    EventKind,
    GroupedBatch,
    Instruments,
)

__all__ = ["MarketBook", "MarketSnapshot", "clean", "price", "to_decimal"]


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


def _last_positive(values: np.ndarray) -> float:
    """The last positive value of a price column (0 when there is none)."""
    last = float(values[-1])
    if last > 0:
        return last
    positive = values[values > 0]
    return float(positive[-1]) if len(positive) else 0.0


class MarketBook:
    """Snapshots of every symbol seen.

    Each symbol has a row in a few arrays (bid, ask, last, time, state), so a live frame's
    symbols are folded in with a handful of array operations (:meth:`update_grouped`) instead
    of touching an object per symbol; the Decimal :class:`MarketSnapshot` is built when someone
    asks for it, not for every event.
    """

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}
        self._bid = np.zeros(0)
        self._ask = np.zeros(0)
        self._last = np.zeros(0)
        self._ts = np.zeros(0, np.int64)
        self._state = np.zeros(0, np.int8)
        self._snapshots: list[MarketSnapshot | None] = []
        self._fresh = np.zeros(0, bool)  # the row's snapshot is current
        # A live decoder's frames by instrument id: its registry and each id's row (-1: none yet).
        self._registry: Instruments | None = None
        self._row_of_id = np.zeros(0, np.int64)

    def get(self, symbol: str) -> MarketSnapshot:
        """Return the snapshot of ``symbol`` (empty if never seen)."""
        key = symbol.upper()
        row = self._rows.get(key)
        if row is None:
            return MarketSnapshot(key)
        snapshot = self._snapshots[row]
        if snapshot is None or not self._fresh[row]:
            bid, ask, last = float(self._bid[row]), float(self._ask[row]), float(self._last[row])
            snapshot = self._snapshots[row] = MarketSnapshot(
                key, bid=price(bid) if bid > 0 else None, ask=price(ask) if ask > 0 else None,
                last=price(last) if last > 0 else None, ts_event=int(self._ts[row]),
                state=TradingState(int(self._state[row])))
            self._fresh[row] = True
        return snapshot

    def last(self, symbol: str) -> float:
        """The last trade price folded in (dollars, 0 = none), without a snapshot."""
        row = self._rows.get(symbol.upper())
        return float(self._last[row]) if row is not None else 0.0

    def lasts(self, symbols: list[str]) -> list[float]:
        """:meth:`last` of each of ``symbols`` (upper case), in one call."""
        get = self._rows.get
        rows = [get(s, -1) for s in symbols]
        if -1 not in rows:  # the usual case: all seen, one gather
            lasts: list[float] = self._last[rows].tolist()
            return lasts
        return [float(self._last[r]) if r >= 0 else 0.0 for r in rows]

    def reference(self, symbol: str) -> Decimal | None:
        """``get(symbol).reference`` without building the snapshot (risk reads it for every
        held symbol at each order)."""
        row = self._rows.get(symbol.upper())
        if row is None or self._fresh[row]:
            return self.get(symbol).reference
        last, bid, ask = float(self._last[row]), float(self._bid[row]), float(self._ask[row])
        if last > 0:
            return price(last)
        if bid > 0 and ask > 0:
            return (price(bid) + price(ask)) / 2
        return None

    def _row(self, key: str) -> int:
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = len(self._snapshots)
            self._snapshots.append(None)
            if row >= len(self._bid):
                self._grow(row + 1)
        return row

    def _grow(self, size: int) -> None:
        size = max(size, 2 * len(self._bid), 64)
        grown = size - len(self._bid)
        self._bid, self._ask, self._last = (np.concatenate([a, np.zeros(grown)]) for a in (self._bid, self._ask, self._last))
        self._ts = np.concatenate([self._ts, np.zeros(grown, np.int64)])
        self._state = np.concatenate([self._state, np.zeros(grown, np.int8)])
        self._fresh = np.concatenate([self._fresh, np.zeros(grown, bool)])

    def set_book(self, symbol: str, bid: float, ask: float, last: float, *, ts_event: int) -> MarketSnapshot:
        """Set a symbol's top of book and last print (dollars; 0 = not seen, kept as before)."""
        row = self._row(symbol.upper())
        if bid > 0:
            self._bid[row] = float(bid)
        if ask > 0:
            self._ask[row] = float(ask)
        if last > 0:
            self._last[row] = float(last)
        self._ts[row] = max(int(self._ts[row]), ts_event)
        self._fresh[row] = False
        return self.get(symbol)

    def update(self, batch: EventBatch) -> tuple[int, float]:
        """Fold a batch into the symbol's book (other kinds are ignored); return the symbol's
        book time and last trade price afterwards (0: none yet), as floats from the feed.
        Cheap on purpose: it runs for every event of every symbol."""
        events = batch.events
        kind = batch.kind
        row = self._row(batch.symbol)
        if len(events) == 0 or kind not in _BOOK_KINDS:
            return int(self._ts[row]), float(self._last[row])
        if kind is EventKind.TRADE:
            self._last[row] = events["price"][-1]
        elif kind is EventKind.QUOTE:
            self._bid[row] = _last_positive(events["bid_price"]) or self._bid[row]
            self._ask[row] = _last_positive(events["ask_price"]) or self._ask[row]
        else:
            self._state[row] = int(events["state"][-1])
        ts = int(events["ts_event"][-1])
        if ts > self._ts[row]:
            self._ts[row] = ts
        self._fresh[row] = False
        return int(self._ts[row]), float(self._last[row])

    def update_grouped(self, group: GroupedBatch, indices: list[int]) -> list[int]:
        """:meth:`update` for the groups ``indices`` (ascending) of a frame, in one pass; return
        for each group of the frame the newest book time of the groups ``indices`` up to it (0
        before the first): the clock as the frame's groups are processed."""
        code = NATIVE_FRAME_KIND.get(group.kind)
        if code is not None and indices and self._by_id(group):
            # A live decoder's frame: one native pass over the rows of its ids.
            newest = np.empty(len(group.symbols), np.int64)
            if _fold_frame(code, group.events, group.cuts, np.asarray(indices, np.int64), group.ids(),
                           self._row_of_id, self._bid, self._ask, self._last, self._ts, self._state,
                           self._fresh, newest):
                return newest.tolist()
        times = np.zeros(len(group.symbols), np.int64)
        times[indices] = self._fold(group, indices)  # new symbols get their rows here
        return np.maximum.accumulate(times).tolist()  # type: ignore[no-any-return]

    def _fold(self, group: GroupedBatch, indices: list[int]) -> np.ndarray:
        """:meth:`update_grouped`'s fold with NumPy: each group's book time afterwards."""
        kind = group.kind
        rows = self._rows_of(group, indices)
        if kind not in _BOOK_KINDS or not indices:
            unchanged: np.ndarray = self._ts[rows]
            return unchanged
        events = group.events
        last = group.cuts[np.asarray(indices) + 1] - 1  # each group's last event
        if kind is EventKind.QUOTE:
            bids, asks = events["bid_price"][last], events["ask_price"][last]
            if not ((bids > 0).all() and (asks > 0).all()):  # a one-sided last quote: look further back
                return np.array([self.update(group.batch(i))[0] for i in indices], np.int64)
            self._bid[rows], self._ask[rows] = bids, asks
        elif kind is EventKind.TRADE:
            self._last[rows] = events["price"][last]
        else:
            self._state[rows] = events["state"][last]
        times: np.ndarray = np.maximum(self._ts[rows], events["ts_event"][last])
        self._ts[rows] = times
        self._fresh[rows] = False
        return times

    def _by_id(self, group: GroupedBatch) -> bool:
        """Whether ``group``'s rows are found by instrument id: its ids are in the registry the
        book indexes (the first a frame brings)."""
        registry = group.instruments
        if registry is not None and self._registry is None:
            self._registry = registry
        return registry is not None and registry is self._registry

    def _rows_of(self, group: GroupedBatch, indices: list[int]) -> np.ndarray:
        """The book rows of the groups ``indices`` of a frame (new symbols get one): by
        instrument id for a live decoder's frame, else by symbol."""
        if not self._by_id(group):
            return np.array([self._row(group.symbols[i]) for i in indices], np.int64)
        ids = group.ids()[indices]
        if len(ids) and ids.max() >= len(self._row_of_id):
            grown = max(int(ids.max()) + 1, 2 * len(self._row_of_id)) - len(self._row_of_id)
            self._row_of_id = np.concatenate([self._row_of_id, np.full(grown, -1, np.int64)])
        rows: np.ndarray = self._row_of_id[ids]
        if (rows < 0).any():  # symbols this book meets for the first time by id
            for at in np.flatnonzero(rows < 0).tolist():
                rows[at] = self._row_of_id[ids[at]] = self._row(group.symbols[indices[at]])
        return rows

    def set(self, snapshot: MarketSnapshot) -> None:
        """Replace a symbol's snapshot (tests, manual halts); updates continue from it."""
        row = self._row(snapshot.symbol.upper())
        self._bid[row], self._ask[row], self._last[row] = (float(v or 0) for v in (snapshot.bid, snapshot.ask, snapshot.last))
        self._ts[row], self._state[row] = snapshot.ts_event, int(snapshot.state)
        self._snapshots[row] = snapshot
        self._fresh[row] = True

    def symbols(self) -> list[str]:
        return sorted(self._rows)


_BOOK_KINDS = frozenset({EventKind.TRADE, EventKind.QUOTE, EventKind.STATUS})
_fold_frame = _core.book.fold_frame
