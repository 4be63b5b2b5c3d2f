"""Feed health's deferred, vectorised arrivals leave exactly what the per-symbol path leaves.

One scripted run (frames of random symbol subsets, same-frame groups, single batches, an
untracked symbol, a silenced symbol, a halt, a reconnect gap, a silent connection, an untrack
and re-track, backfills through real runners, a real SQLite journal) is replayed on the monitor
and on :class:`ImmediateFeedMonitor`, which updates every symbol of every frame at once as the
monitor did before its arrivals were deferred. States, learners, arrival times, transitions
(bus and journal, with their times) and backfills must be identical.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tradecore import health as health_module
from tradecore import schema
from tradecore.bus import EventBus
from tradecore.config import Config, HealthConfig
from tradecore.engine import SymbolEngine
from tradecore.health import FeedMonitor, FeedState, ImmediateFeedMonitor
from tradecore.journal.journal import Journal
from tradecore.pipeline import SymbolRunner
from tradecore.schema import TradingState
from tradecore.session import RunState
from tradecore.streams.base import EventBatch, EventKind, GroupedBatch
from tradecore.streams.websocket import Gap

SYMBOLS = [f"S{k:02d}" for k in range(24)]
UNTRACKED = "ZZZ"
T0 = 1_790_000_000 * 10**9
STEP_NS = 100_000_000
SETTINGS = HealthConfig(min_samples=8, min_stale_seconds=1.0, max_stale_seconds=20.0,
                        connection_silence_seconds=5.0, interval_window=64)


class Wall:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _group(kind: EventKind, rows: list[tuple[str, int, int]]) -> GroupedBatch:
    """A frame's group of trades or quotes: (symbol, newest ts_event, events) per symbol."""
    events = schema.empty(schema.TRADE if kind is EventKind.TRADE else schema.QUOTE,
                          sum(count for _, _, count in rows))
    cuts = np.cumsum([0] + [count for _, _, count in rows])
    for (_, ts, count), start in zip(rows, cuts):
        events["ts_event"][start:start + count] = ts - np.arange(count)[::-1]
    return GroupedBatch(kind, events, cuts, [symbol for symbol, _, _ in rows])


def _statuses(rows: list[tuple[str, int, bool]]) -> GroupedBatch:
    """A frame's status messages: (symbol, ts_event, halted) per symbol."""
    events = schema.empty(schema.STATUS, len(rows))
    events["ts_event"] = [ts for _, ts, _ in rows]
    events["state"] = [TradingState.HALTED if halted else TradingState.TRADING for _, _, halted in rows]
    return GroupedBatch(EventKind.STATUS, events, np.arange(len(rows) + 1), [s for s, _, _ in rows])


def _script(seed: int = 7) -> list[tuple[Any, ...]]:
    """The run's actions, e.g. ("frame", wall seconds since the last, groups) or ("check",)."""
    rng = np.random.default_rng(seed)
    activity = rng.uniform(0.3, 0.95, len(SYMBOLS))
    actions: list[tuple[Any, ...]] = []
    silenced, halted = "S01", "S02"
    for step in range(620):
        ts = T0 + step * STEP_NS
        if step == 200:
            actions.append(("frame", 0.05, [(EventKind.STATUS, [(halted, ts, True)])]))
        if step == 300:
            actions.append(("frame", 0.05, [(EventKind.STATUS, [(halted, ts, False)])]))
        if step == 250:  # a reconnect: some symbols' last events known to the stream, some not
            actions.append(("gap", 2.0, SYMBOLS[:12], {s: ts - 5 * STEP_NS for s in SYMBOLS[:4]}))
        if step == 450:
            actions.append(("silence", 6.0))  # no frame at all: the connection check fires
        if step == 500:
            actions.append(("untrack", "S05"))
        if step == 520:
            actions.append(("track", "S05"))
        quiet = {silenced} if 150 <= step < 260 else set()
        active = [s for s, p in zip(SYMBOLS, activity) if rng.random() < p and s not in quiet]
        if 200 <= step < 300 and halted in active and rng.random() < 0.5:
            active.remove(halted)  # data still comes now and then during the halt
        rng.shuffle(active)
        if rng.random() < 0.2:
            active.insert(int(rng.integers(len(active) + 1)), UNTRACKED)
        if active:
            # Each symbol's own event times, so a wrong batch would show in last_event_ts.
            times = {s: ts + 1000 * (SYMBOLS + [UNTRACKED]).index(s) for s in active}
            groups = [(EventKind.TRADE, [(s, times[s], int(rng.integers(1, 4))) for s in active])]
            if rng.random() < 0.3:  # the frame's quotes: a second group at the same wall time
                groups.append((EventKind.QUOTE, [(s, times[s] + 1, 1) for s in active[::2]]))
            actions.append(("frame", float(rng.choice([0.0004, 0.05, 0.1, 0.3])), groups))
        if rng.random() < 0.1:
            symbol = SYMBOLS[int(rng.integers(len(SYMBOLS)))]
            if symbol not in quiet:
                actions.append(("batch", 0.01, symbol, ts))
        if step % int(rng.integers(3, 12)) == 0:
            actions.append(("check",))
    return actions


