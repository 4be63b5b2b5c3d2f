"""The live dispatch path: an idle symbol handles a batch inside ``dispatch``, a busy one queues
it, and either way the engine, the orders and the fills come out as if the events had been one
batch; a failure there quarantines only its symbol."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from tradecore import schema
from tradecore.config import Config
from tradecore.latency import LatencyStats
from tradecore.pipeline import StrategyManager
from tradecore.session import RunState
from tradecore.strategies import Rule, Strategy
from tradecore.streams.base import (
    DispatchedStream,
    EventBatch,
    EventKind,
    GroupedBatch,
    Instruments,
)

T0 = 1_795_683_600_000_000_000 + 30 * 60 * 10**9  # 04:30 New York on a weekday
CONFIG = Config().with_overrides(strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3},
                                           "bar_period": "1s"})


def trades(count: int, seed: int = 3) -> np.ndarray:
    """A random walk of trades 100 ms apart (enough 1 s bars for many EMA crosses)."""
    rng = np.random.default_rng(seed)
    out = schema.empty(schema.TRADE, count)
    out["ts_event"] = T0 + np.arange(count) * 100_000_000
    out["price"] = np.round(10 * np.exp(np.cumsum(rng.normal(0, 0.003, count))), 2)
    out["size"] = 100
    return out


async def _manager(state: RunState, make_engine: Any = None) -> StrategyManager:
    async def make_runner(symbol: str) -> Any:
        engine = (make_engine or state.make_engine)(symbol)
        return state.runner(symbol, engine)

    state.manager = StrategyManager(DispatchedStream(), make_runner, state.bus, holds_position=state.holds_position)
    return state.manager


def _orders_and_fills(state: RunState, subscription: Any) -> list[tuple[Any, ...]]:
    return [(e.topic, e.symbol, e.ts, e.data.get("side"), e.data.get("type"), e.data.get("fill_qty"),
             e.data.get("fill_price")) for e in subscription.drain()]


def test_single_events_give_the_intents_and_fills_of_one_batch() -> None:
    events = trades(3_000)

    async def run(batches: list[np.ndarray]) -> tuple[list[tuple[Any, ...]], RunState]:
        state = RunState.create(CONFIG, journal=None)
        subscription = state.bus.subscribe(["intent", "order", "position"], capacity=100_000)
        manager = await _manager(state)
        await manager.update_universe(["ACME"])
        for i, batch in enumerate(batches):
            manager.dispatch(EventBatch(EventKind.TRADE, "ACME", batch))
            if i % 7 == 0:  # let the symbol's task run now and then, not after every event
                await asyncio.sleep(0)
        await manager.drain()
        await manager.close()
        return _orders_and_fills(state, subscription), state

    one, state_one = asyncio.run(run([events]))
    single, state_single = asyncio.run(run([events[i:i + 1] for i in range(len(events))]))
    assert state_one.execution.intents > 10
    assert any(event[0] == "order" and event[5] for event in one)  # fills happened
    assert single == one
    assert state_single.broker.tracker.qty("ACME") == state_one.broker.tracker.qty("ACME")


def test_an_idle_symbol_runs_its_batch_inside_dispatch_and_stamps_each_event() -> None:
    async def scenario() -> None:
        state = RunState.create(CONFIG, journal=None)
        latency = state.execution.latency = LatencyStats()
        manager = await _manager(state)
        await manager.update_universe(["ACME"])
        engine = manager.symbols["ACME"].runner.engine
        batch = trades(3)
        received = np.full(3, 1, np.int64)  # long ago: every stamp is large and positive
        manager.dispatch(EventBatch(EventKind.TRADE, "ACME", batch, received))
        # No await in between: the engine has already run the events.
        assert engine.native.events_processed == 3
        assert manager.symbols["ACME"].pending == 0
        assert latency.histograms["receive_to_engine_done"].count == 3
        assert latency.percentiles("receive_to_engine_start")[0] > 1e9
        await manager.close()

    asyncio.run(scenario())


def test_batches_for_a_busy_symbol_wait_behind_its_intent() -> None:
    async def scenario() -> None:
        state = RunState.create(CONFIG, journal=None)
        manager = await _manager(state)
        await manager.update_universe(["ACME"])
        entry = manager.symbols["ACME"]
        events = trades(3_000)
        for i in range(len(events)):
            manager.dispatch(EventBatch(EventKind.TRADE, "ACME", events[i:i + 1]))
            if entry.pending:
                break  # an intent is waiting to be routed
        assert entry.pending == 1
        processed = entry.runner.engine.native.events_processed
        rest = events[i + 1:]
        for j in range(len(rest)):
            manager.dispatch(EventBatch(EventKind.TRADE, "ACME", rest[j:j + 1]))
        assert entry.runner.engine.native.events_processed == processed  # all queued, in order
        await manager.drain()
        assert entry.runner.engine.native.events_processed == len(events)
        assert entry.pending == 0
        await manager.close()

    asyncio.run(scenario())


class Failing(Strategy):  # type: ignore[misc]
    name = "failing"
    states = ("FLAT",)
    rules = (Rule("never", "FLAT", "FLAT", on="trade"),)
    values = ()
    wants_trades = True

    def on_trade(self, trade: Any) -> None:
        raise RuntimeError("broken strategy")


def _failing_for(bad: str, state: RunState) -> Any:
    """An engine factory whose ``bad`` symbol also runs a strategy that raises."""
    def make_engine(symbol: str) -> Any:
        engine = state.make_engine(symbol)
        if symbol == bad:
            engine.native.add_strategy(Failing())
        return engine

    return make_engine


def test_a_failure_inside_dispatch_quarantines_only_that_symbol() -> None:
    async def scenario() -> None:
        state = RunState.create(CONFIG, journal=None)
        make_engine = _failing_for("BAD", state)
        errors = state.bus.subscribe(["error"])
        manager = await _manager(state, make_engine)
        await manager.update_universe(["BAD", "GOOD"])
        bad_task = manager.symbols["BAD"].task
        events = trades(20)
        for i in range(len(events)):
            for symbol in ("BAD", "GOOD"):
                manager.dispatch(EventBatch(EventKind.TRADE, symbol, events[i:i + 1]))
        assert "BAD" in manager.quarantined and "broken strategy" in manager.quarantined["BAD"]
        assert set(manager.symbols) == {"GOOD"}
        assert [e.symbol for e in errors.drain()] == ["BAD"]
        await asyncio.wait_for(manager.drain(), 5)
        assert bad_task is not None and bad_task.done()
        assert manager.symbols["GOOD"].runner.engine.native.events_processed == len(events)
        await asyncio.wait_for(manager.close(), 5)

    asyncio.run(scenario())


def test_a_symbol_that_cannot_start_is_quarantined_and_journaled_and_the_others_start(tmp_path: Any) -> None:
    """Its runner cannot be built (premarket_momentum without a prior close, its warm-up's
    history refused): the scan's other symbols still start and trade."""
    from tradecore.errors import ConfigError
    from tradecore.journal.journal import Journal

    async def scenario() -> None:
        journal = Journal(tmp_path / "journal.sqlite")
        state = RunState.create(CONFIG, journal=journal)

        async def make_runner(symbol: str) -> Any:
            if symbol == "NOPE":
                raise ConfigError("premarket_momentum needs the prior close (from the scanner or params)")
            return state.runner(symbol, state.make_engine(symbol))

        stream = DispatchedStream()
        manager = state.manager = StrategyManager(stream, make_runner, state.bus, on_quarantine=state.quarantined)
        universe = state.bus.subscribe(["universe"])
        added, _ = await manager.update_universe(["GOOD", "NOPE", "ALSO"], T0)  # a scan at T0
        assert added == {"GOOD", "ALSO"} and set(manager.symbols) == {"GOOD", "ALSO"}
        assert stream.subscribed == {"GOOD", "ALSO"}
        assert "needs the prior close" in manager.quarantined["NOPE"]
        assert [e.data["added"] for e in universe.drain()] == [["ALSO", "GOOD"]]
        await manager.update_universe(["GOOD", "NOPE", "ALSO"])  # not tried again at every scan
        assert set(manager.symbols) == {"GOOD", "ALSO"}
        events = trades(5)
        manager.dispatch(EventBatch(EventKind.TRADE, "GOOD", events))
        await asyncio.wait_for(manager.close(), 5)
        assert state.manager.symbols == {}
        journal.flush()
        (error,) = journal.records("error")
        assert error.symbol == "NOPE" and error.data["where"] == "quarantine"
        assert error.ts_event == T0  # the scan's time, not 0 (no data had been seen)
        assert "NOPE quarantined: ConfigError: premarket_momentum needs the prior close" in error.data["message"]
        journal.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["quote", "status"])
