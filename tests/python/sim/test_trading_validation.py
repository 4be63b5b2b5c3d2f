"""Protocol errors of the paper-trading endpoints: 422 rules, 403 buying power, 401, 404,
malformed bodies; the server keeps serving after each."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from trading_support import KEY, SECRET, TradingServer, alpaca_trading

pytestmark = pytest.mark.asyncio

HEADERS = {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}


async def post(server: TradingServer, body: Any, *, raw: bytes | None = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        data = raw if raw is not None else None
        kwargs: dict[str, Any] = {"data": data} if raw is not None else {"json": body}
        async with session.post(server.url + "/v2/orders", **kwargs) as response:
            return response.status, await response.json(content_type=None)


def order(**fields: Any) -> dict[str, Any]:
    body = {"symbol": "ACME", "qty": "1", "side": "buy", "type": "market", "time_in_force": "day"}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"limit_price": "10.001", "type": "limit"}, "sub-penny increment"),
        ({"limit_price": 0.50001, "type": "limit", "symbol": "PENY"}, "sub-penny increment"),
        ({"type": "market", "extended_hours": True}, "extended hours order must be DAY limit"),
        (
            {"type": "limit", "limit_price": 10, "time_in_force": "gtc", "extended_hours": True},
            "extended hours order must be DAY limit",
        ),
        ({"type": "limit"}, "limit_price is required"),
        ({"type": "stop_limit", "limit_price": 10}, "stop_price is required"),
        ({"qty": "0"}, "qty must be > 0"),
        ({"qty": "-3"}, "qty must be > 0"),
        ({"qty": "abc"}, "invalid qty"),
        ({"qty": "NaN"}, "invalid qty"),
        ({"qty": True}, "invalid qty"),
        ({"qty": None}, "qty or notional is required"),
        ({"notional": "50"}, "mutually exclusive"),
        ({"qty": "1.5", "type": "limit", "limit_price": 10}, "fractional orders"),
        ({"qty": None, "notional": "50", "time_in_force": "gtc"}, "fractional orders"),
        ({"side": "hold"}, "invalid side"),
        ({"type": "trailing_stop"}, "not supported"),
        ({"time_in_force": "fok"}, "not supported"),
        ({"time_in_force": "forever"}, "invalid time_in_force"),
        ({"symbol": "NOPE"}, "asset not found"),
        ({"symbol": None}, "symbol is required"),
        ({"order_class": "bracket"}, "not supported"),
        ({"client_order_id": "x" * 129}, "client_order_id"),
        ({"extended_hours": "yes"}, "invalid extended_hours"),
    ],
)
async def test_bad_orders_get_422_with_code_and_message(
    regular: TradingServer, fields: dict[str, Any], message: str
) -> None:
    status, body = await post(regular, order(**fields))
    assert status == 422, body
    assert body["code"] == 42210000 and message in body["message"]


async def test_sub_penny_error_names_the_price(regular: TradingServer) -> None:
    status, body = await post(regular, order(type="limit", limit_price="290.123"))
    assert (status, body["message"]) == (
        422,
        "invalid limit_price 290.123. sub-penny increment does not fulfill minimum pricing criteria",
    )


async def test_numbers_and_numeric_strings_are_both_accepted(regular: TradingServer) -> None:
    status, body = await post(regular, order(qty=2, type="limit", limit_price=9.5))
    assert status == 200 and body["qty"] == "2" and body["limit_price"] == "9.5"
    status, body = await post(
        regular, order(qty="2", type="limit", limit_price="0.5123", symbol="PENY")
    )
    assert status == 200 and body["limit_price"] == "0.5123"


async def test_duplicate_client_order_id_is_rejected(regular: TradingServer) -> None:
    assert (await post(regular, order(client_order_id="same")))[0] == 200
    status, body = await post(regular, order(client_order_id="same"))
    assert status == 422 and "unique" in body["message"]


async def test_insufficient_buying_power_and_shares_get_403(regular: TradingServer) -> None:
    status, body = await post(regular, order(qty="20000"))
    assert (status, body["code"], body["message"]) == (403, 40310000, "insufficient buying power")
    # No position and shorting disabled by default: selling is refused.
    status, body = await post(regular, order(side="sell"))
    assert status == 403 and "insufficient qty available" in body["message"]
    # Open orders reserve buying power.
    assert (await post(regular, order(qty="9000", type="limit", limit_price="10")))[0] == 200
    status, _ = await post(regular, order(qty="1500", type="limit", limit_price="10"))
    assert status == 403


async def test_alpaca_py_sees_api_errors_with_status_and_code(regular: TradingServer) -> None:
    requests, enums = alpaca_trading()
    from alpaca.common.exceptions import APIError

    client = regular.client()
    with pytest.raises(APIError) as error:
        await asyncio.to_thread(
            client.submit_order,
            requests.LimitOrderRequest(
                symbol="ACME",
                qty=1,
                side=enums.OrderSide.BUY,
                time_in_force=enums.TimeInForce.DAY,
                limit_price=10.001,
            ),
        )
    assert error.value.status_code == 422 and error.value.code == 42210000
    with pytest.raises(APIError) as error:
        await asyncio.to_thread(
            client.submit_order,
            requests.MarketOrderRequest(
                symbol="ACME",
                qty=1_000_000,
                side=enums.OrderSide.BUY,
                time_in_force=enums.TimeInForce.DAY,
            ),
        )
    assert error.value.status_code == 403
    with pytest.raises(APIError) as error:
        await asyncio.to_thread(regular.client(secret="wrong").get_account)
    assert error.value.status_code == 401


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2]", b"\xff\xfe", b'"text"', b"{" * 100_000, b"[" * 100_000, b"null"],
)
async def test_malformed_bodies_get_400_and_the_server_keeps_serving(
    regular: TradingServer, raw: bytes
) -> None:
    status, body = await post(regular, None, raw=raw)
    assert 400 <= status < 500 and "message" in body
    status, body = await post(regular, order())
    assert status == 200 and body["status"] == "filled"


async def test_unknown_orders_and_positions_get_404_and_bad_queries_422(
    regular: TradingServer,
) -> None:
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        for method, path, expected in [
            ("GET", "/v2/orders/not-an-id", 404),
            ("DELETE", "/v2/orders/00000000-0000-0000-0000-000000000000", 404),
            ("GET", "/v2/orders:by_client_order_id?client_order_id=nope", 404),
            ("GET", "/v2/positions/ACME", 404),
            ("DELETE", "/v2/positions/ACME", 404),
            ("GET", "/v2/orders?limit=501", 422),
            ("GET", "/v2/orders?limit=ten", 422),
            ("GET", "/v2/orders?status=weird", 422),
            ("GET", "/v2/orders?after=yesterday", 422),
            ("PATCH", "/v2/orders/00000000-0000-0000-0000-000000000000", 404),
        ]:
            async with session.request(method, regular.url + path) as response:
                assert response.status == expected, (method, path)
                assert "message" in await response.json()
        async with session.get(
            regular.url + "/v2/account",
            headers={"APCA-API-KEY-ID": "x", "APCA-API-SECRET-KEY": "y"},
        ) as response:
            assert response.status == 401


async def test_canceling_a_filled_order_gets_422(regular: TradingServer) -> None:
    _, body = await post(regular, order())
    assert body["status"] == "filled"
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        async with session.delete(f"{regular.url}/v2/orders/{body['id']}") as response:
            assert response.status == 422


async def test_shorting_needs_the_switch_and_a_shortable_asset(regular: TradingServer) -> None:
    from tradecore.sim.trading import TradingConfig
    from trading_support import serve

    config = TradingConfig(shorting_enabled=True)
    async with serve(regular.market, config=config) as server:
        status, body = await post(server, order(side="sell", qty="5"))
        assert status == 200 and body["status"] == "filled"
        positions = await asyncio.to_thread(server.client().get_all_positions)
        assert positions[0].qty == "-5" and positions[0].side.value == "short"
        status, _ = await post(server, order(side="sell", qty="5", symbol="PENY"))
        assert status == 403  # PENY is not shortable
