"""The market clock: ticks close quiet symbols' bars and fire time rules in live runs (the
simulator on loopback sockets, the Alpaca stream client, the pipeline), and backtests from
files derive them from event time."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tradecore import schema
from tradecore.bus import Event, EventBus, Subscription
from tradecore.clock import ClockLog, MarketClock
from tradecore.config import Config
from tradecore.errors import ConfigError, DataError
from tradecore.journal.journal import Journal
from tradecore.latency import LatencyStats
from tradecore.pipeline import StrategyManager, SymbolRunner
from tradecore.session import RunState, backtest, run_pipeline
from tradecore.sim.generator import new_york_ns
from tradecore.sim.market import Asset, AssetType
from tradecore.sim.scripted import ScriptedMarket
from tradecore.sim.server import SimServer
from tradecore.streams.alpaca import AlpacaStream
from tradecore.streams.base import EventBatch, EventKind, MarketDataStream
from tradecore.tasks import start_task

DAY = dt.date(2026, 11, 27)
SECOND = 1_000_000_000
MINUTE = 60 * SECOND


def at(hhmmss: str) -> int:
    hhmm, seconds = hhmmss[:5], int(hhmmss[6:] or 0)
    return new_york_ns(DAY, hhmm) + seconds * SECOND


# -- when ticks are due ----------------------------------------------------------------------


def test_the_clock_starts_at_its_first_reading_and_ticks_at_the_latest_boundary_crossed() -> None:
    clock = MarketClock(SECOND)
    assert clock.due(at("07:00:00") + 400) is None  # the first reading starts the clock
    assert clock.due(at("07:00:00") + 900_000_000) is None
    assert clock.due(at("07:00:01")) == at("07:00:01")
    clock.last = at("07:00:01")
    assert clock.due(at("07:00:01") + 5) is None  # no boundary crossed since
    assert clock.due(at("07:00:09") + 5) == at("07:00:09")  # one tick stands for the skipped ones


def test_the_clock_interval_is_validated() -> None:
    assert Config().clock.interval_ns == SECOND
    assert Config().with_overrides(clock={"interval_seconds": 0.25}).clock.interval_ns == 250_000_000
    assert Config().with_overrides(clock={"interval_seconds": 0}).clock.interval_ns == 0  # off
    for bad in (-1, 0.0001, 7200, "soon"):
        with pytest.raises(ConfigError, match="clock.interval_seconds"):
            Config().with_overrides(clock={"interval_seconds": bad})
    with pytest.raises(ConfigError, match="clock"):
        Config().with_overrides(clock={"period": 1})
    with pytest.raises(ConfigError):
        MarketClock(0)


def test_a_clock_log_keeps_its_ticks_drops_a_line_cut_by_a_crash_and_rejects_a_damaged_one(
        tmp_path: Path) -> None:
    log = ClockLog(tmp_path)
    log.write(at("07:00:01"), after=10, changes=1)
    log.write(at("07:00:02"), after=12, changes=1)
    log.close()
    assert ClockLog.entries(tmp_path) == [{"after": 10, "changes": 1, "now": at("07:00:01")},
                                          {"after": 12, "changes": 1, "now": at("07:00:02")}]
    with (tmp_path / "clock.jsonl").open("a") as file:
        file.write('{"after": 13, "chan')  # the process died mid-line
    assert len(ClockLog.entries(tmp_path)) == 2
    (tmp_path / "clock.jsonl").write_text('{"after": 1, "changes": 0, "now": 5}\nnot json\n{"after": 2}\n')
    with pytest.raises(DataError, match=r"clock.jsonl:2"):
        ClockLog.entries(tmp_path)
    assert ClockLog.entries(tmp_path / "nowhere") == []


@pytest.mark.parametrize(("line", "problem"), [
    ('{"after": 12, "changes": 1, "now": 300}', "its time 300 is not after the previous tick's 300"),
    ('{"after": 12, "changes": 1, "now": 200}', "its time 200 is not after"),
    ('{"after": 9, "changes": 1, "now": 400}', "after 9 events, the previous tick after 10"),
    ('{"after": 12, "changes": 0, "now": 400}', "after 0 universe changes"),
])
def test_a_clock_log_whose_ticks_go_backwards_is_refused_naming_the_line(
        tmp_path: Path, line: str, problem: str) -> None:
    good = '{"after": 1, "changes": 0, "now": 100}\n{"after": 10, "changes": 1, "now": 300}\n'
    (tmp_path / "clock.jsonl").write_text(good + line + "\n")
    with pytest.raises(DataError, match=r"clock.jsonl:3: clock tick out of order: ") as caught:
        ClockLog.entries(tmp_path)
    assert problem in str(caught.value) and "(line 2)" in str(caught.value)
    # The same tick standing still or moving forward is fine.
    (tmp_path / "clock.jsonl").write_text(good + '{"after": 10, "changes": 1, "now": 301}\n')
    assert len(ClockLog.entries(tmp_path)) == 3


# -- live: the simulator on loopback, the stream client, the pipeline and a market clock -----


@dataclass
class Live:
    market: ScriptedMarket
    state: RunState
    bus: Subscription
    journal: Journal

    @property
    def manager(self) -> StrategyManager:
        assert self.state.manager is not None
        return self.state.manager

    def engine(self, symbol: str) -> Any:
        return self.manager.symbols[symbol].runner.engine.native

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            assert loop.time() < deadline, "timed out"
            await asyncio.sleep(0.005)

    async def advance(self, now: int) -> None:
        """Move the market's clock (no data) and wait for the clock task's tick at its boundary."""
        self.market.advance(now)
        await self.until(lambda: self.manager.ticks > 0 and all(
            int(self.engine(s).now) >= now - now % SECOND for s in self.manager.symbols))
        await self.manager.drain()

    def events(self, topic: str) -> list[Event]:
        return [e for e in self.bus.drain() if e.topic == topic]


@asynccontextmanager
async def live_run(tmp_path: Path, symbols: list[str], start: int, **sections: dict[str, Any]
                   ) -> AsyncIterator[Live]:
    """What ``tradecore live`` runs, on a scripted simulator: the market moves only when told."""
    assets = [Asset(s, s, "NASDAQ", AssetType.COMMON, 5_000_000, 2_000_000, 4.0) for s in symbols]
    market = ScriptedMarket(assets, start)
    config = Config().with_overrides(scanner={"kind": "fixed", "symbols": symbols}, **sections)
    bus = EventBus()
    seen = bus.subscribe(["bar", "transition", "intent", "order"])
    journal = Journal(tmp_path / "journal.sqlite")
    state = RunState.create(config, journal=journal, bus=bus)
    state.execution.latency = LatencyStats()  # as `tradecore live` keeps it
    tasks: set[asyncio.Task[Any]] = set()
    async with SimServer(market, port=0, run_market=False) as sim:
        stream = AlpacaStream(url=sim.stream_url, key_id="k", secret_key="s", encoding="json",
                              channels=("trades", "quotes", "statuses"))

        async def make_runner(symbol: str) -> SymbolRunner:
            state.prior_closes[symbol] = 4.0
            return state.runner(symbol, state.make_engine(symbol))

        state.manager = StrategyManager(stream, make_runner, bus, holds_position=state.holds_position)
        await stream.subscribe([])
        # The scripted market's clock moves only when the test moves it: the task polls it often.
        # The delay is the configured one in wall seconds, 1000 times as long in market time.
        clock = MarketClock(config.clock.interval_ns, market.now, speed=1000.0,
                            delay=config.clock.delay_seconds)
        start_task(run_pipeline(state, stream, clock=clock), "consume", owner=tasks)
        await state.manager.update_universe(symbols)
        live = Live(market, state, seen, journal)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while not all(any(s in session.subscriptions["trades"] for session in sim.feed.sessions)
                      for s in symbols):
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
        try:
            yield live
        finally:
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await state.manager.close()
            await stream.close()
            journal.close()


@pytest.mark.asyncio
async def test_a_quiet_symbols_bar_closes_at_its_end_on_a_clock_tick_in_a_live_run(tmp_path: Path) -> None:
    async with live_run(tmp_path, ["QUIET", "BUSY"], at("07:00:00"), strategy={"name": "ema_cross"},
                        clock={"delay_seconds": 0}) as live:
        live.market.trade("QUIET", 5.00, 300, ts=at("07:00:10"))
        live.market.trade("QUIET", 5.20, 100, ts=at("07:00:40"))
        live.market.trade("BUSY", 9.00, 100, ts=at("07:00:41"))
        await live.until(lambda: live.engine("QUIET").events_processed == 2)
        await live.advance(at("07:00:59") + 500_000_000)
        assert live.events("bar") == []  # the bar is open until its end
        await live.advance(at("07:01:00") + 300_000_000)  # nothing traded: only the clock moved
        bars = {e.symbol: e for e in live.events("bar")}
        assert set(bars) == {"QUIET", "BUSY"}
        assert bars["QUIET"].ts == at("07:01:00") and bars["QUIET"].data == {"close": 5.20, "volume": 400.0}
        assert live.engine("QUIET").events_processed == 2
        assert int(live.engine("QUIET").now) == at("07:01:00")  # the tick's time, a boundary


@pytest.mark.asyncio
async def test_a_live_tick_waits_the_delay_after_its_boundary_for_prints_still_on_their_way(
        tmp_path: Path) -> None:
    async with live_run(tmp_path, ["LATE"], at("07:00:00"), strategy={"name": "ema_cross"},
                        clock={"delay_seconds": 0.01}) as live:  # 10 s of market time here
        live.market.trade("LATE", 5.00, 100, ts=at("07:00:10"))
        await live.until(lambda: live.engine("LATE").events_processed == 1)
        live.market.advance(at("07:01:09"))
        await asyncio.sleep(0.1)  # the clock task polls every market second (1 ms here)
        assert int(live.engine("LATE").now) < at("07:01:00")  # the 07:01:00 tick still waits
        # A print stamped before the boundary arrives after it: still inside the delay, so the
        # bar is still open (a tick at 07:01:00 would have dropped it as late).
        live.market.trade("LATE", 5.10, 100, ts=at("07:00:59") + 900_000_000)
        await live.until(lambda: live.engine("LATE").events_processed == 2)
        live.market.advance(at("07:01:10") + 1)
        await live.until(lambda: int(live.engine("LATE").now) >= at("07:01:00"))
        await live.manager.drain()
        assert int(live.engine("LATE").now) == at("07:01:00")  # the tick keeps its boundary's time
        bars = live.events("bar")
        assert [(e.ts, e.data["close"], e.data["volume"]) for e in bars] == [(at("07:01:00"), 5.10, 200.0)]


@pytest.mark.asyncio
async def test_premarket_momentums_time_stop_fires_on_the_clock_without_data_after_the_entry(
        tmp_path: Path) -> None:
    params = {"prior_close": 4.0, "max_minutes_in_trade": 2, "target_percent": 0, "exit_on_vwap_loss": False}
    async with live_run(tmp_path, ["GAPR"], at("07:00:00"), clock={"delay_seconds": 0},
                        strategy={"name": "premarket_momentum", "params": params}) as live:
        market = live.market

        def minute(hhmm: str, prices: list[float]) -> None:  # one bar: open, high, low, close
            for second, price in zip((5, 20, 35, 50), prices):
                market.trade("GAPR", price, 1000, ts=at(f"{hhmm}:{second:02d}"))

        market.quote("GAPR", 5.18, 5.20, ts=at("07:00:01"))
        minute("07:00", [5.00, 5.20, 4.95, 5.10])  # a 27.5 % gap: arm
        minute("07:01", [5.10, 5.15, 5.05, 5.12])
        minute("07:02", [5.12, 5.30, 5.10, 5.28])  # breaks the 5.20 premarket high: buy
        market.quote("GAPR", 5.27, 5.29, ts=at("07:02:55"))
        await live.until(lambda: live.engine("GAPR").events_processed == 14)
        await live.advance(at("07:03:00") + 1)  # the tick closes the 07:02 bar: the entry fires
        await live.until(lambda: live.state.tracker.qty("GAPR") == 100)
        rules = [(e.ts, e.data["rule"]) for e in live.events("transition")]
        assert rules == [(at("07:01:00"), "arm"), (at("07:03:00"), "break_premarket_high"),
                         (at("07:03:00"), "entry_filled")]
        await live.advance(at("07:04:59"))
        assert live.events("transition") == []  # 1 min 59 s in the trade
        await live.advance(at("07:05:00") + 700_000_000)  # no data since the entry: the clock
        await live.until(lambda: live.state.tracker.qty("GAPR") == 0)
        transitions = [(e.ts, e.data["rule"], e.data["values"]) for e in live.events("transition")]
        assert transitions[0][:2] == (at("07:05:00"), "time_stop")
        assert transitions[0][2]["minutes_in_trade"] == pytest.approx(2.0)
        assert [t[1] for t in transitions[1:]] == ["exit_filled_at_loss"]  # bought 5.29, sold at the 5.27 bid
        assert live.engine("GAPR").events_processed == 14
        intents = list(live.journal.records("intent"))
        assert [(r.ts_event, r.data["side"]) for r in intents] == [(at("07:03:00"), "BUY"),
                                                                  (at("07:05:00"), "SELL")]
        # Both decisions came from the clock: timed from when it gave the tick, none from an event.
        latency = live.state.execution.latency
        assert latency is not None and latency.counts.get("clock_to_intent") == 2
        assert "receive_to_intent" not in latency.counts and latency.counts["intent_to_ack"] == 2
        assert 0 < latency.percentiles("clock_to_intent", (100,))[0] < 1e9


# -- backtests from files: ticks from event time -----------------------------------------------


class ListStream(MarketDataStream):
    """A fixed list of batches as a stream (what a replay hands out)."""

    def __init__(self, batches: list[EventBatch]) -> None:
        self.batches = batches
        self._subscribed: frozenset[str] = frozenset()

    async def subscribe(self, symbols: Any) -> None:
        self._subscribed |= {s.upper() for s in symbols}

    async def unsubscribe(self, symbols: Any) -> None:
        self._subscribed -= {s.upper() for s in symbols}

    @property
    def subscribed(self) -> frozenset[str]:
        return self._subscribed

    @property
    def stats(self) -> dict[str, int]:
        return {}

    def __aiter__(self) -> AsyncIterator[EventBatch]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[EventBatch]:
        for batch in self.batches:
            yield batch

    async def close(self) -> None:
        pass


def trades(symbol: str, *times: int) -> EventBatch:
    rows = schema.empty(schema.TRADE, len(times))
    rows["ts_event"] = times
    rows["price"], rows["size"] = 5.0, 100
    return EventBatch(EventKind.TRADE, symbol, rows)


def test_a_backtest_ticks_before_each_event_that_crosses_a_boundary_at_the_latest_one() -> None:
    ticks: list[tuple[int, int]] = []  # (tick time, events of AAA the engine had seen)

    async def scenario() -> None:
        config = Config().with_overrides(strategy={"name": "ema_cross"})
        state = RunState.create(config, journal=None)
        stream = ListStream([trades("AAA", at("07:00:00") + 5, at("07:00:00") + 9, at("07:00:03") + 1),
                             trades("BBB", at("07:00:03") + 2),
                             trades("AAA", at("07:00:02"), at("07:00:09"))])  # a stray older print

        async def make_runner(symbol: str) -> SymbolRunner:
            return state.runner(symbol, state.make_engine(symbol))

        manager = state.manager = StrategyManager(stream, make_runner, state.bus)
        await manager.update_universe(["AAA", "BBB"])
        clock = MarketClock(SECOND, on_tick=lambda now: ticks.append(
            (now, int(manager.symbols["AAA"].runner.engine.native.events_processed))))
        await run_pipeline(state, stream, clock=clock)
        await manager.close()

    asyncio.run(scenario())
    # The clock starts at the first event (07:00:00); 07:00:03 stands for :01 and :02; the stray
    # 07:00:02 print does not move it back.
    assert ticks == [(at("07:00:03"), 2), (at("07:00:09"), 4)]



def _write(root: Path, dataset: str, symbol: str, events: np.ndarray) -> None:
    from tradecore.data import parquet

    kind = EventKind.TRADE if dataset == "trade" else EventKind.QUOTE
    path = parquet.dataset_path(root, dataset, symbol, DAY)
    path.parent.mkdir(parents=True, exist_ok=True)
    parquet.write_table(parquet.to_table(events, kind=kind, symbol=symbol), path)


@pytest.mark.parametrize("interval", [1.0, 0.0], ids=["clock", "no clock"])
def test_a_backtest_from_files_fires_a_quiet_symbols_time_stop_on_another_symbols_event_time(
        tmp_path: Path, interval: float) -> None:
    """GAPR buys at 07:03 and never trades again; BUSY prints every 10 s until 07:10. With the
    clock, BUSY's event time ticks GAPR out at 07:05:03 (BUSY's first print past two minutes in
    the trade: the latest boundary at or before it); without, GAPR's last bar never closes."""
    from tradecore.streams.replay import ParquetSource

    prints = [(f"07:0{m}:{s:02d}", p) for m, prices in enumerate(
        [[5.00, 5.20, 4.95, 5.10], [5.10, 5.15, 5.05, 5.12], [5.12, 5.30, 5.10, 5.28]])
        for s, p in zip((5, 20, 35, 50), prices)]
    gapr = schema.empty(schema.TRADE, len(prints))
    gapr["ts_event"] = [at(t) for t, _ in prints]
    gapr["price"], gapr["size"] = [p for _, p in prints], 1000
    quotes = schema.empty(schema.QUOTE, 2)
    quotes["ts_event"] = [at("07:00:01"), at("07:02:55")]
    quotes["bid_price"], quotes["ask_price"] = [5.18, 5.27], [5.20, 5.29]
    quotes["bid_size"] = quotes["ask_size"] = 10_000
    busy = schema.empty(schema.TRADE, 60)
    busy["ts_event"] = at("07:00:03") + np.arange(60) * 10 * SECOND
    busy["price"], busy["size"] = 9.0, 100
    _write(tmp_path, "trade", "GAPR", gapr)
    _write(tmp_path, "quote", "GAPR", quotes)
    _write(tmp_path, "trade", "BUSY", busy)
    params = {"prior_close": 4.0, "max_minutes_in_trade": 2, "target_percent": 0, "exit_on_vwap_loss": False,
              "min_gap_percent": 20.0}
    config = Config().with_overrides(strategy={"name": "premarket_momentum", "params": params},
                                     clock={"interval_seconds": interval})
    journal = Journal(tmp_path / "journal.sqlite")
    state, events = asyncio.run(backtest(config, ParquetSource(tmp_path), ["GAPR", "BUSY"], journal=journal))
    journal.flush()
    assert events == len(prints) + 2 + 60
    intents = [(r.ts_event, r.symbol, r.data["side"]) for r in journal.records("intent")]
    rules = [(r.ts_event, r.data["rule"]) for r in journal.records("transition", symbol="GAPR")]
    journal.close()
    if interval:
        assert state.manager is not None and state.manager.ticks > 0
        assert intents == [(at("07:03:00"), "GAPR", "BUY"), (at("07:05:03"), "GAPR", "SELL")]
        assert (at("07:05:03"), "time_stop") in rules
        assert state.tracker.qty("GAPR") == 0
    else:
        # GAPR's 07:02 bar never closes without a GAPR print after it: not even the entry comes.
        assert intents == []
        assert [r for _, r in rules] == ["arm"]


