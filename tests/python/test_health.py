"""Feed health: the interval learner, staleness, the entry gate, and backfill after silences and
dropped connections, over real loopback sockets with the simulator (feed + REST)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from tradecore import schema
from tradecore.bus import EventBus, Subscription
from tradecore.config import Config, HealthConfig, load_config
from tradecore.engine import SymbolEngine
from tradecore.errors import ConfigError
from tradecore.execution.events import IntentRejected
from tradecore.execution.market import MarketSnapshot
from tradecore.execution.router import EntryGate, OrderRouter, TradeIntent
from tradecore.health import (
    ENTRY_RULE,
    FeedMonitor,
    FeedState,
    IntervalLearner,
    rest_bars,
)
from tradecore.journal.journal import Journal
from tradecore.pipeline import StrategyManager, SymbolRunner
from tradecore.scanners import MarketDataClient
from tradecore.scanners.client import RestError
from tradecore.schema import OrderType, Side, Sizing
from tradecore.session import RunState, run_pipeline
from tradecore.sim.generator import ModelParams, new_york_ns
from tradecore.sim.server import SimServer
from tradecore.sim.simulated import SimulatedMarket
from tradecore.strategies import Rule, Strategy
from tradecore.streams.alpaca import AlpacaStream, Backoff
from tradecore.streams.base import EventBatch, EventKind
from tradecore.tasks import start_task

DAY = dt.date(2026, 11, 27)
MINUTE = 60_000_000_000


class Wall:
    """A wall clock the unit tests move by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _batch(symbol: str, ts: int) -> EventBatch:
    events = np.zeros(1, schema.TRADE)
    events["ts_event"] = ts
    events["price"] = 10.0
    events["size"] = 100
    return EventBatch(EventKind.TRADE, symbol, events)


def _monitor(wall: Wall, **settings: Any) -> tuple[FeedMonitor, Subscription]:
    bus = EventBus()
    options = {"min_samples": 4, "min_stale_seconds": 1.0, "max_stale_seconds": 600.0,
               "connection_silence_seconds": 1e9, **settings}
    monitor = FeedMonitor(HealthConfig(**options), bus=bus, journal=None, clock=lambda: 0, wall=wall)
    return monitor, bus.subscribe(["feed"])


# -- the interval learner and the thresholds ---------------------------------------------


def test_learner_takes_a_quantile_of_the_recent_gaps_and_ignores_same_frame_arrivals() -> None:
    learner = IntervalLearner(window=5, quantile=0.5, min_samples=3)
    learner.add(1.0)
    learner.add(0.0)  # a second batch of the same frame: not a gap
    learner.add(3.0)
    assert learner.samples == 2 and learner.interval is None  # not learned yet
    learner.add(2.0)
    assert learner.interval == 2.0
    for gap in (10.0, 10.0, 10.0, 10.0):  # the window keeps the last five: 2, 10, 10, 10, 10
        learner.add(gap)
    assert learner.samples == 5 and learner.interval == 10.0
    high = IntervalLearner(window=100, quantile=0.9, min_samples=1)
    for gap in range(1, 11):
        high.add(float(gap))
    assert high.interval == pytest.approx(9.1)  # linear interpolation, like numpy's default


def test_thresholds_are_the_learned_multiple_clamped_to_the_floor_and_ceiling() -> None:
    wall = Wall()
    monitor, _ = _monitor(wall, stale_multiple=4.0, interval_quantile=0.5, interval_window=8,
                          min_stale_seconds=2.0, max_stale_seconds=100.0)
    settings = monitor.settings
    monitor.track("AAA")
    health = monitor.symbols["AAA"]
    assert health.threshold(settings) == 100.0  # nothing learned: the ceiling
    for gap in (0.1,) * 8:
        health.learner.add(gap)
    assert health.threshold(settings) == 2.0  # 4 x 0.1 s is below the floor
    for gap in (10.0,) * 8:
        health.learner.add(gap)
    assert health.threshold(settings) == 40.0
    for gap in (60.0,) * 8:
        health.learner.add(gap)
    assert health.threshold(settings) == 100.0  # 240 s capped


