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
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import numpy as np

from tradecore import schema
from tradecore._native import _core
from tradecore.bus import EventBus
from tradecore.engine import SymbolEngine
from tradecore.latency import LatencyStats, freeze_long_lived
from tradecore.streams.base import (
    NATIVE_FRAME_KIND,
    EventBatch,
    EventKind,
    GroupedBatch,
    Instruments,
    MarketDataStream,
)
from tradecore.streams.replay import merge_time
from tradecore.tasks import start_task

__all__ = ["BatchHook", "Execution", "StrategyManager", "SymbolRunner"]

_log = logging.getLogger("tradecore.pipeline")

_engine = _core.engine
_EXHAUSTED = _engine.StopReason.EXHAUSTED
_INTENT = _engine.StopReason.INTENT

_LOAD_ARGUMENT = {  # the engine's load() argument of each kind it runs
    EventKind.TRADE: "trades",
    EventKind.QUOTE: "quotes",
    EventKind.BAR: "bars",
    EventKind.STATUS: "statuses",
}
_LOADER = {kind: "load_" + argument for kind, argument in _LOAD_ARGUMENT.items()}  # one kind per call


class Execution(Protocol):
    """What the pipeline needs from the execution layer (risk, router, broker).

    The per-event calls are synchronous and say when :meth:`settle` must be awaited before
    going on, so an event that moves no position costs no await.
    """

    async def handle_intents(self, runner: SymbolRunner, intents: np.ndarray) -> None:
        """Turn intents into orders (or risk rejections) for ``runner``'s symbol."""

    def intent_step(self) -> AbstractContextManager[None]:
        """The scope of one engine stop's :meth:`handle_intents` and :meth:`on_output` (what the
        orders did): the journal commits it at once where that is sound (the paper venue)."""

    def on_market(self, batch: EventBatch) -> bool:
        """See market data before the engine does (book, marks); True: settle first."""

    def on_output(self, runner: SymbolRunner, output: dict[str, np.ndarray]) -> bool:
        """See what the engine produced (native fills of a paper venue, transitions); True:
        settle before the next decision."""

    async def settle(self) -> None:
        """Apply what the broker reported (positions, PnL, the kill switch)."""

    def batch_only(self, symbol: str) -> bool:
        """True when ``symbol``'s data must go batch by batch through :meth:`on_market` (a
        held position is marked by every event; broker events wait to be applied)."""

    def may_batch_only(self) -> bool:
        """False when no symbol is :meth:`batch_only` now (a frame asks once, not per symbol)."""

    def on_market_grouped(self, group: GroupedBatch, indices: list[int]) -> None:
        """:meth:`on_market` for the groups ``indices`` of a frame (ascending, none of them
        :meth:`batch_only`), completed group by group by :meth:`reach`."""

    def reach(self, index: int) -> None:
        """The frame's groups up to ``index`` are processed (before Python handles one)."""


class BatchHook(Protocol):
    """Work a runner does before a batch (feed health's backfill, a broker's fills)."""

    def before_batch(self, runner: SymbolRunner, batch: EventBatch) -> Awaitable[None] | None:
        """What to await before ``batch`` goes on, or None (the common case: no await)."""

    def has_work(self, symbol: str) -> bool:
        """Whether :meth:`before_batch` may have work for ``symbol``'s next batch."""

    def idle(self) -> bool:
        """True when no symbol :meth:`has_work` (a frame asks once, not per symbol)."""


Continuation = Callable[[], Awaitable[None]]
"""What is left of a batch once it needs to wait (an intent to route, positions to settle)."""


class _Hooks(list):  # type: ignore[type-arg]
    """A runner's hooks: changing them makes the managers ask every hook again (see
    :meth:`StrategyManager._gates`)."""

    def _changed(self) -> None:
        SymbolRunner.gates_version += 1

    def append(self, hook: BatchHook) -> None:
        super().append(hook)
        self._changed()

    def extend(self, hooks: Iterable[BatchHook]) -> None:
        super().extend(hooks)
        self._changed()

    def insert(self, index: Any, hook: BatchHook) -> None:
        super().insert(index, hook)
        self._changed()

    def __setitem__(self, index: Any, hook: Any) -> None:
        super().__setitem__(index, hook)
        self._changed()

    def __iadd__(self, hooks: Iterable[BatchHook]) -> _Hooks:  # type: ignore[override, misc]
        self.extend(hooks)
        return self


