"""``tradecore live --resume``: take a crashed run over from its journal and its broker.

The journal commits every order before it is sent and every fill and update before it is
acknowledged, so after a ``kill -9`` it holds everything the run acknowledged. A resume:

1. restores positions and cash by replaying the journal's fills (:func:`restore_from_journal`),
   and the open orders from its order, update and fill records;
2. reconciles them with the broker (:func:`reconcile`). For every order the journal holds as
   open, the broker's view is fetched (by broker order id, or by client order id when the
   crash came before any update named it). What happened while the process was down is
   applied and journaled like any broker event, with ``reason`` saying it was reconciled:
   shares filled beyond what the journal has for that order (so nothing is counted twice;
   the price is the one implied by the broker's average), then the final status (canceled,
   expired...). An order the broker never received is journaled as rejected. Then positions
   and cash are compared: the broker is the truth for money, so any difference is reported,
   journaled as a ``reconciliation`` record, and the account is loaded from the broker;
3. restarts a runner for every symbol that holds a position or an open order;
4. offers each restored position, after its symbol's warm-up, to the strategy that opened it
   (:func:`openings_of` finds it in the journal: the position's first fill, its order, the
   intent behind the order with its rule and stop). The strategy adopts it (its in-position
   state with the levels it decided: stop, target, trailing high, entry time; or its pending
   exit when an exit order is still working at the broker, which then reports to it) or says
   why not: a short for a long-only strategy, more shares than one entry buys, no opening
   intent (shares bought by hand), another strategy configured now. Each outcome is journaled
   as an ``adoption`` record. An entry order still working at the broker (partly filled or not
   at all) is offered too, to a strategy with a pending-entry state (premarket_momentum): it
   waits on the order, whose fills and final update then report to it as they would have
   without the crash; other strategies refuse it with the reason, and the refused entry is
   canceled (:func:`cancel_refused_entries`): its fills would open a position nothing manages.

A position no strategy adopted is held by the account: it is marked, counted by risk and the
kill switch, kept running by the manager while held, and closed by
``execution.flatten_on_exit`` at the end of the run (or by the kill switch). Until it is flat,
the router's entry gate refuses new entries on that symbol (rule ``inherited_position``): a
FLAT strategy must not add to a position nothing manages.

With the paper venue, the venue's state died with the process: the journal is the truth,
orders it held as open are journaled as canceled, and the resume says so.

``--record`` on a resume records from the resume point; the recording carries what the run
resumed with (:func:`save_resume_point`: its fills so far, the account after reconciling; each
symbol's adoption with its start), so ``tradecore backtest`` of it restores the same account,
adoptions and entry blocks before replaying (:func:`restore_resume_point`). A resume whose
strategies took over orders working at the broker is refused by the backtest: its paper venue
never had those orders.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from tradecore.errors import ConfigError, Error
from tradecore.execution.broker import (
    EVENT_OF_STATUS,
    Broker,
    BrokerError,
    BrokerEvent,
    BrokerEventType,
    Order,
    OrderState,
    UnknownOrderError,
    implied_fill_price,
)
from tradecore.execution.market import clean, to_decimal
from tradecore.journal.journal import Journal, OpenOrder, Record
from tradecore.schema import OrderType, Side, TimeInForce

__all__ = ["INHERITED_RULE", "RECONCILED", "RESUME_POINT", "Finding", "Opening", "ResumeReport", "adopt_position",
           "block_inherited", "cancel_refused_entries", "check_fills", "openings_of", "reconcile",
           "restore_from_journal", "restore_resume_point", "save_resume_point"]

_log = logging.getLogger("tradecore.resume")

RECONCILED = "reconciled at resume"
"""``reason`` of the events a resume applies."""

_SHARES = Decimal("0.000000001")
_CENTS = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a resume found or did, in plain words (also a journal record)."""

    action: str
    message: str
    symbol: str | None = None
    order_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Opening:
    """How the position a symbol holds now was opened, as the journal tells it."""

    entry_ts: int  # ns UTC of the first fill since the symbol was last flat
    client_order_id: str  # the order of that fill
    strategy: str | None = None  # the strategy whose intent sent the order (None: no intent found)
    strategy_id: int = 0
    rule: str = ""
    stop_price: float = 0.0  # the intent's protective stop (0 = none)


