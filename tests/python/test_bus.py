"""The event bus never blocks its publisher and drops a slow subscriber's oldest events."""

import asyncio

import pytest
from tradecore.bus import EventBus


def test_topics_filter_and_order_is_kept() -> None:
    bus = EventBus()
    fills = bus.subscribe(["fill"])
    everything = bus.subscribe()
    bus.publish("fill", "ABC", 1, price=1.0)
    bus.publish("intent", "ABC", 2, side="buy")
    bus.publish("fill", "XYZ", 3, price=2.0)
    assert [e.symbol for e in fills.drain()] == ["ABC", "XYZ"]
    assert [e.topic for e in everything.drain()] == ["fill", "intent", "fill"]


def test_a_slow_subscriber_loses_its_oldest_events_not_the_publishers_time() -> None:
    bus = EventBus()
    slow = bus.subscribe(capacity=3)
    for i in range(10):
        bus.publish("bar", "ABC", i)
    events = slow.drain()
    assert [e.ts for e in events] == [7, 8, 9]
    assert slow.dropped == 7
    assert bus.published == 10


@pytest.mark.asyncio
async def test_next_batch_waits_for_events() -> None:
    bus = EventBus()
    subscription = bus.subscribe(["fill"])
    waiter = asyncio.ensure_future(subscription.next_batch())
    await asyncio.sleep(0)
    assert not waiter.done()
    bus.publish("fill", "ABC", 5)
    batch = await asyncio.wait_for(waiter, 1)
    assert [e.ts for e in batch] == [5]
    bus.unsubscribe(subscription)
    bus.publish("fill", "ABC", 6)
    assert subscription.drain() == []


def test_wants_says_whether_any_subscriber_takes_a_topic() -> None:
    bus = EventBus()
    assert not bus.wants("bar")
    orders = bus.subscribe(["order"])
    assert bus.wants("order") and not bus.wants("bar")
    everything = bus.subscribe()
    assert bus.wants("bar")
    bus.unsubscribe(everything)
    bus.unsubscribe(orders)
    assert not bus.wants("order")
