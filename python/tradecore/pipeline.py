"""The per-symbol pipeline shared by live trading and backtests.

:class:`SymbolRunner` feeds one symbol's event batches to its native engine and hands whatever
needs Python (its intents, and what its paper venue filled) to the execution layer, publishing
everything observable on the bus. :class:`StrategyManager` keeps one supervised task per active
symbol, diffing the scanner's universe, and quarantines a symbol whose data or strategy fails
while the others keep running. Live and replay differ only in the stream and the broker behind
:class:`Execution`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from tradecore import schema
from tradecore._native import _core
from tradecore.bus import EventBus
from tradecore.engine import SymbolEngine
from tradecore.latency import LatencyStats
from tradecore.streams.base import EventBatch, EventKind, MarketDataStream
from tradecore.tasks import start_task

__all__ = ["Execution", "StrategyManager", "SymbolRunner"]

_log = logging.getLogger("tradecore.pipeline")
_engine = _core.engine

_LOAD_ARGUMENT = {
    EventKind.TRADE: "trades",
    EventKind.QUOTE: "quotes",
    EventKind.BAR: "bars",
    EventKind.STATUS: "statuses",
}


class Execution(Protocol):
    """What the pipeline needs from the execution layer (risk, router, broker)."""

    async def handle_intents(self, runner: SymbolRunner, intents: np.ndarray) -> None:
        """Turn intents into orders (or risk rejections) for ``runner``'s symbol."""

    async def on_market(self, batch: EventBatch) -> None:
        """See market data before the engine does (marks for PnL and risk, the kill switch)."""

    async def on_output(self, runner: SymbolRunner, output: dict[str, np.ndarray]) -> None:
        """See what the engine produced (native fills of a paper venue, transitions, bars)."""


class SymbolRunner:
    """One symbol's engine driven by its event batches (a live event is a batch of one)."""

    def __init__(self, symbol: str, engine: SymbolEngine, execution: Execution, bus: EventBus,
                 latency: LatencyStats | None = None) -> None:
        self.symbol = symbol
        self.engine = engine
        self.execution = execution
        self.bus = bus
        self.latency = latency
        self._received: int | None = None
        self.last_price = float("nan")
        # Awaited before each batch: feed health backfills a gap here (tradecore.health).
        self.before_batch: Callable[[SymbolRunner, EventBatch], Awaitable[None]] | None = None

    async def process(self, batch: EventBatch) -> None:
        """Run one batch through the engine; route intents; publish what happened."""
        if self.before_batch is not None:
            await self.before_batch(self, batch)
        await self.execution.on_market(batch)
        argument = _LOAD_ARGUMENT.get(batch.kind)
        if argument is None:
            return  # corrections, LULD, ...: seen by the execution layer only
        events = batch.events
        if batch.kind == EventKind.TRADE and len(events):
            self.last_price = float(events["price"][-1])
        native = self.engine.native
        native.load(**{argument: events})
        self._received = None if batch.ts_received is None else int(batch.ts_received[-1])
        await self._run(native.run)
        if self.latency is not None and self._received is not None:
            self.latency.add("receive_to_engine_done", time.time_ns() - self._received)

    async def _run(self, step: Callable[[], object]) -> None:
        """Call ``step`` (a run or an external event) and keep going until nothing needs Python."""
        native = self.engine.native
        reason = step()
        while reason != _engine.StopReason.EXHAUSTED:
            if reason == _engine.StopReason.INTENT:
                intents = native.new_intents()
                if self.latency is not None and self._received is not None:
                    self.latency.add("receive_to_intent", time.time_ns() - self._received)
                await self.execution.handle_intents(self, intents)
                # Positions and risk must see what the orders did before the next decision.
                await self._consume(native.drain())
            reason = native.run()
        await self._consume(native.drain())

    async def _consume(self, output: dict[str, np.ndarray]) -> None:
        await self.execution.on_output(self, output)
        self._publish(output)

    def _publish(self, output: dict[str, np.ndarray]) -> None:
        for bar in output["bars"]:
            self.bus.publish("bar", self.symbol, int(bar["ts_end"]), close=float(bar["close"]),
                             volume=float(bar["volume"]))
        for record in output["transitions"]:
            strategy = self.engine.strategies[int(record["strategy_id"])]
            self.bus.publish(
                "transition", self.symbol, int(record["ts_event"]), strategy=strategy.name,
                source=strategy.state_names[int(record["from_state"])],
                target=strategy.state_names[int(record["to_state"])],
                rule=[r.name for r in strategy.rules][int(record["rule"])],
                values={strategy.value_names[int(record["value_names"][i])]: float(record["values"][i])
                        for i in range(int(record["value_count"]))},
            )


_MAX_COALESCE = 512


def _coalesce(batches: list[EventBatch]) -> list[EventBatch]:
    """Join runs of consecutive batches of the same kind (arrival order is kept)."""
    if len(batches) == 1:
        return batches
    out: list[EventBatch] = []
    run: list[EventBatch] = []
    for batch in batches:
        if run and batch.kind != run[0].kind:
            out.append(_join(run))
            run = []
        run.append(batch)
    out.append(_join(run))
    return out