def test_the_book_continues_from_a_snapshot_set_by_hand(kind: str) -> None:
    from tradecore.execution.market import MarketBook, MarketSnapshot

    book = MarketBook()
    book.set(MarketSnapshot("ACME", bid=Decimal("9.99"), ask=Decimal("10.01"), last=Decimal(10),
                            ts_event=T0, state=schema.TradingState.HALTED))
    if kind == "quote":
        quote = schema.empty(schema.QUOTE, 2)
        quote["ts_event"], quote["bid_price"], quote["ask_price"] = T0 + 1, [9.5, 0.0], [10.5, 10.25]
        book.update(EventBatch(EventKind.QUOTE, "ACME", quote))
        snap = book.get("ACME")
        # The last positive bid of the batch; the bid 0 means "no bid", not a new price.
        assert (snap.bid, snap.ask, snap.last) == (Decimal("9.5"), Decimal("10.25"), Decimal(10))
        assert snap.halted and snap.ts_event == T0 + 1
    else:
        status = schema.empty(schema.STATUS, 1)
        status["ts_event"], status["state"] = T0 + 1, int(schema.TradingState.TRADING)
        book.update(EventBatch(EventKind.STATUS, "ACME", status))
        snap = book.get("ACME")
        assert not snap.halted and snap.bid == Decimal("9.99") and snap.last == Decimal(10)


