"""Helpers for the paper-trading tests: a scripted market and a loopback trading server.

:class:`ScriptedMarket` is a real, minimal :class:`Market`: its clock and events are whatever
the test publishes (quotes, trades, halts), so fills can be predicted exactly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest_asyncio
from aiohttp import web
from tradecore.sim.market import Asset, AssetType, Market
from tradecore.sim.scripted import ScriptedMarket
from tradecore.sim.trading import PaperAccount, install

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
    broker: PaperAccount
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
