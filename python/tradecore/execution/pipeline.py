"""Intent -> router -> risk -> broker, and broker events -> positions -> kill switch, in one place.

:class:`ExecutionPipeline` wires the parts the same way for every broker. Everything it decides
is handed to ``on_event`` (router outcomes, risk decisions, broker events, position changes,
kill-switch trips), in the order it happened.

Broker events are queued by a listener and applied by :meth:`ExecutionPipeline.drain`, which
every entry point calls before returning; with a live broker, :meth:`run` drains as events
arrive. The kill switch runs inside ``drain``: when a fill or a mark takes the daily PnL past
the limit, it cancels every open order and sends a closing order for every position (through
the router and risk, where exits always pass). When the New York trading day rolls over
(:class:`~tradecore.execution.risk.TradingDay`), the daily PnL restarts and a tripped kill switch
resets.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from decimal import Decimal

from tradecore.execution.broker import (
    Broker,
    BrokerError,
    BrokerEvent,
    BrokerEventType,
    Order,
    OrderRequest,
    OrderState,
)
from tradecore.execution.events import (
    ExecutionEvent,
    IntentRejected,
    KillSwitchTripped,
    OrderRouted,
    PositionChanged,
    RiskDecision,
)
from tradecore.execution.market import MarketBook
from tradecore.execution.paper import PaperBroker
from tradecore.execution.positions import PositionTracker
from tradecore.execution.risk import RiskContext, RiskManager, TradingDay
from tradecore.execution.router import Router, TradeIntent
from tradecore.schema import Side
from tradecore.streams.base import EventBatch, GroupedBatch

__all__ = ["KILL_SWITCH_RULE", "ExecutionPipeline"]

_log = logging.getLogger("tradecore.execution.pipeline")

KILL_SWITCH_RULE = 0xFFFF
"""``rule`` of the closing orders the kill switch sends."""


class _Computed(Mapping[str, Decimal]):
    """A mapping over the keys ``keys()`` gives (asked once, when first needed) whose values
    are computed when read (None: absent). Risk reads one symbol's figures per order, and the
    kill switch the open positions only when it trips: neither should pay for every symbol."""

    __slots__ = ("_keys", "_known", "_value")

    def __init__(self, keys: Callable[[], AbstractSet[str]], value: Callable[[str], Decimal | None]) -> None:
        self._keys, self._value = keys, value
        self._known: AbstractSet[str] | None = None

    def _key_set(self) -> AbstractSet[str]:
        if self._known is None:
            self._known = self._keys()
        return self._known

    def __getitem__(self, key: str) -> Decimal:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def get(self, key: str, default: Decimal | None = None) -> Decimal | None:  # type: ignore[override]
        # Without the KeyError Mapping.get goes through: risk asks for absent symbols at every entry.
        found = self._value(key) if key in self._key_set() else None
        return default if found is None else found

    def __iter__(self) -> Iterator[str]:
        return (key for key in sorted(self._key_set()) if self._value(key) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class ExecutionPipeline:
    """Route, check and send intents; track what the broker reports.

    Parameters
    ----------
    broker
        Where orders go (a :class:`~tradecore.execution.paper.PaperBroker` is also fed market
        data by :meth:`on_batch`).
    router, risk, tracker, market
        The parts; ``tracker`` should be the only consumer of the broker's fills.
    on_event
        Receives every execution event (journal, event bus).
    """

    def __init__(self, broker: Broker, router: Router, risk: RiskManager,
                 tracker: PositionTracker, market: MarketBook,
                 on_event: Callable[[ExecutionEvent], None] | None = None) -> None:
        self.broker = broker
        self.router = router
        self.risk = risk
        self.tracker = tracker
        self.market = market
        self._on_event = on_event or (lambda event: None)
        self._inbox: deque[BrokerEvent | PositionChanged] = deque()
        self._open: dict[str, Decimal] = {}  # order_id -> signed leaves shares
        self._open_symbol: dict[str, str] = {}
        self._canceling: set[str] = set()  # cancel requested by the kill switch
        self._remove = broker.add_listener(self._inbox.append)
        # A broker fed market data batch by batch (a paper broker's own simulators) rules out
        # grouped frames; one that only follows the clock (``advance``) does not.
        self._groupable = getattr(broker, "on_batch", None) is None or hasattr(broker, "advance")
        # See mark_grouped: the frame's clock per group, its symbols, the groups of held symbols
        # and how many of those are marked.
        self._frame: tuple[list[int], list[str], list[int]] = ([0], [], [])
        self._marked = 0
        # A paper broker that applies its fills to this tracker itself: fills are counted once,
        # and its position changes are taken instead, each queued right after its fill's event.
        self._paper = broker if isinstance(broker, PaperBroker) and broker.tracker is tracker else None
        if self._paper is not None:
            self._paper.on_position_change = self._inbox.append
        self.now = 0
        self.trading_day = TradingDay(risk.limits.day_start)
        self._tripped: KillSwitchTripped | None = None  # found by settle_now(), for drain() to act on

    async def sync_from_broker(self) -> None:
        """Load cash, positions and open orders from the broker (start of a live session)."""
        account = await self.broker.account()
        self.tracker.load(account.cash, await self.broker.positions())
        for order in await self.broker.open_orders():
            leaves = order.qty - order.filled_qty
            self._open[order.order_id] = leaves if order.side.name == "BUY" else -leaves
            self._open_symbol[order.order_id] = order.symbol

    async def apply(self, events: list[BrokerEvent]) -> None:
        """Apply events learned outside the broker's own publishing (what a resume's
        reconciliation found), exactly as if the broker had published them."""
        self._inbox.extend(events)
        await self._drain_events_only()

    @property
    def open_order_ids(self) -> list[str]:
        """Orders sent or loaded that are not final yet."""
        return list(self._open)

    async def submit_intent(self, intent: TradeIntent, *, now: int | None = None
                            ) -> OrderRouted | IntentRejected | RiskDecision:
        """Route ``intent``, check the order, send it if accepted; return the deciding event."""
        now = intent.ts_event if now is None else now
        self._advance(now)
        outcome = self.router.route(intent, self.market.get(intent.symbol), now=now)
        if isinstance(outcome, IntentRejected):
            self._on_event(outcome)
            return outcome
        decision, _ = await self._check_and_send(outcome, now)
        return decision

    async def on_batch(self, batch: EventBatch) -> None:
        """Feed market data: the book, the marks, a paper broker's simulator, the kill switch."""
        if self.mark(batch):
            await self.drain()

    def mark(self, batch: EventBatch) -> bool:
        """The synchronous part of :meth:`on_batch`: the book, the marks, a paper broker's
        simulator. True when :meth:`drain` must run before anything else (a mark or a broker event
        may have moved PnL past the kill switch)."""
        ts_event, last = self.market.update(batch)
        self._advance(ts_event)
        marked = last > 0 and self.tracker.holds(batch.symbol.upper())  # a set lookup, not a sum of lots
        if marked:
            self.tracker.mark(batch.symbol, last)  # the feed's float: a Decimal when read
        feed = getattr(self.broker, "on_batch", None)
        if feed is not None:
            feed(batch)
        # PnL moves only with a position's mark or a broker event: a quiet symbol's data costs
        # no portfolio-wide revaluation (it would make every event O(symbols)).
        return marked or bool(self._inbox)

    async def drain(self) -> None:
        """Apply queued broker events, then run the kill switch if the loss limit is hit."""
        await self._drain_events_only()
        trip = self._check_pnl() or self._tripped
        self._tripped = None
        if trip is not None:
            await self.flatten(reason=trip.reason)

    def batch_only(self, symbol: str) -> bool:
        """Whether ``symbol``'s data must go through :meth:`mark` batch by batch: queued broker
        events are applied before the next event, a broker fed market data (a paper broker's own
        simulators) needs every batch, and with a daily loss limit every mark of a held position
        is checked against it. Otherwise a frame's groups take :meth:`mark_grouped`."""
        return not self._groupable or bool(self._inbox) or (
            self.risk.limits.daily_loss_limit is not None and self.tracker.holds(symbol))

    def may_batch_only(self) -> bool:
        """False when no symbol is :meth:`batch_only` now (what a frame asks first)."""
        return not self._groupable or bool(self._inbox) or self.risk.limits.daily_loss_limit is not None

    def mark_grouped(self, group: GroupedBatch, indices: list[int]) -> None:
        """:meth:`mark` for the groups ``indices`` of a frame (ascending, none :meth:`batch_only`):
        their books now, in one pass; the clock and the marks of held positions as the frame's
        groups are processed (:meth:`reach`), so whatever reads them in between (an intent's
        sizing, risk) sees what it would batch by batch."""
        newest = self.market.update_grouped(group, indices)
        held, symbols = self.tracker.held, group.symbols
        self._frame = (newest, symbols, [i for i in indices if symbols[i] in held])
        self._marked = 0

    def reach(self, index: int) -> None:
        """The frame's groups up to ``index`` are processed: advance the clock to them and mark
        the positions they hold (see :meth:`mark_grouped`)."""
        newest, symbols, held_at = self._frame
        end = bisect.bisect_right(held_at, index, self._marked)
        if end > self._marked:
            held = [symbols[i] for i in held_at[self._marked:end]]
            # The book's last now (a quote frame's too, as batch by batch).
            self.tracker.mark_all(held, self.market.lasts(held))
            self._marked = end
        ts = newest[index]
        self._advance(ts)
        advance = getattr(self.broker, "advance", None)
        if advance is not None:
            advance(ts)

    def settle_now(self) -> bool:
        """:meth:`drain` up to the kill switch's check, without waiting. False when the switch
        tripped: :meth:`drain` must then run to flatten."""
        self._apply_events()
        trip = self._check_pnl()
        if trip is not None:
            self._tripped = trip
        return self._tripped is None

    def _check_pnl(self) -> KillSwitchTripped | None:
        if self.risk.limits.daily_loss_limit is None or self.risk.tripped is not None:
            return None  # nothing to check: no PnL to compute (it re-values positions)
        return self.risk.update_pnl(self.tracker.daily_pnl(), now=self.now,
                                    positions=_Computed(lambda: set(self.tracker.held), self.tracker.qty))

    async def flatten(self, *, reason: str) -> dict[str, str]:
        """Cancel every open order and close every position (the kill switch's actions); return
        the symbols whose closing order was not sent, with why (a halt, no quote, ...)."""
        try:
            # Orders whose cancel is requested no longer count as open for the closing orders'
            # risk checks; a resting exit must not make the flattening order look like a short.
            self._canceling.update(await self.broker.cancel_all())
        except BrokerError as exc:
            _log.error("kill switch: cancel_all failed: %s", exc)
        await self._drain_events_only()
        unsent: dict[str, str] = {}
        for symbol in self.tracker.open_symbols():
            outcome = self.router.closing_order(symbol, self.market.get(symbol), now=self.now,
                                                rule=KILL_SWITCH_RULE, reason=f"kill switch: {reason}")
            if isinstance(outcome, OrderRouted):
                decision, refused = await self._check_and_send(outcome)
                if not decision.accepted:
                    unsent[symbol] = decision.reason
                elif refused is not None:  # risk let it through, the broker did not take it
                    unsent[symbol] = f"the broker refused it: {refused}"
            else:
                self._on_event(outcome)
                unsent[symbol] = outcome.reason
        await self._drain_events_only()
        return unsent

    async def run(self) -> None:
        """Apply broker events as they arrive (live brokers); returns when the broker closes."""
        async for _ in self.broker.events():
            await self.drain()

    def close(self) -> None:
        self._remove()
        if self._paper is not None:
            self._paper.on_position_change = None

    # -- internals ----------------------------------------------------------------------------

    def _advance(self, now: int) -> None:
        if now <= self.now:
            return
        self.now = now
        day = self.trading_day.advance(now)
        if day is not None:
            self.tracker.start_day()
            self.risk.reset_kill_switch(now=now, reason=f"new trading day {day}")

    def context(self, symbol: str, now: int | None = None) -> RiskContext:
        """The risk context of an order for ``symbol`` now (its ``daily_pnl`` is 0 without a
        daily loss limit, the only rule that reads it); ``now``: the time it is decided at (the
        intent's, as its order's: not however far other symbols' data moved the clock before it
        was routed), by default the pipeline's."""
        open_orders: dict[str, Decimal] = {}
        for order_id, leaves in self._open.items():
            if order_id in self._canceling:
                continue
            sym = self._open_symbol[order_id]
            open_orders[sym] = open_orders.get(sym, Decimal(0)) + leaves
        tracker = self.tracker
        # Read when a rule asks (most need the order's own symbol): with hundreds of positions
        # held, computing every share count and mark cost each intent hundreds of microseconds.
        # The daily PnL too: it re-values every position marked since it was last read.
        daily_pnl = tracker.daily_pnl() if self.risk.limits.daily_loss_limit is not None else Decimal(0)
        return RiskContext(positions=_Computed(lambda: tracker.held, tracker.qty),  # read now: no copy
                           open_orders=open_orders, marks=_Computed(lambda: tracker.held | {symbol}, self.market.reference),
                           market=self.market.get(symbol), daily_pnl=daily_pnl,
                           now=self.now if now is None else now)

    async def _check_and_send(self, routed: OrderRouted, now: int | None = None
                              ) -> tuple[RiskDecision, str | None]:
        """Check the order and send it if risk accepts; return the decision and, for an order
        risk accepted that the broker refused, why (None: sent, or refused by risk)."""
        order = routed.order
        decision = self.risk.check(order, self.context(order.symbol, now))
        refused: str | None = None
        if decision.accepted:
            # Only an order risk let through is an order (journaled before it is sent); a refused
            # one is the risk record alone, so nothing refused ever looks open.
            self._on_event(routed)
            try:
                ack = await self.broker.submit(order)
                self._open.setdefault(ack.order_id, order.signed_qty)
                self._open_symbol[ack.order_id] = order.symbol
            except BrokerError as exc:
                _log.warning("%s: broker refused %s: %s", order.symbol, order.client_order_id, exc)
                refused = _refusal_reason(exc)
                if not any(isinstance(e, BrokerEvent) and e.order.client_order_id == order.client_order_id
                           for e in self._inbox):
                    # A REST refusal comes with no update: say it like one, so the journal closes
                    # the order and the strategy that asked for it hears the rejection.
                    self._inbox.append(_refused(order, exc, self.now))
        # No yield to the loop here: a paper order's intent -> ack stays one stretch of compute
        # instead of waiting behind whatever else is ready (other symbols' market data).
        self._apply_events()
        return decision, refused

    async def _drain_events_only(self) -> None:
        self._apply_events()
        await asyncio.sleep(0)

    def _apply_events(self) -> None:
        while self._inbox:
            event = self._inbox.popleft()
            if isinstance(event, PositionChanged):  # a paper fill's, after the fill's event
                self._on_event(event)
                continue
            self._track_open(event)
            self._on_event(event)
            change = self.tracker.on_event(event) if self._paper is None else None
            if change is not None:
                self._on_event(change)

    def _track_open(self, event: BrokerEvent) -> None:
        order = event.order
        if order.is_open:
            leaves = order.qty - order.filled_qty
            self._open[order.order_id] = leaves if order.side == Side.BUY else -leaves
            self._open_symbol[order.order_id] = order.symbol
        else:
            self._open.pop(order.order_id, None)
            self._open_symbol.pop(order.order_id, None)
            self._canceling.discard(order.order_id)


def _refused(request: OrderRequest, error: BrokerError, now: int) -> BrokerEvent:
    """The ``rejected`` event of an order the broker refused outright (its id: the client's)."""
    reason = _refusal_reason(error)
    order = Order(order_id=request.client_order_id, client_order_id=request.client_order_id,
                  symbol=request.symbol, side=request.side, type=request.type, qty=request.qty,
                  limit_price=request.limit_price, stop_price=request.stop_price,
                  time_in_force=request.time_in_force, extended_hours=request.extended_hours,
                  status=OrderState.REJECTED, created_at=now, updated_at=now, intent=request.intent,
                  reason=reason)
    return BrokerEvent(type=BrokerEventType.REJECTED, order=order, ts_event=now, reason=reason)


def _refusal_reason(error: BrokerError) -> str:
    return str(getattr(error, "reason", "") or error)
