"""What a scan looks at: one :class:`Candidate` per symbol, from live snapshots or a replay.

Live, :class:`SnapshotInputs` reads ``/v2/stocks/snapshots`` for a candidate list (given, or
discovered from the most-actives and movers screeners). In backtests,
:class:`tradecore.scanners.point_in_time.PointInTimeInputs` derives the same candidates from the
replayed events.
"""

from __future__ import annotations

import abc
import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradecore import schema
from tradecore.calendar import new_york_date
from tradecore.scanners.client import MarketDataClient

if TYPE_CHECKING:
    from tradecore.sim.market import Market

__all__ = [
    "Candidate",
    "MarketInputs",
    "MarketStateInputs",
    "SnapshotInputs",
    "candidate_from_snapshot",
    "day_start",
]

_NEW_YORK = "America/New_York"
_DAY_START = 4 * 3600 * 10**9  # 04:00 New York, the start of the premarket


def day_start(ts: int) -> int:
    """04:00 New York of the New York date of ``ts``, ns UTC."""
    local = pd.Timestamp(ts, unit="ns", tz="UTC").tz_convert(_NEW_YORK)
    start = local.normalize() + pd.Timedelta(_DAY_START)
    if local < start:  # 00:00-04:00 belongs to the day before (overnight)
        start -= pd.Timedelta(days=1)
    return int(start.tz_convert("UTC").value)


@dataclass(frozen=True, slots=True)
class Candidate:
    """Market state of one symbol at scan time.

    ``price`` last trade [$]; ``prior_close`` previous regular-session close [$] (None if
    unknown: the scanner then uses the reference data's); ``volume`` shares traded so far today
    (before 09:30 New York: the premarket volume); ``halted`` trading halted now;
    ``ts`` time of the last trade [ns UTC].
    """

    symbol: str
    price: float
    prior_close: float | None
    volume: float
    halted: bool = False
    ts: int = 0


class MarketInputs(abc.ABC):
    """Source of candidates for a scan."""

    @abc.abstractmethod
    async def candidates(self) -> list[Candidate]:
        """The market now."""


@functools.lru_cache(maxsize=256)
def _new_york_date(text: str) -> dt.date:
    """The New York date of a timestamp (daily bars share a handful: each is parsed once)."""
    return new_york_date(pd.Timestamp(text).value)


def candidate_from_snapshot(symbol: str, snapshot: dict[str, Any]) -> Candidate | None:
    """A candidate from one snapshot; None without a latest trade.

    Which of ``dailyBar`` and ``prevDailyBar`` is yesterday before today's first trade is not
    documented, so the prior close is the close of the latest of the two bars dated before the
    latest trade's New York date, and today's volume the ``dailyBar``'s only if it is dated today.
    """
    trade = snapshot.get("latestTrade") or {}
    if not trade.get("p"):
        return None
    ts = pd.Timestamp(trade["t"])
    today = new_york_date(ts.value)
    prior, volume = None, 0.0
    for bar in (snapshot.get("dailyBar"), snapshot.get("prevDailyBar")):
        if not bar or "t" not in bar:
            continue
        day = _new_york_date(bar["t"])
        if day == today:
            volume = float(bar.get("v", 0))
        elif day < today and prior is None:
            prior = float(bar["c"])
    return Candidate(symbol.upper(), float(trade["p"]), prior, volume, False, ts.value)


class SnapshotInputs(MarketInputs):
    """Candidates from REST snapshots.

    Parameters
    ----------
    client
        The REST client.
    symbols
        Symbols to snapshot every scan; None to discover them each scan from the most-actives
        screener (``discover_top``) and the movers' gainers (``movers_top``); 0 leaves a
        screener out.
    """

    def __init__(self, client: MarketDataClient, symbols: Iterable[str] | None = None, *,
                 discover_top: int = 100, movers_top: int = 50) -> None:
        self.client = client
        self.symbols = None if symbols is None else [s.upper() for s in symbols]
        self.discover_top = discover_top
        self.movers_top = movers_top

    async def discover(self) -> list[str]:
        active = await self.client.most_actives(top=self.discover_top) if self.discover_top else []
        movers = await self.client.movers(top=self.movers_top) if self.movers_top else {}
        names = [a["symbol"] for a in active] + [g["symbol"] for g in movers.get("gainers", [])]
        return list(dict.fromkeys(n.upper() for n in names))

    async def candidates(self) -> list[Candidate]:
        symbols = self.symbols if self.symbols is not None else await self.discover()
        snapshots = await self.client.snapshots(symbols)
        found = []
        for symbol in symbols:
            snapshot = snapshots.get(symbol)
            candidate = candidate_from_snapshot(symbol, snapshot) if snapshot else None
            if candidate is not None:
                found.append(candidate)
        return found


class MarketStateInputs(MarketInputs):
    """Candidates read straight from a simulated :class:`~tradecore.sim.market.Market`.

    Price: the last trade; prior close: the asset's ``prior_close``; volume: the trades since
    04:00 New York of the market's date up to ``market.now()``; halted: the market's status.
    """

    def __init__(self, market: Market, symbols: Iterable[str] | None = None) -> None:
        self.market = market
        self.symbols = None if symbols is None else [s.upper() for s in symbols]

    async def candidates(self) -> list[Candidate]:
        now = self.market.now()
        start = day_start(now)
        names = self.symbols if self.symbols is not None else [a.symbol for a in self.market.assets()]
        found = []
        for symbol in names:
            trade = self.market.last_trade(symbol)
            if trade is None:
                continue
            asset = self.market.asset(symbol)
            volume = float(self.market.trades(symbol, start, now + 1)["size"].sum())
            state = self.market.status(symbol)
            found.append(Candidate(
                symbol, float(trade["price"]), asset.prior_close if asset else None, volume,
                state in (schema.TradingState.HALTED, schema.TradingState.PAUSED),
                int(trade["ts_event"])))
        return found
