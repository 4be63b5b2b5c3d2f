"""A loopback REST server serving the scanner endpoints from LEAN coarse universe files.

Two coarse days make a market "now": the later day's close is every symbol's latest trade and
its volume today's volume; the earlier day's close is the prior close. Daily bars of every
coarse day before "today" serve the average volume. ``requests`` counts real HTTP requests by
path prefix.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Self

import pandas as pd
import pytest
import pytest_asyncio
from aiohttp import web

COARSE_COLUMNS = ["security_id", "ticker", "close", "volume", "dollar_volume",
                  "has_fundamental_data", "price_factor", "split_factor"]
ETFS = {"SPY", "QQQ", "IWM", "EEM", "USO", "BNO", "DIA", "GLD", "XLF", "TQQQ"}


def read_coarse(lean_root: Path, day: str) -> pd.DataFrame:
    """One coarse file; the second column is the ticker on that day (the first token of the
    security id is the ticker at listing, which can differ)."""
    path = lean_root / "equity" / "usa" / "fundamental" / "coarse" / f"{day}.csv"
    # keep_default_na=False: tickers such as NA and NAN are symbols, not missing values.
    frame = pd.read_csv(path, header=None, names=COARSE_COLUMNS, keep_default_na=False,
                        dtype={"ticker": str})
    return frame.drop_duplicates("ticker").set_index("ticker")


def asset_type(ticker: str) -> str:
    if ticker in ETFS:
        return "etf"
    if len(ticker) == 5 and ticker.endswith("W"):
        return "warrant"
    if len(ticker) == 5 and ticker.endswith("U"):
        return "unit"
    if len(ticker) == 5 and ticker.endswith("R"):
        return "right"
    return "common"


def float_shares(row: pd.Series) -> int:
    """A synthetic but deterministic float: 50 days of the day's volume."""
    return int(row["volume"]) * 50