def test_a_busy_symbol_goes_stale_and_recovers_while_a_quiet_healthy_one_is_not_flagged() -> None:
    wall = Wall()
    monitor, feed = _monitor(wall, stale_multiple=4.0, interval_quantile=0.9)
    monitor.track("BUSY")
    monitor.track("QUIET")
    ts = 0
    for step in range(600):  # five minutes: BUSY every 0.5 s, QUIET every 30 s
        wall.now += 0.5
        ts += 500_000_000
        monitor.observe(_batch("BUSY", ts))
        if step % 60 == 0:
            monitor.observe(_batch("QUIET", ts))
    assert monitor.symbols["BUSY"].learner.interval is not None
    feed.drain()
    assert monitor.symbols["QUIET"].learner.interval == pytest.approx(30.0)
    wall.now += 3.0  # BUSY's threshold is 4 x 0.5 s; QUIET's 4 x 30 s
    monitor.check()
    states = {s: h.state for s, h in monitor.symbols.items()}
    assert states["BUSY"] is FeedState.STALE and states["QUIET"] is FeedState.HEALTHY
    (event,) = feed.drain()
    assert event.symbol == "BUSY" and event.data["state"] == "stale"
    assert event.data["reason"] == "no data for 3.0 s (threshold 2.0 s, usual 0.50 s)"
    assert monitor.blocked("BUSY") and monitor.blocked("QUIET") is None
    wall.now += 60.0  # QUIET has now been silent for 92.5 s, within its usual: not flagged
    monitor.check()
    assert monitor.symbols["QUIET"].state is FeedState.HEALTHY
    monitor.observe(_batch("BUSY", ts + MINUTE))
    (event,) = feed.drain()
    assert event.data["state"] == "recovered" and event.data["duration_seconds"] == pytest.approx(63.0)
    assert monitor.blocked("BUSY")  # until the backfill has run


def test_connection_silence_makes_every_symbol_stale_once() -> None:
    wall = Wall()
    monitor, feed = _monitor(wall, connection_silence_seconds=5.0, max_stale_seconds=600.0)
    for symbol in ("AAA", "BBB"):
        monitor.track(symbol)
        monitor.observe(_batch(symbol, 1))
    wall.now += 6.0
    monitor.check()
    monitor.check()
    events = feed.drain()
    assert [(e.symbol, e.data["state"]) for e in events] == [
        ("", "connection_suspect"), ("AAA", "stale"), ("BBB", "stale")]
    assert all("connection silent" in e.data["reason"] for e in events[1:])
    monitor.observe(_batch("AAA", 2))
    assert [(e.symbol, e.data["state"]) for e in feed.drain()] == [("", "connection_ok"), ("AAA", "recovered")]


def test_a_silent_connection_is_not_suspect_while_nothing_is_watched() -> None:
    # An empty universe subscribes to nothing: its silence says nothing about the connection.
    wall = Wall()
    monitor, feed = _monitor(wall, connection_silence_seconds=5.0)
    wall.now += 60.0
    monitor.check()
    assert not monitor.connection_suspect and feed.drain() == []
    monitor.track("AAA")  # the silence counts from the first watched symbol
    wall.now += 4.0
    monitor.check()
    assert not monitor.connection_suspect
    wall.now += 2.0
    monitor.check()
    assert [(e.symbol, e.data["state"]) for e in feed.drain()] == [("", "connection_suspect"), ("AAA", "stale")]