class SymbolRunner:
    """One symbol's engine driven by its event batches (a live event is a batch of one).

    :meth:`feed` does everything that needs no waiting at once (the common case: the book,
    the engine, nothing to trade) and returns the rest as a :data:`Continuation`.
    """

    gates_version = 0
    """Bumped whenever any runner's execution layer or hooks change (managers cache their union)."""

    def __init__(self, symbol: str, engine: SymbolEngine, execution: Execution, bus: EventBus,
                 latency: LatencyStats | None = None) -> None:
        self.symbol = symbol
        self.engine = engine
        self.native = engine.native
        self.execution = execution
        self.bus = bus
        self.latency = latency
        self._received: np.ndarray | None = None  # receive times (ns UTC) of the batch in the engine
        self._tick_given: int | None = None  # wall ns the clock gave the tick in the engine (no batch)
        self._loaded_at = 0  # engine's events_processed when the batch was loaded
        self._clock: np.ndarray | None = None  # clock ticks to load with the next batch
        self.intent_at = 0  # wall ns the engine emitted its latest intent
        # Asked before each batch; what one returns is awaited before the batch goes on (feed
        # health backfills a gap, a broker's fills reach the engine: tradecore.health, session).
        self.hooks = []

    @property
    def execution(self) -> Execution:
        return self._execution

    @execution.setter
    def execution(self, execution: Execution) -> None:
        self._execution = execution
        SymbolRunner.gates_version += 1

    @property
    def hooks(self) -> list[BatchHook]:
        return self._hooks

    @hooks.setter
    def hooks(self, hooks: Iterable[BatchHook]) -> None:
        self._hooks = _Hooks(hooks)
        SymbolRunner.gates_version += 1

    @property
    def last_price(self) -> float:
        """The last trade price the engine saw (NaN before the first)."""
        return float(self.engine.native.last_price) or float("nan")

    async def process(self, batch: EventBatch, clock: np.ndarray | None = None) -> None:
        """Run one batch through the engine; route intents; publish what happened. ``clock``:
        clock ticks (ns UTC) the engine merges with the batch's events by time."""
        self._clock = clock
        rest = self.feed(batch)
        if rest is not None:
            await rest()

    def feed(self, batch: EventBatch) -> Continuation | None:
        """Process ``batch`` as far as it goes without waiting; return what is left (or None)."""
        for index, hook in enumerate(self.hooks):
            pending = hook.before_batch(self, batch)
            if pending is not None:
                return partial(self._after_hooks, pending, index, batch)
        return self._feed_market(batch)

    async def step(self, call: Callable[[], object]) -> None:
        """Run one engine call outside a batch (a clock tick, a broker's fill or update): its
        intents are routed and its output settled as for market data."""
        self._received = self._tick_given = None
        await self._continue(call())

    def tick(self, now: int, given: int | None = None) -> Continuation | None:
        """Give the engine a clock tick at ``now`` (ns UTC) as far as it goes without waiting,
        like :meth:`feed`; return what is left (an intent to route, fills to settle) or None.
        ``given``: wall ns the market clock gave it (``clock_to_intent`` runs from there)."""
        self._received = None  # a tick has no receive time to measure from
        self._tick_given = given
        return self.after_run(self.native.on_clock(now))

    async def process_tick(self, now: int, given: int | None = None) -> None:
        """A clock tick queued behind earlier batches."""
        rest = self.tick(now, given)
        if rest is not None:
            await rest()

    async def _after_hooks(self, pending: Awaitable[None], index: int, batch: EventBatch) -> None:
        await pending
        for hook in self.hooks[index + 1:]:
            more = hook.before_batch(self, batch)
            if more is not None:
                await more
        rest = self._feed_market(batch)
        if rest is not None:
            await rest()

    def _feed_market(self, batch: EventBatch) -> Continuation | None:
        if self.execution.on_market(batch):
            return partial(self._settle_then_run, batch)
        return self._run_engine(batch)

    async def _settle_then_run(self, batch: EventBatch) -> None:
        await self.execution.settle()
        rest = self._run_engine(batch)
        if rest is not None:
            await rest()

    def _run_engine(self, batch: EventBatch) -> Continuation | None:
        clock, self._clock = self._clock, None
        loader = _LOADER.get(batch.kind)
        if loader is None:
            return None  # corrections, LULD, ...: seen by the execution layer only
        events = batch.events
        self._received, self._tick_given = batch.ts_received, None
        self._stamp("receive_to_engine_start")  # decoding and queueing, before the engine
        native = self.engine.native
        self._loaded_at = native.events_processed
        if clock is None:
            getattr(native, loader)(events)
        else:
            native.load(**{_LOAD_ARGUMENT[batch.kind]: events, "clock": clock})
        return self.after_run(native.run())

    def after_run(self, reason: object) -> Continuation | None:
        """Go on from the engine's stop after the current batch's run (see :meth:`feed`)."""
        native = self.engine.native
        if reason != _EXHAUSTED:
            if reason == _INTENT:  # the decision is now, whenever the symbol's task routes it
                self._stamp_intent()
            return partial(self._continue, reason, reason == _INTENT)
        if native.has_output and self._take_output():
            return self._settle_and_stamp
        self._stamp("receive_to_engine_done")
        return None

    async def _continue(self, reason: object, stamped: bool = False) -> None:
        """From an engine stop on: route intents, settle fills, resume until the events run out
        (``stamped``: the first stop's intent was already timed)."""
        native = self.engine.native
        while reason != _EXHAUSTED:
            if reason == _INTENT:
                intents = native.new_intents()
                if not stamped:
                    self._stamp_intent()
                stamped = False
                if native.has_output:
                    # What the engine did before it decided (fills of its paper venue, possibly at
                    # stops run past: ``native.run()`` below) reaches positions and risk before
                    # the decision is routed: a CLOSE_POSITION is sized on the position the
                    # strategy saw, not on one missing the fills that completed its entry.
                    with self.execution.intent_step():
                        settle = self._take_output()
                    if settle:
                        await self.execution.settle()
                with self.execution.intent_step():
                    await self.execution.handle_intents(self, intents)
                    # Positions and risk must see what the orders did before the next decision.
                    settle = self._take_output()
                if settle:
                    await self.execution.settle()
            reason = native.run()
        await self._settle_and_stamp()

    async def _settle_and_stamp(self) -> None:
        if self._take_output():
            await self.execution.settle()
        self._stamp("receive_to_engine_done")

    def resume_group(self, group: GroupedBatch, index: int, loaded_at: int) -> None:
        """Take over group ``index`` of ``group`` that the engine stopped in (see
        :meth:`StrategyManager.dispatch_grouped`), as if :meth:`feed` had loaded it."""
        self._received, self._tick_given = group.batch(index).ts_received, None
        self._loaded_at = loaded_at

    def _stamp(self, stage: str) -> None:
        """Record ``stage`` for every event of the batch (the oldest waited longest)."""
        received = self._received
        if self.latency is None or received is None or not len(received):
            return
        now = time.time_ns()
        if received[0] == received[-1]:  # one frame's events (in arrival order): one receive time
            self.latency.add(stage, now - int(received[0]), len(received))
            return
        add = self.latency.add
        for value in received.tolist():
            add(stage, now - value)

    def _stamp_intent(self) -> None:
        """Record ``receive_to_intent`` for the event the engine stopped at (``clock_to_intent``
        for a clock tick's, from when the clock gave it); ``intent_at`` is when (``intent_to_ack``
        runs from there: waiting to be routed counts)."""
        self.intent_at = now = time.time_ns()
        if self.latency is None:
            return
        if self._received is None or not len(self._received):
            if self._tick_given is not None:
                self.latency.add("clock_to_intent", now - self._tick_given)
            return
        index = min(max(self.engine.native.events_processed - self._loaded_at - 1, 0), len(self._received) - 1)
        self.latency.add("receive_to_intent", now - int(self._received[index]))

    def _take_output(self) -> bool:
        """Hand the engine's output to the execution layer and the bus; True: settle now."""
        output = self.engine.native.drain()
        settle = self.execution.on_output(self, output)
        self._publish(output)
        return settle

    async def _consume(self, output: dict[str, np.ndarray]) -> None:
        """Hand ``output`` (drained by the caller, e.g. after a flattening) over and settle."""
        if self.execution.on_output(self, output):
            await self.execution.settle()
        self._publish(output)

    def _publish(self, output: dict[str, np.ndarray]) -> None:
        """Bars and transitions to the bus, if anyone reads them (every symbol closes a bar each
        interval: unread, they cost nothing here)."""
        bus = self.bus
        if len(output["bars"]) and bus.wants("bar"):
            for bar in output["bars"]:
                bus.publish("bar", self.symbol, int(bar["ts_end"]), close=float(bar["close"]),
                            volume=float(bar["volume"]))
        if len(output["transitions"]) and bus.wants("transition"):
            for record in output["transitions"]:
                strategy = self.engine.strategies[int(record["strategy_id"])]
                bus.publish(
                    "transition", self.symbol, int(record["ts_event"]), strategy=strategy.name,
                    source=strategy.state_names[int(record["from_state"])],
                    target=strategy.state_names[int(record["to_state"])],
                    rule=strategy.rules[int(record["rule"])].name,
                    values={strategy.value_names[int(record["value_names"][i])]: float(record["values"][i])
                            for i in range(int(record["value_count"]))},
                )