class CoarseMarket:
    asset_type = staticmethod(asset_type)
    float_shares = staticmethod(float_shares)

    def __init__(self, lean_root: Path, prior: str, today: str,
                 history: list[str] | None = None) -> None:
        self.prior_day, self.today_day = prior, today
        self.prior = read_coarse(lean_root, prior)
        self.today = read_coarse(lean_root, today)
        self.both = self.today.join(self.prior[["close"]], suffixes=("", "_prior"), how="inner")
        self.both["percent_change"] = (self.both["close"] / self.both["close_prior"] - 1) * 100
        self.history = {day: read_coarse(lean_root, day) for day in (history or [prior])}
        self.halted: set[str] = set()
        # Damaged values served as they are (NaN, inf and negatives go out as JSON literals):
        # symbol -> {"price" | "volume" | "prior_close" | "float_shares" | "history_volume": value}.
        self.damage: dict[str, dict[str, float]] = {}
        self.requests: collections.Counter[str] = collections.Counter()
        self.url = ""
        self._runner: web.AppRunner | None = None

    def _stamp(self, day: str, hour: int = 16) -> str:
        local = pd.Timestamp(dt.datetime.strptime(day, "%Y%m%d").replace(hour=hour),
                             tz="America/New_York")
        return local.tz_convert("UTC").isoformat().replace("+00:00", "Z")

    def _bar(self, day: str, row: pd.Series) -> dict[str, object]:
        close = float(row["close"])
        return {"t": self._stamp(day, 0), "o": close, "h": close, "l": close, "c": close,
                "v": int(row["volume"]), "n": 1, "vw": close}

    async def movers(self, request: web.Request) -> web.Response:
        top = int(request.query.get("top", 10))
        ranked = self.both.sort_values(["percent_change"], ascending=False, kind="stable")

        def entry(ticker: str, row: pd.Series) -> dict[str, object]:
            return {"symbol": ticker, "percent_change": float(row["percent_change"]),
                    "change": float(row["close"] - row["close_prior"]), "price": float(row["close"])}

        return web.json_response({
            "gainers": [entry(t, r) for t, r in ranked.head(top).iterrows()],
            "losers": [entry(t, r) for t, r in ranked.iloc[::-1].head(top).iterrows()],
            "market_type": "stocks", "last_updated": self._stamp(self.today_day),
        })

    async def most_actives(self, request: web.Request) -> web.Response:
        top = int(request.query.get("top", 10))
        ranked = self.today.sort_values("volume", ascending=False, kind="stable").head(top)
        return web.json_response({"most_actives": [
            {"symbol": t, "volume": int(r["volume"]), "trade_count": 1} for t, r in ranked.iterrows()
        ], "last_updated": self._stamp(self.today_day)})

    async def snapshots(self, request: web.Request) -> web.Response:
        body = {}
        for symbol in request.query["symbols"].split(","):
            if symbol not in self.today.index:
                continue
            row = self.today.loc[symbol]
            damage = self.damage.get(symbol, {})
            snapshot = {
                "latestTrade": {"t": self._stamp(self.today_day, 9),
                                "p": damage.get("price", float(row["close"])),
                                "s": 100, "x": "V", "i": 1, "c": ["@"], "z": "C"},
                "dailyBar": self._bar(self.today_day, row),
            }
            if "volume" in damage:
                snapshot["dailyBar"]["v"] = damage["volume"]  # type: ignore[index]
            if symbol in self.prior.index:
                snapshot["prevDailyBar"] = self._bar(self.prior_day, self.prior.loc[symbol])
                if "prior_close" in damage:
                    snapshot["prevDailyBar"]["c"] = damage["prior_close"]  # type: ignore[index]
            body[symbol] = snapshot
        return web.json_response(body)

    async def bars(self, request: web.Request) -> web.Response:
        found: dict[str, list[dict[str, object]]] = {}
        for symbol in request.query["symbols"].split(","):
            for day, frame in sorted(self.history.items()):
                if symbol in frame.index:
                    bar = self._bar(day, frame.loc[symbol])
                    bar["v"] = self.damage.get(symbol, {}).get("history_volume", bar["v"])
                    found.setdefault(symbol, []).append(bar)
        return web.json_response({"bars": found, "next_page_token": None})

    async def asset(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        if symbol not in self.today.index:
            return web.json_response({"message": "not found"}, status=404)
        row = self.today.loc[symbol]
        return web.json_response({
            "symbol": symbol, "name": f"{symbol} Inc", "exchange": "NASDAQ",
            "class": "us_equity", "status": "active", "tradable": True,
            "asset_type": asset_type(symbol),
            "float_shares": self.damage.get(symbol, {}).get("float_shares", float_shares(row)),
            "shares_outstanding": float_shares(row) * 2,
        })

    @web.middleware
    async def count(self, request: web.Request, handler: Callable) -> web.StreamResponse:  # type: ignore[type-arg]
        self.requests[request.path.rsplit("/", 1)[0] if "/assets/" in request.path
                      else request.path] += 1
        return await handler(request)  # type: ignore[no-any-return]

    async def __aenter__(self) -> Self:
        app = web.Application(middlewares=[self.count])
        app.router.add_get("/v1beta1/screener/stocks/movers", self.movers)
        app.router.add_get("/v1beta1/screener/stocks/most-actives", self.most_actives)
        app.router.add_get("/v2/stocks/snapshots", self.snapshots)
        app.router.add_get("/v2/stocks/bars", self.bars)
        app.router.add_get("/v2/assets/{symbol}", self.asset)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest_asyncio.fixture
async def coarse_market(lean_root: Path) -> AsyncIterator[CoarseMarket]:
    """The market of 2014-03-25 after 2014-03-24, with that day as the volume history."""
    async with CoarseMarket(lean_root, "20140324", "20140325", ["20140324"]) as market:
        yield market


@pytest.fixture
def coarse_reader(lean_root: Path) -> Callable[[str], pd.DataFrame]:
    return lambda day: read_coarse(lean_root, day)