async def _replay(monitor_type: type[FeedMonitor], folder: Path, fold_slice: int | None = None) -> dict[str, Any]:
    """``fold_slice``: before each check, fold the deferred frames that many at a time (as
    ``FeedMonitor.run`` does between turns of the loop)."""
    wall = Wall()
    market_now = [T0]
    bus = EventBus()
    feed = bus.subscribe(["feed"])
    journal = Journal(folder / "journal.sqlite", synchronous="NORMAL")
    state = RunState.create(Config().with_overrides(strategy={"name": "ema_cross"}), journal=None, bus=EventBus())

    async def history(symbol: str, start: int, end: int) -> np.ndarray:
        return schema.empty(schema.BAR)  # the history endpoint had nothing for the silence

    monitor = monitor_type(SETTINGS, bus=bus, journal=journal, clock=lambda: market_now[0],
                           history=history, bar_period_ns=10**9, wall=wall)
    runners = {s: SymbolRunner(s, SymbolEngine(s, []), state.execution, state.bus) for s in SYMBOLS}
    for symbol in SYMBOLS:
        monitor.track(symbol)
    snapshots: list[Any] = []
    deferred = 0  # most frames waiting for one fold

    def snapshot() -> None:
        snapshots.append((monitor.connection_suspect, monitor.idle(), sorted(
            (s, h.state, h.reason, h.halted, h.last_arrival, h.learner.samples, h.learner.interval,
             h.last_event_ts, h.backfill_after, h.silent_since, h.tracked_at)
            for s, h in monitor.symbols.items())))

    async def backfill_due(batches: list[EventBatch]) -> None:
        for batch in batches:
            if not monitor.idle() and monitor.has_work(batch.symbol):
                due = monitor.before_batch(runners[batch.symbol], batch)
                if due is not None:
                    await due

    for action in _script():
        kind = action[0]
        if kind == "frame":
            _, step, groups = action
            wall.now += step
            market_now[0] += STEP_NS
            for group_kind, rows in groups:
                group = _statuses(rows) if group_kind is EventKind.STATUS else _group(group_kind, rows)
                monitor.observe_grouped(group)
                await backfill_due([b for b in group.batches() if b.symbol in runners])
        elif kind == "batch":
            _, step, symbol, ts = action
            wall.now += step
            events = schema.empty(schema.TRADE, 1)
            events["ts_event"] = ts
            batch = EventBatch(EventKind.TRADE, symbol, events)
            monitor.observe(batch)
            await backfill_due([batch])
        elif kind == "gap":
            _, lost, symbols, seen = action
            wall.now += lost
            monitor.on_gap(Gap(frozenset(symbols), seen, market_now[0] - int(lost * 1e9), market_now[0],
                               "connection reset"))
        elif kind == "silence":
            wall.now += action[1]
            monitor.check()
        elif kind == "untrack":
            monitor.untrack(action[1])
        elif kind == "track":
            monitor.track(action[1])
        else:
            deferred = max(deferred, len(monitor._deferred))
            while fold_slice is not None and len(monitor._deferred) > fold_slice:
                monitor._fold(fold_slice)
            monitor.check()
            snapshot()
    snapshot()
    journal.flush()
    records = [(r.ts_event, r.symbol, r.data) for r in journal.records("feed")]
    journal.close()
    return {"events": [(e.symbol, e.ts, e.data) for e in feed.drain()], "journal": records,
            "snapshots": snapshots, "backfills": list(monitor.backfills), "deferred": deferred}