def _stamp_groups(latency: LatencyStats | None, received: int | None, cuts: np.ndarray, start: int,
                  end: int, engine_start: int, done_end: int) -> None:
    """Latency of groups start..end-1 of a frame that the engines ran: all started; those
    before ``done_end`` are done (a group its runner took over is stamped by the runner)."""
    if latency is None or received is None or end <= start:
        return
    latency.add("receive_to_engine_start", engine_start - received, int(cuts[end] - cuts[start]))
    done = int(cuts[done_end] - cuts[start]) if done_end > start else 0
    if done:
        latency.add("receive_to_engine_done", time.time_ns() - received, done)


_MAX_COALESCE = 512


def _coalesce(items: list[EventBatch | Continuation]) -> list[EventBatch | Continuation]:
    """Join runs of consecutive batches of the same kind (arrival order is kept).

    Clock ticks queued between them join the run as the engine's clock array when the engine's
    merge by time gives exactly the order they came in: every event before a tick is at or
    before it (ties go to events) and the event after it is later.
    """
    if len(items) == 1:
        return items
    out: list[EventBatch | Continuation] = []
    run: list[EventBatch] = []
    folded: list[_Tick] = []  # ticks inside the run
    waiting: list[_Tick] = []  # ticks after the run's last batch, folded if a batch follows
    latest = measured = 0  # the latest event time of the run's first `measured` batches

    def close_run() -> None:
        if folded:
            clock = np.array([tick.now for tick in folded], np.int64)
            out.append(partial(folded[0].runner.process, _join(run), clock))
        elif run:
            out.append(_join(run))
        out.extend(waiting)
        run.clear()
        folded.clear()
        waiting.clear()

    for item in items:
        if isinstance(item, _Tick) and run and run[0].kind in _LOAD_ARGUMENT:
            for batch in run[measured:]:
                if len(batch):
                    latest = max(latest, int(merge_time(batch.kind, batch.events).max()))
            measured = len(run)
            if item.now >= latest:
                waiting.append(item)
                continue
        elif isinstance(item, EventBatch) and run and item.kind == run[0].kind:
            if not waiting:
                run.append(item)
                continue
            if len(item) and waiting[-1].now < int(merge_time(item.kind, item.events)[0]):
                folded.extend(waiting)
                waiting.clear()
                run.append(item)
                continue
        close_run()
        latest = measured = 0
        if isinstance(item, EventBatch):
            run.append(item)
        else:
            out.append(item)
    close_run()
    return out


