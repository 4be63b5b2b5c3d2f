"""Top gainers from the REST screener (``movers``) or computed from snapshots.

The movers screener resets at the open and shows the previous day's movers until then, so
before the open use ``source="snapshots"``, which ranks the snapshot candidates (given symbols
or the most-actives list) by change vs the prior close. Values: ``price`` [$],
``percent_change`` [%], ``change`` [$].
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from tradecore.errors import ConfigError
from tradecore.scanners.base import Scanner, ScanRow
from tradecore.scanners.client import MarketDataClient
from tradecore.scanners.inputs import SnapshotInputs

__all__ = ["TopGainersScanner"]


class TopGainersScanner(Scanner):
    """The ``top`` biggest gainers with a price in ``[min_price, max_price]`` [$] and a change
    of at least ``min_percent_change`` [%]; ``deny`` symbols are left out."""

    name = "top_gainers"

    def __init__(self, client: MarketDataClient, *, top: int = 10,
                 source: Literal["movers", "snapshots"] = "movers",
                 symbols: Iterable[str] | None = None, min_price: float = 0.0,
                 max_price: float | None = None, min_percent_change: float = 0.0,
                 deny: Iterable[str] = (), **options: Any) -> None:
        super().__init__(**options)
        if source not in ("movers", "snapshots"):
            raise ConfigError(f"source must be 'movers' or 'snapshots', not {source!r}")
        if not 1 <= top <= 50 and source == "movers":
            raise ConfigError(f"the movers screener gives 1 to 50 gainers, not {top}")
        self.client = client
        self.top = top
        self.source = source
        self.inputs = SnapshotInputs(client, symbols, movers_top=0)
        self.min_price, self.max_price = min_price, max_price
        self.min_percent_change = min_percent_change
        self.deny = frozenset(s.upper() for s in deny)

    async def _movers(self) -> list[dict[str, Any]]:
        if self.source == "movers":
            body = await self.client.movers(top=50)
            return [dict(g) for g in body.get("gainers", [])]
        found = []
        for c in await self.inputs.candidates():
            if c.prior_close:
                found.append({"symbol": c.symbol, "price": c.price,
                              "change": c.price - c.prior_close,
                              "percent_change": (c.price / c.prior_close - 1) * 100})
        return found

    async def scan(self) -> list[ScanRow]:
        rows = []
        movers = sorted(await self._movers(), key=lambda g: (-float(g["percent_change"]),
                                                             g["symbol"]))
        taken = 0
        for g in movers:
            symbol, price, pct = g["symbol"].upper(), float(g["price"]), float(g["percent_change"])
            reasons = []
            if symbol in self.deny:
                reasons.append("deny")
            if price < self.min_price or (self.max_price is not None and price > self.max_price):
                reasons.append("price")
            if pct < self.min_percent_change:
                reasons.append("percent_change")
            if not reasons and taken >= self.top:
                reasons.append("rank")
            taken += not reasons
            rows.append(ScanRow(symbol, {"price": price, "percent_change": pct,
                                         "change": float(g.get("change", 0.0))},
                                not reasons, tuple(reasons)))
        rows.sort(key=lambda r: not r.passed)  # stable: rank order within each group
        return rows

    async def close(self) -> None:
        await self.client.close()
