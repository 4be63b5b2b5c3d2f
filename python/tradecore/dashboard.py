"""The live terminal dashboard (rich): universe, per-symbol state, feed health, last price,
position, PnL, recent intents and fills, latency. It reads the event bus and the run's state; it never blocks
the pipeline (a slow terminal only drops old bus events)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tradecore.bus import Event, EventBus
from tradecore.calendar import new_york_time
from tradecore.latency import DECADE_LABELS, LatencyStats

__all__ = ["ACTIVITY_TOPICS", "Dashboard", "activity", "log_activity"]


ACTIVITY_TOPICS = ("intent", "order", "risk", "universe", "error", "feed", "adoption")
"""The bus topics of :func:`activity`."""


def activity(event: Event) -> str | None:
    """One line on what happened, for the dashboard's recent activity and a run without it
    (None: nothing to tell, e.g. an order accepted)."""
    data, when, symbol = event.data, new_york_time(event.ts), event.symbol
    if event.topic == "adoption":
        return f"{when} {symbol:<6} {'adopted' if data['adopted'] else 'not adopted'}: {data['reason']}"[:160]
    if event.topic == "intent":
        return f"{when} {symbol:<6} intent {data['side']} {data['quantity']:g} {data['sizing']}"
    if event.topic == "order" and data.get("type") in ("fill", "partial_fill"):
        return f"{when} {symbol:<6} {data['type'].replace('_', ' ')} {data.get('fill_qty')} @ {data.get('fill_price')}"
    if event.topic == "risk" and data.get("accepted") is False:
        return f"{when} {symbol:<6} risk rejected: {data.get('reason')}"
    if event.topic == "universe" and (data.get("added") or data.get("removed")):
        return f"{when} universe +{','.join(data.get('added', []))} -{','.join(data.get('removed', []))}"
    if event.topic == "feed":
        return f"{when} {symbol or 'feed':<6} {data['state']}: {data.get('reason', '')}"[:160]
    if event.topic == "error":
        return f"{when} {symbol} ERROR {data.get('reason', '')}"[:160]
    return None


async def log_activity(bus: EventBus, stop: asyncio.Event, log: logging.Logger) -> None:
    """A run without the dashboard: its activity lines as log lines, until ``stop``."""
    subscription = bus.subscribe(ACTIVITY_TOPICS, capacity=10_000)
    try:
        while not stop.is_set():
            for event in subscription.drain():
                if (line := activity(event)) is not None:
                    log.info("%s", line)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)
        for event in subscription.drain():
            if (line := activity(event)) is not None:
                log.info("%s", line)
    finally:
        bus.unsubscribe(subscription)


class Dashboard:
    """Render ``state`` every ``refresh`` seconds until ``stop`` is set."""

    def __init__(self, state: Any, latency: LatencyStats, clock: Callable[[], int], *,
                 console: Console | None = None, refresh: float = 0.5) -> None:
        self.state, self.latency, self.clock = state, latency, clock
        self.console = console or Console()
        self.refresh = refresh
        self.subscription = state.bus.subscribe(["transition", *ACTIVITY_TOPICS], capacity=2_000)
        self.recent: deque[str] = deque(maxlen=10)
        self.states: dict[str, str] = {}
        self.feeds: dict[str, str] = {}  # symbol -> feed state while not healthy ("" = connection)

    async def run(self, stop: asyncio.Event) -> None:
        with Live(self.render(), console=self.console, refresh_per_second=4, transient=False) as live:
            while not stop.is_set():
                self._absorb()
                live.update(self.render())
                try:
                    await asyncio.wait_for(stop.wait(), self.refresh)
                except asyncio.TimeoutError:
                    pass
            self._absorb()
            live.update(self.render())

    def _absorb(self) -> None:
        for event in self.subscription.drain():
            data = event.data
            if event.topic == "transition":
                self.states[event.symbol] = f"{data['target']} ({data['rule']})"
            elif event.topic == "adoption" and not data["adopted"]:  # a position restored by a resume
                self.states[event.symbol] = "FLAT (held: not adopted)"
            elif event.topic == "feed":
                if data["state"] in ("backfilled", "connection_ok"):
                    self.feeds.pop(event.symbol, None)
                else:
                    self.feeds[event.symbol] = data["state"]
            line = activity(event)
            if line is not None:
                self.recent.append(line)

    def render(self) -> Group:
        state = self.state
        tracker = state.tracker
        manager = state.manager
        header = Text(
            f"tradecore live  {new_york_time(self.clock())} New York  "
            f"universe {len(manager.symbols) if manager else 0}  intents {state.execution.intents}  "
            f"equity ${float(tracker.equity):,.2f}  realized ${float(tracker.realized):,.2f}"
            + ("  FEED: CONNECTION SILENT" if "" in self.feeds else ""),
            style="bold")
        table = Table(expand=True)
        for column in ("symbol", "state", "feed", "last", "position", "unrealized $"):
            table.add_column(column, justify="right" if column not in ("symbol", "state", "feed") else "left")
        positions = {p.symbol: p for p in tracker.positions()}
        for symbol, entry in sorted((manager.symbols if manager else {}).items())[:20]:
            position = positions.get(symbol)
            feed = self.feeds.get(symbol)
            table.add_row(symbol, self.states.get(symbol, "FLAT"), feed.upper() if feed else "ok",
                          f"{entry.runner.last_price:.4g}",
                          f"{float(position.qty):g}" if position else "0",
                          f"{float(position.unrealized_pl):,.2f}" if position else "",
                          style="yellow" if feed else None)
        for symbol, reason in (manager.quarantined.items() if manager else []):
            table.add_row(symbol, "QUARANTINED", "", "", "", reason[:40], style="red")
        latency = Table(title="latency (µs; counts per band)", expand=False)
        for column in ("stage", "p50", "p99", "p99.9", "max", *DECADE_LABELS):
            latency.add_column(column, justify="right")
        for stage, figures in self.latency.summary().items():
            bands = self.latency.histograms[stage].decades()
            latency.add_row(stage, *(f"{figures[k]:.0f}" for k in ("p50_us", "p99_us", "p999_us", "max_us")),
                            *(str(n) for n in bands))
        recent = Text("\n".join(self.recent) or "(no intents or fills yet)")
        return Group(header, table, latency, recent)
