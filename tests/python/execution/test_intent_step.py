"""The paper venue's intent step in one journal transaction, and the steps of one turn of the
event loop in one commit, give exactly what committing every record on its own gives: the same
records in the same order, positions, bus events."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tradecore import schema
from tradecore.config import Config
from tradecore.journal.journal import Journal
from tradecore.pipeline import StrategyManager
from tradecore.session import RunState
from tradecore.streams.base import DispatchedStream, EventKind, GroupedBatch

T0 = 1_795_683_600_000_000_000 + 30 * 60 * 10**9  # 04:30 New York on a weekday
SYMBOLS = ["AAA", "BBB", "CCC", "DDD"]


def _frames(per_symbol: int = 400, frame: int = 6) -> list[GroupedBatch]:
    """Random-walk trades 100 ms apart per symbol, round-robin, in frames grouped by symbol."""
    rng = np.random.default_rng(11)
    walks = np.round(10 * np.exp(np.cumsum(rng.normal(0, 0.003, (per_symbol, len(SYMBOLS))), axis=0)), 2)
    out = []
    for start in range(0, per_symbol * len(SYMBOLS), frame):
        ticks = range(start, min(start + frame, per_symbol * len(SYMBOLS)))
        order = list(dict.fromkeys(SYMBOLS[k % len(SYMBOLS)] for k in ticks))
        parts = []
        for symbol in order:
            mine = [k for k in ticks if SYMBOLS[k % len(SYMBOLS)] == symbol]
            part = schema.empty(schema.TRADE, len(mine))
            part["ts_event"] = [T0 + (k // len(SYMBOLS)) * 100_000_000 for k in mine]
            part["price"] = [walks[k // len(SYMBOLS), SYMBOLS.index(symbol)] for k in mine]
            part["size"] = 100
            parts.append(part)
        cuts = np.cumsum([0] + [len(p) for p in parts]).astype(np.int64)
        out.append(GroupedBatch(EventKind.TRADE, schema.concatenate(parts, schema.TRADE), cuts, order, T0 + start))
    return out


async def _run(config: Config, path: Path, frames: list[GroupedBatch]) -> tuple[list[Any], list[Any], Any, dict[str, int]]:
    journal = Journal(path)
    state = RunState.create(config, journal=journal)
    subscription = state.bus.subscribe(capacity=1_000_000)

    async def make_runner(symbol: str) -> Any:
        return state.runner(symbol, state.make_engine(symbol))

    manager = state.manager = StrategyManager(DispatchedStream(), make_runner, state.bus,
                                              holds_position=state.holds_position)
    await manager.update_universe(SYMBOLS)
    for i, frame in enumerate(frames):
        manager.dispatch_grouped(frame)
        if i % 3 == 0:
            await asyncio.sleep(0)
    await manager.drain()
    await manager.close()
    journal.close()
    with Journal(path, readonly=True) as reread:
        records = [(r.seq, r.kind, r.ts_event, r.symbol, r.order_id, r.data) for r in reread.records()]
    events = [(e.topic, e.symbol, e.ts, repr(sorted(e.data.items()))) for e in subscription.drain()
              if e.topic != "universe"]  # its time is the wall clock
    tracker = state.tracker
    figures = (tracker.cash, tracker.equity, tracker.realized, tracker.commissions, tracker.positions())
    return records, events, figures, dict(journal.stats)


@pytest.mark.parametrize("loss_limit", [None, 30])
def test_one_commit_per_intent_step_journals_what_a_commit_per_record_journals(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loss_limit: int | None) -> None:
    config = Config().with_overrides(strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3},
                                               "bar_period": "1s"})
    if loss_limit is not None:  # the kill switch trips and flattens, from inside an intent step too
        config = config.with_overrides(execution={"risk": {"daily_loss_limit": loss_limit}})
    frames = _frames()
    records, events, figures, stats = asyncio.run(_run(config, tmp_path / "steps.sqlite", frames))
    with monkeypatch.context() as patch:  # the path before: every acknowledged record its own commit
        patch.setattr(Journal, "transaction", lambda self, **options: nullcontext())
        each, each_events, each_figures, each_stats = asyncio.run(_run(config, tmp_path / "each.sqlite", frames))
    with monkeypatch.context() as patch:  # each step its own commit, not grouped by the loop's turn
        single = Journal.transaction
        patch.setattr(Journal, "transaction", lambda self, **options: single(self))
        steps, steps_events, steps_figures, steps_stats = asyncio.run(_run(config, tmp_path / "steps1.sqlite", frames))

    kinds = [record[1] for record in records]
    intents = kinds.count("intent")
    assert intents > 20 and kinds.count("fill") > 10
    assert ("kill_switch" in kinds) == (loss_limit is not None)
    assert records == each
    assert events == each_events
    assert figures == each_figures
    assert (records, events, figures) == (steps, steps_events, steps_figures)
    # One commit per intent step (with what its orders did), not one per record; grouped, one
    # per turn of the loop that ran steps.
    assert steps_stats["commits"] < each_stats["commits"] / 3
    assert stats["commits"] < steps_stats["commits"]


def test_an_intent_read_as_plain_values_is_the_intent_read_from_its_row(tmp_path: Path) -> None:
    from tradecore.execution.router import TradeIntent, plain_rows
    from tradecore.journal.journal import StrategyNames

    rows = schema.empty(schema.TRADE_INTENT, 2)
    rows["ts_event"], rows["quantity"], rows["side"] = [T0, T0 + 7], [100, 0.5], [schema.Side.BUY, schema.Side.SELL]
    rows["order_type"], rows["sizing"] = schema.OrderType.LIMIT, [schema.Sizing.SHARES, schema.Sizing.PERCENT_EQUITY]
    rows["limit_price"], rows["stop_price"], rows["reference_price"] = [10.05, 0.3], [0, 0.1 + 0.2], [10.1, 0.31]
    rows["strategy_id"], rows["rule"], rows["transition"] = [0, 1], [3, 2], [5, 0xFFFFFFFF]
    names = StrategyNames("ema_cross", ("FLAT", "LONG"), ("a", "b", "c", "d"), ("v",))
    with Journal(tmp_path / "j.sqlite") as journal:
        for row, plain in zip(rows, plain_rows(rows), strict=True):
            assert TradeIntent.from_row(plain, "abc") == TradeIntent.from_row(row, "abc")
            journal.intent("ABC", row, names)
            journal.intent("ABC", plain, names)
        written = [(r.ts_event, r.data) for r in journal.records("intent")]
    assert written[0] == written[1] and written[2] == written[3] and written[0] != written[2]