def test_the_gate_rejects_entries_of_a_blocked_symbol_and_lets_exits_through() -> None:
    wall = Wall()
    monitor, _ = _monitor(wall)
    monitor.track("AAA")
    monitor.observe(_batch("AAA", 1))
    wall.now += 700.0
    monitor.check()
    held = {"AAA": Decimal(100)}
    router = OrderRouter(position=lambda s: held.get(s, Decimal(0)), equity=lambda: Decimal(100_000))
    gate = EntryGate(router, lambda s: held.get(s, Decimal(0)))
    gate.add_rule(ENTRY_RULE, monitor.entry_block)
    market = MarketSnapshot("AAA", bid=Decimal("9.99"), ask=Decimal("10.01"), last=Decimal(10), ts_event=1)
    now = new_york_ns(DAY, "10:00")

    def intent(side: Side, sizing: Sizing = Sizing.SHARES) -> TradeIntent:
        return TradeIntent(symbol="AAA", side=side, order_type=OrderType.MARKET, sizing=sizing,
                           quantity=Decimal(50), ts_event=now)

    entry = gate.route(intent(Side.BUY), market, now=now)
    assert isinstance(entry, IntentRejected) and entry.rule == "feed_health"
    assert "new entries blocked until the feed is backfilled" in entry.reason and "stale" in entry.reason
    assert not isinstance(gate.route(intent(Side.SELL), market, now=now), IntentRejected)  # reduces
    assert not isinstance(gate.route(intent(Side.SELL, Sizing.CLOSE_POSITION), market, now=now),
                          IntentRejected)
    held["AAA"] = Decimal(0)
    assert isinstance(gate.route(intent(Side.SELL), market, now=now), IntentRejected)  # opens a short


def test_health_config_is_validated_with_clear_messages(tmp_path: Path) -> None:
    assert Config().health.stale_multiple == 4.0
    bad = tmp_path / "bad.toml"
    bad.write_text("[health]\nmin_stale_seconds = 90\nmax_stale_seconds = 30\n")
    with pytest.raises(ConfigError, match="min_stale_seconds .90.0. must not exceed max_stale_seconds"):
        load_config(bad)
    bad.write_text("[health]\nstale_after = 3\n")
    with pytest.raises(ConfigError, match="health.stale_after"):
        load_config(bad)
    bad.write_text("[health]\nstale_multiple = 0.5\n")
    with pytest.raises(ConfigError, match="health.stale_multiple"):
        load_config(bad)


# -- the live pipeline on the simulator, over loopback --------------------------------------


