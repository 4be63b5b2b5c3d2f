"""A small client for the Alpaca-style market-data REST endpoints the scanners read.

Endpoints (``docs/protocols`` section 3): ``/v1beta1/screener/stocks/movers``,
``/v1beta1/screener/stocks/most-actives``, ``/v2/stocks/snapshots``, ``/v2/stocks/bars`` and,
for reference data, ``/v2/assets/{symbol}`` (on the trading host for the real service; the
simulator serves everything on one base URL). Keys come from the caller (the CLI reads the
environment), never from here. ``stats["requests"]`` counts the HTTP requests made.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any, Self

import aiohttp

from tradecore.errors import DataError

__all__ = ["MarketDataClient", "RestError"]

logger = logging.getLogger("tradecore.scanners")


class RestError(DataError):
    """An endpoint answered with an error status or a malformed body."""


class MarketDataClient:
    """Async client of the scanner endpoints.

    Parameters
    ----------
    base_url
        Market-data base URL, e.g. ``https://data.alpaca.markets`` or the simulator's.
    trading_url
        Base URL of ``/v2/assets`` (default ``base_url``).
    key_id, secret_key
        Sent as ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` when given.
    feed
        Snapshot and bar feed (``sip``, ``iex``, ...); None to let the server choose.
    chunk
        Symbols per snapshot or bars request.
    timeout
        Seconds per request.
    """

    def __init__(self, base_url: str, *, trading_url: str | None = None,
                 key_id: str | None = None, secret_key: str | None = None,
                 feed: str | None = None, chunk: int = 200, timeout: float = 10.0,
                 session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.trading_url = (trading_url or base_url).rstrip("/")
        self.feed = feed
        self.chunk = chunk
        headers = {}
        if key_id:
            headers["APCA-API-KEY-ID"] = key_id
        if secret_key:
            headers["APCA-API-SECRET-KEY"] = secret_key
        self._headers = headers
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None
        self.stats = {"requests": 0}

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await asyncio.shield(self._session.close())
        self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _get(self, url: str, params: dict[str, str] | None = None) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        self.stats["requests"] += 1
        async with self._session.get(url, params=params) as response:
            if response.status == 404:
                return None
            if response.status != 200:
                text = (await response.text())[:200]
                raise RestError(f"GET {url} -> {response.status}: {text}")
            try:
                return await response.json()
            except (aiohttp.ContentTypeError, ValueError) as error:
                raise RestError(f"GET {url}: malformed JSON ({error})") from None

    async def movers(self, top: int = 50) -> dict[str, Any]:
        """``{"gainers": [{symbol, percent_change, change, price}], "losers": [...], ...}``."""
        return await self._get(f"{self.base_url}/v1beta1/screener/stocks/movers",
                               {"top": str(top)}) or {}

    async def most_actives(self, top: int = 100, by: str = "volume") -> list[dict[str, Any]]:
        """``[{symbol, volume, trade_count}]`` for the current trading day."""
        body = await self._get(f"{self.base_url}/v1beta1/screener/stocks/most-actives",
                               {"top": str(top), "by": by})
        return list((body or {}).get("most_actives", []))

    def _chunks(self, symbols: Iterable[str]) -> list[Sequence[str]]:
        unique = list(dict.fromkeys(s.upper() for s in symbols))
        return [unique[i:i + self.chunk] for i in range(0, len(unique), self.chunk)]

    async def snapshots(self, symbols: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Symbol -> ``{latestTrade, latestQuote, minuteBar, dailyBar, prevDailyBar}``."""
        found: dict[str, dict[str, Any]] = {}
        for part in self._chunks(symbols):
            params = {"symbols": ",".join(part)}
            if self.feed:
                params["feed"] = self.feed
            body = await self._get(f"{self.base_url}/v2/stocks/snapshots", params)
            if isinstance(body, dict) and "snapshots" in body and isinstance(body["snapshots"], dict):
                body = body["snapshots"]  # the older wrapped form
            for symbol, snapshot in (body or {}).items():
                if isinstance(snapshot, dict):
                    found[symbol.upper()] = snapshot
        return found

    async def daily_bars(self, symbols: Iterable[str], start: str, end: str | None = None
                         ) -> dict[str, list[dict[str, Any]]]:
        """Daily bars per symbol in ``[start, end]`` (RFC 3339 or dates), all pages."""
        return await self.bars(symbols, start, end, timeframe="1Day")

    async def bars(self, symbols: Iterable[str], start: str, end: str | None = None, *,
                   timeframe: str = "1Min") -> dict[str, list[dict[str, Any]]]:
        """Bars of ``timeframe`` per symbol in ``[start, end]`` (RFC 3339 or dates), all pages."""
        found: dict[str, list[dict[str, Any]]] = {}
        for part in self._chunks(symbols):
            token: str | None = None
            while True:
                params = {"symbols": ",".join(part), "timeframe": timeframe, "start": start,
                          "limit": "10000", "adjustment": "raw"}
                if end:
                    params["end"] = end
                if self.feed:
                    params["feed"] = self.feed
                if token:
                    params["page_token"] = token
                body = await self._get(f"{self.base_url}/v2/stocks/bars", params) or {}
                for symbol, bars in (body.get("bars") or {}).items():
                    found.setdefault(symbol.upper(), []).extend(bars or [])
                token = body.get("next_page_token")
                if not token:
                    break
        return found

    async def asset(self, symbol: str) -> dict[str, Any] | None:
        """The asset object of ``symbol`` (None if unknown)."""
        return await self._get(f"{self.trading_url}/v2/assets/{symbol.upper()}")  # type: ignore[no-any-return]
