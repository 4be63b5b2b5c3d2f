"""Replay mode: recorded data through the same feed and REST."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from tradecore.sim.replayed import ReplayMarket, open_source
from tradecore.sim.server import SimServer
from tradecore.streams.alpaca import AlpacaStream
from tradecore.streams.base import EventKind
from tradecore.streams.replay import ReplayStream

OPEN_2013_10_07 = 1381152600 * 1_000_000_000  # 13:30 UTC = 09:30 New York


@pytest.mark.asyncio
async def test_lean_ticks_replay_through_the_feed_and_rest(lean_root: Path) -> None:
    source = open_source(lean_root)
    # Paced (50x): unpaced, a replay outruns any client and the feed drops it as slow (407).
    stream = ReplayStream(source, datasets=["trade"], start=OPEN_2013_10_07, speed=50)
    market = ReplayMarket(stream, ["SPY"])
    assert market.asset("SPY") is not None and market.asset("SPY").prior_close > 100  # type: ignore[union-attr]
    async with SimServer(market, port=0, run_market=False) as sim:
        client = AlpacaStream(url=sim.stream_url, key_id="k", secret_key="s",
                              channels=("trades", "bars"))
        try:
            await client.subscribe(["SPY"])
            runner = asyncio.ensure_future(market.run())

            async def receive(count: int) -> None:
                trades = 0
                async for batch in client:
                    if batch.kind is EventKind.TRADE:
                        trades += len(batch)
                    if trades >= count:
                        return

            await asyncio.wait_for(receive(2_000), 20)
            assert client.stats.get("duplicate_trade", 0) == 0
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        finally:
            await client.close()
        async with aiohttp.ClientSession() as http:
            async with http.get(sim.rest_url + "/v2/stocks/SPY/snapshot",
                                headers={"APCA-API-KEY-ID": "k", "APCA-API-SECRET-KEY": "s"}) as r:
                body = await r.json()
        assert body["latestTrade"]["p"] > 100 and body["dailyBar"]["c"] > 100
