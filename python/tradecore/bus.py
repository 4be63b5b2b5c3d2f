"""The event bus: everything observable is published here for the dashboard, the journal and
the desktop UI to come.

Publishing never blocks and never fails: each subscriber owns a bounded queue, and a subscriber
that falls behind loses its oldest events (counted in ``dropped``), never the publisher's time.
Durable records go to the journal, which is written by the pipeline directly, not through here.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Event", "EventBus", "Subscription"]


@dataclass(frozen=True, slots=True)
class Event:
    """One observable fact. ``topic`` names its kind (``"fill"``, ``"intent"``, ``"universe"``,
    ``"transition"``, ``"risk"``, ``"order"``, ``"position"``, ``"bar"``, ``"error"``,
    ``"latency"``, ``"feed"``); ``ts`` is the event's own time (ns UTC); ``data`` plain values."""

    topic: str
    symbol: str
    ts: int
    data: dict[str, Any]


@dataclass
class Subscription:
    """A subscriber's bounded queue of events on some topics (all when ``topics`` is empty)."""

    topics: frozenset[str]
    capacity: int
    events: deque[Event] = field(default_factory=deque)
    dropped: int = 0
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def _offer(self, event: Event) -> None:
        if self.topics and event.topic not in self.topics:
            return
        if len(self.events) >= self.capacity:
            self.events.popleft()
            self.dropped += 1
        self.events.append(event)
        self._ready.set()

    def drain(self) -> list[Event]:
        """Take every queued event (non-blocking)."""
        out = list(self.events)
        self.events.clear()
        self._ready.clear()
        return out

    async def next_batch(self) -> list[Event]:
        """Wait for at least one event, then take all queued."""
        while not self.events:
            self._ready.clear()
            await self._ready.wait()
        return self.drain()


class EventBus:
    """Fan-out of :class:`Event` to subscribers (see the module docstring)."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self.published = 0

    def subscribe(self, topics: Iterable[str] = (), capacity: int = 10_000) -> Subscription:
        """Subscribe to ``topics`` (all when empty); keep at most ``capacity`` undelivered."""
        subscription = Subscription(frozenset(topics), capacity)
        self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def wants(self, topic: str) -> bool:
        """Whether any subscriber takes ``topic``: publishers on the hot path ask first, so an
        event nobody reads costs nothing to build."""
        subscriptions = self._subscriptions
        return bool(subscriptions) and any(not s.topics or topic in s.topics for s in subscriptions)

    def publish(self, topic: str, symbol: str, ts: int | None = None, /, **data: Any) -> None:
        """Publish one event (``ts`` defaults to the wall clock, for process-level events)."""
        event = Event(topic, symbol, time.time_ns() if ts is None else ts, data)
        self.published += 1
        for subscription in self._subscriptions:
            subscription._offer(event)