def test_the_reference_price_is_the_snapshots() -> None:
    from tradecore.execution.market import MarketBook

    book = MarketBook()
    assert book.reference("ACME") is None
    quote = schema.empty(schema.QUOTE, 1)
    quote["ts_event"], quote["bid_price"], quote["ask_price"] = T0, 9.99, 10.02
    book.update(EventBatch(EventKind.QUOTE, "ACME", quote))
    assert book.reference("ACME") == book.get("ACME").reference == (Decimal("9.99") + Decimal("10.02")) / 2
    book.update(EventBatch(EventKind.TRADE, "ACME", trades(1)))
    expected = book.get("ACME").reference
    assert expected is not None and book.reference("acme") == expected == Decimal(str(trades(1)["price"][0]))


def test_a_mark_past_the_loss_limit_flattens_through_the_dispatch_path() -> None:
    from tradecore.execution import OrderRequest

    async def scenario() -> None:
        config = Config().with_overrides(strategy={"name": "ema_cross", "bar_period": "1min"},
                                         execution={"risk": {"daily_loss_limit": 500}})
        state = RunState.create(config, journal=None)
        risk_events = state.bus.subscribe(["risk"])
        manager = await _manager(state)
        await manager.update_universe(["ACME"])
        engine = manager.symbols["ACME"].runner.engine
        quote = schema.empty(schema.QUOTE, 1)
        quote["ts_event"], quote["bid_price"], quote["ask_price"] = T0, 10.00, 10.02
        quote["bid_size"], quote["ask_size"] = 10_000, 10_000
        manager.dispatch(EventBatch(EventKind.QUOTE, "ACME", quote))
        await manager.drain()
        state.broker.now = T0
        await state.broker.submit(OrderRequest(client_order_id="manual-1", symbol="ACME", side=schema.Side.BUY,
                                               type=schema.OrderType.MARKET, qty=Decimal(1_000)))
        await manager.symbols["ACME"].runner._consume(engine.native.drain())
        assert state.broker.tracker.qty("ACME") == 1_000
        # The market falls $1: the print marks the position down $1,000, past the $500 limit.
        fall = schema.empty(schema.QUOTE, 2)
        fall["ts_event"], fall["bid_price"], fall["ask_price"] = [T0 + 1, T0 + 3], 9.00, 9.02
        fall["bid_size"], fall["ask_size"] = 10_000, 10_000
        crash = trades(1)
        crash["ts_event"], crash["price"] = T0 + 2, 9.01
        manager.dispatch(EventBatch(EventKind.QUOTE, "ACME", fall[:1]))
        assert state.pipeline.risk.tripped is None  # quotes do not mark
        manager.dispatch(EventBatch(EventKind.TRADE, "ACME", crash))
        manager.dispatch(EventBatch(EventKind.QUOTE, "ACME", fall[1:]))
        await manager.drain()
        await manager.symbols["ACME"].runner._consume(engine.native.drain())  # the closing fill
        assert state.pipeline.risk.tripped is not None
        assert any("flatten" in str(e.data.get("reason")) for e in risk_events.drain())
        assert state.broker.tracker.qty("ACME") == 0  # the kill switch's closing order filled
        await manager.close()

    asyncio.run(scenario())


