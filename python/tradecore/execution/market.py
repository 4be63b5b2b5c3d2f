"""The latest market state per symbol, as execution needs it: NBBO, last trade, halts.

Fed with the same :class:`~tradecore.streams.base.EventBatch` objects every market-data stream
produces; read by the router (marketable limits), risk (price bands, halts) and the position
tracker (marks).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from tradecore.schema import TradingState
from tradecore.streams.base import EventBatch, EventKind

__all__ = ["MarketBook", "MarketSnapshot", "clean", "price"]


def price(value: float) -> Decimal:
    """Return a float price from the native core as the Decimal it stands for (6 places max)."""
    return Decimal(repr(round(float(value), 6)))


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


class MarketBook:
    """Snapshots of every symbol seen."""

    def __init__(self) -> None:
        self._snapshots: dict[str, MarketSnapshot] = {}

    def get(self, symbol: str) -> MarketSnapshot:
        """Return the snapshot of ``symbol`` (empty if never seen)."""
        key = symbol.upper()
        return self._snapshots.get(key) or MarketSnapshot(key)

    def set_book(self, symbol: str, bid: float, ask: float, last: float, *, ts_event: int) -> MarketSnapshot:
        """Set a symbol's top of book and last print (dollars; 0 = not seen, kept as before)."""
        snap = self.get(symbol)
        snap = replace(snap, bid=price(bid) if bid > 0 else snap.bid, ask=price(ask) if ask > 0 else snap.ask,
                       last=price(last) if last > 0 else snap.last, ts_event=max(snap.ts_event, ts_event))
        self._snapshots[snap.symbol] = snap
        return snap

    def update(self, batch: EventBatch) -> MarketSnapshot:
        """Fold a batch into the symbol's snapshot and return it (other kinds are ignored)."""
        snap = self.get(batch.symbol)
        events = batch.events
        if len(events) == 0:
            return snap
        last_row = events[-1]
        if batch.kind == EventKind.QUOTE:
            bids = events["bid_price"][events["bid_price"] > 0]
            asks = events["ask_price"][events["ask_price"] > 0]
            snap = replace(snap, bid=price(bids[-1]) if len(bids) else snap.bid,
                           ask=price(asks[-1]) if len(asks) else snap.ask)
        elif batch.kind == EventKind.TRADE:
            snap = replace(snap, last=price(last_row["price"]))
        elif batch.kind == EventKind.STATUS:
            snap = replace(snap, state=TradingState(int(last_row["state"])))
        else:
            return snap
        snap = replace(snap, ts_event=max(snap.ts_event, int(last_row["ts_event"])))
        self._snapshots[snap.symbol] = snap
        return snap

    def set(self, snapshot: MarketSnapshot) -> None:
        """Replace a symbol's snapshot (tests, manual halts)."""
        self._snapshots[snapshot.symbol.upper()] = snapshot

    def symbols(self) -> list[str]:
        return sorted(self._snapshots)
