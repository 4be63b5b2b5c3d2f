"""alpaca-py's TradingClient against the paper-trading endpoints on a scripted market."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from tradecore import schema
from trading_support import TradingServer, alpaca_trading, new_york

pytestmark = pytest.mark.asyncio


def requests_module():
    return alpaca_trading()


async def call(function, *args, **kwargs):
    """alpaca-py is synchronous: keep the server's loop free while it waits."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_market_buy_fills_at_the_ask_and_updates_account_and_position(
    regular: TradingServer,
) -> None:
    req, enums = requests_module()
    client = regular.client()
    order = await call(
        client.submit_order,
        req.MarketOrderRequest(
            symbol="ACME", qty=10, side=enums.OrderSide.BUY, time_in_force=enums.TimeInForce.DAY
        ),
    )
    assert order.status == enums.OrderStatus.FILLED
    assert order.filled_qty == "10" and order.filled_avg_price == "10.02"
    position = await call(client.get_open_position, "ACME")
    assert position.qty == "10" and position.side == enums.PositionSide.LONG
    assert position.avg_entry_price == "10.02" and position.cost_basis == "100.2"
    account = await call(client.get_account)
    assert Decimal(account.cash) == Decimal(100000) - Decimal("100.2")
    assert account.status == enums.AccountStatus.ACTIVE


async def test_limit_order_rests_then_fills_when_the_book_moves_through_it(
    regular: TradingServer,
) -> None:
    req, enums = requests_module()
    client = regular.client()
    order = await call(
        client.submit_order,
        req.LimitOrderRequest(
            symbol="ACME",
            qty=5,
            side=enums.OrderSide.BUY,
            time_in_force=enums.TimeInForce.GTC,
            limit_price=9.95,
            client_order_id="rest-1",
        ),
    )
    assert order.status == enums.OrderStatus.NEW
    assert order.limit_price == "9.95" and order.client_order_id == "rest-1"
    open_orders = await call(client.get_orders)
    assert [o.id for o in open_orders] == [order.id]
    regular.market.quote("ACME", 9.90, 9.94)
    filled = await call(client.get_order_by_client_id, "rest-1")
    assert filled.status == enums.OrderStatus.FILLED and filled.filled_avg_price == "9.95"
    closed = await call(
        client.get_orders, req.GetOrdersRequest(status=enums.QueryOrderStatus.CLOSED)
    )
    assert [o.id for o in closed] == [order.id]


async def test_stop_order_triggers_on_a_trade_through_its_stop(regular: TradingServer) -> None:
    req, enums = requests_module()
    client = regular.client()
    await call(
        client.submit_order,
        req.MarketOrderRequest(
            symbol="ACME", qty=20, side=enums.OrderSide.BUY, time_in_force=enums.TimeInForce.DAY
        ),
    )
    stop = await call(
        client.submit_order,
        req.StopOrderRequest(
            symbol="ACME",
            qty=20,
            side=enums.OrderSide.SELL,
            time_in_force=enums.TimeInForce.DAY,
            stop_price=9.50,
        ),
    )
    assert stop.status == enums.OrderStatus.NEW
    regular.market.trade("ACME", 9.49)
    regular.market.quote("ACME", 9.45, 9.50)
    done = await call(client.get_order_by_id, stop.id)
    assert done.status == enums.OrderStatus.FILLED
    assert await call(client.get_all_positions) == []


async def test_extended_hours_limit_fills_in_premarket_but_market_orders_wait(
    premarket: TradingServer,
) -> None:
    req, enums = requests_module()
    client = premarket.client()
    extended = await call(
        client.submit_order,
        req.LimitOrderRequest(
            symbol="ACME",
            qty=10,
            side=enums.OrderSide.BUY,
            time_in_force=enums.TimeInForce.DAY,
            limit_price=10.05,
            extended_hours=True,
        ),
    )
    assert extended.status == enums.OrderStatus.FILLED and extended.extended_hours
    waiting = await call(
        client.submit_order,
        req.MarketOrderRequest(
            symbol="ACME", qty=3, side=enums.OrderSide.BUY, time_in_force=enums.TimeInForce.DAY
        ),
    )
    assert waiting.status == enums.OrderStatus.ACCEPTED
    premarket.market.quote("ACME", 10.10, 10.12, ts=new_york(9, 29))
    assert (await call(client.get_order_by_id, waiting.id)).status == enums.OrderStatus.ACCEPTED
    premarket.market.quote("ACME", 10.20, 10.22, ts=new_york(9, 30) + 1)
    # Routed at 09:30:00 exactly, it takes the book standing then (the 09:29 quote).
    routed = await call(client.get_order_by_id, waiting.id)
    assert routed.status == enums.OrderStatus.FILLED and routed.filled_avg_price == "10.12"
    clock = await call(client.get_clock)
    assert clock.is_open


async def test_day_orders_expire_at_the_close_and_gtc_orders_wait_for_the_next_open(
    regular: TradingServer,
) -> None:
    req, enums = requests_module()
    client = regular.client()
    day = await call(
        client.submit_order,
        req.LimitOrderRequest(
            symbol="ACME",
            qty=1,
            side=enums.OrderSide.BUY,
            time_in_force=enums.TimeInForce.DAY,
            limit_price=5,
        ),
    )
    gtc = await call(
        client.submit_order,
        req.LimitOrderRequest(
            symbol="ACME",
            qty=1,
            side=enums.OrderSide.BUY,
            time_in_force=enums.TimeInForce.GTC,
            limit_price=9,
        ),
    )
    regular.market.quote("ACME", 10.00, 10.02, ts=new_york(16, 0) + 5)
    expired = await call(client.get_order_by_id, day.id)
    assert expired.status == enums.OrderStatus.EXPIRED
    assert expired.expired_at is not None
    # After hours the GTC order is out of the book: a cross does not fill it.
    regular.market.quote("ACME", 8.90, 8.95, ts=new_york(17, 0))
    assert (await call(client.get_order_by_id, gtc.id)).status == enums.OrderStatus.NEW
    regular.market.quote("ACME", 8.90, 8.95, ts=new_york(9, 30, day=3) + 1)
    assert (await call(client.get_order_by_id, gtc.id)).status == enums.OrderStatus.FILLED
    clock = await call(client.get_clock)
    assert clock.is_open and clock.next_close.hour == 16