def test_ticks_queued_between_batches_join_them_natively_only_where_the_order_is_unchanged() -> None:
    """A busy symbol's queue: ticks between batches of one kind go to the engine with them as
    its clock array when that keeps the order they came in (so the result is the same as one
    by one), and stay apart where it would not (a tick older than an event before it, or not
    older than the event after it)."""
    from tradecore.pipeline import _coalesce, _Tick

    def items(runner: SymbolRunner) -> list[Any]:
        second = lambda s: at("07:00:00") + int(s * SECOND)
        return [trades("AAA", second(5), second(30)), _Tick(runner, second(59)),
                trades("AAA", second(61), second(75)), _Tick(runner, second(120)),  # folds
                trades("AAA", second(125)), _Tick(runner, second(150)),
                trades("AAA", second(150)),  # the event is not later than the tick: apart
                trades("AAA", second(200)), _Tick(runner, second(190)),  # older than an event before: apart
                trades("AAA", second(241))]

    async def run(coalesce: bool) -> tuple[list[tuple[int, float, float]], int, int]:
        bus = EventBus()
        bars = bus.subscribe(["bar"])
        state = RunState.create(Config().with_overrides(strategy={"name": "ema_cross"}), journal=None, bus=bus)
        runner = state.runner("AAA", state.make_engine("AAA"))
        queue = items(runner)
        work = _coalesce(queue) if coalesce else queue
        for item in work:
            await (runner.process(item) if isinstance(item, EventBatch) else item())
        native = runner.engine.native
        return ([(e.ts, e.data["close"], e.data["volume"]) for e in bars.drain()], int(native.now),
                len(work))

    one_by_one, coalesced = asyncio.run(run(False)), asyncio.run(run(True))
    assert coalesced[:2] == one_by_one[:2]
    assert [ts for ts, _, _ in one_by_one[0]] == [at(t) for t in ("07:01:00", "07:02:00", "07:03:00", "07:04:00")]
    # 10 items in 5 engine calls: the first three batches with two ticks in one load; the tick
    # tied with the next event and the tick older than an event before it stay apart (the two
    # batches between them join as before).
    assert (one_by_one[2], coalesced[2]) == (10, 5)