@dataclass
class ResumeReport:
    """What a resume restored and found."""

    findings: list[Finding] = field(default_factory=list)
    positions: dict[str, Decimal] = field(default_factory=dict)  # after reconciling, signed shares
    open_orders: list[Order] = field(default_factory=list)  # still working at the broker
    adoptions: dict[str, tuple[bool, str]] = field(default_factory=dict)  # symbol -> (adopted, why)
    adoption_args: dict[str, dict[str, Any]] = field(default_factory=dict)  # symbol -> what the strategy was offered
    openings: dict[str, Opening] | None = None  # how the positions were opened (openings_of)

    @property
    def symbols(self) -> list[str]:
        """Symbols to restart: those holding a position or an open order."""
        return sorted({s for s, q in self.positions.items() if q} | {o.symbol for o in self.open_orders})

    def add(self, journal: Journal, ts: int, finding: Finding) -> None:
        self.findings.append(finding)
        journal.reconciliation(ts, finding.action, finding.message, symbol=finding.symbol,
                               order_id=finding.order_id, details=finding.details)
        _log.warning("resume: %s", finding.message)


def openings_of(journal: Journal, working: list[Order] | tuple[Order, ...] = ()) -> dict[str, Opening]:
    """How each symbol's current position was opened, in one pass over the journal: its first
    fill since the symbol was flat, and the intent behind that fill's order, matched by the
    intent reference the order record carries, or (journals written before it did) the last
    same-side intent before the order. A symbol the journal's fills leave flat is absent, unless
    one of the ``working`` orders (still open at the broker) is there: the opening is then that
    order's, with nothing filled yet (``entry_ts`` 0)."""
    net: dict[str, float] = {}
    first: dict[str, Record] = {}
    order_intents: dict[str, Record | None] = {}  # client order id -> the intent behind the order
    intents: dict[tuple[str, int, int], Record] = {}  # (symbol, ts, strategy id) -> intent
    last_intent: dict[tuple[str, str], Record] = {}  # (symbol, side) -> the latest intent
    for record in journal.records(("intent", "order", "fill")):
        symbol, data = record.symbol or "", record.data
        if record.kind == "intent":
            intents[(symbol, record.ts_event, data["strategy_id"])] = record
            last_intent[(symbol, data["side"])] = record
        elif record.kind == "order":
            details = data.get("details") or {}
            ref = details.get("intent")
            if ref is not None:
                intent = intents.get((symbol, ref["ts_intent"], ref["strategy_id"]))
            else:  # None: an order no strategy asked for; no key: a journal from before the reference
                intent = None if "intent" in details else last_intent.get((symbol, data["side"]))
            order_intents[str(data.get("client_order_id") or record.order_id)] = intent
        else:
            was_flat = abs(net.get(symbol, 0.0)) < 1e-9
            held = net[symbol] = net.get(symbol, 0.0) + (data["quantity"] if data["side"] == "BUY"
                                                         else -data["quantity"])
            if abs(held) < 1e-9:
                first.pop(symbol, None)
            elif was_flat or (held > 0) != (first[symbol].data["side"] == "BUY"):
                first[symbol] = record  # opened, or turned from long to short (or back)
    opened = {symbol: (fill.ts_event, str(fill.data.get("client_order_id") or fill.order_id or ""))
              for symbol, fill in first.items()}
    for order in working:
        opened.setdefault(order.symbol, (0, order.client_order_id))
    found = {}
    for symbol, (entry_ts, client_order_id) in opened.items():
        intent = order_intents.get(client_order_id)
        if intent is None:  # no order (bought by hand, another process) or no strategy behind it
            found[symbol] = Opening(entry_ts, client_order_id)
            continue
        data = intent.data
        found[symbol] = Opening(entry_ts, client_order_id, data.get("strategy"), int(data["strategy_id"]),
                                str(data["rule"]), float(data.get("stop_price") or 0.0))
    return found


