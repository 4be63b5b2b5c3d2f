"""What a fetched order implies about fills the process did not see."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest
from tradecore.execution.broker import (
    EVENT_OF_STATUS,
    BrokerEventType,
    IntentRef,
    Order,
    OrderState,
    implied_fill_price,
)
from tradecore.schema import OrderType, Side


def order(filled: str, average: str | None) -> Order:
    return Order(order_id="o1", client_order_id="c1", symbol="ABC", side=Side.BUY, type=OrderType.MARKET,
                 qty=D(100), filled_qty=D(filled), filled_avg_price=D(average) if average else None)


def test_the_price_of_unseen_shares_comes_from_the_change_of_the_average() -> None:
    # 40 seen at 10.00 ($400); the order now says 100 at 10.12: the other 60 cost 10.20.
    assert implied_fill_price(order("100", "10.12"), D(60), D(400)) == D("10.2")


def test_the_implied_price_keeps_six_places() -> None:
    assert implied_fill_price(order("3", "1.0000001"), D(3), D(0)) == 1
    assert implied_fill_price(order("7", "1.2345678"), D(7), D(0)) == D("1.234568")


def test_no_average_or_no_new_shares_imply_no_price() -> None:
    assert implied_fill_price(order("50", None), D(50), D(0)) is None
    assert implied_fill_price(order("50", "10"), D(0), D(500)) is None


def test_every_status_but_the_fills_has_its_event() -> None:
    assert EVENT_OF_STATUS[OrderState.CANCELED] == BrokerEventType.CANCELED
    assert OrderState.FILLED not in EVENT_OF_STATUS and OrderState.PARTIALLY_FILLED not in EVENT_OF_STATUS
    assert all(event.value == status.value for status, event in EVENT_OF_STATUS.items())


def test_evolve_is_dataclasses_replace() -> None:
    order = Order(order_id="o-1", client_order_id="c-1", symbol="ABC", side=Side.BUY, type=OrderType.LIMIT,
                  qty=D(100), limit_price=D("10.05"), intent=IntentRef(1, 2, 3, 4), reason="why")
    changes = {"status": OrderState.FILLED, "filled_qty": D(100), "filled_avg_price": D("10.04"), "updated_at": 9}
    assert order.evolve(**changes) == dataclasses.replace(order, **changes)
    assert order.evolve() == order and order.status == OrderState.ACCEPTED  # a copy; the original stays
    with pytest.raises(TypeError, match="no field"):
        order.evolve(stauts=OrderState.NEW)
