"""The simulator's data feed: protocol conformance with the project's client and alpaca-py."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import msgpack
import pytest
import pytest_asyncio
from tradecore.sim.generator import ModelParams, new_york_ns
from tradecore.sim.server import SimServer
from tradecore.sim.simulated import SimulatedMarket
from tradecore.streams.alpaca import AlpacaStream
from tradecore.streams.base import EventKind
from websockets.asyncio.client import connect

DAY = dt.date(2026, 11, 27)
START = new_york_ns(DAY, "04:00")


def _market(**options: Any) -> SimulatedMarket:
    options.setdefault("symbols", 40)
    options.setdefault("gappers", 3)
    return SimulatedMarket(seed=21, start=START, speed=0, params=ModelParams(step_s=1.0),
                           **options)


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimServer]:
    market = _market()
    market.advance(new_york_ns(DAY, "08:00"))  # past most news: gappers are busy
    async with SimServer(market, port=0, run_market=False,
                         feed_options={"auth_timeout": 1.0, "symbol_limit": 30}) as server:
        yield server


async def _pump(market: SimulatedMarket, seconds: float) -> None:
    """Advance the market in small slices, yielding to the feed between them."""
    end = market.now() + int(seconds * 1e9)
    while market.now() < end:
        market.step()
        await asyncio.sleep(0)


async def _recv(ws: Any, encoding: str) -> list[dict[str, Any]]:
    frame = await asyncio.wait_for(ws.recv(), 5)
    return msgpack.unpackb(frame, timestamp=0) if encoding == "msgpack" else json.loads(frame)


async def _open(sim: SimServer, encoding: str = "json", **headers: str) -> Any:
    content = "application/msgpack" if encoding == "msgpack" else "application/json"
    ws = await connect(sim.stream_url, additional_headers={"Content-Type": content, **headers})
    assert await _recv(ws, encoding) == [{"T": "success", "msg": "connected"}]
    return ws


async def _send(ws: Any, message: Any, encoding: str = "json") -> None:
    await ws.send(msgpack.packb(message) if encoding == "msgpack" else json.dumps(message))


@pytest.mark.asyncio
@pytest.mark.parametrize("encoding", ["json", "msgpack"])
async def test_project_client_receives_trades_quotes_and_bars(sim: SimServer, encoding: str) -> None:
    market = sim.market
    assert isinstance(market, SimulatedMarket)
    symbols = market.gappers
    stream = AlpacaStream(url=sim.stream_url, key_id="any", secret_key="keys", encoding=encoding,  # type: ignore[arg-type]
                          channels=("trades", "quotes", "bars"))
    try:
        await stream.subscribe(symbols)
        kinds: set[EventKind] = set()

        async def consume() -> None:
            async for batch in stream:
                assert batch.symbol in symbols
                kinds.add(batch.kind)
                if {EventKind.TRADE, EventKind.QUOTE, EventKind.BAR} <= kinds:
                    return

        pump = asyncio.ensure_future(_pump(market, 600))
        await asyncio.wait_for(consume(), 20)
        pump.cancel()
        assert stream.stats.get("problems", 0) == 0
    finally:
        await stream.close()


@pytest.mark.asyncio
async def test_handshake_auth_subscribe_and_error_codes(sim: SimServer) -> None:
    ws = await _open(sim)
    await _send(ws, {"action": "subscribe", "trades": ["AAPL"]})
    assert (await _recv(ws, "json"))[0]["code"] == 401
    await ws.send("{not json")
    assert (await _recv(ws, "json"))[0] == {"T": "error", "code": 400, "msg": "invalid syntax"}
    await _send(ws, {"action": "auth", "key": "k", "secret": "s"})
    assert await _recv(ws, "json") == [{"T": "success", "msg": "authenticated"}]
    await _send(ws, {"action": "auth", "key": "k", "secret": "s"})
    assert (await _recv(ws, "json"))[0]["code"] == 403
    await _send(ws, {"action": "subscribe", "trades": ["AB", "CD"], "bars": ["*"]})
    reply = (await _recv(ws, "json"))[0]
    assert reply["T"] == "subscription" and reply["trades"] == ["AB", "CD"]
    assert reply["corrections"] == ["AB", "CD"] and reply["cancelErrors"] == ["AB", "CD"]
    assert reply["bars"] == ["*"] and reply["quotes"] == []
    await _send(ws, {"action": "subscribe", "orderbooks": ["AB"]})
    assert (await _recv(ws, "json"))[0]["code"] == 410
    await _send(ws, {"action": "subscribe", "trades": ["bad symbol!"]})
    assert (await _recv(ws, "json"))[0]["code"] == 400
    await _send(ws, {"action": "subscribe", "quotes": [f"S{i}" for i in range(40)]})
    assert (await _recv(ws, "json"))[0]["code"] == 405
    await _send(ws, {"action": "unsubscribe", "trades": ["AB"]})
    reply = (await _recv(ws, "json"))[0]
    assert reply["trades"] == ["CD"] and reply["quotes"] == []  # 405 left the set unchanged
    await _send(ws, [1, 2, 3])
    assert (await _recv(ws, "json"))[0]["code"] == 400
    await ws.close()


@pytest.mark.asyncio
async def test_auth_by_headers_own_keys_and_auth_timeout() -> None:
    async with SimServer(_market(), port=0, run_market=False, key_id="simkey", secret_key="simsecret",
                         feed_options={"auth_timeout": 0.3}) as sim:
        ws = await _open(sim, **{"APCA-API-KEY-ID": "simkey", "APCA-API-SECRET-KEY": "simsecret"})
        assert await _recv(ws, "json") == [{"T": "success", "msg": "authenticated"}]
        await ws.close()
        ws = await _open(sim)
        await _send(ws, {"action": "auth", "key": "simkey", "secret": "wrong"})
        assert (await _recv(ws, "json"))[0]["code"] == 402
        await ws.close()
        ws = await _open(sim)
        assert (await _recv(ws, "json"))[0]["code"] == 404


@pytest.mark.asyncio
async def test_connection_limit_per_key_is_406() -> None:
    async with SimServer(_market(), port=0, run_market=False,
                         feed_options={"connection_limit": 1}) as sim:
        first = await _open(sim)
        await _send(first, {"action": "auth", "key": "k", "secret": "s"})
        await _recv(first, "json")
        second = await _open(sim)
        await _send(second, {"action": "auth", "key": "k", "secret": "s"})
        assert (await _recv(second, "json"))[0]["code"] == 406
        await first.close()


@pytest.mark.asyncio
async def test_msgpack_data_have_t_first_and_timestamp_extension(sim: SimServer) -> None:
    market = sim.market
    assert isinstance(market, SimulatedMarket)
    ws = await _open(sim, "msgpack")
    await _send(ws, {"action": "auth", "key": "k", "secret": "s"}, "msgpack")
    await _recv(ws, "msgpack")
    await _send(ws, {"action": "subscribe", "trades": ["*"], "quotes": ["*"]}, "msgpack")
    await _recv(ws, "msgpack")
    pump = asyncio.ensure_future(_pump(market, 120))
    frame = await asyncio.wait_for(ws.recv(), 5)
    pump.cancel()
    assert isinstance(frame, bytes)
    messages = msgpack.unpackb(frame)  # default: Timestamp objects
    for message in messages:
        assert next(iter(message)) == "T"
        assert isinstance(message["t"], msgpack.Timestamp)
        assert message["T"] in ("t", "q")
        session_time = message["t"].to_unix_nano()
        assert START <= session_time <= market.now()
    await ws.close()


@pytest.mark.asyncio
async def test_slow_client_gets_407_and_is_disconnected() -> None:
    market = _market(symbols=80)
    market.advance(new_york_ns(DAY, "08:00"))
    async with SimServer(market, port=0, run_market=False,
                         feed_options={"max_queued": 300}) as sim:
        ws = await _open(sim)
        await _send(ws, {"action": "auth", "key": "k", "secret": "s"})
        await _recv(ws, "json")
        await _send(ws, {"action": "subscribe", "trades": ["*"], "quotes": ["*"]})
        await _recv(ws, "json")
        for _ in range(600):  # publish without yielding: the outbox overflows
            market.step()
        await asyncio.sleep(0.2)
        assert sim.feed.stats["slow_clients"] == 1
        frames = []
        try:
            while True:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), 2)))
        except Exception:  # noqa: BLE001 - the server closes the connection
            pass
        assert {"T": "error", "code": 407, "msg": "slow client"} in [m for f in frames for m in f]
        assert not sim.feed.sessions


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_alpaca_py_stream_receives_trades_quotes_and_bars(sim: SimServer) -> None:
    from alpaca.data.live import StockDataStream

    market = sim.market
    assert isinstance(market, SimulatedMarket)
    symbols = market.gappers
    got: dict[str, list[Any]] = {"trade": [], "quote": [], "bar": [], "status": []}

    async def on_trade(t: Any) -> None:
        got["trade"].append(t)

    async def on_quote(q: Any) -> None:
        got["quote"].append(q)

    async def on_bar(b: Any) -> None:
        got["bar"].append(b)

    async def on_status(s: Any) -> None:
        got["status"].append(s)

    stream = StockDataStream("any-key", "any-secret", url_override=sim.stream_url)
    stream.subscribe_trades(on_trade, *symbols)
    stream.subscribe_quotes(on_quote, *symbols)
    stream.subscribe_bars(on_bar, *symbols)
    stream.subscribe_trading_statuses(on_status, "*")
    runner = asyncio.ensure_future(stream._run_forever())
    try:
        for _ in range(200):
            await _pump(market, 30)
            await asyncio.sleep(0.01)
            if got["trade"] and got["quote"] and got["bar"]:
                break
        assert got["trade"] and got["quote"] and got["bar"]
        trade = got["trade"][0]
        assert trade.symbol in symbols and trade.price > 0 and trade.timestamp.year == 2026
        quote = got["quote"][0]
        assert quote.ask_price > quote.bid_price > 0
        bar = got["bar"][0]
        assert bar.high >= bar.low and bar.volume > 0
    finally:
        await stream.stop_ws()
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await stream.close()


@pytest.mark.asyncio
async def test_statuses_lulds_corrections_and_cancels_have_the_vendor_fields() -> None:
    market = SimulatedMarket(seed=5, start=START, speed=0, symbols=20, gappers=6,
                             params=ModelParams(step_s=1.0, correction_rate=0.05))
    market.advance(new_york_ns(DAY, "08:24"))  # this seed's first pause comes at 08:25:31
    fields = {"s": {"T", "S", "sc", "sm", "rc", "rm", "t", "z"},
              "l": {"T", "S", "u", "d", "i", "t", "z"},
              "c": {"T", "S", "x", "oi", "op", "os", "oc", "ci", "cp", "cs", "cc", "t", "z"},
              "x": {"T", "S", "i", "x", "p", "s", "a", "t", "z"}}
    async with SimServer(market, port=0, run_market=False) as sim:
        ws = await _open(sim)
        await _send(ws, {"action": "auth", "key": "k", "secret": "s"})
        await _recv(ws, "json")
        await _send(ws, {"action": "subscribe", "statuses": ["*"], "lulds": ["*"],
                         "trades": ["*"]})
        await _recv(ws, "json")
        seen: dict[str, dict[str, Any]] = {}
        pump = asyncio.ensure_future(_pump(market, 2 * 3600))
        try:
            while set(fields) - set(seen):
                for message in await _recv(ws, "json"):
                    seen.setdefault(message["T"], message)
        finally:
            pump.cancel()
        for kind, keys in fields.items():
            assert set(seen[kind]) == keys, kind
        assert seen["s"]["sc"] in ("P", "Q", "T") and seen["s"]["rc"] == "LUDP"
        assert seen["l"]["u"] > seen["l"]["d"] > 0
        assert seen["x"]["a"] == "C" and seen["c"]["cp"] != seen["c"]["op"]
        # Unread frames fill the client's queue and stall a graceful close (10 s timeout).
        ws.transport.abort()
