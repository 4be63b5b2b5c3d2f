"""The premarket scanner on a simulated Market (the interface the simulator implements)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tradecore import schema
from tradecore.scanners import (
    EnrichmentCache,
    MarketReferences,
    MarketStateInputs,
    PremarketScanner,
    ScanFilters,
)
from tradecore.sim.market import Asset, AssetType, Market

NOW = pd.Timestamp("2024-03-05 08:30", tz="America/New_York").value
YESTERDAY = pd.Timestamp("2024-03-04 17:00", tz="America/New_York").value


class TinyMarket(Market):
    """Three symbols with a few prints each; nothing moves."""

    def __init__(self) -> None:
        self._assets = {
            "GAPR": Asset("GAPR", "Gapper Inc", "NASDAQ", AssetType.COMMON, 20_000_000, 5_000_000, 2.00),
            "GAPW": Asset("GAPW", "Gapper Warrants", "NASDAQ", AssetType.WARRANT, 0, 0, 1.00),
            "HALT": Asset("HALT", "Halted Corp", "NYSE", AssetType.COMMON, 9_000_000, 3_000_000, 4.00),
            "BIGF": Asset("BIGF", "Big Float", "NYSE", AssetType.COMMON, 900_000_000, 800_000_000, 3.00),
        }
        prints = {"GAPR": [(YESTERDAY, 2.10, 500), (NOW - 60 * 10**9, 2.60, 1000),
                           (NOW - 10**9, 2.70, 2000)],
                  "GAPW": [(NOW - 10**9, 1.60, 5000)], "HALT": [(NOW - 10**9, 5.00, 7000)],
                  "BIGF": [(NOW - 10**9, 3.90, 9000)]}
        self._trades = {}
        for symbol, rows in prints.items():
            trades = np.zeros(len(rows), schema.TRADE)
            for i, (ts, price, size) in enumerate(rows):
                trades[i]["ts_event"], trades[i]["price"], trades[i]["size"] = ts, price, size
            self._trades[symbol] = trades

    def now(self) -> int:
        return NOW

    def assets(self) -> list[Asset]:
        return list(self._assets.values())

    def asset(self, symbol: str) -> Asset | None:
        return self._assets.get(symbol)

    def last_trade(self, symbol: str) -> np.void | None:
        trades = self._trades.get(symbol)
        return None if trades is None else trades[-1]

    def last_quote(self, symbol: str) -> np.void | None:
        return None

    def status(self, symbol: str) -> int:
        return schema.TradingState.HALTED if symbol == "HALT" else schema.TradingState.TRADING

    def bars(self, symbol: str, start: int, end: int, period_ns: int = 60_000_000_000) -> np.ndarray:
        return np.zeros(0, schema.BAR)

    def trades(self, symbol: str, start: int, end: int) -> np.ndarray:
        trades = self._trades[symbol]
        return trades[(trades["ts_event"] >= start) & (trades["ts_event"] < end)]

    def add_listener(self, listener: object) -> None:
        pass

    def remove_listener(self, listener: object) -> None:
        pass

    async def run(self) -> None:
        pass


@pytest.mark.asyncio
async def test_premarket_scan_on_a_simulated_market() -> None:
    market = TinyMarket()
    scanner = PremarketScanner(MarketStateInputs(market),
                               EnrichmentCache(MarketReferences(market), clock=market.now),
                               ScanFilters(max_float=10_000_000), clock=market.now)
    change = await scanner.update()
    assert change.universe == ("GAPR",)
    rows = {r.symbol: r for r in scanner.rows}
    assert rows["GAPR"].values["volume"] == 3000  # today's prints only, not yesterday's
    assert rows["GAPR"].values["gap_percent"] == pytest.approx(35.0)
    assert rows["GAPR"].values["float_shares"] == 5_000_000
    assert rows["GAPW"].reasons == ("warrant",)
    assert rows["HALT"].reasons == ("halted",)
    assert rows["BIGF"].reasons == ("float",)