def adopt_position(state: Any, runner: Any, report: ResumeReport, journal: Journal, now: int,
                   history: np.ndarray | None = None) -> bool:
    """Offer ``runner.symbol``'s restored position to the strategy that opened it (call after
    the warm-up, with its ``history`` bars for the high since the entry); journal the outcome as
    an ``adoption`` record and publish it; return True when the strategy took it over."""
    symbol = runner.symbol
    position = state.tracker.position(symbol)
    quantity = float(position.qty)
    strategies = runner.engine.strategies
    if report.openings is None:  # read once, at the first adoption: after every fill the resume applied
        report.openings = openings_of(journal, report.open_orders)
    opening = report.openings.get(symbol)
    working = [o for o in report.open_orders if o.symbol == symbol]
    # The order that opened the position, still working (partly filled, or not at all), and
    # the orders closing it.
    entries = [o for o in working if opening is not None and o.client_order_id == opening.client_order_id]
    exits = [o for o in working if quantity and (o.side == Side.SELL) == (quantity > 0)]
    details: dict[str, Any] = {"quantity": quantity, "average_price": float(position.avg_entry_price),
                               "exit_orders": [o.order_id for o in exits],
                               "entry_orders": [o.order_id for o in entries]}
    strategy_name = opening.strategy if opening is not None else None
    exiting = sum(float(o.leaves_qty) for o in exits)
    reason = ""
    if quantity == 0 and not entries:
        reason = "flat by now: nothing to adopt"
    elif opening is None or opening.strategy is None:
        reason = "no intent of this run opened it (shares bought outside the strategies)"
    elif not (0 <= opening.strategy_id < len(strategies)) or strategies[opening.strategy_id].name != opening.strategy:
        configured = ", ".join(s.name for s in strategies)
        reason = f"opened by {opening.strategy} ({opening.rule}) but the run now trades {configured}"
    elif len(working) > len(entries) + len(exits):
        reason = "an order adding to the position is still working at the broker: its fills would not reach " \
                 "the strategy"
    elif entries and exits:
        reason = "its entry and an exit order are both working at the broker"
    elif exits and abs(exiting - abs(quantity)) > 1e-9:
        # A strategy's exit closes the whole position: it cannot wait on a part of it.
        reason = f"exit orders for {exiting:g} of {abs(quantity):g} shares are working at the broker"
    adopted = False
    if not reason:
        assert opening is not None
        details.update(entry_ts=opening.entry_ts, rule=opening.rule, stop_price=opening.stop_price)
        highest = 0.0
        if history is not None and len(history):
            since = history[history["ts_end"] > opening.entry_ts]  # bars that ended after the entry
            highest = float(since["high"].max()) if len(since) else 0.0
        offer = report.adoption_args[symbol] = {
            "strategy_id": opening.strategy_id, "quantity": quantity, "average_price": details["average_price"],
            "entry_ts": opening.entry_ts, "now": now, "stop_price": opening.stop_price, "highest": highest,
            "exit_pending": bool(exits), "entry_pending": bool(entries)}
        try:
            result = runner.engine.native.adopt(**offer)
            adopted, reason = result.adopted, result.reason
        except Error as error:  # numbers it cannot take: the account holds the position
            reason = str(error)
        if adopted and (exits or entries):  # the working order reports to the strategy: none sent twice
            state.execution.adopt_orders(runner, exits or entries, opening.strategy_id)
    journal.adoption(now, symbol, adopted=adopted, strategy=strategy_name, reason=reason, details=details)
    state.bus.publish("adoption", symbol, now, adopted=adopted, strategy=strategy_name, reason=reason)
    report.adoptions[symbol] = (adopted, reason)
    _log.log(logging.INFO if adopted else logging.WARNING, "resume: %s %s: %s", symbol,
             "adopted" if adopted else "not adopted", reason)
    return adopted


def _dec(value: float) -> Decimal:
    return clean(to_decimal(float(value)))


def _order_of(entry: OpenOrder, order_id: str | None = None) -> Order:
    """The journal's open order as an :class:`Order` (for events about it)."""
    def price(value: float | None) -> Decimal | None:
        return None if value is None else _dec(value)

    return Order(order_id=order_id or entry.broker_order_id or entry.order_id,
                 client_order_id=entry.client_order_id or entry.order_id, symbol=entry.symbol,
                 side=Side[entry.side], type=OrderType[entry.order_type], qty=_dec(entry.quantity),
                 filled_qty=_dec(entry.filled_quantity), limit_price=price(entry.limit_price),
                 stop_price=price(entry.stop_price), time_in_force=TimeInForce[entry.time_in_force],
                 status=OrderState.NEW, created_at=entry.ts_submit, updated_at=entry.ts_submit)