@dataclass
class Live:
    """The live wiring of ``tradecore.live.run_live`` around a simulator the test drives."""

    sim: SimServer
    market: SimulatedMarket
    state: RunState
    monitor: FeedMonitor
    stream: AlpacaStream
    feed: Subscription
    journal: Journal
    symbols: list[str]  # the busy ones
    quiet: list[str]
    paused: asyncio.Event

    async def until(self, predicate: Any, timeout: float = 20.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            assert loop.time() < deadline, "timed out"
            await asyncio.sleep(0.02)

    def feed_states(self, symbol: str) -> list[str]:
        return [r.data["state"] for r in self.journal.records("feed", symbol=symbol)]


SETTINGS = HealthConfig(stale_multiple=4.0, interval_quantile=0.95, interval_window=512, min_samples=8,
                          min_stale_seconds=1.0, max_stale_seconds=30.0, connection_silence_seconds=3.0,
                          check_interval_seconds=0.05)


@pytest_asyncio.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    market = SimulatedMarket(seed=21, start=new_york_ns(DAY, "04:00"), speed=0, symbols=12, gappers=4,
                             params=ModelParams(step_s=1.0))
    market.advance(new_york_ns(DAY, "08:00"))  # past the news: the gappers are busy
    busy = sorted(market.gappers)
    quiet = ["HFXP", "HTV"]  # a trade or quote every ~15 s and ~40 s (simulated) at 08:00; gappers ~1 s
    symbols = busy + quiet
    config = Config().with_overrides(strategy={"name": "ema_cross"})
    journal = Journal(tmp_path / "journal.sqlite", synchronous="NORMAL")
    bus = EventBus()
    feed = bus.subscribe(["feed"])
    state = RunState.create(config, journal=journal, bus=bus)
    paused = asyncio.Event()
    stop = asyncio.Event()
    tasks: set[asyncio.Task[Any]] = set()
    async with SimServer(market, port=0, run_market=False) as sim:
        client = MarketDataClient(sim.rest_url, key_id="k", secret_key="s")
        monitor = FeedMonitor(SETTINGS, bus=bus, journal=journal, clock=market.now,
                              history=lambda symbol, start, end: rest_bars(client, symbol, start, end))
        state.gate.add_rule(ENTRY_RULE, monitor.entry_block)
        stream = AlpacaStream(url=sim.stream_url, key_id="k", secret_key="s", encoding="json",
                              channels=("trades", "quotes", "statuses"), on_gap=monitor.on_gap,
                              backoff=Backoff(initial=0.2, maximum=0.2, jitter=0.0))

        async def make_runner(symbol: str) -> SymbolRunner:
            runner = state.runner(symbol, state.make_engine(symbol))
            monitor.track(symbol)
            runner.hooks.append(monitor)
            return runner

        async def pump() -> None:  # 100 simulated seconds per wall second
            while not stop.is_set():
                if not paused.is_set():
                    market.step()
                await asyncio.sleep(0.01)

        state.manager = StrategyManager(stream, make_runner, bus)
        await stream.subscribe([])
        start_task(run_pipeline(state, stream, stop=stop, on_batch=monitor.observe), "consume", owner=tasks)
        start_task(pump(), "pump", owner=tasks)
        start_task(monitor.run(stop, frames=lambda: stream.stats.get("frames", 0),
                               active=lambda: state.manager.symbols if state.manager else ()),
                   "health", owner=tasks)
        await state.manager.update_universe(symbols)
        harness = Live(sim, market, state, monitor, stream, feed, journal, busy, quiet, paused)
        try:
            # The busy symbols learn their interval first.
            await harness.until(lambda: all(monitor.symbols[s].learner.interval is not None for s in busy))
            yield harness
        finally:
            stop.set()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await state.manager.close()
            await stream.close()
            await client.close()
            journal.close()


def _check_backfill(live: Live, symbol: str, silent_from: int) -> dict[str, Any]:
    """The last backfill of ``symbol`` asked for the whole bars of the silence and got them all."""
    record = [b for b in live.monitor.backfills if b["symbol"] == symbol][-1]
    assert record["requested"] and not record["error"]
    assert silent_from < record["start"] <= silent_from + MINUTE  # the bar after the engine's open bar
    assert record["end"] == record["first_new_ts"] // MINUTE * MINUTE  # the new event's bar is live
    expected = live.market.bars(symbol, record["start"], record["end"])
    assert record["bars"] == len(expected) > 0  # every missed bar came from the REST endpoint
    return record


@pytest.mark.asyncio
async def test_a_muted_symbol_is_stale_blocked_then_backfilled_and_quiet_ones_are_not_flagged(live: Live) -> None:
    symbol = live.symbols[0]
    others = live.symbols[1:]
    health = live.monitor.symbols[symbol]
    live.sim.feed.muted.add(symbol)
    await live.until(lambda: health.state is FeedState.STALE)
    silent_from = health.backfill_after
    assert silent_from is not None
    assert not live.monitor.idle()  # grouped frames now take this symbol batch by batch
    stale = [e for e in live.feed.drain() if e.symbol == symbol]
    assert stale[0].data["state"] == "stale" and stale[0].data["since"] == silent_from
    assert "no data for" in stale[0].data["reason"]
    assert live.feed_states(symbol) == ["stale"]  # journaled, with why and since when
    # An entry now is refused with the reason, and journaled as a risk record.
    intent = TradeIntent(symbol=symbol, side=Side.BUY, order_type=OrderType.LIMIT, sizing=Sizing.SHARES,
                         quantity=Decimal(10), limit_price=Decimal("1.00"), ts_event=live.market.now())
    outcome = await live.state.pipeline.submit_intent(intent)
    assert isinstance(outcome, IntentRejected) and outcome.rule == "feed_health"
    (risk,) = list(live.journal.records("risk", symbol=symbol))
    assert not risk.data["accepted"] and "blocked until the feed is backfilled" in risk.data["reason"]
    await asyncio.sleep(2.5)  # ~4 simulated minutes of silence
    live.sim.feed.muted.discard(symbol)
    await live.until(lambda: health.state is FeedState.HEALTHY)
    assert live.feed_states(symbol) == ["stale", "recovered", "backfilled"]
    record = _check_backfill(live, symbol, silent_from)
    (done,) = list(live.journal.records("feed", symbol=symbol))[-1:]
    assert done.data["since"] == silent_from and done.data["details"]["bars"] == record["bars"]
    assert live.monitor.blocked(symbol) is None
    assert live.monitor.idle()  # no backfill due: grouped frames ask no symbol
    # The others, quiet or busy, kept flowing and were never flagged.
    assert all(live.feed_states(s) == [] for s in others + live.quiet)
    assert all(live.monitor.symbols[s].last_arrival is not None for s in live.quiet)  # they did trade


@pytest.mark.asyncio
async def test_a_dropped_connection_is_a_gap_backfilled_from_rest_before_trading(live: Live) -> None:
    live.paused.set()  # hold the market while the server drops the client: a clean cut
    await asyncio.sleep(0.2)
    seen = {s: live.monitor.symbols[s].last_event_ts for s in live.symbols}
    live.sim.feed.muted.update(live.symbols)  # what happens while the client is away is never sent
    for session in list(live.sim.feed.sessions):
        await session.connection.close()
    before = live.market.now()
    for _ in range(300):  # five simulated minutes the client never sees
        live.market.step()
    await live.until(lambda: live.stream.gaps)
    assert all(live.monitor.symbols[s].state is FeedState.GAP for s in live.symbols)
    assert all(live.monitor.blocked(s) for s in live.symbols)
    assert not live.monitor.idle()
    await live.stream.wait_live(5)
    live.sim.feed.muted.clear()
    live.paused.clear()
    await live.until(lambda: all(h.state is FeedState.HEALTHY for h in live.monitor.symbols.values()))
    assert live.monitor.idle()
    gap = live.stream.gaps[0]
    for symbol in live.symbols:
        states = live.feed_states(symbol)  # under load the pause may first have made it stale
        assert states[-3:] == ["gap", "recovered", "backfilled"], states
        (reconnected,) = [r for r in live.journal.records("feed", symbol=symbol) if r.data["state"] == "gap"]
        assert "stream reconnected" in reconnected.data["reason"]
        assert reconnected.data["duration_seconds"] > 0
        assert reconnected.data["since"] == gap.last_seen_ts[symbol] == seen[symbol]
    backfilled = [_check_backfill(live, s, seen[s]) for s in live.symbols
                  if live.market.bars(s, before, live.market.now())[:1].size]
    assert backfilled  # the busy symbols missed whole bars, and got them back


@pytest.mark.asyncio
async def test_a_silent_connection_makes_every_symbol_stale_until_data_returns(live: Live) -> None:
    live.paused.set()  # the server stays connected but sends nothing
    await live.until(lambda: live.monitor.connection_suspect, timeout=10)
    everyone = live.symbols + live.quiet
    assert all(live.monitor.symbols[s].state is FeedState.STALE for s in everyone)
    suspect = [r.data for r in live.journal.records("feed") if r.symbol is None]
    assert suspect[0]["state"] == "connection_suspect" and "no frames for" in suspect[0]["reason"]
    live.paused.clear()
    await live.until(lambda: not live.monitor.connection_suspect)
    await live.until(lambda: all(live.monitor.symbols[s].state is FeedState.HEALTHY for s in live.symbols))
    for symbol in live.symbols:
        assert live.feed_states(symbol) == ["stale", "recovered", "backfilled"]


# -- `tradecore live` itself, pointed at a simulator the test owns ---------------------------


@pytest.mark.asyncio
async def test_run_live_journals_a_dropped_connection_as_a_gap_then_backfills(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tradecore.live import run_live

    market = SimulatedMarket(seed=21, start=new_york_ns(DAY, "04:00"), speed=100, symbols=12, gappers=4,
                             params=ModelParams(step_s=1.0))
    market.advance(new_york_ns(DAY, "08:00"))
    monkeypatch.setenv("APCA_API_KEY_ID", "sim-key")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "sim-secret")
    async with SimServer(market, port=0) as sim:
        config = Config().with_overrides(
            market={"provider": "alpaca", "stream_url": sim.stream_url, "rest_url": sim.rest_url},
            scanner={"kind": "fixed", "symbols": sorted(market.gappers), "interval_seconds": 1.0},
            strategy={"name": "ema_cross"},
            health={"min_samples": 8, "min_stale_seconds": 2.0, "connection_silence_seconds": 5.0})
        run = asyncio.create_task(run_live(config, duration=6.0, ui=False, runs_root=tmp_path / "runs"))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 4.0
        while not any(s.subscriptions["trades"] for s in sim.feed.sessions):
            assert loop.time() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        for session in list(sim.feed.sessions):
            await session.connection.close()  # the server drops the client
        result = await run
    journal = Journal(result.folder / "journal.sqlite")
    try:
        for symbol in sorted(market.gappers):
            states = [r.data["state"] for r in journal.records("feed", symbol=symbol)]
            assert "gap" in states and states[-1] == "backfilled", (symbol, states)
        assert not list(journal.records("error"))
    finally:
        journal.close()


def test_the_dashboard_marks_a_stale_symbol_until_it_is_backfilled() -> None:
    from rich.console import Console
    from tradecore.dashboard import Dashboard
    from tradecore.latency import LatencyStats

    async def scenario() -> None:
        bus = EventBus()
        state = RunState.create(Config().with_overrides(strategy={"name": "ema_cross"}), journal=None, bus=bus)

        async def make_runner(symbol: str) -> SymbolRunner:
            return state.runner(symbol, state.make_engine(symbol))

        state.manager = StrategyManager(None, make_runner, bus)  # type: ignore[arg-type]
        for symbol in ("AAA", "BBB"):
            await state.manager.start_symbol(symbol, subscribe=False)
        console = Console(record=True, width=140)
        dashboard = Dashboard(state, LatencyStats(), lambda: 0, console=console)

        def screen() -> dict[str, str]:
            dashboard._absorb()
            console.print(dashboard.render())
            lines = console.export_text().splitlines()
            return {s: next(line for line in lines if f" {s} " in line) for s in ("AAA", "BBB")}

        bus.publish("feed", "AAA", 1, state="stale", reason="no data for 12.0 s")
        rows = screen()
        assert "STALE" in rows["AAA"] and " ok " in rows["BBB"]
        bus.publish("feed", "AAA", 2, state="backfilled", reason="3 bars")
        rows = screen()
        assert " ok " in rows["AAA"] and "STALE" not in rows["AAA"]
        await state.manager.close()

    asyncio.run(scenario())


T0 = new_york_ns(DAY, "08:00")


class BarLog(Strategy):
    """Records every bar it sees, live or from the backfill."""

    name = "bar_log"
    states = ("FLAT",)
    rules = (Rule("never", "FLAT", "FLAT"),)

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, int]] = []

    def on_bar(self, bar: Any) -> None:
        self.seen.append(("live", int(bar.ts_event)))

    def warm_up(self, bar: Any) -> None:
        self.seen.append(("backfill", int(bar.ts_event)))


