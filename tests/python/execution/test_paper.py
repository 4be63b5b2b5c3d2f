"""PaperBroker vs the fill simulator's semantics, and the kill switch end to end."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from helpers_execution import PREMARKET, REGULAR, intent, quote, status, trade
from tradecore.config import Config
from tradecore.engine import FillModel
from tradecore.execution import (
    BrokerEvent,
    BrokerEventType,
    ExecutionPipeline,
    IntentRejected,
    KillSwitchReset,
    KillSwitchTripped,
    OrderRejectedError,
    OrderRequest,
    OrderRouted,
    OrderRouter,
    OrderState,
    PaperBroker,
    PositionChanged,
    RiskDecision,
    RiskLimits,
    RiskManager,
)
from tradecore.journal.journal import Journal
from tradecore.live import run_live
from tradecore.schema import OrderType, Side, Sizing, TimeInForce, TradingState
from tradecore.session import RunState
from tradecore.sim import process as sim_process
from tradecore.sim.process import SimProcess

MS = 1_000_000
MINUTE = 60_000 * MS
HOUR = 60 * MINUTE
pytestmark = pytest.mark.asyncio


def request(qty: str = "100", side: Side = Side.BUY, kind: OrderType = OrderType.MARKET,
            limit: str | None = None, cid: str = "c1", **kw: object) -> OrderRequest:
    return OrderRequest(client_order_id=cid, symbol="ABC", side=side, type=kind, qty=D(qty),
                        limit_price=D(limit) if limit else None, **kw)  # type: ignore[arg-type]


def model(**kw: object) -> FillModel:
    m = FillModel()
    for k, v in kw.items():
        setattr(m, k, v)
    return m


def broker(**kw: object) -> tuple[PaperBroker, list[BrokerEvent]]:
    b = PaperBroker(fill_model=model(**kw), starting_cash=D(10000), start_ns=REGULAR)
    events: list[BrokerEvent] = []
    b.add_listener(events.append)
    return b, events


async def test_market_order_fills_at_the_ask_in_displayed_size_partials_with_commission() -> None:
    b, events = broker(commission_per_share=0.005, commission_minimum=1.0)
    b.on_batch(quote("ABC", REGULAR, 4.98, 5.00, ask_size=60))
    await b.submit(request("100"))
    assert [e.type for e in events] == [BrokerEventType.ACCEPTED, BrokerEventType.NEW,
                                        BrokerEventType.PARTIAL_FILL]
    assert events[-1].fill_qty == 60 and events[-1].fill_price == D("5.0")
    assert events[-1].commission == D("1.0")  # the per-order minimum on the first fill
    b.on_batch(quote("ABC", REGULAR + MS, 4.99, 5.01, ask_size=500))
    last = events[-1]
    assert last.type == BrokerEventType.FILL and last.fill_qty == 40
    assert last.fill_price == D("5.01") and last.commission == D(0)  # 0.5 total < minimum
    assert last.order.status == OrderState.FILLED and last.order.filled_qty == 100
    assert last.order.filled_avg_price == D("5.004") and last.position_qty == 100
    account = await b.account()
    assert account.cash == D(10000) - D("300.00") - D("200.40") - D("1.0")
    [pos] = await b.positions()
    assert pos.qty == 100 and pos.cost_basis == D("500.40")


async def test_submit_latency_gives_accepted_then_new_on_the_clock() -> None:
    b, events = broker(submit_latency_ns=5 * MS)
    b.on_batch(quote("ABC", REGULAR, 4.98, 5.00))
    ack = await b.submit(request())
    assert ack.status == OrderState.ACCEPTED and [e.type for e in events] == [BrokerEventType.ACCEPTED]
    b.on_clock(REGULAR + 5 * MS)
    assert [e.type for e in events][1:] == [BrokerEventType.NEW, BrokerEventType.FILL]
    assert events[1].ts_event == REGULAR + 5 * MS


async def test_resting_limit_fills_at_its_price_when_the_book_moves_through() -> None:
    b, events = broker()
    b.on_batch(quote("ABC", REGULAR, 4.98, 5.00))
    ack = await b.submit(request(kind=OrderType.LIMIT, limit="4.95"))
    assert (await b.get_order(ack.order_id)).status == OrderState.NEW
    b.on_batch(quote("ABC", REGULAR + MS, 4.90, 4.93))
    assert events[-1].type == BrokerEventType.FILL and events[-1].fill_price == D("4.95")


async def test_halt_blocks_fills_until_resumption() -> None:
    b, events = broker()
    b.on_batch(quote("ABC", REGULAR, 4.98, 5.00))
    b.on_batch(status("ABC", REGULAR + 1, TradingState.HALTED))
    await b.submit(request())
    assert events[-1].type == BrokerEventType.NEW
    b.on_batch(status("ABC", REGULAR + 2, TradingState.TRADING))
    assert events[-1].type == BrokerEventType.FILL


async def test_cancel_replace_and_errors() -> None:
    b, events = broker()
    b.on_batch(quote("ABC", REGULAR, 4.98, 5.00))
    ack = await b.submit(request(kind=OrderType.LIMIT, limit="4.90"))
    new = await b.replace(ack.order_id, limit_price=D("4.91"))
    old = await b.get_order(ack.order_id)
    assert old.status == OrderState.REPLACED and old.replaced_by == new.order_id
    replacement = await b.get_order(new.order_id)
    assert replacement.limit_price == D("4.91") and replacement.replaces == ack.order_id
    assert replacement.qty == 100 and replacement.status == OrderState.NEW
    await b.cancel(new.order_id)
    assert events[-1].type == BrokerEventType.CANCELED and events[-1].reason == "user cancel"
    from tradecore.execution import OrderNotCancelableError, UnknownOrderError
    with pytest.raises(OrderNotCancelableError):
        await b.cancel(new.order_id)
    with pytest.raises(UnknownOrderError):
        await b.cancel("nope")
    with pytest.raises(OrderRejectedError, match="already used"):
        await b.submit(request(kind=OrderType.LIMIT, limit="4.90"))
    with pytest.raises(OrderRejectedError, match="limit \\+ day"):
        await b.submit(request(cid="c2", extended_hours=True))
    with pytest.raises(OrderRejectedError):
        await b.submit(request(cid="c3", kind=OrderType.LIMIT, limit="4.9",
                               time_in_force=TimeInForce.GTC, extended_hours=True))


async def test_ioc_remainder_is_canceled_with_its_reason() -> None:
    b, events = broker()
    b.on_batch(quote("ABC", REGULAR, 4.98, 5.00, ask_size=30))
    await b.submit(request(time_in_force=TimeInForce.IOC))
    assert [e.type for e in events][-2:] == [BrokerEventType.PARTIAL_FILL, BrokerEventType.CANCELED]
    assert events[-1].reason == "IOC remainder" and events[-1].order.filled_qty == 30


async def test_same_inputs_give_the_same_events() -> None:
    async def run() -> list[dict[str, object]]:
        b, events = broker(submit_latency_ns=MS, commission_per_share=0.01)
        b.on_batch(quote("ABC", REGULAR, 4.98, 5.00, ask_size=40))
        await b.submit(request("100"))
        for k in range(1, 4):
            b.on_batch(quote("ABC", REGULAR + k * MS, 4.98 + k / 100, 5.00 + k / 100, ask_size=40))
        return [e.to_record() for e in events]

    assert await run() == await run()


def pipeline(limits: RiskLimits) -> tuple[ExecutionPipeline, PaperBroker, list[object]]:
    b = PaperBroker(starting_cash=D(10000), start_ns=REGULAR)
    journal: list[object] = []
    risk = RiskManager(limits, on_event=journal.append)
    router = OrderRouter(position=b.tracker.qty, equity=lambda: b.tracker.equity)
    return ExecutionPipeline(b, router, risk, b.tracker, b.market, on_event=journal.append), b, journal


async def test_kill_switch_end_to_end_cancels_flattens_and_blocks_entries() -> None:
    p, b, journal = pipeline(RiskLimits(daily_loss_limit=D(200), price_band_percent=D(20)))
    await p.on_batch(quote("ABC", REGULAR, 9.99, 10.00))
    await p.on_batch(trade("ABC", REGULAR, 10.00))
    await p.on_batch(quote("XYZ", REGULAR, 4.00, 4.01))
    await p.on_batch(trade("XYZ", REGULAR, 4.00))
    entry = await p.submit_intent(intent("ABC", quantity=100))
    assert isinstance(entry, RiskDecision) and entry.accepted
    resting = await p.submit_intent(intent("XYZ", order_type=OrderType.LIMIT, limit="3.90",
                                           quantity=100))
    assert isinstance(resting, RiskDecision) and resting.accepted
    assert b.tracker.qty("ABC") == 100 and len(await b.open_orders()) == 1
    # ABC drops 2.50: unrealised -250 trips the -200 limit on the mark
    await p.on_batch(quote("ABC", REGULAR + MS, 7.49, 7.50))
    await p.on_batch(trade("ABC", REGULAR + MS, 7.50))
    trips = [e for e in journal if isinstance(e, KillSwitchTripped)]
    assert len(trips) == 1 and trips[0].flatten == {"ABC": D(100)}
    assert trips[0].daily_pnl == D("-250.00")
    assert await b.open_orders() == []  # the resting XYZ order was canceled
    assert b.tracker.qty("ABC") == 0  # flattened at the bid 7.49
    closing = [e for e in journal if isinstance(e, OrderRouted) and "kill switch" in e.order.reason]
    assert len(closing) == 1 and closing[0].order.side == Side.SELL
    canceled = [e for e in journal if isinstance(e, BrokerEvent) and e.type == BrokerEventType.CANCELED]
    assert [e.symbol for e in canceled] == ["XYZ"]
    blocked = await p.submit_intent(intent("XYZ", quantity=10, ts=REGULAR + 2 * MS))
    assert isinstance(blocked, RiskDecision) and blocked.rule == "kill_switch"
    assert b.tracker.realized == D("-251.00")
    # Each fill is followed by the position it left, as on a broker whose fills the pipeline applies.
    fills = [i for i, e in enumerate(journal) if isinstance(e, BrokerEvent) and e.is_fill]
    changes = [journal[i + 1] for i in fills]
    assert fills and all(isinstance(c, PositionChanged) and c.symbol == "ABC" for c in changes)
    assert sum(isinstance(e, PositionChanged) for e in journal) == len(fills)
    last = changes[-1]
    assert isinstance(last, PositionChanged)
    assert last.qty == 0 and last.realized_pl == b.tracker.realized


async def test_a_new_trading_day_restarts_daily_pnl_and_resets_the_kill_switch() -> None:
    p, b, journal = pipeline(RiskLimits(daily_loss_limit=D(200), price_band_percent=D(20)))
    await p.on_batch(quote("ABC", REGULAR, 9.99, 10.00))
    await p.on_batch(trade("ABC", REGULAR, 10.00))
    await p.submit_intent(intent("ABC", quantity=100))
    await p.on_batch(quote("ABC", REGULAR + MS, 7.49, 7.50))
    await p.on_batch(trade("ABC", REGULAR + MS, 7.50))
    assert p.risk.kill_switch_tripped and b.tracker.qty("ABC") == 0
    evening = REGULAR + 9 * HOUR  # 19:00 New York: the same trading day, still blocked
    await p.on_batch(trade("ABC", evening, 7.60))
    late = await p.submit_intent(intent("ABC", quantity=10, ts=evening))
    assert isinstance(late, RiskDecision) and late.rule == "kill_switch"
    assert not any(isinstance(e, KillSwitchReset) for e in journal)
    before_open = REGULAR + 18 * HOUR - MS  # 03:59:59.999 the next morning: not yet
    await p.on_batch(trade("ABC", before_open, 7.60))
    assert p.risk.kill_switch_tripped
    next_day = REGULAR + 18 * HOUR + 30 * MINUTE  # 04:30 the next morning: a new day
    await p.on_batch(quote("ABC", next_day, 7.59, 7.60))
    await p.on_batch(trade("ABC", next_day, 7.60))
    resets = [e for e in journal if isinstance(e, KillSwitchReset)]
    assert len(resets) == 1 and resets[0].ts_event == next_day
    assert "new trading day" in resets[0].reason
    assert not p.risk.kill_switch_tripped and b.tracker.daily_pnl() == 0
    entry = await p.submit_intent(intent("ABC", quantity=10, ts=next_day))
    assert isinstance(entry, RiskDecision) and entry.accepted


async def test_pipeline_turns_premarket_market_intent_into_marketable_limit_and_fills() -> None:
    p, b, journal = pipeline(RiskLimits())
    await p.on_batch(quote("ABC", PREMARKET, 2.00, 2.02))
    await p.on_batch(trade("ABC", PREMARKET, 2.01))
    decision = await p.submit_intent(intent("ABC", sizing=Sizing.NOTIONAL, quantity=1000,
                                            ts=PREMARKET))
    assert isinstance(decision, RiskDecision) and decision.accepted
    routed = next(e for e in journal if isinstance(e, OrderRouted))
    assert routed.order.type == OrderType.LIMIT and routed.order.limit_price == D("2.04")
    assert routed.order.extended_hours and routed.order.qty == 495  # floor(1000 / 2.02)
    fills = [e for e in journal if isinstance(e, BrokerEvent) and e.is_fill]
    assert fills[-1].fill_price == D("2.02") and b.tracker.qty("ABC") == 495


async def test_pipeline_rejections_are_events_with_reasons() -> None:
    p, _, journal = pipeline(RiskLimits(max_shares_per_symbol=D(50)))
    await p.on_batch(quote("ABC", REGULAR, 9.99, 10.00))
    too_big = await p.submit_intent(intent("ABC", quantity=100))
    assert isinstance(too_big, RiskDecision) and too_big.rule == "max_shares"
    nothing = await p.submit_intent(intent("ABC", sizing=Sizing.CLOSE_POSITION, quantity=0))
    assert isinstance(nothing, IntentRejected) and nothing.reason == "no position to close"
    assert all("record_type" in e.to_record() for e in journal)  # type: ignore[attr-defined]


async def test_kill_switch_flattens_even_with_a_resting_exit_order_being_canceled() -> None:
    b = PaperBroker(starting_cash=D(10000), start_ns=REGULAR,
                    fill_model=model(cancel_latency_ns=MS))
    journal: list[object] = []
    risk = RiskManager(RiskLimits(daily_loss_limit=D(100)), on_event=journal.append)
    router = OrderRouter(position=b.tracker.qty, equity=lambda: b.tracker.equity)
    p = ExecutionPipeline(b, router, risk, b.tracker, b.market, on_event=journal.append)
    await p.on_batch(quote("ABC", REGULAR, 9.99, 10.00))
    await p.on_batch(trade("ABC", REGULAR, 10.00))
    await p.submit_intent(intent("ABC", quantity=100))
    exit_order = await p.submit_intent(intent("ABC", side=Side.SELL, order_type=OrderType.LIMIT,
                                              limit="10.50", quantity=100))
    assert isinstance(exit_order, RiskDecision) and exit_order.accepted
    await p.on_batch(quote("ABC", REGULAR + MS, 8.99, 9.00))
    await p.on_batch(trade("ABC", REGULAR + MS, 9.00))
    assert risk.kill_switch_tripped
    closing = [e for e in journal if isinstance(e, RiskDecision) and "kill switch" not in e.rule
               and e.values.get("order_shares") == "-100"]
    assert closing[-1].accepted and closing[-1].reason == "exit: reduces the position"
    b.on_clock(REGULAR + 3 * MS)  # the cancel takes effect after its latency
    await p.drain()
    assert b.tracker.qty("ABC") == 0 and await b.open_orders() == []
    kinds = [e.type for e in journal if isinstance(e, BrokerEvent)]
    assert BrokerEventType.PENDING_CANCEL in kinds and BrokerEventType.CANCELED in kinds


async def test_fills_match_the_native_simulator_fed_the_same_events() -> None:
    import json

    import numpy as np
    from tradecore._native import _core
    from tradecore.execution.market import clean, price

    fm = model(submit_latency_ns=2 * MS, slippage=0.01, commission_per_share=0.004,
               commission_minimum=0.35)
    b = PaperBroker(fill_model=fm, start_ns=REGULAR)
    sim = _core.engine.FillSimulator(fm)
    events: list[BrokerEvent] = []
    b.add_listener(events.append)
    rng = np.random.default_rng(7)
    expected: list[tuple[int, str, str, str]] = []
    orders = [(Side.BUY, OrderType.MARKET, None, None), (Side.BUY, OrderType.LIMIT, 9.95, None),
              (Side.SELL, OrderType.STOP, None, 9.90), (Side.SELL, OrderType.LIMIT, 10.08, None)]
    mid = 10.0
    for step in range(60):
        ts = REGULAR + step * MS
        if step % 15 == 0:
            side, kind, limit, stop = orders[step // 15]
            sim_out = sim.submit(order_id=step // 15 + 1, ts=ts, side=int(side), type=int(kind),
                                 quantity=150.0, limit_price=limit or 0.0, stop_price=stop or 0.0)
            b.now = ts
            await b.submit(OrderRequest(client_order_id=f"p{step}", symbol="ABC", side=side,
                                        type=kind, qty=D(150), limit_price=limit and D(str(limit)),
                                        stop_price=stop and D(str(stop))))
            expected += [(int(f["ts_event"]), str(price(f["price"])), str(clean(price(f["quantity"]))),
                          str(price(f["commission"]))) for f in sim_out[0]]
        mid = round(mid + float(rng.choice([-0.03, -0.01, 0.0, 0.01, 0.03])), 2)
        batch = quote("ABC", ts, mid - 0.01, mid + 0.01, bid_size=float(rng.integers(20, 120)),
                      ask_size=float(rng.integers(20, 120)))
        fills, _ = sim.on_quotes(batch.events)
        b.on_batch(batch)
        expected += [(int(f["ts_event"]), str(price(f["price"])), str(clean(price(f["quantity"]))),
                      str(price(f["commission"]))) for f in fills]
    got = [(e.ts_event, str(e.fill_price), str(e.fill_qty), str(e.commission))
           for e in events if e.is_fill]
    assert len(expected) >= 4 and got == expected
    json.dumps([e.to_record() for e in events])  # every event is journal-ready


async def test_events_async_iterator_ends_on_close() -> None:
    import asyncio

    b, _ = broker()
    received: list[BrokerEvent] = []

    async def consume() -> None:
        async for event in b.events():
            received.append(event)

    task = asyncio.get_running_loop().create_task(consume(), name="consume-events")
    await asyncio.sleep(0)
    b.on_batch(quote("ABC", REGULAR, 4.98, 5.00))
    await b.submit(request())
    await b.close()
    await asyncio.wait_for(task, 2)
    assert [e.type for e in received] == [BrokerEventType.ACCEPTED, BrokerEventType.NEW,
                                          BrokerEventType.FILL]
    record = received[-1].to_record()
    assert record["record_type"] == "BrokerEvent" and record["type"] == "fill" and record["fill_qty"] == "100"
    assert record["order"]["side"] == "BUY" and record["order"]["status"] == "filled"


async def test_a_paper_live_run_journals_the_positions_its_tracker_holds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real `live` run on the embedded simulator. The run's state and simulator are kept (not
    # replaced): the tracker is read at the end, and the run is told the session ended as soon
    # as a position is held (a loaded machine may need many seconds to get there).
    states: list[RunState] = []
    simulators: list[SimProcess] = []
    create = RunState.create.__func__  # type: ignore[attr-defined]

    def keep(cls: type[RunState], *args: Any, **kwargs: Any) -> RunState:
        states.append(create(cls, *args, **kwargs))
        return states[-1]

    class KeptSimProcess(SimProcess):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            simulators.append(self)

    async def end_once_a_position_is_held() -> None:
        while not (states and simulators and states[0].tracker.open_symbols()):
            await asyncio.sleep(0.05)
        simulators[0].finished.set()

    monkeypatch.setattr(RunState, "create", classmethod(keep))
    monkeypatch.setattr(sim_process, "SimProcess", KeptSimProcess)
    config = Config().with_overrides(
        sim={"speed": 600.0, "seed": 7}, scanner={"kind": "fixed", "symbols": ["CBB", "AOZ", "YRRS"]},
        strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3, "quantity": 10}},
        execution={"flatten_on_exit": False})
    watcher = asyncio.create_task(end_once_a_position_is_held())
    try:
        result = await run_live(config, duration=90.0, ui=False, runs_root=tmp_path / "runs")
    finally:
        watcher.cancel()
    tracker = states[0].tracker
    with Journal(result.folder / "journal.sqlite", readonly=True) as journal:
        fills = journal.fills()
        assert journal.count("position") == len(fills) >= 1  # one record per fill
        held = journal.positions()
        everything = journal.positions(include_flat=True)
    # Not flattened at exit: what the journal says is held is what the tracker holds.
    assert held and {s: p.quantity for s, p in held.items()} == {
        s: float(tracker.qty(s)) for s in tracker.open_symbols()}
    assert set(everything) == {f.symbol for f in fills}
    for symbol, position in everything.items():
        now = tracker.position(symbol)
        assert (position.average_price, position.realized_pnl) == (
            float(now.avg_entry_price), float(now.realized_pl)), symbol


async def test_paper_ids_never_repeat_across_the_processes_of_a_run() -> None:
    """Each live process of a run (the first, then every resume) has its own order prefix; its
    paper venue's order and execution ids carry it, so a journal never sees one id twice. A
    backtest (no prefix) keeps the plain, deterministic ``paper-1``."""
    ids: list[str] = []
    for prefix in ("tc0a", "tc0b"):
        state = RunState.create(Config(), journal=None, order_prefix=prefix)
        assert isinstance(state.broker, PaperBroker)
        b = PaperBroker(starting_cash=D(10000), start_ns=REGULAR, id_prefix=state.broker.id_prefix)
        events: list[BrokerEvent] = []
        b.add_listener(events.append)
        b.on_batch(quote("ABC", REGULAR, 4.98, 5.00))
        ack = await b.submit(request())
        ids += [ack.order_id, *(e.execution_id for e in events if e.execution_id)]
    assert len(ids) == 4 and len(set(ids)) == 4, ids
    b, events = broker()
    b.on_batch(quote("ABC", REGULAR, 4.98, 5.00))
    assert (await b.submit(request())).order_id == "paper-1" and events[-1].execution_id == "paper-x1"
    assert RunState.create(Config(), journal=None).broker.id_prefix == "paper"  # type: ignore[attr-defined]