def test_equity_kept_up_to_date_equals_the_sum_over_positions() -> None:
    from tradecore.execution.positions import PositionTracker

    rng = np.random.default_rng(11)
    tracker = PositionTracker(Decimal(100_000))
    symbols = ["A", "B", "C", "D"]
    for _ in range(400):
        symbol = symbols[int(rng.integers(len(symbols)))]
        price = Decimal(str(round(float(rng.uniform(5, 15)), 2)))
        if rng.random() < 0.5:
            side = schema.Side.BUY if rng.random() < 0.6 else schema.Side.SELL
            tracker.on_fill(symbol, side, Decimal(int(rng.integers(1, 300))), price, Decimal("0.35"))
        else:
            tracker.mark(symbol, price)
        direct = tracker.cash + sum((tracker.symbol(s).market_value for s in symbols), Decimal(0))
        assert tracker.equity == direct


class _NeverAnswers:
    """A runner hook that waits forever (a broker that stops answering)."""

    def before_batch(self, runner: object, batch: EventBatch) -> Awaitable[None]:
        return asyncio.Event().wait()

    def has_work(self, symbol: str) -> bool:
        return True

    def idle(self) -> bool:
        return False


def test_close_is_bounded_when_a_symbol_never_finishes() -> None:
    """A symbol stuck waiting (a broker that stops answering) is cut off after the timeout and
    named; the others finish what they had queued."""
    async def scenario() -> None:
        state = RunState.create(CONFIG, journal=None)
        manager = await _manager(state)
        await manager.update_universe(["ACME", "STUCK"])
        stuck = manager.symbols["STUCK"].runner
        stuck.hooks.append(_NeverAnswers())
        manager.dispatch(EventBatch(EventKind.TRADE, "STUCK", trades(5)))
        manager.dispatch(EventBatch(EventKind.TRADE, "ACME", trades(5)))
        # The outer wait_for only turns a regression (close hanging forever) into a failure.
        cut = await asyncio.wait_for(manager.close(timeout=0.3), 30)
        assert cut == ["STUCK"]
        assert manager.symbols == {}
        assert state.manager is manager and manager.dispatched == 10

    asyncio.run(scenario())


def _frames(symbols: list[str], per_symbol: int, frame: int, seed: int = 5,
            instruments: Instruments | None = None) -> list[GroupedBatch]:
    """Frames of ``frame`` consecutive ticks round-robin over ``symbols``, grouped by symbol as
    a live decoder groups them (one receive time per frame; with ``instruments``, the events
    carry its ids and the frames name it, as a live decoder's)."""
    walks = {s: trades(per_symbol, seed + i) for i, s in enumerate(symbols)}
    if instruments is not None:
        for symbol, walk in walks.items():
            walk["instrument_id"] = instruments.id_of(symbol)
    ticks = [(s, walks[s][k:k + 1]) for k in range(per_symbol) for s in symbols]
    out = []
    for start in range(0, len(ticks), frame):
        chunk = ticks[start:start + frame]
        order = list(dict.fromkeys(s for s, _ in chunk))
        parts = [schema.concatenate([e for s, e in chunk if s == symbol], schema.TRADE) for symbol in order]
        cuts = np.cumsum([0] + [len(p) for p in parts]).astype(np.int64)
        out.append(GroupedBatch(EventKind.TRADE, schema.concatenate(parts, schema.TRADE), cuts, order,
                                T0 + start, instruments))
    return out