def _trades(*seconds: float) -> EventBatch:
    events = schema.empty(schema.TRADE, len(seconds))
    events["ts_event"] = [T0 + int(s * 1e9) for s in seconds]
    events["price"], events["size"] = 10.0, 100
    return EventBatch(EventKind.TRADE, "AAA", events)


async def _silence_then_data(history: Any, ticks: tuple[float, ...] = ()) -> tuple[FeedMonitor, BarLog]:
    """Minutes 0-1 live, a silence the monitor flags (with market clock ticks at ``ticks``
    seconds), then data in minutes 6 and 7."""
    wall = Wall()
    bus = EventBus()
    state = RunState.create(Config().with_overrides(strategy={"name": "ema_cross"}), journal=None, bus=bus)
    monitor = FeedMonitor(HealthConfig(min_samples=2, min_stale_seconds=1.0), bus=bus, journal=None,
                          clock=lambda: 0, history=history, wall=wall)
    strategy = BarLog()
    runner = SymbolRunner("AAA", SymbolEngine("AAA", [strategy]), state.execution, bus)
    runner.hooks.append(monitor)
    monitor.track("AAA")
    for batch in (_trades(10), _trades(40), _trades(80), _trades(100)):
        wall.now += 0.5
        monitor.observe(batch)
        await runner.process(batch)
    wall.now += 5.0
    monitor.check()
    assert monitor.symbols["AAA"].state is FeedState.STALE
    for second in ticks:
        rest = runner.tick(T0 + int(second * 1e9))
        if rest is not None:
            await rest()
    late = _trades(6 * 60 + 30, 7 * 60 + 5)
    monitor.observe(late)
    await runner.process(late)
    return monitor, strategy


