"""The live terminal dashboard (rich): universe, per-symbol state, feed health, last price,
position, PnL, recent intents and fills, latency. It reads the event bus and the run's state; it never blocks
the pipeline (a slow terminal only drops old bus events)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tradecore.calendar import new_york_time
from tradecore.latency import DECADE_LABELS, LatencyStats

__all__ = ["Dashboard"]


class Dashboard:
    """Render ``state`` every ``refresh`` seconds until ``stop`` is set."""

    def __init__(self, state: Any, latency: LatencyStats, clock: Callable[[], int], *,
                 console: Console | None = None, refresh: float = 0.5) -> None:
        self.state, self.latency, self.clock = state, latency, clock
        self.console = console or Console()
        self.refresh = refresh
        self.subscription = state.bus.subscribe(["intent", "order", "risk", "universe", "transition", "error",
                                                 "feed", "adoption"],
                                                capacity=2_000)
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
            elif event.topic == "adoption":  # a position restored by a resume
                if not data["adopted"]:
                    self.states[event.symbol] = "FLAT (held: not adopted)"
                self.recent.append(f"{new_york_time(event.ts)} {event.symbol:<6} "
                                   f"{'adopted' if data['adopted'] else 'not adopted'}: {data['reason']}"[:160])
            elif event.topic == "intent":
                self.recent.append(f"{new_york_time(event.ts)} {event.symbol:<6} intent {data['side']} "
                                   f"{data['quantity']:g} {data['sizing']}")
            elif event.topic == "order" and data.get("type") in ("fill", "partial_fill"):
                self.recent.append(f"{new_york_time(event.ts)} {event.symbol:<6} {data['type'].replace('_', ' ')} "
                                   f"{data.get('fill_qty')} @ {data.get('fill_price')}")
            elif event.topic == "risk" and data.get("accepted") is False:
                self.recent.append(f"{new_york_time(event.ts)} {event.symbol:<6} risk rejected: {data.get('reason')}")
            elif event.topic == "universe":
                if data.get("added") or data.get("removed"):
                    self.recent.append(f"{new_york_time(event.ts)} universe +{','.join(data.get('added', []))} "
                                       f"-{','.join(data.get('removed', []))}")
            elif event.topic == "feed":
                if data["state"] in ("backfilled", "connection_ok"):
                    self.feeds.pop(event.symbol, None)
                else:
                    self.feeds[event.symbol] = data["state"]
                self.recent.append(f"{new_york_time(event.ts)} {event.symbol or 'feed':<6} {data['state']}: "
                                   f"{data.get('reason', '')}"[:160])
            elif event.topic == "error":
                self.recent.append(f"{new_york_time(event.ts)} {event.symbol} ERROR {data.get('reason', '')}"[:160])

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
