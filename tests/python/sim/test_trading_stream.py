"""The trade_updates WebSocket: the wire protocol (protocols.md 2.7) and alpaca-py's
TradingStream receiving new, partial_fill, fill and canceled updates."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import msgpack
import pytest
from trading_support import KEY, SECRET, TradingServer, alpaca_trading

pytestmark = pytest.mark.asyncio

HEADERS = {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}


async def receive(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    frame = await asyncio.wait_for(socket.receive(), 5)
    assert frame.type == aiohttp.WSMsgType.BINARY, frame  # Alpaca paper: binary JSON frames
    return json.loads(frame.data)


async def place(server: TradingServer, **fields: Any) -> dict[str, Any]:
    body = {"symbol": "ACME", "qty": 1, "side": "buy", "type": "market", "time_in_force": "day"}
    body.update(fields)
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        async with session.post(server.url + "/v2/orders", json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()


async def test_handshake_auth_listen_and_updates_in_binary_json(regular: TradingServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(regular.stream_url) as socket:
            await socket.send_str(
                json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}})
            )
            assert await receive(socket) == {
                "stream": "authorization",
                "data": {"status": "unauthorized", "action": "listen"},
            }
            await socket.send_str(
                json.dumps({"action": "authenticate", "data": {"key_id": KEY, "secret_key": "bad"}})
            )
            assert (await receive(socket))["data"]["status"] == "unauthorized"
            await socket.send_str("{junk")
            assert (await receive(socket))["stream"] == "error"
            await socket.send_str(
                json.dumps(
                    {"action": "authenticate", "data": {"key_id": KEY, "secret_key": SECRET}}
                )
            )
            assert await receive(socket) == {
                "stream": "authorization",
                "data": {"status": "authorized", "action": "authenticate"},
            }
            await socket.send_str(
                json.dumps({"action": "listen", "data": {"streams": ["trade_updates", "nope"]}})
            )
            assert await receive(socket) == {
                "stream": "listening",
                "data": {"streams": ["trade_updates"]},
            }
            placed = await place(regular)
            new, fill = await receive(socket), await receive(socket)
            assert new["stream"] == fill["stream"] == "trade_updates"
            assert new["data"]["event"] == "new" and new["data"]["order"]["id"] == placed["id"]
            assert new["data"]["timestamp"].endswith("Z")
            data = fill["data"]
            assert data["event"] == "fill" and data["price"] == "10.02"
            assert data["qty"] == "1" and data["position_qty"] == "1"
            assert data["order"]["status"] == "filled" and data["execution_id"]
            # An empty list stops the stream.
            await socket.send_str(json.dumps({"action": "listen", "data": {"streams": []}}))
            assert await receive(socket) == {"stream": "listening", "data": {"streams": []}}
            await place(regular)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(socket.receive(), 0.3)


async def test_msgpack_clients_get_msgpack(regular: TradingServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            regular.stream_url, headers={"Content-Type": "application/msgpack"}
        ) as socket,
    ):
        await socket.send_bytes(
            msgpack.packb({"action": "authenticate", "data": {"key_id": KEY, "secret_key": SECRET}})
        )
        reply = msgpack.unpackb((await socket.receive()).data)
        assert reply["data"]["status"] == "authorized"


async def test_alpaca_py_trading_stream_receives_the_order_lifecycle(
    regular: TradingServer,
) -> None:
    alpaca_trading()
    from alpaca.trading.stream import TradingStream

    updates: asyncio.Queue[Any] = asyncio.Queue()

    async def on_update(update: Any) -> None:
        await updates.put(update)

    stream = TradingStream(KEY, SECRET, paper=True, url_override=regular.stream_url)
    stream.subscribe_trade_updates(on_update)
    task = asyncio.create_task(stream._run_forever())  # its own run() wants its own loop
    try:
        # Wait until the stream listens: the broker then has a subscriber.
        for _ in range(200):
            if regular.broker._subscribers:
                break
            await asyncio.sleep(0.01)
        assert regular.broker._subscribers
        regular.market.quote("ACME", 10.00, 10.02, ask_size=3)
        placed = await place(regular, qty=5)
        resting = await place(regular, type="limit", limit_price=9, time_in_force="gtc")
        async with aiohttp.ClientSession(headers=HEADERS) as session:
            url = f"{regular.url}/v2/orders/{resting['id']}"
            async with session.delete(url) as response:
                assert response.status == 204
        regular.market.quote("ACME", 10.00, 10.02, ask_size=100)
        seen = [await asyncio.wait_for(updates.get(), 5) for _ in range(5)]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await stream.close()
    events = [(getattr(u.event, "value", u.event), str(u.order.id)) for u in seen]
    assert events == [
        ("new", placed["id"]),
        ("partial_fill", placed["id"]),
        ("new", resting["id"]),
        ("canceled", resting["id"]),
        ("fill", placed["id"]),
    ]
    partial, fill = seen[1], seen[4]
    assert (partial.qty, partial.price, partial.position_qty) == (3.0, 10.02, 3.0)
    assert (fill.qty, fill.position_qty) == (2.0, 5.0)
    assert fill.order.filled_qty == "5" and fill.timestamp.tzinfo is not None