@pytest.mark.parametrize("ticks", [(), (150.0, 330.0)], ids=["no clock", "clock ticks in the silence"])
def test_the_backfill_feeds_only_the_missed_bars_in_time_order_without_double_feeding(
        ticks: tuple[float, ...]) -> None:
    asked: list[tuple[int, int]] = []

    async def history(symbol: str, start: int, end: int) -> np.ndarray:
        asked.append((start, end))
        bars = schema.empty(schema.BAR, 10)  # minutes 0-9: more than was asked for, overlapping
        bars["ts_event"] = T0 + np.arange(10) * MINUTE
        bars["ts_end"] = bars["ts_event"] + MINUTE
        bars["open"] = bars["high"] = bars["low"] = bars["close"] = 10.0
        bars["volume"] = 100
        return bars

    monitor, strategy = asyncio.run(_silence_then_data(history, ticks))
    # Clock ticks in the silence move the engine's clock on: the missed bars still start after
    # the last data.
    assert asked == [(T0 + 2 * MINUTE, T0 + 6 * MINUTE)]
    minutes = [(kind, (ts - T0) // MINUTE) for kind, ts in strategy.seen]
    # Minute 0 closed live, minute 1 (the open bar at the silence) closed by a clock tick or the
    # backfill's, 2-5 from history, 6 built live from the new trades: each once, in order.
    assert minutes == [("live", 0), ("live", 1), ("backfill", 2), ("backfill", 3), ("backfill", 4),
                       ("backfill", 5), ("live", 6)]
    assert monitor.blocked("AAA") is None


def test_a_backfill_that_keeps_failing_blocks_entries_for_the_rest_of_the_run() -> None:
    calls = 0

    async def history(symbol: str, start: int, end: int) -> np.ndarray:
        nonlocal calls
        calls += 1
        raise RestError("GET /v2/stocks/bars -> 500: upstream timeout")

    monitor, strategy = asyncio.run(_silence_then_data(history))
    assert calls == 3
    assert monitor.symbols["AAA"].state is FeedState.FAILED
    reason = monitor.blocked("AAA")
    assert reason is not None and "failed 3 times (RestError: GET /v2/stocks/bars -> 500" in reason
    assert "entries blocked for the rest of the run" in reason
    assert [(kind, (ts - T0) // MINUTE) for kind, ts in strategy.seen] == [
        ("live", 0), ("live", 1), ("live", 6)]  # the live bars go on; the hole stays a hole