def _join(run: list[EventBatch]) -> EventBatch:
    if len(run) == 1:
        return run[0]
    first = run[0]
    events = schema.concatenate([b.events for b in run], first.events.dtype)
    received = None
    if all(b.ts_received is not None for b in run):
        received = np.concatenate([b.ts_received for b in run])  # type: ignore[misc]
    return EventBatch(first.kind, first.symbol, events, received)


@dataclass
class _Symbol:
    runner: SymbolRunner
    queue: asyncio.Queue[EventBatch]
    task: asyncio.Task[None] | None = None


@dataclass
class StrategyManager:
    """One supervised task per active symbol (see the module docstring).

    Parameters
    ----------
    stream
        Where the symbols' data comes from; the manager subscribes and unsubscribes.
    make_runner
        Builds (and warms up) a symbol's runner when it joins the universe.
    bus
        Where universe changes and quarantines are published.
    holds_position
        A symbol that leaves the universe keeps running while this says it holds a position.
    """

    stream: MarketDataStream
    make_runner: Callable[[str], Awaitable[SymbolRunner]]
    bus: EventBus
    holds_position: Callable[[str], bool] = lambda symbol: False
    on_change: Callable[[str, str, int], None] | None = None
    symbols: dict[str, _Symbol] = field(default_factory=dict)
    quarantined: dict[str, str] = field(default_factory=dict)
    dispatched: int = 0  # events handed to dispatch(), for placing universe changes in the stream
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def update_universe(self, wanted: Iterable[str], ts: int | None = None) -> tuple[set[str], set[str]]:
        """Start tasks for new symbols, stop those that left (unless positioned); return both sets."""
        wanted_set = {s.upper() for s in wanted} - set(self.quarantined)
        current = set(self.symbols)
        added = wanted_set - current
        removed = {s for s in current - wanted_set if not self.holds_position(s)}
        for symbol in sorted(added):
            await self.start_symbol(symbol, subscribe=False)
        if added:
            await self.stream.subscribe(sorted(added))
        if removed:
            await self.stream.unsubscribe(sorted(removed))
            for symbol in sorted(removed):
                await self.stop_symbol(symbol)
        if added or removed:
            self.bus.publish("universe", "", ts, added=sorted(added), removed=sorted(removed),
                             active=sorted(self.symbols))
        return added, removed

    async def start_symbol(self, symbol: str, *, subscribe: bool = True) -> None:
        """Build the symbol's runner and start its task; events dispatched from now on reach it."""
        runner = await self.make_runner(symbol)
        entry = _Symbol(runner, asyncio.Queue())
        self.symbols[symbol] = entry
        if self.on_change is not None:
            self.on_change("start", symbol, self.dispatched)
        entry.task = start_task(self._serve(symbol, entry), f"tradecore.symbol.{symbol}",
                                owner=self._tasks, log=_log)
        if subscribe:
            await self.stream.subscribe([symbol])

    async def stop_symbol(self, symbol: str) -> None:
        """Stop routing to the symbol, finish what it has queued, end its task."""
        entry = self.symbols.pop(symbol, None)
        if entry is None or entry.task is None:
            return
        if self.on_change is not None:
            self.on_change("stop", symbol, self.dispatched)
        await entry.queue.join()
        entry.task.cancel()
        await asyncio.gather(entry.task, return_exceptions=True)

    def dispatch(self, batch: EventBatch) -> None:
        """Queue a batch for its symbol's task (dropped if the symbol is not active)."""
        self.dispatched += len(batch)
        entry = self.symbols.get(batch.symbol)
        if entry is not None:
            entry.queue.put_nowait(batch)

    async def drain(self) -> None:
        """Wait until every queued batch has been processed."""
        await asyncio.gather(*(entry.queue.join() for entry in self.symbols.values()))

    async def _serve(self, symbol: str, entry: _Symbol) -> None:
        queue = entry.queue
        while True:
            batches = [await queue.get()]
            while not queue.empty() and len(batches) < _MAX_COALESCE:
                batches.append(queue.get_nowait())
            try:
                # Under load a symbol's queue holds many small batches: consecutive ones of one
                # kind go to the engine as one (same events, same order, one crossing).
                for batch in _coalesce(batches):
                    await entry.runner.process(batch)
            except Exception as error:  # noqa: BLE001 - any failure quarantines this symbol only
                self._quarantine(symbol, error)
                for _ in batches:
                    queue.task_done()
                while not queue.empty():  # nothing more is processed for this symbol
                    queue.get_nowait()
                    queue.task_done()
                return
            for _ in batches:
                queue.task_done()

    def _quarantine(self, symbol: str, error: BaseException) -> None:
        reason = f"{type(error).__name__}: {error}"
        self.quarantined[symbol] = reason
        entry = self.symbols.pop(symbol, None)
        _log.error("%s quarantined: %s", symbol, reason)
        self.bus.publish("error", symbol, None, kind="quarantine", reason=reason)
        if entry is not None:
            start_task(self.stream.unsubscribe([symbol]), f"tradecore.unsubscribe.{symbol}", log=_log)

    async def close(self) -> None:
        """Stop every symbol task (queued batches are processed first)."""
        for symbol in list(self.symbols):
            await self.stop_symbol(symbol)