@pytest.mark.parametrize("by_id", [False, True])
@pytest.mark.parametrize("loss_limit", [None, 1_000_000])
def test_grouped_frames_give_what_their_batches_give(loss_limit: int | None, by_id: bool) -> None:
    """dispatch_grouped (the native multi-symbol run) against the same frames dispatched batch by
    batch: the same intents, orders and fills in the same order, the same positions, marks,
    equity, book and clock. Held positions (marked group by group in the native run, or batch by
    batch when a daily loss limit checks every mark), a symbol busy routing, an inactive symbol
    and engines stopping mid-frame all occur (checked below, so the test cannot pass vacuously).
    ``by_id``: the frames name their ids' registry, as a live decoder's, and the engines are
    found by instrument id."""
    symbols = ["AAA", "BBB", "CCC", "DDD", "EEE"]
    registry = Instruments() if by_id else None
    if registry is not None:
        registry.id_of("FIRST")  # ids need not start at the frames' symbols
    frames = _frames(symbols + ["OFF"], per_symbol=400, frame=7, instruments=registry)
    config = CONFIG if loss_limit is None else CONFIG.with_overrides(
        execution={"risk": {"daily_loss_limit": loss_limit}})

    async def run(grouped: bool) -> tuple[list[tuple[Any, ...]], RunState, int]:
        state = RunState.create(config, journal=None)
        state.execution.latency = LatencyStats()
        topics = ["intent", "order", "position", "transition", "bar"]
        subscription = state.bus.subscribe(topics, capacity=1_000_000)
        manager = await _manager(state)
        await manager.update_universe(symbols)  # OFF is not active: its events are dropped
        held = 0

        def check(frame: GroupedBatch) -> None:
            nonlocal held
            held += sum(state.broker.tracker.holds(s) for s in frame.symbols)
            assert all(state.execution.batch_only(s) == (loss_limit is not None and state.broker.tracker.holds(s))
                       for s in frame.symbols if s != "OFF" and not state.execution.pipeline._inbox)

        await _dispatch_frames(manager, frames, grouped=grouped, yield_every=5, before_grouped=check)
        events = [(e.topic, e.symbol, e.ts, tuple(sorted((k, repr(v)) for k, v in e.data.items())))
                  for e in subscription.drain()]
        await manager.close()
        return events, state, held

    batched, state_b, _ = asyncio.run(run(False))
    grouped, state_g, held = asyncio.run(run(True))
    assert state_b.execution.intents > 40
    assert held > 100  # frames met held positions
    assert grouped == batched
    assert state_g.broker.tracker.equity == state_b.broker.tracker.equity
    for symbol in symbols:
        assert state_g.broker.tracker.qty(symbol) == state_b.broker.tracker.qty(symbol)
        assert state_g.broker.tracker.symbol(symbol).last_price == state_b.broker.tracker.symbol(symbol).last_price
        assert state_g.pipeline.market.get(symbol) == state_b.pipeline.market.get(symbol)
    assert state_g.pipeline.now == state_b.pipeline.now
    assert state_g.manager is not None and state_g.manager.dispatched == sum(len(f) for f in frames)
    # The path taken: by id unless the loss limit makes held symbols batch-only (then by symbol).
    assert state_g.manager._registry is (registry if loss_limit is None else None)  # noqa: SLF001
    done = state_g.execution.latency
    assert done is not None and done.counts["receive_to_engine_done"] == 5 * 400


@pytest.mark.parametrize("by_id", [False, True])
def test_a_failure_in_a_grouped_frame_quarantines_only_that_symbol(by_id: bool) -> None:
    async def scenario() -> None:
        state = RunState.create(CONFIG, journal=None)
        make_engine = _failing_for("BAD", state)
        manager = await _manager(state, make_engine)
        await manager.update_universe(["AAA", "BAD", "ZZZ"])
        registry = Instruments() if by_id else None
        for frame in _frames(["AAA", "BAD", "ZZZ"], per_symbol=20, frame=3, instruments=registry):
            manager.dispatch_grouped(frame)
        assert "BAD" in manager.quarantined and "broken strategy" in manager.quarantined["BAD"]
        assert set(manager.symbols) == {"AAA", "ZZZ"}
        await asyncio.wait_for(manager.drain(), 5)
        for symbol in ("AAA", "ZZZ"):  # the groups after the failing one ran too
            assert manager.symbols[symbol].runner.engine.native.events_processed == 20
        await asyncio.wait_for(manager.close(), 5)

    asyncio.run(scenario())