async def test_cancel_cancel_all_and_close_position(regular: TradingServer) -> None:
    req, enums = requests_module()
    client = regular.client()
    await call(
        client.submit_order,
        req.MarketOrderRequest(
            symbol="ACME", qty=30, side=enums.OrderSide.BUY, time_in_force=enums.TimeInForce.DAY
        ),
    )
    resting = [
        await call(
            client.submit_order,
            req.LimitOrderRequest(
                symbol="ACME",
                qty=1,
                side=enums.OrderSide.BUY,
                time_in_force=enums.TimeInForce.DAY,
                limit_price=price,
            ),
        )
        for price in (9.0, 9.1, 9.2)
    ]
    await call(client.cancel_order_by_id, resting[0].id)
    assert (await call(client.get_order_by_id, resting[0].id)).status == (
        enums.OrderStatus.CANCELED
    )
    responses = await call(client.cancel_orders)
    assert sorted(str(r.id) for r in responses) == sorted(str(o.id) for o in resting[1:])
    assert {r.status for r in responses} == {200}
    close = await call(client.close_position, "ACME", req.ClosePositionRequest(percentage="50"))
    assert close.side == enums.OrderSide.SELL and close.qty == "15"
    assert close.status == enums.OrderStatus.FILLED
    remaining = await call(client.get_open_position, "ACME")
    assert remaining.qty == "15"
    closed = await call(client.close_all_positions, True)
    assert [c.symbol for c in closed] == ["ACME"] and closed[0].status == 200
    assert await call(client.get_all_positions) == []


async def test_replace_order_gets_a_new_id_and_the_old_one_is_replaced(
    regular: TradingServer,
) -> None:
    req, enums = requests_module()
    client = regular.client()
    order = await call(
        client.submit_order,
        req.LimitOrderRequest(
            symbol="ACME",
            qty=4,
            side=enums.OrderSide.BUY,
            time_in_force=enums.TimeInForce.DAY,
            limit_price=9.5,
        ),
    )
    new = await call(
        client.replace_order_by_id, order.id, req.ReplaceOrderRequest(limit_price=9.75, qty=6)
    )
    assert new.id != order.id and str(new.replaces) == str(order.id)
    assert new.limit_price == "9.75" and new.qty == "6"
    old = await call(client.get_order_by_id, order.id)
    assert old.status == enums.OrderStatus.REPLACED and str(old.replaced_by) == str(new.id)


async def test_halt_blocks_fills_until_trading_resumes(regular: TradingServer) -> None:
    req, enums = requests_module()
    client = regular.client()
    regular.market.set_status("HALT", schema.TradingState.HALTED)
    order = await call(
        client.submit_order,
        req.MarketOrderRequest(
            symbol="HALT", qty=10, side=enums.OrderSide.BUY, time_in_force=enums.TimeInForce.DAY
        ),
    )
    assert order.status == enums.OrderStatus.NEW
    regular.market.quote("HALT", 4.00, 4.02)
    assert (await call(client.get_order_by_id, order.id)).status == enums.OrderStatus.NEW
    regular.market.set_status("HALT", schema.TradingState.TRADING)
    filled = await call(client.get_order_by_id, order.id)
    assert filled.status == enums.OrderStatus.FILLED and filled.filled_avg_price == "4.02"


async def test_partial_fills_follow_the_displayed_size(regular: TradingServer) -> None:
    req, enums = requests_module()
    client = regular.client()
    regular.market.quote("ACME", 10.00, 10.02, ask_size=300)
    order = await call(
        client.submit_order,
        req.MarketOrderRequest(
            symbol="ACME", qty=500, side=enums.OrderSide.BUY, time_in_force=enums.TimeInForce.DAY
        ),
    )
    assert order.status == enums.OrderStatus.PARTIALLY_FILLED and order.filled_qty == "300"
    regular.market.quote("ACME", 10.01, 10.03, ask_size=1000)
    done = await call(client.get_order_by_id, order.id)
    assert done.status == enums.OrderStatus.FILLED
    assert done.filled_avg_price == "10.024"  # (300 * 10.02 + 200 * 10.03) / 500


async def test_fractional_and_notional_market_orders(regular: TradingServer) -> None:
    req, enums = requests_module()
    client = regular.client()
    fractional = await call(
        client.submit_order,
        req.MarketOrderRequest(
            symbol="ACME", qty=1.5, side=enums.OrderSide.BUY, time_in_force=enums.TimeInForce.DAY
        ),
    )
    assert fractional.filled_qty == "1.5"
    notional = await call(
        client.submit_order,
        req.MarketOrderRequest(
            symbol="ACME",
            notional=100.2,
            side=enums.OrderSide.BUY,
            time_in_force=enums.TimeInForce.DAY,
        ),
    )
    assert notional.notional == "100.2" and notional.qty is None
    assert notional.filled_qty == "10"
    assert (await call(client.get_open_position, "ACME")).qty == "11.5"
