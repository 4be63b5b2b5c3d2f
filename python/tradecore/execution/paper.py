"""The paper broker: the native fill simulator, one per symbol, behind the Broker interface.

Market data goes in through :meth:`PaperBroker.on_batch` (any stream's EventBatch: quotes,
trades, statuses) and :meth:`PaperBroker.on_clock`; nothing reads the wall clock, so the same
inputs give the same events. Fill semantics are the simulator's (``FillModel``: latency,
slippage, displayed-size partial fills, commissions, halts); this module only translates:

====================== =======================================================
simulator update       broker event
====================== =======================================================
SUBMITTED              ``accepted`` (waiting out the submit latency)
LIVE                   ``new``
PARTIALLY_FILLED       ``partial_fill`` with the simulator's fill
FILLED                 ``fill``
CANCELED               ``canceled`` (``replaced`` when a replace asked for it)
REJECTED               ``rejected`` (``order_cancel_rejected`` for a cancel)
TRIGGERED              no event (the stop order keeps working)
====================== =======================================================

Session rules are the router's job; the paper broker only refuses what Alpaca refuses on any
order: ``extended_hours`` on anything but a limit + day order.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from tradecore.engine import FillModel
from tradecore.execution.broker import (
    Account,
    Broker,
    BrokerEvent,
    BrokerEventType,
    Order,
    OrderAck,
    OrderNotCancelableError,
    OrderRejectedError,
    OrderRequest,
    OrderState,
    Position,
    UnknownOrderError,
)
from tradecore.execution.events import PositionChanged
from tradecore.execution.market import MarketBook, clean, price
from tradecore.execution.positions import PositionTracker
from tradecore.schema import OrderReason, OrderStatus, OrderType, TimeInForce
from tradecore.streams.base import EventBatch, EventKind

__all__ = ["PaperBroker"]

_core_engine: Any = __import__("tradecore._native", fromlist=["_core"])._core.engine

_REASONS = {OrderReason.NONE: "", OrderReason.USER_CANCEL: "user cancel",
            OrderReason.IOC_REMAINDER: "IOC remainder",
            OrderReason.INVALID_ORDER: "invalid order (quantity or price)",
            OrderReason.UNKNOWN_ORDER: "unknown order", OrderReason.DUPLICATE_ID: "duplicate order id"}


_STATUS = {int(status): status for status in OrderStatus}


@dataclass
class _Working:
    order: Order
    native_id: int
    replacement: OrderRequest | None = None  # a replace waits for this order's cancel
    replacement_id: str = ""
    replacement_qty_given: bool = False


class PaperBroker(Broker):
    """A deterministic simulated broker.

    Parameters
    ----------
    fill_model
        ``tradecore.engine.FillModel`` (default: no latency, no slippage, no commission).
    starting_cash
        Dollars.
    shorting_enabled
        Reported in :meth:`account` (risk decides whether shorts are sent).
    start_ns
        The broker's clock before the first event (ns UTC).
    id_prefix
        Order ids are ``<id_prefix>-<n>``, execution ids ``<id_prefix>-x<n>``: each live process
        of a run gives its own, so ids never repeat in the run's journal (a backtest keeps the
        default).
    """

    def __init__(self, *, fill_model: Any | None = None,
                 starting_cash: Decimal | int | str = Decimal(100000),
                 shorting_enabled: bool = False, start_ns: int = 0, id_prefix: str = "paper") -> None:
        super().__init__()
        self._model = fill_model if fill_model is not None else FillModel()
        _core_engine.FillSimulator(self._model)  # validate the model now, not on first order
        self.tracker = PositionTracker(starting_cash)
        self.market = MarketBook()
        self.shorting_enabled = shorting_enabled
        self.now = start_ns
        self.id_prefix = id_prefix
        self.on_position_change: Callable[[PositionChanged], None] | None = None
        """Called with the tracker's change of each fill, right after the fill's event (an
        :class:`~tradecore.execution.pipeline.ExecutionPipeline` sharing the tracker journals it)."""
        self._sims: dict[str, Any] = {}
        self._instrument: dict[str, int] = {}
        self._orders: dict[str, _Working] = {}
        self._by_native: dict[tuple[str, int], _Working] = {}
        self._client_ids: set[str] = set()
        self._native_ids = itertools.count(1)
        self._order_ids = itertools.count(1)
        self._executions = itertools.count(1)

    # -- market input -------------------------------------------------------------------------

    def on_batch(self, batch: EventBatch) -> list[BrokerEvent]:
        """Feed a market batch; return (and publish) the events it caused."""
        if len(batch) == 0 or batch.kind not in (EventKind.QUOTE, EventKind.TRADE, EventKind.STATUS):
            return []
        _, last = self.market.update(batch)
        sim = self._sim(batch.symbol)
        events = np.ascontiguousarray(batch.events)
        if batch.kind == EventKind.QUOTE:
            fills, updates = sim.on_quotes(events)
        elif batch.kind == EventKind.TRADE:
            fills, updates = sim.on_trades(events)
        else:
            fills, updates = sim.on_statuses(events)
        self.now = max(self.now, int(events["ts_event"][-1]))
        out = self._translate(batch.symbol, fills, updates)
        if last > 0:  # the book's float, not a Decimal snapshot built for every batch
            self.tracker.mark(batch.symbol, last)
        return out

    def on_clock(self, now: int) -> list[BrokerEvent]:
        """Advance time (ns UTC): activate orders and cancels that are due."""
        self.now = max(self.now, now)
        out: list[BrokerEvent] = []
        for symbol in sorted(self._sims):
            fills, updates = self._sims[symbol].on_clock(self.now)
            out += self._translate(symbol, fills, updates)
        return out

    # -- Broker -------------------------------------------------------------------------------

    async def submit(self, request: OrderRequest) -> OrderAck:
        return self.submit_now(request)

    def submit_now(self, request: OrderRequest) -> OrderAck:
        """:meth:`submit` without awaiting (the simulator is synchronous)."""
        return self._submit(request)[0]

    def _submit(self, request: OrderRequest, order_id: str | None = None,
                replaces: str | None = None) -> tuple[OrderAck, list[BrokerEvent]]:
        if request.client_order_id in self._client_ids:
            raise OrderRejectedError(f"client_order_id {request.client_order_id!r} already used",
                                     reason="duplicate client_order_id")
        if request.extended_hours and not (request.type == OrderType.LIMIT
                                           and request.time_in_force == TimeInForce.DAY):
            raise OrderRejectedError("extended_hours orders must be limit + day",
                                     reason="extended hours: only limit + day")
        self._client_ids.add(request.client_order_id)
        order_id = order_id or self._next_order_id()
        order = Order(order_id=order_id, client_order_id=request.client_order_id,
                      symbol=request.symbol, side=request.side, type=request.type, qty=request.qty,
                      limit_price=request.limit_price, stop_price=request.stop_price,
                      time_in_force=request.time_in_force, extended_hours=request.extended_hours,
                      status=OrderState.PENDING_NEW, created_at=self.now, updated_at=self.now,
                      replaces=replaces, intent=request.intent, reason=request.reason)
        working = _Working(order, next(self._native_ids))
        self._orders[order_id] = working
        self._by_native[(request.symbol, working.native_id)] = working
        sim = self._sim(request.symbol)
        fills, updates = sim.submit(
            order_id=working.native_id, ts=self.now, side=int(request.side), type=int(request.type),
            quantity=float(request.qty), limit_price=float(request.limit_price or 0),
            stop_price=float(request.stop_price or 0), time_in_force=int(request.time_in_force),
            instrument_id=self._instrument[request.symbol])
        events = self._translate(request.symbol, fills, updates)
        current = self._orders[order_id].order
        if current.status == OrderState.REJECTED and replaces is None:
            raise OrderRejectedError(f"{request.symbol}: order rejected: {current.reason}",
                                     reason=current.reason)
        return OrderAck(order_id, request.client_order_id, current.status, self.now), events

    def _next_order_id(self) -> str:
        return f"{self.id_prefix}-{next(self._order_ids)}"

    async def cancel(self, order_id: str) -> None:
        working = self._open(order_id)
        fills, updates = self._sims[working.order.symbol].cancel(working.native_id, self.now)
        if self._model.cancel_latency_ns > 0 and working.order.is_open:
            working.order = working.order.evolve(status=OrderState.PENDING_CANCEL,
                                                 updated_at=self.now)
            self._publish(BrokerEvent(type=BrokerEventType.PENDING_CANCEL, order=working.order,
                                      ts_event=self.now))
        self._translate(working.order.symbol, fills, updates)

    async def replace(self, order_id: str, *, qty: Decimal | None = None,
                      limit_price: Decimal | None = None, stop_price: Decimal | None = None,
                      time_in_force: TimeInForce | None = None,
                      client_order_id: str | None = None) -> OrderAck:
        working = self._open(order_id)
        if working.replacement is not None:
            raise OrderNotCancelableError(f"order {order_id} is already being replaced")
        old = working.order
        new_id = self._next_order_id()
        working.replacement = OrderRequest(
            client_order_id=client_order_id or f"{old.client_order_id}-r{new_id.rsplit('-', 1)[1]}",
            symbol=old.symbol, side=old.side, type=old.type, qty=qty or old.qty,
            limit_price=limit_price or old.limit_price, stop_price=stop_price or old.stop_price,
            time_in_force=time_in_force if time_in_force is not None else old.time_in_force,
            extended_hours=old.extended_hours, intent=old.intent,
            reason=f"replaces {old.order_id}", ts_created=self.now)
        replacement_client_id = working.replacement.client_order_id
        working.replacement_id = new_id
        working.replacement_qty_given = qty is not None
        working.order = old.evolve(status=OrderState.PENDING_REPLACE, updated_at=self.now)
        self._publish(BrokerEvent(type=BrokerEventType.PENDING_REPLACE, order=working.order,
                                  ts_event=self.now))
        fills, updates = self._sims[old.symbol].cancel(working.native_id, self.now)
        self._translate(old.symbol, fills, updates)
        status = self._orders[new_id].order.status if new_id in self._orders else OrderState.PENDING_NEW
        return OrderAck(new_id, replacement_client_id, status, self.now)

    async def cancel_all(self) -> list[str]:
        ids = [o.order_id for o in await self.open_orders()]
        for order_id in ids:  # orders already being canceled or replaced are left as they are
            if self._orders[order_id].order.status not in (OrderState.PENDING_CANCEL,
                                                           OrderState.PENDING_REPLACE):
                await self.cancel(order_id)
        return ids

    async def get_order(self, order_id: str) -> Order:
        working = self._orders.get(order_id)
        if working is None:
            raise UnknownOrderError(f"no order {order_id!r}")
        return working.order

    async def open_orders(self) -> list[Order]:
        return [w.order for w in self._orders.values() if w.order.is_open]

    async def positions(self) -> list[Position]:
        return self.tracker.positions()

    async def account(self) -> Account:
        t = self.tracker
        return Account(cash=t.cash, equity=t.equity, buying_power=max(t.equity, Decimal(0)),
                       long_market_value=t.long_market_value,
                       short_market_value=t.short_market_value,
                       shorting_enabled=self.shorting_enabled, account_id="paper")

    # -- internals ----------------------------------------------------------------------------

    def _sim(self, symbol: str) -> Any:
        key = symbol.upper()
        sim = self._sims.get(key)
        if sim is None:
            sim = self._sims[key] = _core_engine.FillSimulator(self._model)
            self._instrument[key] = len(self._instrument)
        return sim

    def _open(self, order_id: str) -> _Working:
        working = self._orders.get(order_id)
        if working is None:
            raise UnknownOrderError(f"no order {order_id!r}")
        if not working.order.is_open:
            raise OrderNotCancelableError(f"order {order_id} is {working.order.status.value}")
        return working

    def _translate(self, symbol: str, fills: np.ndarray, updates: np.ndarray) -> list[BrokerEvent]:
        """Turn the simulator's output into broker events, in the order it happened."""
        if not len(updates):  # every fill comes with its update
            return []
        pending_fills: dict[int, list[Any]] = {}
        for fill in fills.tolist():  # the simulator appends each fill just before its update
            pending_fills.setdefault(fill[1], []).append(fill)
        out: list[BrokerEvent] = []
        for (ts, native_id, _filled, _leaves, _inst, status, reason) in updates.tolist():
            working = self._by_native.get((symbol, native_id))
            if working is None:
                continue
            order = working.order
            status = _STATUS[status] if status in _STATUS else OrderStatus(status)  # no Enum call per update
            event: BrokerEvent | None = None
            change: PositionChanged | None = None
            if status == OrderStatus.SUBMITTED:
                order = order.evolve(status=OrderState.ACCEPTED, updated_at=ts)
                event = BrokerEvent(type=BrokerEventType.ACCEPTED, order=order, ts_event=ts)
            elif status == OrderStatus.LIVE:
                order = order.evolve(status=OrderState.NEW, updated_at=ts)
                event = BrokerEvent(type=BrokerEventType.NEW, order=order, ts_event=ts)
            elif status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
                fill = pending_fills[native_id].pop(0)
                fill_qty, fill_price, commission = clean(price(fill[3])), price(fill[2]), price(fill[4])
                filled_qty = order.filled_qty + fill_qty
                notional = (order.filled_avg_price or 0) * order.filled_qty + fill_price * fill_qty
                done = status == OrderStatus.FILLED
                order = order.evolve(
                    status=OrderState.FILLED if done else OrderState.PARTIALLY_FILLED,
                    filled_qty=order.qty if done else filled_qty,
                    filled_avg_price=clean((notional / filled_qty).quantize(Decimal("0.000001"))),
                    updated_at=ts)
                change = self.tracker.on_fill(symbol, order.side, fill_qty, fill_price, commission,
                                              ts_event=ts, client_order_id=order.client_order_id)
                event = BrokerEvent(
                    type=BrokerEventType.FILL if done else BrokerEventType.PARTIAL_FILL,
                    order=order, ts_event=ts, fill_qty=fill_qty, fill_price=fill_price,
                    commission=commission, position_qty=change.qty,
                    execution_id=f"{self.id_prefix}-x{next(self._executions)}")
            elif status == OrderStatus.CANCELED:
                if working.replacement is not None:
                    order = order.evolve(status=OrderState.REPLACED, updated_at=ts,
                                         replaced_by=working.replacement_id)
                    event = BrokerEvent(type=BrokerEventType.REPLACED, order=order, ts_event=ts,
                                        reason=f"replaced by {working.replacement_id}")
                else:
                    order = order.evolve(status=OrderState.CANCELED, updated_at=ts)
                    event = BrokerEvent(type=BrokerEventType.CANCELED, order=order, ts_event=ts,
                                        reason=_REASONS.get(reason, str(reason)))
            elif status == OrderStatus.REJECTED:
                if reason == OrderReason.UNKNOWN_ORDER:  # a cancel for an order the simulator no longer holds
                    event = BrokerEvent(type=BrokerEventType.ORDER_CANCEL_REJECTED, order=order,
                                        ts_event=ts, reason="order is no longer open")
                else:
                    order = order.evolve(status=OrderState.REJECTED, updated_at=ts,
                                         reason=_REASONS.get(reason, str(reason)))
                    event = BrokerEvent(type=BrokerEventType.REJECTED, order=order, ts_event=ts,
                                        reason=order.reason)
            working.order = order
            if event is not None:
                out.append(event)
                self._publish(event)
            if change is not None and self.on_position_change is not None:
                self.on_position_change(change)
            if order.status == OrderState.REPLACED and working.replacement is not None:
                request, working.replacement = working.replacement, None
                remaining = (request.qty if working.replacement_qty_given
                             else order.qty - order.filled_qty)
                if remaining > 0:
                    request = OrderRequest(**{**_fields(request), "qty": remaining})
                    out += self._submit(request, working.replacement_id, order.order_id)[1]
        return out


def _fields(request: OrderRequest) -> dict[str, Any]:
    return {name: getattr(request, name) for name in request.__dataclass_fields__}
