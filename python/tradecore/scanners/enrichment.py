"""Per-symbol reference data (type, float, shares outstanding, prior close, average volume),
fetched once and cached with an expiry.

:class:`EnrichmentCache` asks its :class:`ReferenceProvider` only for symbols it has no fresh
entry for, all of them in one call, so repeated scans of the same names fetch nothing until
``ttl_seconds`` pass. Symbols the provider does not know are cached as unknown too (so they are
not asked for again on every scan) for ``ttl_seconds``.

Providers: :class:`StaticReferences` (a mapping), :class:`MarketReferences` (a simulated
:class:`~tradecore.sim.market.Market`), :class:`RestReferences` (``/v2/assets/{symbol}`` plus
daily bars for the average volume).
"""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tradecore.errors import ConfigError
from tradecore.scanners.client import MarketDataClient

if TYPE_CHECKING:
    from tradecore.sim.market import Market

__all__ = [
    "EnrichmentCache",
    "MarketReferences",
    "Reference",
    "ReferenceProvider",
    "RestReferences",
    "StaticReferences",
    "classify_name",
]

ASSET_TYPES = ("common", "etf", "warrant", "unit", "right", "preferred")


@dataclass(frozen=True, slots=True)
class Reference:
    """Reference data of one symbol; None where unknown.

    ``asset_type`` one of common/etf/warrant/unit/right/preferred; shares in shares; prices in
    dollars; ``average_volume`` the mean regular-session daily volume of recent days [shares].
    """

    symbol: str
    asset_type: str = "common"
    exchange: str | None = None
    shares_outstanding: float | None = None
    float_shares: float | None = None
    prior_close: float | None = None
    average_volume: float | None = None
    tradable: bool = True


_NAME_TYPES = (
    (re.compile(r"\bwarrants?\b", re.IGNORECASE), "warrant"),
    (re.compile(r"\bunits?\b", re.IGNORECASE), "unit"),
    (re.compile(r"\brights?\b", re.IGNORECASE), "right"),
    (re.compile(r"\b(preferred|depositary shares)\b", re.IGNORECASE), "preferred"),
    (re.compile(r"\b(etf|etn|exchange[- ]traded|index fund|trust units)\b", re.IGNORECASE), "etf"),
)


def classify_name(name: str) -> str:
    """Guess an asset type from its long name (what Alpaca's asset objects give)."""
    for pattern, kind in _NAME_TYPES:
        if pattern.search(name):
            return kind
    return "common"


class ReferenceProvider(abc.ABC):
    """Fetches reference data."""

    @abc.abstractmethod
    async def fetch(self, symbols: list[str]) -> dict[str, Reference]:
        """Reference data of the symbols it knows (others are left out)."""


class StaticReferences(ReferenceProvider):
    """Reference data from a mapping; ``calls`` counts fetches (for tests and dry runs)."""

    def __init__(self, references: Mapping[str, Reference] | Iterable[Reference]) -> None:
        items = references.values() if isinstance(references, Mapping) else references
        self.references = {r.symbol.upper(): r for r in items}
        self.calls = 0

    async def fetch(self, symbols: list[str]) -> dict[str, Reference]:
        self.calls += 1
        return {s: self.references[s] for s in symbols if s in self.references}


class MarketReferences(ReferenceProvider):
    """Reference data straight from a simulated :class:`~tradecore.sim.market.Market`."""

    def __init__(self, market: Market) -> None:
        self.market = market

    async def fetch(self, symbols: list[str]) -> dict[str, Reference]:
        found = {}
        for symbol in symbols:
            asset = self.market.asset(symbol)
            if asset is not None:
                found[symbol] = Reference(
                    symbol, asset.asset_type.value, asset.exchange, asset.shares_outstanding,
                    asset.float_shares, asset.prior_close, None, asset.tradable)
        return found


def _shares(value: object) -> float | None:
    """A share count as given: whole when finite; NaN or inf kept for the filters to name."""
    if value in (None, ""):
        return None
    number = float(value)  # type: ignore[arg-type]
    return int(number) if math.isfinite(number) else number