def restore_from_journal(journal: Journal, tracker: Any, starting_cash: Decimal) -> dict[str, Decimal]:
    """Replay the journal's fills into ``tracker`` from ``starting_cash``: positions (lots and
    average prices), cash, commissions and realised PnL as the run had them; return the
    positions. Fills are the record of what happened; position records are derived from them."""
    return _replay_fills(tracker, starting_cash, [_fill_of(record) for record in journal.fills()])


def _fill_of(record: Record) -> dict[str, Any]:
    data = record.data
    return {"symbol": record.symbol or "", "side": data["side"], "quantity": data["quantity"],
            "price": data["price"], "commission": data.get("commission") or 0.0, "ts_event": record.ts_event,
            "client_order_id": str(data.get("client_order_id") or "")}


def _replay_fills(tracker: Any, starting_cash: Decimal, fills: list[dict[str, Any]]) -> dict[str, Decimal]:
    tracker.load(starting_cash, [])
    for fill in fills:
        tracker.on_fill(fill["symbol"], Side[fill["side"]], _dec(fill["quantity"]), _dec(fill["price"]),
                        _dec(fill["commission"]), ts_event=fill["ts_event"], client_order_id=fill["client_order_id"])
    return {s: tracker.qty(s) for s in tracker.open_symbols()}


RESUME_POINT = "resume.json"
"""The file of a recording made by a resumed run: the account it resumed with (see
:func:`save_resume_point`)."""


def save_resume_point(folder: Path, journal: Journal, tracker: Any, starting_cash: Decimal) -> None:
    """Write into a recording what the resumed run started from, so that its backtest starts
    alike (:func:`restore_resume_point`): the run's fills up to the resume (replayed, they give
    the positions, cash and realised PnL of the account) and the account as the resume left it
    (after reconciling with the broker), to check the replay against. Each resumed symbol's
    adoption goes with its start in ``universe.jsonl``."""
    folder.mkdir(parents=True, exist_ok=True)
    point = {"starting_cash": str(starting_cash), "fills": [_fill_of(r) for r in journal.fills()],
             "positions": {s: str(tracker.qty(s)) for s in tracker.open_symbols()}, "cash": str(tracker.cash)}
    (folder / RESUME_POINT).write_text(json.dumps(point) + "\n")


def adoption_offer(start: dict[str, Any]) -> dict[str, Any]:
    """What a resumed run offered the strategy of a recorded symbol start (``engine.adopt``'s
    arguments); empty when nothing was offered (no adoption, or none to offer: flat, not opened
    by this run's strategy)."""
    return (start.get("adoption") or {}).get("args") or {}


def restore_resume_point(folder: Path, state: Any, starts: list[dict[str, Any]]) -> None:
    """Give a backtest of ``folder`` (a recording of a resumed run) the account the live run
    resumed with, and the entry block of the positions no strategy adopted; nothing for a
    recording without a resume point. Raises :class:`ConfigError`, before anything replays, for
    a resume the paper venue cannot reproduce (an order working at the broker, which the paper
    venue of the backtest never had, or an account that differs from the journal's fills)."""
    path = folder / RESUME_POINT
    if not path.is_file():
        if any("adoption" in e for e in starts):
            raise ConfigError(f"{folder}: recorded by a resumed run but {RESUME_POINT} (the account it resumed "
                              "with) is missing: a backtest would start flat and trade differently")
        return
    try:
        point = json.loads(path.read_text())
        fills, positions, cash = point["fills"], point["positions"], point["cash"]
        starting_cash = Decimal(point["starting_cash"])
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{path}: damaged resume point ({error!r})") from None
    waiting = sorted(e["symbol"] for e in starts
                     if adoption_offer(e).get("exit_pending") or adoption_offer(e).get("entry_pending"))
    if waiting:
        raise ConfigError(f"{folder}: recorded by a run resumed with orders working at the broker that its "
                          f"strategies took over ({', '.join(waiting)}); a backtest's paper venue has no such "
                          "orders, so it cannot replay this recording as it happened")
    restored = _replay_fills(state.tracker, starting_cash, fills)
    wanted = {s: Decimal(q) for s, q in positions.items()}
    if restored != wanted or abs(state.tracker.cash - Decimal(cash)) >= _CENTS:
        raise ConfigError(f"{folder}: the account the run resumed with (positions {positions}, cash {cash}) is "
                          "not what its journal's fills give (the broker's figures were taken at the resume): "
                          "a backtest cannot start from it")
    adopted = {e["symbol"] for e in starts if (e.get("adoption") or {}).get("adopted")}
    block_inherited(state, {s: q for s, q in restored.items() if s not in adopted})


