"""Runs: ``tradecore live`` and ``tradecore backtest`` wire the same pipeline to a stream, a
scanner and a broker.

The paper venue is the symbol engines' own native fill simulator (:class:`EngineBroker`): orders
are matched event by event inside the native loop, so fills do not depend on how events were
batched, and a recorded live session replays into the same intents and fills. With a broker
outside the engines (Alpaca, :class:`BrokerExecution`) the engines run without a simulator and
learn their fills from the broker's events. Everything the execution layer decides (routing,
risk, orders, fills, positions) goes to the journal and the bus. The market clock ticks every
active symbol (:mod:`tradecore.clock`): by market time live, by event time in a backtest, as
recorded in a backtest of a recording.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Coroutine, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tradecore import schema
from tradecore.bus import EventBus
from tradecore.clock import ClockLog, MarketClock, run_clock
from tradecore.config import Config
from tradecore.data import parquet
from tradecore.engine import FillModel, SymbolEngine
from tradecore.errors import ConfigError, DataError
from tradecore.execution import (
    Broker,
    BrokerEvent,
    BrokerEventType,
    EntryGate,
    ExecutionPipeline,
    IntentRejected,
    Order,
    OrderRouter,
    PaperBroker,
    RiskDecision,
    RiskLimits,
    RiskManager,
    RouterConfig,
    TradeIntent,
)
from tradecore.execution.market import MarketBook, to_decimal
from tradecore.execution.positions import PositionTracker
from tradecore.execution.router import plain_rows
from tradecore.journal.journal import Journal, StrategyNames
from tradecore.latency import LatencyStats
from tradecore.pipeline import StrategyManager, SymbolRunner
from tradecore.resume import adoption_offer, restore_resume_point
from tradecore.scanners import EnrichmentCache, build_scanner
from tradecore.scanners.point_in_time import PointInTimeInputs, ReplayReferences, ScanningReplay
from tradecore.strategies import built_in
from tradecore.streams.base import EventBatch, EventKind, GroupedBatch, MarketDataStream
from tradecore.streams.replay import merge_time
from tradecore.tasks import start_task

__all__ = ["BrokerExecution", "EngineBroker", "PipelineExecution", "RunState", "build_strategy", "fill_model",
           "run_pipeline"]

_log = logging.getLogger("tradecore.session")
_EMPTY_FILLS = np.empty(0, schema.FILL)
_NS_FAR = 2**62  # a time after any data (ns)
_EMPTY_UPDATES = np.empty(0, schema.ORDER_UPDATE)


def fill_model(config: Config) -> Any:
    """The paper venue's execution model from the configuration."""
    model = FillModel()
    model.slippage = config.execution.slippage
    model.commission_per_share = config.execution.commission_per_share
    model.commission_minimum = config.execution.commission_minimum
    return model


def build_strategy(config: Config, prior_close: float | None) -> Any:
    """One strategy object as configured (``prior_close`` from the scanner, for gap rules)."""
    return built_in(config.strategy.name, config.strategy.params, prior_close)


class _EngineVenue:
    """The FillSimulator face of a symbol engine, for :class:`PaperBroker`'s bookkeeping."""

    def __init__(self, broker: EngineBroker, native: Any) -> None:
        self.broker, self.native = broker, native

    def submit(self, *, order_id: int, ts: int, side: int, type: int, quantity: float, limit_price: float,
               stop_price: float, time_in_force: int, instrument_id: int) -> tuple[np.ndarray, np.ndarray]:
        self.native.submit(order_id=order_id, ts=ts, side=side, type=type, quantity=quantity,
                           limit_price=limit_price, stop_price=stop_price, time_in_force=time_in_force,
                           strategy_id=self.broker.next_strategy)
        return _EMPTY_FILLS, _EMPTY_UPDATES  # what happened is in the engine's output

    def cancel(self, order_id: int, ts: int) -> tuple[np.ndarray, np.ndarray]:
        self.native.cancel(order_id, ts)
        return _EMPTY_FILLS, _EMPTY_UPDATES

    def on_clock(self, now: int) -> tuple[np.ndarray, np.ndarray]:
        return _EMPTY_FILLS, _EMPTY_UPDATES  # the engine keeps its own clock