def test_a_frame_the_engines_refuse_whole_goes_batch_by_batch() -> None:
    """A frame whose arrays run_groups refuses before any engine ran (here a strided view: not
    contiguous) is no symbol's fault: every group goes the batch path, nothing is quarantined."""
    async def scenario() -> None:
        state = RunState.create(CONFIG, journal=None)
        manager = await _manager(state)
        await manager.update_universe(["AAA", "BBB"])
        frame = _frames(["AAA", "BBB"], per_symbol=4, frame=8)[0]
        doubled = schema.concatenate([frame.events, frame.events], schema.TRADE)
        strided = GroupedBatch(EventKind.TRADE, doubled[::2], frame.cuts, frame.symbols, frame.ts_received)
        assert not strided.events.flags.c_contiguous
        manager.dispatch_grouped(strided)
        await asyncio.wait_for(manager.drain(), 5)
        assert manager.quarantined == {}
        for symbol in ("AAA", "BBB"):
            assert manager.symbols[symbol].runner.engine.native.events_processed == 4
        await manager.close()

    asyncio.run(scenario())


def test_a_grouped_batch_needs_one_non_empty_group_per_symbol() -> None:
    events = trades(3)
    frame = GroupedBatch(EventKind.TRADE, events, np.array([0, 1, 3]), ["A", "B"], 5)
    restamped = frame.with_received(9)
    assert (restamped.ts_received, frame.ts_received) == (9, 5)
    assert [(b.symbol, len(b), b.ts_received.tolist()) for b in restamped.batches()] == [
        ("A", 1, [9]), ("B", 2, [9, 9])]
    for cuts, symbols in (([0, 1, 1, 3], ["A", "B", "C"]), ([0, 3], ["A", "B"]), ([0, 2], ["A"]), ([1, 3], ["A"]),
                          ([0, 2, 1, 3], ["A", "B", "C"])):
        with pytest.raises(ValueError, match="non-empty group per symbol"):
            GroupedBatch(EventKind.TRADE, events, np.array(cuts), symbols)


async def _dispatch_frames(manager: StrategyManager, frames: list[GroupedBatch], *, grouped: bool,
                           yield_every: int = 1,
                           before_grouped: Callable[[GroupedBatch], None] | None = None) -> None:
    """The same frames whole (dispatch_grouped) or batch by batch (dispatch), a loop turn every
    ``yield_every`` frames, then drained: what the grouped-vs-batch tests compare."""
    for i, frame in enumerate(frames):
        if grouped:
            if before_grouped is not None:
                before_grouped(frame)
            manager.dispatch_grouped(frame)
        else:
            for batch in frame.batches():
                manager.dispatch(batch)
        if i % yield_every == 0:
            await asyncio.sleep(0)
    await manager.drain()


def _quote_frames(symbols: list[str], per_symbol: int, frame: int, seed: int = 9) -> list[GroupedBatch]:
    """Frames of trades and of quotes around them (each frame one kind), grouped by symbol."""
    out = []
    for trade_frame in _frames(symbols, per_symbol, frame, seed):
        events = trade_frame.events
        quotes = schema.empty(schema.QUOTE, len(events))
        quotes["ts_event"] = events["ts_event"] - 1
        quotes["bid_price"], quotes["ask_price"] = events["price"] - 0.01, events["price"] + 0.01
        quotes["bid_size"] = quotes["ask_size"] = 100
        out.append(GroupedBatch(EventKind.QUOTE, quotes, trade_frame.cuts, trade_frame.symbols,
                                trade_frame.ts_received))
        out.append(trade_frame)
    return out


def test_grouped_quote_and_trade_frames_journal_what_their_batches_journal(tmp_path: Any) -> None:
    """The journal (intents, risk decisions, orders, fills, positions, transitions) of grouped
    quote and trade frames equals that of the same frames batch by batch."""
    from tradecore.journal.journal import Journal

    symbols = ["AAA", "BBB", "CCC"]
    frames = _quote_frames(symbols, per_symbol=300, frame=5)

    async def run(grouped: bool) -> list[tuple[Any, ...]]:
        journal = Journal(tmp_path / f"{grouped}.sqlite")
        state = RunState.create(CONFIG, journal=journal)
        manager = await _manager(state)
        await manager.update_universe(symbols)
        await _dispatch_frames(manager, frames, grouped=grouped, yield_every=5)
        await manager.close()
        journal.flush()
        records = [(r.kind, r.ts_event, r.symbol, r.order_id, repr(sorted(r.data.items())))
                   for r in journal.records()]
        journal.close()
        return records

    batched = asyncio.run(run(False))
    grouped = asyncio.run(run(True))
    kinds = {record[0] for record in batched}
    assert {"intent", "fill", "transition"} <= kinds, kinds
    assert grouped == batched