INHERITED_RULE = "inherited_position"
"""Rule name of the entries refused on a symbol whose position a resume restored."""


def block_inherited(state: Any, positions: dict[str, Decimal], canceling: dict[str, list[str]] | None = None) -> None:
    """No new entries on a symbol holding a restored position no strategy adopted, until it is
    flat: an entry would add to a position nothing manages. A symbol whose refused entry order
    is being canceled (``canceling``: order ids by symbol) is blocked too until the order is
    final and the symbol flat: a fill that beats the cancel belongs to no strategy either."""
    inherited = {symbol for symbol, qty in positions.items() if qty} | set(canceling or {})
    tracker = state.tracker
    pipeline = state.pipeline

    def blocked(symbol: str) -> str | None:
        if symbol not in inherited:
            return None
        working = [o for o in (canceling or {}).get(symbol, ()) if o in pipeline.open_order_ids]
        if tracker.qty(symbol) == 0 and not working:
            inherited.discard(symbol)  # flat once: strategies own whatever comes next
            return None
        if working:
            return (f"its entry order {working[0]} was refused at the resume and is being canceled: "
                    "no new entries until it is final and the symbol flat")
        return (f"position restored by a resume ({tracker.qty(symbol)} shares) and adopted by no "
                "strategy: no new entries until it is flat")

    state.gate.add_rule(INHERITED_RULE, blocked)


async def reconcile(journal: Journal, pipeline: Any, *, paper: bool, now: int,
                    starting_cash: Decimal) -> ResumeReport:
    """Restore the run's account from ``journal`` and reconcile it with ``pipeline.broker``.

    Events are applied through ``pipeline`` (journal, positions, risk) as if the broker had
    published them; every finding is journaled as a ``reconciliation`` record. With a broker
    outside the process, call this before its update stream connects, then let it resync.
    """
    report = ResumeReport()
    restore_from_journal(journal, pipeline.tracker, starting_cash)
    open_in_journal = journal.open_orders()
    if paper:
        report.add(journal, now, Finding(
            "paper_journal_is_truth", "paper venue: its orders and fills lived in the crashed "
            "process; positions and cash are restored from the journal, which is the truth"))
        lost = [BrokerEvent(type=BrokerEventType.CANCELED, order=_order_of(o).evolve(status=OrderState.CANCELED),
                            ts_event=now, reason=f"{RECONCILED}: the paper venue's order died with the process")
                for o in open_in_journal]
        for event in lost:
            report.add(journal, now, Finding("order_lost", f"{event.symbol}: open paper order "
                                             f"{event.order.client_order_id} is gone with the crashed process; "
                                             "journaled as canceled", event.symbol, event.order.order_id))
        await pipeline.apply(lost)
        report.positions = {s: pipeline.tracker.qty(s) for s in pipeline.tracker.open_symbols()}
        return report

    broker: Broker = pipeline.broker
    filled = journal.filled_by_order()
    events: list[BrokerEvent] = []
    known_clients: set[str] = set()
    for entry in open_in_journal:
        known_clients.add(entry.client_order_id or entry.order_id)
        order = await _broker_view(broker, entry)
        if order is None:
            events.append(BrokerEvent(
                type=BrokerEventType.REJECTED, order=_order_of(entry).evolve(status=OrderState.REJECTED),
                ts_event=now, reason=f"{RECONCILED}: the broker never received it"))
            report.add(journal, now, Finding(
                "order_never_reached_broker", f"{entry.symbol}: order {entry.client_order_id} was "
                "journaled but the broker has no such order (the crash came before it was sent); "
                "journaled as rejected", entry.symbol, entry.order_id))
            continue
        events.extend(_changes(journal, report, now, order, filled.get(order.order_id, (0.0, 0.0))))
        if order.is_open:
            report.open_orders.append(order)
    for order in await broker.open_orders():
        if order.client_order_id not in known_clients:
            report.add(journal, now, Finding(
                "broker_order_unknown", f"{order.symbol}: the broker has open order "
                f"{order.client_order_id or order.order_id} that this run's journal does not know; "
                "left working, its fills will be journaled", order.symbol, order.order_id,
                {"side": order.side.name, "qty": str(order.qty), "status": order.status.value}))
            report.open_orders.append(order)
    await pipeline.apply(events)
    await _compare_account(journal, report, now, pipeline)
    track = getattr(broker, "track", None)
    if track is not None:
        for order in report.open_orders:
            track(order)
    return report


