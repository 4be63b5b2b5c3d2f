"""The simulator's REST endpoints, with aiohttp and with the alpaca-py clients."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from tradecore.sim.generator import ModelParams, new_york_ns
from tradecore.sim.market import Market
from tradecore.sim.rest import parse_query_time
from tradecore.sim.server import SimServer
from tradecore.sim.simulated import SimulatedMarket
from tradecore.streams.alpaca import parse_timestamp

DAY = dt.date(2026, 11, 27)
KEYS = {"APCA-API-KEY-ID": "k", "APCA-API-SECRET-KEY": "s"}


@pytest.fixture(scope="module")
def premarket() -> SimulatedMarket:
    """A market at 09:00 (built once; the tests only read it)."""
    market = SimulatedMarket(seed=8, start=new_york_ns(DAY, "04:00"), speed=0, symbols=50,
                             gappers=3, params=ModelParams(step_s=1.0))
    market.advance(new_york_ns(DAY, "09:00"))
    return market


@pytest_asyncio.fixture
async def sim(premarket: SimulatedMarket) -> AsyncIterator[SimServer]:
    market = premarket

    def extra(app: web.Application, market: Market) -> None:
        async def ping(request: web.Request) -> web.Response:
            return web.json_response({"now": market.now()})
        app.router.add_get("/v2/ping", ping)

    async with SimServer(market, port=0, run_market=False, extra_routes=[extra]) as server:
        yield server


async def _get(sim: SimServer, path: str, headers: dict[str, str] = KEYS, **params: Any
               ) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as client:
        async with client.get(sim.rest_url + path, headers=headers, params=params) as response:
            return response.status, await response.json()


@pytest.mark.asyncio
async def test_keys_are_required_and_extra_routes_are_mounted(sim: SimServer) -> None:
    status, body = await _get(sim, "/v2/assets", headers={})
    assert status == 401 and body["code"] == 40110000
    status, body = await _get(sim, "/v2/ping")
    assert status == 200 and body["now"] == sim.market.now()


@pytest.mark.asyncio
async def test_snapshot_has_latest_trade_quote_and_three_bars(sim: SimServer) -> None:
    market = sim.market
    assert isinstance(market, SimulatedMarket)
    gapper = market.gappers[0]
    status, body = await _get(sim, "/v2/stocks/snapshots", symbols=f"{gapper},NOPE")
    assert status == 200 and list(body) == [gapper]
    snap = body[gapper]
    assert snap["latestTrade"]["p"] == float(market.last_trade(gapper)["price"])  # type: ignore[index]
    assert snap["latestQuote"]["ap"] > snap["latestQuote"]["bp"]
    assert snap["dailyBar"]["t"] > snap["prevDailyBar"]["t"]
    assert snap["prevDailyBar"]["c"] == market.asset(gapper).prior_close  # type: ignore[union-attr]
    assert snap["minuteBar"]["v"] > 0
    status, body = await _get(sim, f"/v2/stocks/{gapper}/snapshot")
    assert status == 200 and body["symbol"] == gapper
    status, body = await _get(sim, "/v2/stocks/NOPE/snapshot")
    assert status == 404


@pytest.mark.asyncio
async def test_movers_rank_premarket_prints_against_prior_close(sim: SimServer) -> None:
    market = sim.market
    assert isinstance(market, SimulatedMarket)
    status, body = await _get(sim, "/v1beta1/screener/stocks/movers", top="5")
    assert status == 200
    top = {m["symbol"] for m in body["gainers"]}
    assert set(market.gappers) <= top
    assert all(m["percent_change"] > 0 for m in body["gainers"])
    status, body = await _get(sim, "/v1beta1/screener/stocks/most-actives", by="trades", top="3")
    assert status == 200 and len(body["most_actives"]) == 3
    counts = [m["trade_count"] for m in body["most_actives"]]
    assert counts == sorted(counts, reverse=True)
    status, body = await _get(sim, "/v1beta1/screener/stocks/most-actives", top="101")
    assert status == 400


@pytest.mark.asyncio
async def test_bars_and_trades_paginate_without_gaps_or_repeats(sim: SimServer) -> None:
    market = sim.market
    assert isinstance(market, SimulatedMarket)
    symbols = market.gappers[:2]
    seen: list[tuple[str, str]] = []
    token = None
    pages = 0
    while True:
        params = {"symbols": ",".join(symbols), "limit": "97"}
        if token:
            params["page_token"] = token
        status, body = await _get(sim, "/v2/stocks/trades", **params)
        assert status == 200
        pages += 1
        for symbol, rows in body["trades"].items():
            seen.extend((symbol, f'{r["t"]}/{r["i"]}') for r in rows)
        token = body["next_page_token"]
        if token is None:
            break
    expected = sum(len(market.trades(s, 0, 2**62)) for s in symbols)
    assert len(seen) == expected == len(set(seen)) and pages > 2
    status, body = await _get(sim, "/v2/stocks/bars", symbols=symbols[0], timeframe="5Min")
    assert status == 200 and len(body["bars"][symbols[0]]) > 5
    status, body = await _get(sim, "/v2/stocks/bars", symbols=symbols[0], timeframe="7Parsecs")
    assert status == 400


@pytest.mark.asyncio
async def test_assets_carry_scanner_fields(sim: SimServer) -> None:
    status, body = await _get(sim, "/v2/assets")
    assert status == 200 and len(body) == 50
    types = {a["asset_type"] for a in body}
    assert "common" in types and len(types) > 2
    first = body[0]
    for key in ("float_shares", "shares_outstanding", "prior_close", "exchange", "class"):
        assert key in first
    status, one = await _get(sim, f"/v2/assets/{first['symbol']}")
    assert status == 200 and one == first


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
async def test_alpaca_py_rest_clients_read_snapshots_screeners_history_and_assets(
        sim: SimServer) -> None:
    from alpaca.data.enums import MostActivesBy
    from alpaca.data.historical import ScreenerClient, StockHistoricalDataClient
    from alpaca.data.requests import (
        MarketMoversRequest,
        MostActivesRequest,
        StockBarsRequest,
        StockSnapshotRequest,
        StockTradesRequest,
    )
    from alpaca.data.timeframe import TimeFrame
    from alpaca.trading.client import TradingClient

    market = sim.market
    assert isinstance(market, SimulatedMarket)
    gapper = market.gappers[0]

    def calls() -> dict[str, Any]:
        data = StockHistoricalDataClient("k", "s", url_override=sim.rest_url)
        screener = ScreenerClient("k", "s", url_override=sim.rest_url)
        trading = TradingClient("k", "s", url_override=sim.rest_url)
        return {
            "snapshot": data.get_stock_snapshot(StockSnapshotRequest(symbol_or_symbols=[gapper])),
            "bars": data.get_stock_bars(StockBarsRequest(symbol_or_symbols=[gapper],
                                                         timeframe=TimeFrame.Minute)),
            "daily": data.get_stock_bars(StockBarsRequest(symbol_or_symbols=[gapper],
                                                          timeframe=TimeFrame.Day)),
            "trades": data.get_stock_trades(StockTradesRequest(symbol_or_symbols=[gapper])),
            "actives": screener.get_most_actives(MostActivesRequest(by=MostActivesBy.VOLUME, top=5)),
            "movers": screener.get_market_movers(MarketMoversRequest(top=5)),
            "assets": trading.get_all_assets(),
        }

    got = await asyncio.to_thread(calls)
    snap = got["snapshot"][gapper]
    assert snap.latest_trade.price == float(market.last_trade(gapper)["price"])  # type: ignore[index]
    assert snap.previous_daily_bar.close == market.asset(gapper).prior_close  # type: ignore[union-attr]
    assert len(got["bars"].data[gapper]) == len(market.bars(gapper, 0, 2**62))
    assert len(got["daily"].data[gapper]) == 31
    assert len(got["trades"].data[gapper]) == len(market.trades(gapper, 0, 2**62))
    assert len(got["actives"].most_actives) == 5
    assert gapper in {m.symbol for m in got["movers"].gainers}
    assert len(got["assets"]) == 50


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("2024-03-04T14:30:00.123456789Z", "2024-03-04T14:30:00.123456789Z"),  # nanoseconds kept
        (" 2024-03-04T14:30:00.1234567891z ", "2024-03-04T14:30:00.123456789Z"),
        ("2024-03-04T09:30:00.5-05:00", "2024-03-04T14:30:00.5Z"),
        ("2024-03-04T19:30:00 05:00", "2024-03-04T14:30:00Z"),  # "+05:00" after URL decoding
        ("2024-03-04T14:30:00", "2024-03-04T14:30:00Z"),  # no offset: UTC
        ("2024-03-04", "2024-03-04T00:00:00Z"),
    ],
)
def test_time_queries_are_read_exactly(text: str, same_as: str) -> None:
    assert parse_query_time(text) == parse_timestamp(same_as)


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", ""])
def test_a_time_query_that_is_no_time_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_query_time(text)