@dataclass(frozen=True)
class _Tick:
    """A clock tick queued behind a busy symbol's batches (see :func:`_coalesce`)."""

    runner: SymbolRunner
    now: int
    given: int | None = None  # wall ns the market clock gave it

    async def __call__(self) -> None:
        await self.runner.process_tick(self.now, self.given)


def _join(run: list[EventBatch]) -> EventBatch:
    if len(run) == 1:
        return run[0]
    first = run[0]
    events = schema.concatenate([b.events for b in run], first.events.dtype)
    received = None
    if all(b.ts_received is not None for b in run):
        received = np.concatenate([b.ts_received for b in run])
    return EventBatch(first.kind, first.symbol, events, received)


@dataclass
class _Symbol:
    runner: SymbolRunner
    # Batches that arrived while the symbol was busy, and the continuation it is waiting on.
    queue: asyncio.Queue[EventBatch | Continuation]
    symbol: str
    task: asyncio.Task[None] | None = None
    pending: int = 0  # items queued and not yet done: 0 = idle, a batch can be fed at once


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
    on_quarantine
        Told each symbol quarantined, why, and when if known (the scan's time; the run's
        journal).
    """

    stream: MarketDataStream
    make_runner: Callable[[str], Awaitable[SymbolRunner]]
    bus: EventBus
    holds_position: Callable[[str], bool] = lambda symbol: False
    on_change: Callable[[str, str, int], None] | None = None
    on_quarantine: Callable[[str, str, int | None], None] | None = None
    symbols: dict[str, _Symbol] = field(default_factory=dict)
    quarantined: dict[str, str] = field(default_factory=dict)
    dispatched: int = 0  # events handed to dispatch(), for placing universe changes in the stream
    _group_at: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))  # run_groups' group index
    ticks: int = 0  # clock ticks handed to tick()
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    settling: bool = False  # a replay's: what symbols queue is remembered for settle()
    _queued_since_settle: list[_Symbol] = field(default_factory=list)
    # Every runner's execution layer and hooks (deduplicated), for when they were last collected.
    _gates_cache: tuple[tuple[int, int], list[Execution], list[BatchHook]] | None = None
    _started: int = 0  # symbols started so far (a new one may bring new gates)
    # Frames by instrument id (see _grouped_engines): the registry of the live decoder's ids, and
    # at each id the engine of its symbol while that is active and idle (else None), and whether.
    _registry: Instruments | None = None
    _engine_at: list[Any] = field(default_factory=list)
    _idle_at: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    async def update_universe(self, wanted: Iterable[str], ts: int | None = None) -> tuple[set[str], set[str]]:
        """Start tasks for new symbols, stop those that left (unless positioned); return both sets."""
        wanted_set = {s.upper() for s in wanted} - set(self.quarantined)
        current = set(self.symbols)
        added = wanted_set - current
        removed = {s for s in current - wanted_set if not self.holds_position(s)}
        for symbol in sorted(added):
            try:
                await self.start_symbol(symbol, subscribe=False)
            except Exception as error:  # noqa: BLE001 - a symbol that cannot start must not stop the others
                self._quarantine(symbol, error, ts)
                added.discard(symbol)
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
        entry = _Symbol(runner, asyncio.Queue(), symbol)
        self.symbols[symbol] = entry
        self._started += 1
        self._mark(entry)
        freeze_long_lived()  # the symbol's engine, runner and their state live as long as it does
        if self.on_change is not None:
            self.on_change("start", symbol, self.dispatched)
        entry.task = start_task(self._serve(symbol, entry), f"tradecore.symbol.{symbol}",
                                owner=self._tasks, log=_log)
        if subscribe:
            await self.stream.subscribe([symbol])

    async def stop_symbol(self, symbol: str, *, finish: bool = True) -> None:
        """Stop routing to the symbol, finish what it has queued (unless ``finish`` is False),
        end its task."""
        entry = self.symbols.pop(symbol, None)
        if entry is None or entry.task is None:
            return
        self._mark(entry)
        if self.on_change is not None:
            self.on_change("stop", symbol, self.dispatched)
        if finish:
            await entry.queue.join()
        entry.task.cancel()
        await asyncio.gather(entry.task, return_exceptions=True)

    def dispatch(self, batch: EventBatch) -> None:
        """Hand a batch to its symbol (dropped if the symbol is not active).

        An idle symbol processes it at once, up to the first thing that must wait (routing an
        intent, settling fills), which its task then finishes; a busy symbol queues it behind
        what it is doing. Either way each symbol sees its batches in arrival order.
        """
        self.dispatched += len(batch)
        self._dispatch(batch)

    def _dispatch(self, batch: EventBatch) -> None:
        entry = self.symbols.get(batch.symbol)
        if entry is None:
            return
        if entry.pending:
            self._queue(entry, batch)
            return
        try:
            rest = entry.runner.feed(batch)
        except Exception as error:  # noqa: BLE001 - any failure quarantines this symbol only
            self._quarantine(batch.symbol, error)
            return
        if rest is not None:
            self._queue(entry, rest)

    def dispatch_grouped(self, group: GroupedBatch) -> None:
        """Hand a frame's groups to their symbols: the same as dispatching ``group.batches()``
        one by one, with the engines of idle symbols run in one native call
        (``_core.engine.run_groups``) that returns to Python only for a group that needs it
        (an intent or other output; a busy, hooked or positioned symbol), in group order."""
        # (Bars follow a broker's clock by event, not by book time: batch by batch.)
        code = NATIVE_FRAME_KIND.get(group.kind)
        if code is None:
            for batch in group.batches():
                self.dispatch(batch)
            return
        self.dispatched += len(group)
        symbols = group.symbols
        try:
            engines, ids, fast = self._grouped_engines(group)
            if fast:
                first = self.symbols[symbols[fast[0]]].runner
                execution, latency = first.execution, first.latency
                keep_bars = first.bus.wants("bar")  # unread bars never leave the engines
                # The book of every group the engines run, at once: nothing reads a flat symbol's
                # book but its own intent, routed after its group is folded in. The clock (day
                # roll) and held positions' marks still follow group by group (reach), as Python
                # sees them.
                execution.on_market_grouped(group, fast)
        except Exception:  # noqa: BLE001 - a failure before any engine ran: each symbol as a batch
            _log.exception("grouped dispatch failed before any engine ran; dispatching batch by batch")
            fast = []
        if not fast:  # every group the batch path's
            for index in range(len(symbols)):
                self._dispatch(group.batch(index))
            return
        count, start, at, cuts, received = len(symbols), 0, self._group_at, group.cuts, group.ts_received
        while start < count:
            before = time.time_ns()
            try:
                index, reason, loaded_at = _engine.run_groups(engines, code, group.events, cuts, start, at,
                                                              keep_bars, ids)
            except Exception as error:  # noqa: BLE001 - any failure quarantines this symbol only
                index = int(at[0])
                if index < start:  # the frame's arrays refused before any group ran: batch by batch
                    for remaining in range(start, count):
                        self._dispatch(group.batch(remaining))
                    return
                execution.reach(index)
                _stamp_groups(latency, received, cuts, start, index + 1, before, index)
                self._quarantine(symbols[index], error)
                start = index + 1
                continue
            if index == count:
                execution.reach(count - 1)
                _stamp_groups(latency, received, cuts, start, count, before, count)
                return
            execution.reach(index)
            entry = self.symbols.get(symbols[index])
            if reason is None or entry is None:  # the caller's group: inactive, busy, hooked or positioned
                _stamp_groups(latency, received, cuts, start, index, before, index)
                self._dispatch(group.batch(index))
            else:  # stopped in its group: its runner takes over (and stamps it when done)
                _stamp_groups(latency, received, cuts, start, index + 1, before, index)
                runner = entry.runner
                try:
                    runner.resume_group(group, index, loaded_at)
                    rest = runner.after_run(reason)
                    if rest is not None:
                        self._queue(entry, rest)
                except Exception as error:  # noqa: BLE001 - any failure quarantines this symbol only
                    self._quarantine(symbols[index], error)
            start = index + 1

    def _gates(self) -> tuple[list[Execution], list[BatchHook]]:
        """The execution layers and hooks of every active runner, each once (collected again
        after a symbol starts or any runner's execution layer or hooks change; a stopped
        symbol's may linger until then, which only makes a frame ask one more)."""
        key = (self._started, SymbolRunner.gates_version)
        if self._gates_cache is None or self._gates_cache[0] != key:
            executions = {id(e.runner.execution): e.runner.execution for e in self.symbols.values()}
            hooks = {id(h): h for e in self.symbols.values() for h in e.runner.hooks}
            self._gates_cache = (key, list(executions.values()), list(hooks.values()))
        return self._gates_cache[1], self._gates_cache[2]

    def _grouped_engines(self, group: GroupedBatch) -> tuple[list[Any], np.ndarray | None, list[int]]:
        """What ``run_groups`` takes for ``group`` (the engines by group, or by instrument id
        with the group's ids) and the indices of the groups whose engines run natively now
        (active, idle symbols; the others take the batch path)."""
        symbols = group.symbols
        get = self.symbols.get
        executions, hooks = self._gates()
        if not any(e.may_batch_only() for e in executions) and all(h.idle() for h in hooks):
            # The usual frame: no symbol is batch-only and no hook has work, asked once each.
            registry = group.instruments
            if registry is not None and self._adopt(registry):
                # A live decoder's frame: no per-symbol Python at all (the symbols' objects are
                # cold by the next frame; the table and the ids are two arrays).
                ids = group.ids()
                if len(registry) > len(self._engine_at):
                    self._grow(len(registry))
                return self._engine_at, ids, np.flatnonzero(self._idle_at[ids]).tolist()
            natives = [None if (entry := get(symbol)) is None or entry.pending else entry.runner.native
                       for symbol in symbols]
            return natives, None, [index for index, native in enumerate(natives) if native is not None]
        runners = [None if (entry := get(symbol)) is None or entry.pending else entry.runner
                   for symbol in symbols]
        calm: dict[int, bool] = {}  # per execution layer: no symbol batch_only
        idle: dict[int, bool] = {}  # per hook (an execution layer may be one too): no work
        for index, runner in enumerate(runners):
            if runner is None:
                continue
            execution = runner.execution
            if (quiet := calm.get(id(execution))) is None:
                quiet = calm[id(execution)] = not execution.may_batch_only()
            if not quiet and execution.batch_only(symbols[index]):
                runners[index] = None
                continue
            for hook in runner.hooks:
                if (free := idle.get(id(hook))) is None:
                    free = idle[id(hook)] = hook.idle()
                if not free and hook.has_work(symbols[index]):
                    runners[index] = None
                    break
        natives = [None if runner is None else runner.native for runner in runners]
        return natives, None, [index for index, runner in enumerate(runners) if runner is not None]

    def _adopt(self, registry: Instruments) -> bool:
        """Index engines by ``registry``'s ids (the first registry a frame brings); whether
        ``registry`` is the one indexed."""
        if self._registry is None:
            self._registry = registry
            for entry in self.symbols.values():
                self._mark(entry)
        return registry is self._registry

    def _grow(self, size: int) -> None:
        size = max(size, 2 * len(self._engine_at))
        self._engine_at.extend([None] * (size - len(self._engine_at)))
        self._idle_at = np.concatenate([self._idle_at, np.zeros(size - len(self._idle_at), bool)])

    def _mark(self, entry: _Symbol) -> None:
        """Keep the by-id table current for ``entry``'s symbol (started, stopped, busy, idle)."""
        current = self.symbols.get(entry.symbol)
        if self._registry is None or (current is not None and current is not entry):
            return  # (a restarted symbol's old task finishing: the id is the new entry's)
        at = self._registry.id_of(entry.symbol)
        if at >= len(self._engine_at):
            self._grow(at + 1)
        idle = current is entry and not entry.pending
        self._engine_at[at] = entry.runner.native if idle else None
        self._idle_at[at] = idle

    def tick(self, now: int) -> None:
        """Give every active symbol's engine a clock tick at ``now`` (ns UTC) in order with its
        batches: an idle symbol runs it at once, a busy one queues it behind what it has
        (:mod:`tradecore.clock`)."""
        self.ticks += 1
        given = time.time_ns()
        for symbol, entry in list(self.symbols.items()):
            if entry.pending:
                self._queue(entry, _Tick(entry.runner, now, given))
                continue
            try:
                rest = entry.runner.tick(now, given)
            except Exception as error:  # noqa: BLE001 - any failure quarantines this symbol only
                self._quarantine(symbol, error)
                continue
            if rest is not None:
                self._queue(entry, rest)

    def _queue(self, entry: _Symbol, item: EventBatch | Continuation) -> None:
        entry.pending += 1
        if entry.pending == 1:
            self._mark(entry)
        entry.queue.put_nowait(item)
        if self.settling:
            self._queued_since_settle.append(entry)

    async def drain(self) -> None:
        """Wait until every queued batch has been processed."""
        await asyncio.gather(*(entry.queue.join() for entry in self.symbols.values()))

    async def settle(self) -> None:
        """Wait until what symbols queued since the last settle (an intent to route, fills to
        apply, the batches behind them) is processed (with ``settling`` set, which a live run
        leaves off: it never waits for this). A replay settles after each part: a live
        run that keeps up finishes that work before its next frame, so a backtest of its
        recording then routes every intent at the same point of the stream, whatever the
        replay's pace (its risk decisions, orders and journal order match)."""
        while self._queued_since_settle:
            queued, self._queued_since_settle = self._queued_since_settle, []
            busy = {id(entry): entry for entry in queued if entry.pending}
            await asyncio.gather(*(entry.queue.join() for entry in busy.values()))

    async def _serve(self, symbol: str, entry: _Symbol) -> None:
        queue = entry.queue
        while True:
            items = [await queue.get()]
            while not queue.empty() and len(items) < _MAX_COALESCE:
                items.append(queue.get_nowait())
            try:
                # Under load a symbol's queue holds many small batches: consecutive ones of one
                # kind go to the engine as one (same events, same order, one crossing).
                for item in _coalesce(items):
                    if isinstance(item, EventBatch):
                        await entry.runner.process(item)
                    else:
                        await item()
            except Exception as error:  # noqa: BLE001 - any failure quarantines this symbol only
                self._quarantine(symbol, error)
                for _ in items:
                    queue.task_done()
                while not queue.empty():  # nothing more is processed for this symbol
                    queue.get_nowait()
                    queue.task_done()
                return
            entry.pending -= len(items)
            if not entry.pending:
                self._mark(entry)
            for _ in items:
                queue.task_done()

    def _quarantine(self, symbol: str, error: BaseException, ts: int | None = None) -> None:
        """Stop ``symbol`` for good, and say why (``ts``: when, if the caller knows)."""
        reason = f"{type(error).__name__}: {error}"
        self.quarantined[symbol] = reason
        entry = self.symbols.pop(symbol, None)
        if entry is not None:
            self._mark(entry)
        _log.error("%s quarantined: %s", symbol, reason)
        self.bus.publish("error", symbol, None, kind="quarantine", reason=reason)
        if self.on_quarantine is not None:
            self.on_quarantine(symbol, reason, ts)
        if entry is not None:
            start_task(self.stream.unsubscribe([symbol]), f"tradecore.unsubscribe.{symbol}", log=_log)
            if entry.task is not None and entry.task is not asyncio.current_task():
                entry.task.cancel()  # failed in dispatch(): its task waits for nothing more

    async def close(self, timeout: float | None = None) -> list[str]:
        """Stop every symbol task. Queued batches are processed first, for at most ``timeout``
        seconds in all (None: as long as it takes); the symbols still busy then are cancelled
        with what they had queued, and returned so the caller can report them."""
        try:
            await asyncio.wait_for(self.drain(), timeout)
        except TimeoutError:
            pass
        cut = sorted(s for s, entry in self.symbols.items() if entry.pending)
        for symbol in list(self.symbols):
            await self.stop_symbol(symbol, finish=symbol not in cut)
        return cut

