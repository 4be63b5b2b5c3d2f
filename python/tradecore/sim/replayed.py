"""Recorded or imported data as a :class:`Market`: :class:`ReplayMarket` over a ReplayStream.

The replay's events go to the listeners as they come (trades, quotes, bars, statuses, ...), so
the feed and REST serve them exactly like generated ones. Minute bars are built from the
replayed trades with the native aggregator when the source has no minute bars of its own;
daily history comes from the source's ``daily`` dataset when it has one. The clock is the time
of the last event handed out.

:func:`open_source` picks the source for a path: a LEAN ``Data`` folder (or a folder holding
``quantconnect-lean/Data``), a recording (``recording.json`` inside) or a tradecore Parquet
dataset.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tradecore import schema
from tradecore.bars import BarAggregator, resample
from tradecore.errors import ConfigError
from tradecore.sim.market import Asset, AssetType, Market
from tradecore.streams.alpaca import TRADE_CONDITION_BITS
from tradecore.streams.base import EventBatch, EventKind
from tradecore.streams.replay import LeanSource, ParquetSource, ReplayStream, Source

__all__ = ["ReplayMarket", "open_source"]

_NS = 1_000_000_000
_MINUTE = 60 * _NS
_DAY = 86_400 * _NS


def open_source(path: str | os.PathLike[str]) -> Source:
    """The replay source stored at ``path`` (see the module docstring)."""
    root = Path(path)
    if (root / "recording.json").is_file():
        from tradecore.streams.recorder import RecordingSource

        return RecordingSource(root)
    for candidate in (root, root / "Data", root / "quantconnect-lean" / "Data"):
        if (candidate / "equity").is_dir():
            return LeanSource(candidate)
    if root.is_dir():
        return ParquetSource(root)
    raise ConfigError(f"{root}: not a LEAN Data folder, a recording or a Parquet dataset")


class ReplayMarket(Market):
    """Serve a :class:`ReplayStream` as a market.

    Parameters
    ----------
    stream
        The replay (its ``speed`` paces the session: 0 as fast as possible, 1 real time).
    symbols
        Symbols to replay.
    assets
        Reference data; by default a common stock per symbol with unknown share counts and the
        prior close taken from the source's daily bars (0 if it has none).
    """

    def __init__(self, stream: ReplayStream, symbols: list[str], *,
                 assets: list[Asset] | None = None) -> None:
        super().__init__()
        self.stream = stream
        self.symbols = [s.upper() for s in symbols]
        self._daily = {s: self._history(s, "daily") for s in self.symbols}
        if assets is None:
            assets = []
            for symbol in self.symbols:
                daily = self._daily[symbol]
                close = float(daily["close"][-1]) if len(daily) else 0.0
                assets.append(Asset(symbol=symbol, name=symbol, exchange="NYSE",
                                    asset_type=AssetType.COMMON, shares_outstanding=0,
                                    float_shares=0, prior_close=close))
        self._assets = {a.symbol: a for a in assets}
        self._clock = stream.start if stream.start is not None else 0
        self._last_trade: dict[str, np.void] = {}
        self._last_quote: dict[str, np.void] = {}
        self._status: dict[str, int] = {}
        self._trades: dict[str, list[np.ndarray]] = {s: [] for s in self.symbols}
        self._bars: dict[str, list[np.ndarray]] = {s: [] for s in self.symbols}
        self._aggregators: dict[str, BarAggregator] = {}
        self._source_has_bars = "minute" in stream.datasets
        from tradecore.streams.recorder import RecordingSource

        # Only recordings of the vendor's stream carry its trade ids and condition bits; other
        # sources' ids are often 0 (clients drop repeated ids) and their condition words mean
        # something else (LEAN/AlgoSeek), so those get fresh ids and a plain regular-sale code.
        self._vendor_coded = isinstance(stream.source, RecordingSource)
        self._next_trade_id = 1

    def _history(self, symbol: str, dataset: str) -> np.ndarray:
        if dataset not in self.stream.source.datasets() or self.stream.start is None:
            return schema.empty(schema.BAR)
        try:
            return self.stream.history(symbol, dataset)
        except Exception:  # noqa: BLE001 - no daily history is not fatal for a replay
            return schema.empty(schema.BAR)

    def now(self) -> int:
        return self._clock

    def assets(self) -> list[Asset]:
        return list(self._assets.values())

    def asset(self, symbol: str) -> Asset | None:
        return self._assets.get(symbol.upper())

    def last_trade(self, symbol: str) -> np.void | None:
        return self._last_trade.get(symbol.upper())

    def last_quote(self, symbol: str) -> np.void | None:
        return self._last_quote.get(symbol.upper())

    def status(self, symbol: str) -> int:
        return self._status.get(symbol.upper(), int(schema.TradingState.TRADING))

    def bars(self, symbol: str, start: int, end: int, period_ns: int = _MINUTE) -> np.ndarray:
        symbol = symbol.upper()
        if period_ns >= _DAY:
            rows = self._daily.get(symbol, schema.empty(schema.BAR))
        else:
            rows = schema.concatenate(self._bars.get(symbol, []), schema.BAR)
            if period_ns != _MINUTE and len(rows):
                rows = resample(rows, period_ns)
        return rows[(rows["ts_event"] >= start) & (rows["ts_event"] < end)]

    def trades(self, symbol: str, start: int, end: int) -> np.ndarray:
        rows = schema.concatenate(self._trades.get(symbol.upper(), []), schema.TRADE)
        return rows[(rows["ts_event"] >= start) & (rows["ts_event"] < end)]

    async def run(self) -> None:
        """Replay until the data end or cancellation."""
        await self.stream.subscribe(self.symbols)
        try:
            async for batch in self.stream:
                batch = self._record(batch)
                self._publish(batch)
        finally:
            await self.stream.close()

    def _record(self, batch: EventBatch) -> EventBatch:
        events = batch.events
        if not len(events):
            return batch
        symbol = batch.symbol
        kind = batch.kind
        self._clock = max(self._clock, int(events["ts_event"][-1]))
        if kind is EventKind.TRADE:
            if not self._vendor_coded:
                events = events.copy()
                events["trade_id"] = np.arange(self._next_trade_id,
                                               self._next_trade_id + len(events), dtype=np.uint64)
                self._next_trade_id += len(events)
                events["conditions"] = TRADE_CONDITION_BITS["@"]
                batch = EventBatch(kind, symbol, events, batch.ts_received)
            self._last_trade[symbol] = events[-1]
            self._trades[symbol].append(events)
            if not self._source_has_bars:
                agg = self._aggregators.get(symbol)
                if agg is None:
                    agg = self._aggregators[symbol] = BarAggregator("1min")
                closed = agg.update_batch(events)
                if len(closed):
                    self._bars[symbol].append(closed)
                    self._publish(EventBatch(EventKind.BAR, symbol, closed))
        elif kind is EventKind.QUOTE:
            self._last_quote[symbol] = events[-1]
        elif kind is EventKind.BAR:
            self._bars[symbol].append(events)
            self._clock = max(self._clock, int(events["ts_end"][-1]))
        elif kind is EventKind.STATUS:
            self._status[symbol] = int(events["state"][-1])
        return batch