class EngineBroker(PaperBroker):
    """The paper broker whose venues are the symbol engines' native fill simulators.

    Orders go into the engine of their symbol (owned by the strategy behind the intent); the
    engine matches them against every later event natively; :meth:`on_engine_output` turns the
    engine's fills and order updates into broker events (positions, risk, journal).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._natives: dict[str, Any] = {}
        self.next_strategy = 0

    def attach(self, symbol: str, native: Any) -> None:
        self._natives[symbol.upper()] = native

    def _sim(self, symbol: str) -> Any:
        key = symbol.upper()
        if key not in self._sims:
            native = self._natives.get(key)
            if native is None:
                raise ConfigError(f"{key}: no engine attached to the paper venue")
            self._sims[key] = _EngineVenue(self, native)
            self._instrument[key] = len(self._instrument)
        return self._sims[key]

    def on_batch(self, batch: EventBatch) -> list[BrokerEvent]:
        """The clock only: the engines feed their own venues, the pipeline keeps the book
        (``self.market``) and the marks."""
        if len(batch.events):
            self.advance(int(batch.events["ts_event"][-1]))
        return []

    def advance(self, ts: int) -> None:
        """Follow market time (a frame's groups: see ExecutionPipeline.mark_grouped)."""
        if ts > self.now:
            self.now = ts

    async def submit(self, request: Any) -> Any:
        # Orders no strategy asked for (the kill switch's and shutdown's flattening) are owned by
        # the symbol's first strategy, so its position follows what the account holds.
        strategy = request.intent.strategy_id if request.intent is not None else 0
        native = self._natives.get(request.symbol)
        count = len(native.strategies) if native is not None else 1
        self.next_strategy = strategy if 0 <= strategy < count else 0
        return self.submit_now(request)

    def on_engine_output(self, symbol: str, fills: np.ndarray, updates: np.ndarray) -> list[BrokerEvent]:
        return self._translate(symbol, fills, updates)


class PipelineExecution:
    """The pipeline's execution: intents through the router and risk to the broker; the
    engine's output to positions, the kill switch, the journal and the bus."""

    def __init__(self, pipeline: ExecutionPipeline, broker: Broker, journal: Journal | None,
                 bus: EventBus) -> None:
        self.pipeline, self.broker, self.journal, self.bus = pipeline, broker, journal, bus
        self.batch_only = pipeline.batch_only  # asked for every symbol of every live frame
        self.may_batch_only = pipeline.may_batch_only
        self.latency: LatencyStats | None = None
        self.intents = 0
        self.names: dict[tuple[str, int], StrategyNames] = {}
        # Ids of refused intents' engine updates: far above any order id an engine or a broker
        # adapter hands out, so they never name a real order.
        self._refusal_ids = itertools.count(1 << 62)

    async def handle_intents(self, runner: SymbolRunner, intents: np.ndarray) -> None:
        native = runner.engine.native
        now = int(native.now)
        if isinstance(self.broker, EngineBroker):
            # Orders carry the symbol's own event time: other symbols' progress must not shift them.
            self.broker.now = now
        # Route on the book as the engine saw it at the intent, not at the end of the batch:
        # decisions then do not depend on how events were batched (live, replay, recording).
        book = native.book
        if book is not None:
            self.pipeline.market.set_book(runner.symbol, *book, ts_event=now)
        for row in plain_rows(intents):
            intent = TradeIntent.from_row(row, runner.symbol)
            self.intents += 1
            if self.journal is not None:
                self.journal.intent(runner.symbol, row, self._names(runner, int(row["strategy_id"])))
            if self.bus.wants("intent"):
                self.bus.publish("intent", runner.symbol, intent.ts_event, side=intent.side.name,
                                 sizing=intent.sizing.name, quantity=float(intent.quantity))
            outcome = await self.pipeline.submit_intent(intent, now=now)
            if self.latency is not None:  # from the engine's decision, waiting to be routed included
                self.latency.add("intent_to_ack", time.time_ns() - runner.intent_at)
            if isinstance(outcome, IntentRejected) or (isinstance(outcome, RiskDecision)
                                                       and not outcome.accepted):
                self._tell_refused(runner, int(row["strategy_id"]), now)

    def intent_step(self) -> AbstractContextManager[None]:
        # The paper venue's step is one journal transaction: it never yields to the loop while
        # routing, and nothing of it leaves the process before it ends; the steps of one turn of
        # the loop share a commit (Journal.transaction, grouped). A broker outside the process
        # takes orders as they go: each record commits at once.
        if self.journal is not None and isinstance(self.broker, EngineBroker):
            return self.journal.transaction(grouped=True)
        return nullcontext()

    def _tell_refused(self, runner: SymbolRunner, strategy_id: int, now: int) -> None:
        """An intent refused by the router or risk never becomes an order: tell the strategy
        that asked, as a rejected order, so it leaves PENDING_ENTRY / PENDING_EXIT instead of
        waiting forever (the reason is in the journal's risk record)."""
        native = runner.engine.native
        order_id = next(self._refusal_ids)
        native.assign_order(order_id, strategy_id)
        native.on_external_update(ts=now, order_id=order_id, status=int(schema.OrderStatus.REJECTED),
                                  filled_quantity=0.0, leaves_quantity=0.0, reason=schema.OrderReason.REFUSED)

    def on_market(self, batch: EventBatch) -> bool:
        # A mark of a held symbol is settled here; only a kill-switch trip needs waiting for.
        return self.pipeline.mark(batch) and not self.pipeline.settle_now()


    def on_market_grouped(self, group: GroupedBatch, indices: list[int]) -> None:
        self.pipeline.mark_grouped(group, indices)

    def reach(self, index: int) -> None:
        self.pipeline.reach(index)

    def on_output(self, runner: SymbolRunner, output: dict[str, np.ndarray]) -> bool:
        if self.journal is not None and len(output["transitions"]):
            names = [self._names(runner, i) for i in range(len(runner.engine.strategies))]
            self.journal.transitions(runner.symbol, output["transitions"], names)
        if len(output["fills"]) or len(output["updates"]):
            assert isinstance(self.broker, EngineBroker)
            with self.intent_step():  # what one engine output did: one commit, as an intent step
                self.broker.on_engine_output(runner.symbol, output["fills"], output["updates"])
                return not self.pipeline.settle_now()
        return False

    async def settle(self) -> None:
        await self.pipeline.drain()

    def on_broker_event(self, event: BrokerEvent) -> None:
        """See every broker event as the pipeline applies it (the paper venue's engines already
        know their fills)."""

    def adopt_orders(self, runner: SymbolRunner, orders: list[Order], strategy_id: int) -> None:
        """Let orders a crashed process left working report to the strategy that adopted their
        position (the paper venue's orders died with the process: there are none)."""

    def _names(self, runner: SymbolRunner, strategy_id: int) -> StrategyNames:
        key = (runner.symbol, strategy_id)
        if key not in self.names:
            self.names[key] = StrategyNames.of(runner.engine.strategies[strategy_id])
        return self.names[key]


_ENGINE_STATUS = {BrokerEventType.FILL: schema.OrderStatus.FILLED,
                  BrokerEventType.CANCELED: schema.OrderStatus.CANCELED,
                  BrokerEventType.EXPIRED: schema.OrderStatus.CANCELED,
                  BrokerEventType.DONE_FOR_DAY: schema.OrderStatus.CANCELED,
                  BrokerEventType.REJECTED: schema.OrderStatus.REJECTED}


class BrokerExecution(PipelineExecution):
    """Execution through a broker outside the engines (Alpaca's Trading API).

    The engines run without a fill simulator. A fill or final update of an order this process
    placed is queued for its symbol and given to the symbol's engine at the start of the
    symbol's next batch, in the symbol's own task: the engine is never entered from two tasks,
    and the strategy that asked for the order sees its fills (PENDING_ENTRY -> LONG ...).
    Orders of another process (before a resume) reach the positions and the journal only, but
    for the exits working for a position a strategy adopted (:meth:`adopt_orders`).
    """

    def __init__(self, pipeline: ExecutionPipeline, broker: Broker, journal: Journal | None,
                 bus: EventBus, order_prefix: str) -> None:
        super().__init__(pipeline, broker, journal, bus)
        self.order_prefix = order_prefix + "-"
        self.runners: dict[str, SymbolRunner] = {}
        # Events wait with the runner that was the symbol's when they came: a symbol stopped
        # and started again has a new engine, which never owned the old orders.
        self.pending: dict[str, list[tuple[SymbolRunner, BrokerEvent]]] = {}
        self._engine_ids: dict[str, int] = {}  # broker order id -> the engine's integer id
        self._adopted: set[str] = set()  # broker ids of a crashed process's orders an engine owns

    def on_broker_event(self, event: BrokerEvent) -> None:
        runner = self.runners.get(event.symbol)
        order = event.order
        if runner is not None and (event.is_fill or event.type in _ENGINE_STATUS) \
                and (order.client_order_id.startswith(self.order_prefix) or order.order_id in self._adopted):
            self.pending.setdefault(event.symbol, []).append((runner, event))

    def adopt_orders(self, runner: SymbolRunner, orders: list[Order], strategy_id: int) -> None:
        native = runner.engine.native
        for order in orders:
            engine_id = self._engine_ids[order.order_id] = len(self._engine_ids) + 1
            native.assign_order(engine_id, strategy_id)
            self._adopted.add(order.order_id)

    def before_batch(self, runner: SymbolRunner, batch: EventBatch) -> Coroutine[Any, Any, None] | None:
        """The runner's hook: the delivery to await before its next batch, if any is queued."""
        return self.deliver(batch.symbol) if self.pending.get(batch.symbol) else None

    def has_work(self, symbol: str) -> bool:
        return bool(self.pending.get(symbol))

    def idle(self) -> bool:
        return not self.pending

    async def deliver(self, symbol: str) -> None:
        """Give ``symbol``'s engine the fills and final updates queued for it (from its task)."""
        runner = self.runners.get(symbol)
        events = [event for owner, event in self.pending.pop(symbol, []) if owner is runner]
        if runner is None:
            return
        native = runner.engine.native
        for event in events:
            order = event.order
            engine_id = self._engine_ids.get(order.order_id)
            if engine_id is None:
                engine_id = self._engine_ids[order.order_id] = len(self._engine_ids) + 1
                strategy = order.intent.strategy_id if order.intent is not None else 0
                # Orders no strategy asked for (kill switch, shutdown) belong to the first one,
                # as on the paper venue, so its position follows the account.
                native.assign_order(engine_id, strategy if 0 <= strategy < len(runner.engine.strategies) else 0)
            if event.is_fill and event.fill_qty and event.fill_price is not None:
                fill = {"ts": event.ts_event, "order_id": engine_id, "side": int(order.side),
                        "price": float(event.fill_price), "quantity": float(event.fill_qty),
                        "leaves_quantity": float(order.leaves_qty), "commission": float(event.commission)}
                await runner.step(functools.partial(native.on_external_fill, **fill))
            status = _ENGINE_STATUS.get(event.type)
            if status is not None:
                update = {"ts": event.ts_event, "order_id": engine_id, "status": int(status),
                          "filled_quantity": float(order.filled_qty), "leaves_quantity": 0.0}
                await runner.step(functools.partial(native.on_external_update, **update))

    def on_output(self, runner: SymbolRunner, output: dict[str, np.ndarray]) -> bool:
        # The engine's fills are the broker's, handed to it above: only transitions are new.
        if self.journal is not None and len(output["transitions"]):
            names = [self._names(runner, i) for i in range(len(runner.engine.strategies))]
            self.journal.transitions(runner.symbol, output["transitions"], names)
        return False


def journal_execution_event(journal: Journal | None, bus: EventBus) -> Callable[[Any], None]:
    """The pipeline's ``on_event``: every routing, risk and broker event to the journal and bus."""

    def record(event: Any) -> None:
        kind = type(event).__name__
        ts = int(getattr(event, "ts_event", 0) or 0)
        symbol = str(getattr(event, "symbol", "") or getattr(getattr(event, "order", None), "symbol", "") or "")
        if journal is not None:
            _journal(journal, event, kind, ts, symbol)
        topic = _TOPICS.get(kind, "execution")
        if bus.wants(topic):
            bus.publish(topic, symbol, ts, **event.to_record())

    return record


def _journal(journal: Journal, event: Any, kind: str, ts: int, symbol: str) -> None:
    if isinstance(event, BrokerEvent):
        order = event.order
        if event.is_fill:
            journal.fill(symbol, {"ts_event": ts, "side": order.side.name, "price": float(event.fill_price or 0),
                                  "quantity": float(event.fill_qty or 0), "commission": float(event.commission),
                                  "leaves_quantity": float(order.leaves_qty)},
                         order_id=order.order_id, fill_id=event.execution_id,
                         client_order_id=order.client_order_id)
        else:
            journal.order_update(symbol, {"ts_event": ts, "status": event.type.name,
                                          "filled_quantity": float(order.filled_qty),
                                          "leaves_quantity": float(order.leaves_qty)},
                                 order_id=order.order_id, reason=event.reason,
                                 client_order_id=order.client_order_id)
    elif kind == "OrderRouted":
        order = event.order
        journal.order(ts, symbol or order.symbol, order.client_order_id, side=order.side.name,
                      quantity=float(order.qty), order_type=order.type.name,
                      limit_price=float(order.limit_price) if order.limit_price is not None else None,
                      stop_price=float(order.stop_price) if order.stop_price is not None else None,
                      time_in_force=order.time_in_force.name, client_order_id=order.client_order_id,
                      details={"reason": order.reason, "extended_hours": order.extended_hours,
                               # which intent it serves: a resume finds the strategy and stop by it
                               "intent": order.intent.to_record() if order.intent is not None else None})
    elif kind == "RiskDecision":
        journal.risk_decision(ts, symbol, accepted=event.accepted, reason=event.reason,
                              intent_id=event.client_order_id,
                              details={"rule": event.rule, **dict(event.values)})
    elif kind == "IntentRejected":  # the router (or the feed-health gate) refused to make an order
        journal.risk_decision(ts, symbol, accepted=False, reason=event.reason,
                              details={"rule": event.rule, "stage": "router", **dict(event.values)})
    elif kind in ("KillSwitchTripped", "KillSwitchReset"):
        record = event.to_record()
        journal.kill_switch(ts, tripped=kind == "KillSwitchTripped", reason=event.reason,
                            details={k: v for k, v in record.items()
                                     if k not in ("record_type", "ts_event", "reason")})
    elif kind == "PositionChanged":
        journal.position(ts, symbol, quantity=float(event.qty), average_price=float(event.avg_entry_price),
                         realized_pnl=float(event.realized_pl))
    else:
        journal.append(kind, ts, event.to_record(), symbol=symbol or None)


_TOPICS = {"BrokerEvent": "order", "RiskDecision": "risk", "OrderRouted": "order", "IntentRejected": "risk",
           "PositionChanged": "position", "KillSwitchTripped": "risk", "KillSwitchReset": "risk"}


@dataclass
class RunState:
    """What a run is made of, shared by the live loop, the backtest loop and the dashboard."""

    config: Config
    bus: EventBus
    journal: Journal | None
    broker: Broker
    pipeline: ExecutionPipeline
    execution: PipelineExecution
    manager: StrategyManager | None = None
    prior_closes: dict[str, float] = field(default_factory=dict)
    instruments: dict[str, int] = field(default_factory=dict)  # symbol -> instrument_id

    @classmethod
    def create(cls, config: Config, *, journal: Journal | None, bus: EventBus | None = None,
               broker: Broker | None = None, order_prefix: str | None = None) -> RunState:
        """The run's parts. ``broker`` None: the paper venue inside the engines; otherwise the
        engines learn their fills from it. ``order_prefix``: the client order id prefix when the
        configuration sets none (a live process needs its own: ids must never repeat); the paper
        venue's order and execution ids carry it too."""
        bus = bus or EventBus()
        record = journal_execution_event(journal, bus)
        if broker is None:
            broker = EngineBroker(fill_model=fill_model(config),
                                  starting_cash=to_decimal(config.execution.starting_cash),
                                  id_prefix="paper" if order_prefix is None else f"paper-{order_prefix}")
            tracker, market = broker.tracker, broker.market
        else:
            tracker, market = PositionTracker(to_decimal(config.execution.starting_cash)), MarketBook()
        router_options = dict(config.execution.router)
        if order_prefix is not None:
            router_options.setdefault("client_order_id_prefix", order_prefix)
        try:
            router_config = RouterConfig.from_mapping(router_options)
            # The gate routes everything until a rule is added (feed health, a resume).
            router = EntryGate(OrderRouter(router_config, position=tracker.qty,
                                           equity=lambda: tracker.equity), tracker.qty)
            risk = RiskManager(RiskLimits.from_mapping(config.execution.risk), on_event=record)
        except TypeError as error:
            raise ConfigError(f"execution.router / execution.risk: {error}") from None
        execution: PipelineExecution | None = None

        def on_event(event: Any) -> None:
            record(event)
            if isinstance(event, BrokerEvent) and execution is not None:
                execution.on_broker_event(event)

        pipeline = ExecutionPipeline(broker, router, risk, tracker, market, on_event=on_event)
        if isinstance(broker, EngineBroker):
            execution = PipelineExecution(pipeline, broker, journal, bus)
        else:
            execution = BrokerExecution(pipeline, broker, journal, bus, router_config.client_order_id_prefix)
        return cls(config, bus, journal, broker, pipeline, execution)

    def quarantined(self, symbol: str, reason: str, ts: int | None = None) -> None:
        """The manager's ``on_quarantine``: an error record in the journal at ``ts``, else at
        the market time the pipeline reached (0 before any data: a live scan gives its time)."""
        if self.journal is not None:
            self.journal.error(self.pipeline.now if ts is None else ts, f"{symbol} quarantined: {reason}",
                               symbol=symbol, where="quarantine")

    @property
    def gate(self) -> EntryGate:
        """The router's entry gate: add rules that refuse new entries for some symbols."""
        assert isinstance(self.pipeline.router, EntryGate)
        return self.pipeline.router

    @property
    def tracker(self) -> PositionTracker:
        """Cash, positions and PnL of the account."""
        return self.pipeline.tracker

    @property
    def paper(self) -> bool:
        """True when orders fill on the paper venue inside the engines."""
        return isinstance(self.broker, EngineBroker)

    def make_engine(self, symbol: str, instrument_id: int | None = None) -> SymbolEngine:
        """A fresh engine for ``symbol`` (attached to the paper venue, if that is the broker); its
        instrument id is the symbol's (assigned on first sight) unless a recording says which."""
        if instrument_id is None:
            instrument_id = self.instruments.setdefault(symbol, len(self.instruments))
        self.instruments[symbol] = instrument_id
        strategy = build_strategy(self.config, self.prior_closes.get(symbol))
        engine = SymbolEngine(symbol, [strategy], bar_period=self.config.strategy.bar_period,
                              simulate_fills=self.paper, fill_model=fill_model(self.config),
                              instrument_id=instrument_id)
        if isinstance(self.broker, EngineBroker):
            self.broker.attach(symbol, engine.native)
        return engine

    def runner(self, symbol: str, engine: SymbolEngine) -> SymbolRunner:
        runner = SymbolRunner(symbol, engine, self.execution, self.bus, self.execution.latency)
        if isinstance(self.execution, BrokerExecution):
            self.execution.runners[symbol] = runner
            runner.hooks.append(self.execution)
        return runner

    def holds_position(self, symbol: str) -> bool:
        return self.tracker.qty(symbol) != 0


class _Stopped(Exception):
    """``run_pipeline``'s stop, raised from a part its stream pushed (see ``push_parts``)."""


async def run_pipeline(state: RunState, stream: MarketDataStream, *,
                       on_batch: Callable[[EventBatch], None] | None = None,
                       on_group: Callable[[GroupedBatch], None] | None = None,
                       stop: asyncio.Event | None = None, clock: MarketClock | None = None,
                       settle: bool = False) -> int:
    """Consume ``stream`` into the manager until it ends or ``stop`` is set; return events seen.

    ``on_batch`` sees every batch before the pipeline does. A live stream's whole frames
    (:meth:`MarketDataStream.parts`) are dispatched grouped when ``on_group`` sees them too (or
    nothing watches), else batch by batch. ``clock`` ticks the active symbols
    (:mod:`tradecore.clock`): by its market clock in a task of its own (live), or, without one,
    by the event time of the batches (backtests). ``settle`` (backtests): what a part queued is
    processed before the next part (:meth:`StrategyManager.settle`), not whenever the replay
    happens to yield.
    """
    manager = state.manager
    assert manager is not None
    manager.settling = settle
    events = 0
    ticker = None
    if clock is not None and clock.now is not None:
        ticker = start_task(run_clock(clock, manager), "tradecore.clock", log=_log)
    by_event_time = clock if clock is not None and clock.now is None else None
    grouped = by_event_time is None and (on_batch is None or on_group is not None)

    def dispatch(batch: EventBatch) -> None:
        if on_batch is not None:
            on_batch(batch)
        if by_event_time is not None:
            _dispatch_ticking(manager, by_event_time, batch)
        else:
            manager.dispatch(batch)

    def handle(part: EventBatch | GroupedBatch) -> None:
        nonlocal events
        events += len(part)
        if type(part) is GroupedBatch:
            if grouped:
                if on_group is not None:
                    on_group(part)
                manager.dispatch_grouped(part)
            else:
                for batch in part.batches():
                    dispatch(batch)
        else:
            assert isinstance(part, EventBatch)
            dispatch(part)

    def pushed(part: EventBatch | GroupedBatch) -> None:
        handle(part)
        if stop is not None and stop.is_set():
            raise _Stopped

    # A live stream hands a frame straight to the pipeline while it keeps up (no task hop:
    # dispatching never waits); a replay that settles after each part goes part by part.
    pushing = not settle and stream.push_parts(pushed)
    try:
        async for part in stream.parts():
            handle(part)
            if settle:
                await manager.settle()
            if stop is not None and stop.is_set():
                break
    except _Stopped:
        pass
    finally:
        if pushing:
            stream.push_parts(None)
        if ticker is not None:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
    await manager.drain()
    return events


def _dispatch_ticking(manager: StrategyManager, clock: MarketClock, batch: EventBatch) -> None:
    """Dispatch ``batch``, ticking the symbols before each event that crosses a boundary of the
    clock (event time is market time in a backtest)."""
    if not len(batch):
        manager.dispatch(batch)
        return
    interval = clock.interval_ns
    times = merge_time(batch.kind, batch.events)
    if clock.last is None:
        clock.due(int(times[0]))  # the clock starts at the first event
    assert clock.last is not None
    if int(times.max()) < clock.last + interval:  # the common case: no boundary crossed
        manager.dispatch(batch)
        return
    # A batch is one stream's events in time order; the running maximum keeps a stray older
    # event from moving the clock back.
    floor = clock.last // interval
    periods = np.maximum.accumulate(np.maximum(times // interval, floor))
    crossings = (np.flatnonzero(periods[1:] != periods[:-1]) + 1).tolist()
    if periods[0] > floor:
        crossings.insert(0, 0)
    start = 0
    for index in crossings:
        if index > start:
            manager.dispatch(batch.slice(start, index))
            start = index
        clock.tick(manager, int(periods[index]) * interval)
    manager.dispatch(batch.slice(start, len(batch)))


class StartLog:
    """Where a recording keeps how its symbols were started and stopped.

    ``universe.jsonl`` lists, in order, each runner start and stop with the number of events
    the stream had delivered at that moment (``after``) and, for starts, the prior close and the
    warm-up history (``warmup/<n>-<SYMBOL>.parquet``). A backtest of the recording starts and
    stops its runners at exactly the same points of the same event sequence: that is what makes
    a recorded live session replay into the same intents and fills. The market clock's ticks
    are placed the same way, in ``clock.jsonl`` (:class:`tradecore.clock.ClockLog`).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / "universe.jsonl"

    @staticmethod
    def check_fresh(folder: Path) -> None:
        """Refuse (:class:`ConfigError`) a ``folder`` that already holds a recording: a live
        run's starts, stops and ticks count events from 0, so appended to another recording
        they could not be replayed (a resumed run's recording goes to a folder of its own)."""
        held = [name for name in ("recording.json", "universe.jsonl", ClockLog.NAME)
                if (Path(folder) / name).exists()]
        if held:
            raise ConfigError(f"{folder} already holds a recording ({', '.join(held)}): "
                              "record into a new folder")

    def write(self, entry: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as file:
            file.write(json.dumps(entry) + "\n")
            file.flush()
            os.fsync(file.fileno())

    def save_history(self, index: int, symbol: str, bars: np.ndarray | None) -> str | None:
        if bars is None or not len(bars):
            return None
        name = f"warmup/{index}-{symbol.upper()}.parquet"
        (self.folder / "warmup").mkdir(parents=True, exist_ok=True)
        parquet.write_table(parquet.to_table(bars, kind=EventKind.BAR, symbol=symbol), self.folder / name)
        return name

    def entries(self) -> list[dict[str, Any]]:
        """The starts and stops in order. An unfinished last line (a killed process) is left
        out, as the clock log's; any other bad line is a :class:`DataError` naming it."""
        if not self.path.is_file():
            return []
        lines = self.path.read_text().splitlines(keepends=True)
        entries = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict) or "action" not in entry or "after" not in entry:
                    raise ValueError("no action and event count")
            except ValueError as error:
                if number == len(lines) and not line.endswith("\n"):
                    break
                raise DataError(f"{self.path}:{number}: not a universe change ({error}): {line.strip()[:80]!r}") from None
            entries.append(entry)
        return entries

    def history(self, name: str | None) -> np.ndarray | None:
        if not name:
            return None
        path = self.folder / name
        if not path.is_file():  # the recording was copied without its warmup folder
            raise DataError(f"{path}: the warm-up history universe.jsonl names is missing")
        return np.ascontiguousarray(parquet.read_events(path, EventKind.BAR)[0])


async def backtest(
    config: Config,
    source: Any,
    symbols: Iterable[str],
    *,
    datasets: Iterable[str] = ("trade", "quote"),
    start: int | None = None,
    end: int | None = None,
    journal: Journal | None = None,
    bus: EventBus | None = None,
    on_batch: Callable[[EventBatch], None] | None = None,
    scanned: bool = False,
) -> tuple[RunState, int]:
    """Replay ``source`` for ``symbols`` through the live pipeline at full speed.

    Without ``scanned`` every symbol trades from the start. With it, ``symbols`` are the
    candidates and ``config.scanner`` picks the universe among them every
    ``scanner.interval_seconds`` of replay time, point in time (:class:`ScanningReplay`: a scan
    sees only the events before its time; the prior close comes from the source's daily bars).
    The market clock (``config.clock``) ticks the symbols by event time (:mod:`tradecore.clock`).
    Returns the run's state (positions, broker, bus) and the number of events replayed.
    """
    from tradecore.streams.replay import ReplayStream

    state = RunState.create(config, journal=journal, bus=bus)
    replay = ReplayStream(source, datasets=tuple(datasets), start=start, end=end, speed=0.0)
    wanted = sorted({s.upper() for s in symbols})
    scanning = _scanning(state, replay, wanted, journal) if scanned else None
    stream: MarketDataStream = scanning or replay

    async def make_runner(symbol: str) -> SymbolRunner:
        if scanning is not None:  # the prior close as the scan that picked the symbol saw it
            prior = scanning.inputs.prior_close(symbol)
            if prior is not None:
                state.prior_closes[symbol] = prior
        if symbol not in state.prior_closes:
            state.prior_closes.update(_prior_close(replay, symbol, start))
        engine = state.make_engine(symbol)
        return state.runner(symbol, engine)

    manager = state.manager = StrategyManager(stream, make_runner, state.bus,
                                              holds_position=state.holds_position,
                                              on_quarantine=state.quarantined)
    if scanning is not None:
        scanning.on_scan = lambda change: manager.update_universe(change.universe, change.ts)
        await scanning.subscribe(wanted)
    else:
        await manager.update_universe(wanted)
        if journal is not None:
            journal.universe_change(start or 0, added=wanted, universe=wanted, scanner="fixed")
    interval = config.clock.interval_ns
    try:
        events = await run_pipeline(state, stream, on_batch=on_batch,
                                    clock=MarketClock(interval) if interval else None, settle=True)
    finally:
        await manager.close()
        await stream.close()
    return state, events


def _scanning(state: RunState, replay: Any, candidates: list[str],
              journal: Journal | None) -> ScanningReplay:
    """The replay, scanned by ``state.config.scanner`` at its interval (point in time)."""
    inputs = PointInTimeInputs(candidates)
    if "daily" in replay.source.datasets():  # all of them: a scan counts only bars ended by then
        for symbol in candidates:
            inputs.seed_daily(symbol, replay.history(symbol, "daily", before=_NS_FAR))
    settings = state.config.scanner
    scanner = build_scanner(settings, inputs=inputs, keep=state.holds_position, journal=journal,
                            clock=lambda: inputs.now,
                            enrichment=EnrichmentCache(ReplayReferences(inputs),
                                                       clock=lambda: inputs.now))
    return ScanningReplay(replay, inputs, scanner, every_ns=round(settings.interval_seconds * 1e9))


async def backtest_recording(config: Config, folder: Path, *, journal: Journal | None = None,
                             bus: EventBus | None = None,
                             on_batch: Callable[[EventBatch], None] | None = None) -> tuple[RunState, int]:
    """Replay a live recording, starting and stopping runners, and ticking them with the market
    clock, where the live run did (``universe.jsonl``, ``clock.jsonl``; the recorded ticks, not
    ``config.clock``: a recording without ticks replays without them)."""
    from tradecore.streams.recorder import RecordingSource
    from tradecore.streams.replay import ReplayStream

    log = StartLog(folder)
    entries = log.entries()
    if not entries:
        raise ConfigError(f"{folder}: no universe.jsonl: not a recording of `tradecore live`")
    ticks = ClockLog.entries(folder)  # a damaged clock log is refused before anything replays
    source = RecordingSource(folder)
    state = RunState.create(config, journal=journal, bus=bus)
    restore_resume_point(folder, state, entries)  # a resumed run's recording starts where it resumed
    stream = ReplayStream(source, speed=0.0)
    starting: dict[str, dict[str, Any]] = {}

    async def make_runner(symbol: str) -> SymbolRunner:
        entry = starting.pop(symbol)
        if entry.get("prior_close") is not None:
            state.prior_closes[symbol] = float(entry["prior_close"])
        engine = state.make_engine(symbol, int(entry.get("instrument_id", 0)))
        history = log.history(entry.get("warmup"))
        if history is not None:
            engine.warm_up(history)
        offer = adoption_offer(entry)
        if offer:  # what the resumed run offered the strategy, after the same warm-up
            engine.native.adopt(**offer)
        return state.runner(symbol, engine)

    manager = state.manager = StrategyManager(stream, make_runner, state.bus, holds_position=state.holds_position,
                                              settling=True, on_quarantine=state.quarantined)
    await stream.subscribe(source.symbols())
    changes = iter(_in_live_order(entries, ticks))
    pending = next(changes, None)
    delivered = 0

    async def apply(entry: dict[str, Any]) -> None:
        symbol = entry.get("symbol", "")
        if entry["action"] == "start":
            starting[symbol] = entry
            await manager.start_symbol(symbol, subscribe=False)
        elif entry["action"] == "stop":
            await manager.stop_symbol(symbol)
        elif entry["action"] == "clock":
            manager.tick(entry["now"])

    async def shut_down() -> None:  # where the live run stopped, as it did then
        if config.execution.flatten_on_exit:
            await flatten_at_shutdown(state, {})
            await manager.settle()

    try:
        async for batch in stream:
            offset = 0
            while pending is not None and pending["after"] <= delivered + len(batch):
                cut = pending["after"] - delivered
                if cut > offset:
                    _dispatch_part(manager, batch, offset, cut, on_batch)
                    await manager.settle()
                    offset = cut
                if pending["action"] == "end":
                    pending = None
                    delivered += offset
                    await shut_down()
                    raise StopAsyncIteration
                await apply(pending)
                await manager.settle()
                pending = next(changes, None)
            if offset < len(batch):
                _dispatch_part(manager, batch, offset, len(batch), on_batch)
                await manager.settle()
            delivered += len(batch)
        # What happened after the last recorded event (ticks in a silence, the end); nothing
        # after events a crash lost.
        while pending is not None and pending["after"] <= delivered:
            if pending["action"] == "end":
                await shut_down()
                break
            await apply(pending)
            await manager.settle()
            pending = next(changes, None)
    except StopAsyncIteration:
        pass
    finally:
        await manager.drain()
        await manager.close()
        await stream.close()
    return state, delivered


async def flatten_at_shutdown(state: RunState, unsent: dict[str, str]) -> None:
    """Close every position (a live run's shutdown, and where a backtest of its recording
    reaches it) and let the engines hear their fills; ``unsent`` gets the symbols whose closing
    order could not be sent, with why."""
    assert state.manager is not None
    unsent.update(await state.pipeline.flatten(reason="shutdown"))
    for symbol, why in unsent.items():
        _log.warning("shutdown: %s stays open: %s", symbol, why)
    for runner in (entry.runner for entry in state.manager.symbols.values()):
        await runner._consume(runner.engine.native.drain())  # the flattening fills


def _in_live_order(entries: list[dict[str, Any]], ticks: list[dict[str, int]]) -> list[dict[str, Any]]:
    """The universe changes and clock ticks of a recording in the order they happened: a tick
    came after the ``changes`` first universe entries and before the next."""
    merged: list[dict[str, Any]] = []
    written = 0
    for tick in ticks:
        while written < min(tick["changes"], len(entries)):
            merged.append(entries[written])
            written += 1
        merged.append({"action": "clock", **tick})
    merged.extend(entries[written:])
    return merged


def _dispatch_part(manager: StrategyManager, batch: EventBatch, start: int, stop: int,
                   on_batch: Callable[[EventBatch], None] | None) -> None:
    part = batch.slice(start, stop)
    if on_batch is not None:
        on_batch(part)
    manager.dispatch(part)


def _prior_close(stream: Any, symbol: str, before: int | None) -> dict[str, float]:
    """The last daily close before the replay starts, if the source has daily bars."""
    try:
        daily = stream.history(symbol, "daily", before=before, count=1)
    except Exception:  # noqa: BLE001 - a source without daily bars simply has no prior close
        return {}
    return {symbol: float(daily["close"][-1])} if len(daily) else {}
