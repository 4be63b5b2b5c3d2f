"""The scanner of a configuration (`build_scanner`, what `tradecore live` and `tradecore scan`
use) over the simulator's REST endpoints on loopback, checked against the simulated market."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from tradecore.config import Config
from tradecore.scanners import MarketDataClient, TopGainersScanner, build_scanner
from tradecore.sim.generator import ModelParams, new_york_ns
from tradecore.sim.server import SimServer
from tradecore.sim.simulated import SimulatedMarket

DAY = dt.date(2026, 11, 27)
KEY = "tradecore-sim"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimServer]:
    market = SimulatedMarket(seed=11, start=new_york_ns(DAY, "04:00"), speed=0, symbols=120,
                             gappers=6, params=ModelParams(step_s=1.0))
    market.advance(new_york_ns(DAY, "08:30"))
    async with SimServer(market, port=0, run_market=False) as server:
        yield server


def gainers(market: SimulatedMarket) -> list[tuple[float, str]]:
    """(-change %, symbol) of the 50 gainers the movers screener lists, from the market."""
    found = []
    for asset in market.assets():
        trade = market.last_trade(asset.symbol)
        if trade is not None and asset.prior_close > 0:
            change = (float(trade["price"]) / asset.prior_close - 1) * 100
            if round(change, 2) > 0:
                found.append((-change, asset.symbol))
    return sorted(found)[:50]


@pytest.mark.asyncio
async def test_top_gainers_of_a_configuration_honour_its_filters_on_the_simulator(
        sim: SimServer) -> None:
    market = sim.market
    assert isinstance(market, SimulatedMarket)
    ranked = gainers(market)
    top = ranked[0][1]
    config = Config().with_overrides(scanner={"kind": "top_gainers", "filters": {
        "min_gap_percent": 1.0, "min_price": 1.0, "max_price": 30.0,
        "min_premarket_volume": 20_000, "max_float": 40_000_000, "deny": [top],
        "max_symbols": 5}})
    async with MarketDataClient(sim.rest_url, key_id=KEY, secret_key=KEY) as client:
        scanner = build_scanner(config.scanner, client=client, clock=market.now)
        assert isinstance(scanner, TopGainersScanner)
        change = await scanner.update()
    expected = []
    for negative, symbol in ranked:
        asset = market.asset(symbol)
        assert asset is not None
        price = float(market.last_trade(symbol)["price"])  # type: ignore[index]
        daily = market.daily_bar(symbol)
        volume = float(daily["volume"]) if daily is not None else 0.0
        if (symbol != top and 1.0 <= price <= 30.0 and -negative >= 1.0 and volume >= 20_000
                and asset.float_shares <= 40_000_000 and asset.tradable
                and asset.asset_type.value not in ("etf", "warrant", "unit", "right")):
            expected.append(symbol)
    assert change.universe == tuple(expected[:5])
    rows = {r.symbol: r for r in scanner.rows}
    assert rows[top].reasons[0] == "deny"
    out = {reason for r in rows.values() for reason in r.reasons}
    assert {"price", "premarket_volume", "float"} & out  # the filters did cut gainers out
    for symbol in change.universe:
        values = rows[symbol].values
        assert values["prior_close"] == market.asset(symbol).prior_close  # type: ignore[union-attr]
        assert values["float_shares"] is not None and values["percent_change"] >= 1.0


def test_live_trades_the_top_gainers_its_configuration_filters(tmp_path: Path) -> None:
    """`tradecore live` with `scanner.kind = "top_gainers"`: every universe it journals obeys
    `scanner.filters`; the denied symbol is the session's biggest gapper."""
    from tradecore.journal import Journal
    from tradecore.live import run_live

    gapper = SimulatedMarket(seed=7, symbols=300, speed=0).gappers[0]  # the live run's market
    filters = {"deny": [gapper], "min_gap_percent": 2.0, "min_price": 1.0, "max_price": 100.0,
               "min_premarket_volume": 50, "max_symbols": 4}
    config = Config().with_overrides(sim={"speed": 900.0, "seed": 7},
                                     scanner={"kind": "top_gainers", "filters": filters},
                                     strategy={"name": "ema_cross"})
    live = asyncio.run(run_live(config, duration=5.0, ui=False, runs_root=tmp_path / "runs"))
    with Journal(live.folder / "journal.sqlite", readonly=True) as journal:
        universes = [r.data for r in journal.records("universe")]
    assert universes and any(u["universe"] for u in universes)
    assert all(u["scanner"] == "top_gainers" for u in universes)
    for record in universes:
        assert gapper not in record["universe"]
        assert len(record["universe"]) <= 4 + len(record["kept"])
        for symbol in set(record["universe"]) - set(record["kept"]):
            values = record["values"][symbol]
            assert 1.0 <= values["price"] <= 100.0, (symbol, values)
            assert values["percent_change"] >= 2.0 and values["volume"] >= 50, (symbol, values)