class _Backfilling:
    """A hook with work for one symbol (as feed health before a backfill): it sees that
    symbol's batches, and holds each one a loop turn, as an await would."""

    def __init__(self, symbol: str) -> None:
        self.symbol, self.seen = symbol, 0

    def before_batch(self, runner: Any, batch: EventBatch) -> Awaitable[None] | None:
        if batch.symbol != self.symbol:
            return None
        self.seen += len(batch)
        return asyncio.sleep(0)

    def has_work(self, symbol: str) -> bool:
        return symbol == self.symbol

    def idle(self) -> bool:
        return False


@pytest.mark.parametrize("change", ["append", "assign", "execution"])
def test_a_hook_given_to_a_runner_mid_run_is_asked_for_the_next_frame(change: str) -> None:
    """A frame asks each execution layer and hook once (collected once, not per frame): a hook
    or execution layer given to a runner after frames already ran is asked from the next frame
    on, and its symbol's batches go through it."""
    symbols = ["AAA", "BBB", "CCC"]
    frames = _frames(symbols, per_symbol=20, frame=3)

    async def scenario() -> int:
        state = RunState.create(CONFIG, journal=None)
        manager = await _manager(state)
        await manager.update_universe(symbols)
        await _dispatch_frames(manager, frames[:5], grouped=True)  # the gates are collected
        runner = manager.symbols["BBB"].runner
        hook = _ExecutionWithWork(state.execution, "BBB") if change == "execution" else _Backfilling("BBB")
        if change == "append":
            runner.hooks.append(hook)
        elif change == "assign":
            runner.hooks = [hook]
        else:
            runner.hooks.append(hook)
            runner.execution = hook  # type: ignore[assignment]
        await _dispatch_frames(manager, frames[5:], grouped=True)
        await manager.close()
        return hook.seen

    seen = asyncio.run(scenario())
    assert seen == sum(len(b) for f in frames[5:] for b in f.batches() if b.symbol == "BBB") > 0


class _ExecutionWithWork(_Backfilling):
    """An execution layer that is also its runners' hook (as a broker's, with fills to give
    one symbol's engine): its answers as a layer and as a hook must not be confused."""

    def __init__(self, execution: Any, symbol: str) -> None:
        super().__init__(symbol)
        self._execution = execution

    def __getattr__(self, name: str) -> Any:
        return getattr(self._execution, name)


@pytest.mark.parametrize("hook_is_execution", [False, True])
def test_a_symbol_whose_hook_has_work_takes_the_batch_path_in_a_grouped_frame(hook_is_execution: bool) -> None:
    symbols = ["AAA", "BBB", "CCC"]
    frames = _frames(symbols, per_symbol=200, frame=5)

    async def run(grouped: bool) -> tuple[list[tuple[Any, ...]], int]:
        state = RunState.create(CONFIG, journal=None)
        subscription = state.bus.subscribe(["intent", "order", "position"], capacity=100_000)
        manager = await _manager(state)
        await manager.update_universe(symbols)
        hook = _ExecutionWithWork(state.execution, "BBB") if hook_is_execution else _Backfilling("BBB")
        for symbol in symbols:
            runner = manager.symbols[symbol].runner
            runner.hooks.append(hook)
            if hook_is_execution:
                runner.execution = hook
        await _dispatch_frames(manager, frames, grouped=grouped)
        events = [(e.topic, e.symbol, e.ts, repr(sorted(e.data.items()))) for e in subscription.drain()]
        await manager.close()
        return events, hook.seen

    batched, seen_batched = asyncio.run(run(False))
    grouped, seen_grouped = asyncio.run(run(True))
    assert seen_grouped == seen_batched == 200  # every BBB event went through its hook
    assert any(e[1] == "BBB" for e in batched) and any(e[1] == "AAA" for e in batched)
    assert grouped == batched
