"""Helpers for the paper-trading tests: a scripted market and a loopback trading server.

:class:`ScriptedMarket` is a real, minimal :class:`Market`: its clock and events are whatever
the test publishes (quotes, trades, halts), so fills can be predicted exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest_asyncio
from aiohttp import web
from tradecore import schema
from tradecore.sim.market import Asset, AssetType, Market, MarketListener
from tradecore.sim.trading import PaperBroker, install
from tradecore.streams.base import EventBatch, EventKind

__all__ = [
    "KEY",
    "SECRET",
    "ScriptedMarket",
    "TradingServer",
    "alpaca_trading",
    "new_york",
    "premarket",
    "regular",
    "serve",
]

KEY, SECRET = "TESTKEY", "TESTSECRET"
NEW_YORK = ZoneInfo("America/New_York")


def new_york(hour: int, minute: int = 0, day: int = 2) -> int:
    """Return ns UTC of January ``day``, 2024 (the 2nd is a Tuesday) at New York ``hour:minute``."""
    moment = dt.datetime(2024, 1, day, hour, minute, tzinfo=NEW_YORK)
    return int(moment.timestamp()) * 1_000_000_000


def alpaca_trading() -> tuple[Any, Any]:
    """Import alpaca-py's trading requests and enums (``alpaca.trading`` imports its stream,
    which imports the deprecated ``websockets.legacy``: that one warning is expected)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="websockets.legacy is deprecated", category=DeprecationWarning
        )
        from alpaca.trading import enums, requests
    return requests, enums


class ScriptedMarket(Market):
    """A market whose clock and events are driven by the test."""

    def __init__(self, assets: list[Asset], now: int) -> None:
        self._now = now
        self._assets = {a.symbol: a for a in assets}
        self._quotes: dict[str, np.void] = {}
        self._trades: dict[str, np.void] = {}
        self._status: dict[str, int] = {}
        self._listeners: list[MarketListener] = []

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

    def add_listener(self, listener: MarketListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: MarketListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def run(self) -> None:
        await asyncio.Event().wait()

    def _publish(self, kind: EventKind, symbol: str, rows: np.ndarray) -> None:
        self._now = max(self._now, int(rows["ts_event"][-1]))
        for listener in list(self._listeners):
            listener(EventBatch(kind, symbol, rows))

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
        self._publish(EventKind.QUOTE, symbol, rows)

    def trade(self, symbol: str, price: float, size: float = 100, ts: int | None = None) -> None:
        rows = schema.empty(schema.TRADE, 1)
        rows["ts_event"] = self._now + 1 if ts is None else ts
        rows["price"], rows["size"] = price, size
        self._trades[symbol] = rows[0].copy()
        self._publish(EventKind.TRADE, symbol, rows)

    def set_status(self, symbol: str, state: int, ts: int | None = None) -> None:
        rows = schema.empty(schema.STATUS, 1)
        rows["ts_event"] = self._now + 1 if ts is None else ts
        rows["state"] = state
        self._status[symbol] = state
        self._publish(EventKind.STATUS, symbol, rows)


def assets() -> list[Asset]:
    return [
        Asset(
            "ACME",
            "Acme Corp",
            "NASDAQ",
            AssetType.COMMON,
            50_000_000,
            40_000_000,
            10.0,
            shortable=True,
            easy_to_borrow=True,
        ),
        Asset("PENY", "Penny Inc", "NYSE", AssetType.COMMON, 9_000_000, 8_000_000, 0.5),
        Asset("HALT", "Halting Co", "NASDAQ", AssetType.COMMON, 1_000_000, 900_000, 4.0),
    ]


@dataclass
class TradingServer:
    market: Any
    broker: PaperBroker
    url: str  # http://127.0.0.1:PORT (alpaca-py's url_override)

    @property
    def stream_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/stream"

    def client(self, key: str = KEY, secret: str = SECRET) -> Any:
        alpaca_trading()
        from alpaca.trading.client import TradingClient

        return TradingClient(key, secret, paper=True, url_override=self.url)


@contextlib.asynccontextmanager
async def serve(market: Market, **options: Any) -> AsyncIterator[TradingServer]:
    """Run the trading endpoints for ``market`` on a loopback port."""
    app = web.Application()
    options.setdefault("keys", {KEY: SECRET})
    broker = install(app, market, **options)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield TradingServer(market, broker, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture
async def premarket() -> AsyncIterator[TradingServer]:
    """A server on a scripted market at 08:00 New York (premarket), ACME quoted 10.00/10.02."""
    market = ScriptedMarket(assets(), new_york(8))
    market.quote("ACME", 10.00, 10.02)
    async with serve(market) as server:
        yield server


@pytest_asyncio.fixture
async def regular() -> AsyncIterator[TradingServer]:
    """A server on a scripted market at 10:00 New York, ACME 10.00/10.02, PENY 0.50/0.51."""
    market = ScriptedMarket(assets(), new_york(10))
    market.quote("ACME", 10.00, 10.02)
    market.quote("PENY", 0.50, 0.51)
    market.quote("HALT", 4.00, 4.02)
    async with serve(market) as server:
        yield server