async def _broker_view(broker: Broker, entry: OpenOrder) -> Order | None:
    """The broker's order for a journaled one, or None if the broker never received it."""
    try:
        if entry.broker_order_id is not None:
            return await broker.get_order(entry.broker_order_id)
        lookup = getattr(broker, "get_order_by_client_id", None)
        if lookup is None:
            return None
        return await lookup(entry.client_order_id or entry.order_id)  # type: ignore[no-any-return]
    except UnknownOrderError:
        return None


def _changes(journal: Journal, report: ResumeReport, now: int, order: Order,
             journaled: tuple[float, float]) -> list[BrokerEvent]:
    """Events for what the broker did to ``order`` beyond what the journal has."""
    events = []
    shares, value = _dec(journaled[0]), _dec(journaled[1])
    missing = clean((order.filled_qty - shares).quantize(_SHARES))
    ts = order.updated_at or now
    if missing > 0:
        price = implied_fill_price(order, missing, value)
        done = order.status == OrderState.FILLED
        snapshot = order if done else order.evolve(status=OrderState.PARTIALLY_FILLED)
        events.append(BrokerEvent(type=BrokerEventType.FILL if done else BrokerEventType.PARTIAL_FILL,
                                  order=snapshot, ts_event=ts, fill_qty=missing, fill_price=price,
                                  reason=f"{RECONCILED}: filled while down"))
        report.add(journal, now, Finding(
            "fill_applied", f"{order.symbol}: order {order.client_order_id} filled {missing} more shares "
            f"at {price} while the process was down (journal had {shares} of {order.filled_qty}); "
            "applied and journaled", order.symbol, order.order_id,
            {"journaled_qty": str(shares), "broker_filled_qty": str(order.filled_qty), "price": str(price)}))
    elif missing < 0:
        report.add(journal, now, Finding(
            "fill_excess", f"{order.symbol}: the journal has {shares} shares filled on order "
            f"{order.client_order_id} but the broker only {order.filled_qty}; positions are corrected "
            "from the broker below", order.symbol, order.order_id))
    # Only how the order ended is news: the journal holds it as open (its fills are above).
    ended = order.status.is_final or order.status == OrderState.DONE_FOR_DAY
    kind = EVENT_OF_STATUS.get(order.status) if ended else None
    if kind is not None:
        events.append(BrokerEvent(type=kind, order=order, ts_event=ts,
                                  reason=f"{RECONCILED}: {order.status.value} while down"))
        report.add(journal, now, Finding(
            "update_applied", f"{order.symbol}: order {order.client_order_id} was {order.status.value} "
            f"while the process was down (filled {order.filled_qty} of {order.qty}); journaled",
            order.symbol, order.order_id, {"status": order.status.value}))
    return events


