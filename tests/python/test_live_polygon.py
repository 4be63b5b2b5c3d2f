"""`tradecore live` on a Polygon/Massive stream (`[market] stream = "polygon"`): the real
Polygon stream client against a Polygon-protocol WebSocket server on loopback, REST (the fixed
scanner's warm-up, prior closes) from the simulator's Alpaca-protocol endpoints. The embedded
simulator's own feed speaks only the Alpaca protocol, so the market data is published by the
test server."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from tradecore.config import Config
from tradecore.errors import ConfigError
from tradecore.journal.registry import RunRegistry
from tradecore.live import run_live
from tradecore.sim.market import Asset, AssetType
from tradecore.sim.scripted import ScriptedMarket
from tradecore.sim.server import SimServer
from tradecore.streams.testing import PolygonTestServer, polygon_quote, polygon_trade

SYMBOLS = ["AAA", "BBB"]


def polygon_config(stream_url: str, rest_url: str) -> Config:
    return Config().with_overrides(
        market={"provider": "alpaca", "stream": "polygon", "stream_url": stream_url,
                "rest_url": rest_url},
        scanner={"kind": "fixed", "symbols": SYMBOLS}, strategy={"name": "ema_cross"},
        health={"enabled": False})


@pytest.mark.asyncio
async def test_live_trades_on_a_polygon_stream_with_the_key_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.delenv("MASSIVE_API_KEY", raising=False)
    assets = [Asset(s, s, "NASDAQ", AssetType.COMMON, 5_000_000, 2_000_000, 4.0) for s in SYMBOLS]
    async with PolygonTestServer(api_key="pk-from-the-env-0123") as polygon, \
            SimServer(ScriptedMarket(assets, time.time_ns()), port=0, run_market=False) as sim:
        monkeypatch.setenv("POLYGON_API_KEY", polygon.api_key)
        monkeypatch.setenv("APCA_API_KEY_ID", "rest-key")  # REST is Alpaca's
        monkeypatch.setenv("APCA_API_SECRET_KEY", "rest-secret")
        config = polygon_config(polygon.url, sim.rest_url)
        messages = []
        now_ms = time.time_ns() // 1_000_000
        for i in range(20):
            for symbol in SYMBOLS:
                messages.append(polygon_quote(symbol, now_ms + i, 4.0 + i / 100, 4.02 + i / 100))
                messages.append(polygon_trade(symbol, now_ms + i, 4.01 + i / 100, 100,
                                              trade_id=str(i)))
        live = asyncio.create_task(run_live(config, duration=60.0, ui=False, max_events=len(messages),
                                            runs_root=tmp_path / "runs"))
        session = await polygon.wait_for_session(1, timeout=30.0)
        await polygon.wait_for(lambda: all(
            s in session.subscriptions["T"] and s in session.subscriptions["Q"] for s in SYMBOLS),
            timeout=30.0)
        assert await polygon.publish(messages) == len(messages)
        result = await asyncio.wait_for(live, 60.0)
    assert session.received[0] == {"action": "auth", "params": "pk-from-the-env-0123"}
    assert result.events == len(messages) and not result.quarantined
    (run,) = RunRegistry(tmp_path / "runs").list()
    assert run.status == "finished" and run.parameters["market"]["stream"] == "polygon"
    client = [r for r in caplog.records if not r.name.startswith("tradecore.streams.testing")]
    assert "pk-from-the" not in "\n".join(r.getMessage() for r in client)
    assert not [r for r in client if r.levelno >= logging.WARNING], "a clean run warns of nothing"


def test_a_polygon_stream_without_a_key_or_on_the_simulator_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("MASSIVE_API_KEY", "POLYGON_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    config = polygon_config("ws://127.0.0.1:9/stocks", "http://127.0.0.1:9")
    with pytest.raises(ConfigError, match="MASSIVE_API_KEY \\(or POLYGON_API_KEY\\)"):
        asyncio.run(run_live(config, duration=1.0, ui=False, runs_root=tmp_path / "runs"))
    assert RunRegistry(tmp_path / "runs").list() == []  # refused before a run opened
    with pytest.raises(ConfigError, match='market: .*stream = "polygon" needs provider = "alpaca"'):
        Config().with_overrides(market={"stream": "polygon"})
    with pytest.raises(ConfigError, match="market.stream"):
        Config().with_overrides(market={"stream": "iex"})