class RestReferences(ReferenceProvider):
    """Reference data over REST: ``/v2/assets/{symbol}`` and daily bars.

    Alpaca's asset object has no float or share count; the simulator adds ``asset_type``,
    ``shares_outstanding``, ``float_shares`` and ``prior_close`` fields, which are read when
    present. Without ``asset_type`` the type is guessed from the name (:func:`classify_name`).
    ``average_days`` daily bars before ``today()`` (New York date) give the average volume.
    """

    def __init__(self, client: MarketDataClient, *, average_days: int = 10,
                 today: Callable[[], dt.date] | None = None, concurrency: int = 8) -> None:
        self.client = client
        self.average_days = average_days
        self.today = today or (lambda: dt.datetime.now(dt.timezone.utc).date())
        self._limit = asyncio.Semaphore(concurrency)

    async def _asset(self, symbol: str) -> dict[str, Any] | None:
        async with self._limit:
            return await self.client.asset(symbol)

    async def fetch(self, symbols: list[str]) -> dict[str, Reference]:
        if not symbols:
            return {}
        assets = await asyncio.gather(*(self._asset(s) for s in symbols))
        known = {s: a for s, a in zip(symbols, assets, strict=True) if a}
        averages: dict[str, float] = {}
        if known and self.average_days > 0:
            today = self.today()
            start = today - dt.timedelta(days=self.average_days * 2 + 7)
            bars = await self.client.daily_bars(list(known), start.isoformat(),
                                                (today - dt.timedelta(days=1)).isoformat())
            for symbol, rows in bars.items():
                rows = [b for b in rows if str(b.get("t", ""))[:10] < today.isoformat()]
                volumes = [float(b["v"]) for b in rows[-self.average_days:]]
                if volumes:
                    averages[symbol] = sum(volumes) / len(volumes)
        found = {}
        for symbol, asset in known.items():
            kind = str(asset.get("asset_type") or classify_name(str(asset.get("name", ""))))
            prior = asset.get("prior_close")
            found[symbol] = Reference(
                symbol, kind.lower(), asset.get("exchange"),
                _shares(asset.get("shares_outstanding")), _shares(asset.get("float_shares")),
                None if prior is None else float(prior), averages.get(symbol),
                bool(asset.get("tradable", True)),
            )
        return found


class EnrichmentCache:
    """Cache of :class:`Reference` by symbol, each entry fresh for ``ttl_seconds``.

    ``clock`` (ns) is the wall clock by default; backtests pass the replay clock so entries
    expire in simulated time. ``stats``: ``fetches`` (provider calls), ``fetched`` (symbols
    asked for), ``hits``.
    """

    def __init__(self, provider: ReferenceProvider, *, ttl_seconds: float = 3600.0,
                 clock: Callable[[], int] | None = None) -> None:
        if ttl_seconds <= 0:
            raise ConfigError(f"ttl_seconds must be positive, not {ttl_seconds}")
        self.provider = provider
        self.ttl_ns = int(ttl_seconds * 1e9)
        self.clock = clock or time.time_ns
        self._entries: dict[str, tuple[int, Reference | None]] = {}
        self.stats = {"fetches": 0, "fetched": 0, "hits": 0}

    async def get(self, symbols: Iterable[str]) -> dict[str, Reference]:
        """Reference data of ``symbols`` it or the provider knows, fetching only stale ones."""
        now = self.clock()
        wanted = list(dict.fromkeys(s.upper() for s in symbols))
        stale = [s for s in wanted
                 if s not in self._entries or now - self._entries[s][0] >= self.ttl_ns]
        self.stats["hits"] += len(wanted) - len(stale)
        if stale:
            self.stats["fetches"] += 1
            self.stats["fetched"] += len(stale)
            fetched = await self.provider.fetch(stale)
            for symbol in stale:
                self._entries[symbol] = (now, fetched.get(symbol))
        found = {}
        for symbol in wanted:
            reference = self._entries[symbol][1]
            if reference is not None:
                found[symbol] = reference
        return found

    def invalidate(self, symbols: Iterable[str] | None = None) -> None:
        """Forget some symbols (or all)."""
        if symbols is None:
            self._entries.clear()
        for symbol in symbols or ():
            self._entries.pop(symbol.upper(), None)