@pytest.mark.parametrize(("fold_frames", "fold_slice"), [(2048, None), (3, None), (2048, 2)],
                         ids=["folded at checks", "folded every 3 frames", "folded 2 frames at a time"])
def test_deferred_arrivals_give_exactly_what_the_per_symbol_path_gives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fold_frames: int, fold_slice: int | None) -> None:
    monkeypatch.setattr(health_module, "_FOLD_FRAMES", fold_frames)  # without a check, the cap folds
    (tmp_path / "per_symbol").mkdir()
    (tmp_path / "deferred").mkdir()
    reference = asyncio.run(_replay(ImmediateFeedMonitor, tmp_path / "per_symbol"))
    folded = asyncio.run(_replay(FeedMonitor, tmp_path / "deferred", fold_slice))
    assert reference["deferred"] == 0
    if fold_frames == 3:
        assert folded["deferred"] == 2  # the cap folded
    else:
        assert folded["deferred"] > 5  # many frames per fold
    # The scenario reaches every transition, and the halted symbol is never flagged while halted.
    states = {(symbol, data["state"]) for symbol, _, data in reference["events"]}
    assert {("S01", "stale"), ("S01", "recovered"), ("S01", "backfilled"), ("S00", "gap"),
            ("", "connection_suspect"), ("", "connection_ok")} <= states
    halted = [data["state"] for symbol, ts, data in reference["events"]
              if symbol == "S02" and T0 + 200 * STEP_NS < ts < T0 + 300 * STEP_NS]
    assert halted == ["gap", "recovered", "backfilled"]  # the reconnect, never stale
    assert len(reference["snapshots"]) > 50 and reference["backfills"]
    for key in ("events", "journal", "backfills"):
        assert folded[key] == reference[key], key
    for number, (mine, theirs) in enumerate(zip(folded["snapshots"], reference["snapshots"])):
        assert mine == theirs, f"check {number}"
    assert len(folded["snapshots"]) == len(reference["snapshots"])


def test_a_symbol_leaves_the_per_symbol_path_once_healthy_and_unhalted() -> None:
    wall = Wall()
    monitor = FeedMonitor(SETTINGS, bus=EventBus(), journal=None, clock=lambda: T0, wall=wall)
    monitor.track("AAA")
    monitor.track("BBB")
    wall.now += 0.1
    monitor.observe_grouped(_group(EventKind.TRADE, [("AAA", T0, 1), ("BBB", T0, 1)]))
    assert len(monitor._deferred) == 1  # healthy: only remembered
    wall.now += 0.1
    monitor.observe_grouped(_statuses([("AAA", T0 + 1, True)]))
    assert not monitor._deferred and monitor.symbols["AAA"].halted  # a status folds and applies at once
    wall.now += 0.1
    monitor.observe_grouped(_group(EventKind.TRADE, [("AAA", T0 + 2, 1), ("BBB", T0 + 2, 1)]))
    assert monitor._deferred[-1][2] == [1]  # BBB deferred, the halted AAA applied at once
    assert monitor._symbols["AAA"].last_arrival == wall.now
    monitor.observe_grouped(_statuses([("AAA", T0 + 3, False)]))
    wall.now += 0.1
    monitor.observe_grouped(_group(EventKind.TRADE, [("AAA", T0 + 4, 1)]))
    assert monitor._deferred[-1][2] is None  # trading again: deferred like any healthy symbol
    health = monitor.symbols["AAA"]
    assert health.state is FeedState.HEALTHY and health.last_event_ts == T0 + 4
    assert health.learner.samples == 2  # 0.1 s before the halt, 0.1 s after the resumption
