"""A market driven by its caller, for tests and scripted scenarios (see :class:`ScriptedMarket`)."""

from __future__ import annotations

import asyncio

import numpy as np

from tradecore import schema
from tradecore.sim.market import Asset, Market
from tradecore.streams.base import EventBatch, EventKind

__all__ = ["ScriptedMarket"]


class ScriptedMarket(Market):
    """A market whose clock and events are whatever the caller publishes.

    A real, minimal :class:`Market` for tests and scripted scenarios: quotes, trades and
    status changes go to the listeners synchronously, so fills can be predicted exactly.
    History (``bars``/``trades``) is empty.
    """

    def __init__(self, assets: list[Asset], now: int) -> None:
        super().__init__()
        self._now = now
        self._assets = {a.symbol: a for a in assets}
        self._quotes: dict[str, np.void] = {}
        self._trades: dict[str, np.void] = {}
        self._status: dict[str, int] = {}

    def now(self) -> int:
        return self._now

    def advance(self, ns: int) -> None:
        self._now = max(self._now, ns)

    def assets(self) -> list[Asset]:
        return list(self._assets.values())

    def asset(self, symbol: str) -> Asset | None:
        return self._assets.get(symbol)

    def last_trade(self, symbol: str) -> np.void | None:
        return self._trades.get(symbol)

    def last_quote(self, symbol: str) -> np.void | None:
        return self._quotes.get(symbol)

    def status(self, symbol: str) -> int:
        return self._status.get(symbol, schema.TradingState.TRADING)

    def bars(
        self, symbol: str, start: int, end: int, period_ns: int = 60_000_000_000
    ) -> np.ndarray:
        return schema.empty(schema.BAR)

    def trades(self, symbol: str, start: int, end: int) -> np.ndarray:
        return schema.empty(schema.TRADE)

    async def run(self) -> None:
        await asyncio.Event().wait()

    def _emit(self, kind: EventKind, symbol: str, rows: np.ndarray) -> None:
        self._now = max(self._now, int(rows["ts_event"][-1]))
        self._publish(EventBatch(kind, symbol, rows))

    def quote(
        self,
        symbol: str,
        bid: float,
        ask: float,
        size: float = 10_000,
        ts: int | None = None,
        bid_size: float | None = None,
        ask_size: float | None = None,
    ) -> None:
        rows = schema.empty(schema.QUOTE, 1)
        rows["ts_event"] = self._now + 1 if ts is None else ts
        rows["bid_price"], rows["ask_price"] = bid, ask
        rows["bid_size"] = size if bid_size is None else bid_size
        rows["ask_size"] = size if ask_size is None else ask_size
        self._quotes[symbol] = rows[0].copy()
        self._emit(EventKind.QUOTE, symbol, rows)

    def trade(self, symbol: str, price: float, size: float = 100, ts: int | None = None) -> None:
        rows = schema.empty(schema.TRADE, 1)
        rows["ts_event"] = self._now + 1 if ts is None else ts
        rows["price"], rows["size"] = price, size
        self._trades[symbol] = rows[0].copy()
        self._emit(EventKind.TRADE, symbol, rows)

    def set_status(self, symbol: str, state: int, ts: int | None = None) -> None:
        rows = schema.empty(schema.STATUS, 1)
        rows["ts_event"] = self._now + 1 if ts is None else ts
        rows["state"] = state
        self._status[symbol] = state
        self._emit(EventKind.STATUS, symbol, rows)