async def _compare_account(journal: Journal, report: ResumeReport, now: int, pipeline: Any) -> None:
    """Compare positions and cash with the broker's, report differences, take the broker's."""
    broker: Broker = pipeline.broker
    tracker = pipeline.tracker
    held = {p.symbol: p for p in await broker.positions()}
    account = await broker.account()
    for symbol in sorted(set(held) | set(tracker.open_symbols())):
        ours, theirs = tracker.qty(symbol), held[symbol].qty if symbol in held else Decimal(0)
        if ours == theirs:
            continue
        if ours == 0:
            message = f"{symbol}: the broker holds {theirs} shares the journal does not know"
        elif theirs == 0:
            message = f"{symbol}: the journal holds {ours} shares the broker does not have"
        else:
            message = f"{symbol}: the journal holds {ours} shares, the broker {theirs}"
        report.add(journal, now, Finding("position_corrected", message + "; the broker's figure is taken",
                                         symbol, details={"journal_qty": str(ours), "broker_qty": str(theirs)}))
    if abs(tracker.cash - account.cash) >= _CENTS:
        report.add(journal, now, Finding(
            "cash_corrected", f"cash: the journal implies {tracker.cash:.2f}, the broker has "
            f"{account.cash:.2f}; the broker's figure is taken",
            details={"journal_cash": str(tracker.cash), "broker_cash": str(account.cash)}))
    before = {s: tracker.qty(s) for s in tracker.open_symbols()}
    await pipeline.sync_from_broker()  # the broker's cash, positions and open orders
    for symbol in sorted(set(before) | set(held)):
        after = tracker.position(symbol)
        if before.get(symbol, Decimal(0)) != after.qty:  # the correction, as a position record
            journal.position(now, symbol, quantity=float(after.qty), average_price=float(after.avg_entry_price))
    report.positions = {s: tracker.qty(s) for s in tracker.open_symbols()}


async def cancel_refused_entries(state: Any, report: ResumeReport, journal: Journal, now: int) -> dict[str, list[str]]:
    """Cancel the entries of this run still working at the broker whose strategy did not take
    them over (it refused, or its symbol could not restart); return the canceled order ids by
    symbol.

    Why cancel rather than let them fill: a refused entry's fills reach no strategy, so they
    would build a position nothing manages (no stop, no exit). A trader expects what the
    strategy would have done had it seen the order die: nothing. Cancelling at the resume means
    no unmanaged position is ever created by this run; each cancel is journaled (a
    ``reconciliation`` record, ``entry_canceled``) with the refusal's reason. A fill that beats
    the cancel is still journaled and the symbol's entries stay blocked (``inherited_position``)
    until the order is final and the symbol flat. Orders that reduce a restored position and
    orders this run's journal did not send (placed by hand) are left working."""
    sent = _sent_order_ids(journal)
    canceled: dict[str, list[str]] = {}
    for order in report.open_orders:
        adopted, why = report.adoptions.get(order.symbol, (False, "its symbol could not restart"))
        held = report.positions.get(order.symbol, Decimal(0))
        reduces = held != 0 and (order.side == Side.SELL) == (held > 0)
        if adopted or reduces or order.client_order_id not in sent:
            continue
        finding = Finding("entry_canceled", f"{order.symbol}: entry order {order.client_order_id} still working "
                          f"at the broker was not taken over ({why}): canceled, so its fills cannot open a "
                          "position no strategy manages", order.symbol, order.order_id,
                          {"reason": why, "filled_qty": str(order.filled_qty), "qty": str(order.qty)})
        try:
            await state.broker.cancel(order.order_id)
        except BrokerError as error:  # filled or canceled meanwhile: its update is journaled as usual
            finding = Finding("entry_cancel_failed", f"{order.symbol}: entry order {order.client_order_id} was "
                              f"not taken over ({why}) and its cancel failed: {error}; new entries stay "
                              "blocked until it is final and the symbol flat", order.symbol, order.order_id,
                              {"reason": why})
        report.add(journal, now, finding)
        canceled.setdefault(order.symbol, []).append(order.order_id)
    return canceled


def _sent_order_ids(journal: Journal) -> set[str | None]:
    """The client order ids of the orders this run's journal sent."""
    return {r.order_id for r in journal.records("order")}


async def check_fills(journal: Journal, broker: Any) -> dict[str, Any]:
    """Compare the journal's fills with the broker's filled quantities, order by order, for the
    orders this run's journal sent; return ``{"orders", "mismatches"}`` (what an end-of-run
    check journals)."""
    sent = _sent_order_ids(journal)
    filled = journal.filled_by_order()
    mismatches = []
    orders = 0
    for order in await broker.orders(status="all"):
        if order.client_order_id not in sent:
            continue
        orders += 1
        ours = _dec(filled.get(order.order_id, (0.0, 0.0))[0])
        if ours != order.filled_qty:
            mismatches.append({"order_id": order.order_id, "client_order_id": order.client_order_id,
                               "journal_qty": str(ours), "broker_qty": str(order.filled_qty)})
    return {"orders": orders, "mismatches": mismatches}
