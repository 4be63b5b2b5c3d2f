"""The cost of one intent on the paper venue: from the engine's decision to the order settled.

Run ``python benchmarks/intent_bench.py`` (``--quick`` for a short run, ``--seconds N`` of
market time per run). One line per figure as ``name: value unit``; lines starting with ``#``
narrate.

How it is measured, and the baseline
------------------------------------
The pipeline is built as ``tradecore live`` builds it on the paper venue
(:class:`tradecore.session.RunState`): 500 symbols, ``ema_cross`` on 1 s bars, frames of 50
trades (50 symbols) at 50k msgs/s of market time handed to ``StrategyManager.dispatch_grouped``
with one loop yield each, as the live stream consumer does (premarket: market intents go out as
marketable limits). No network: the pre-built frames are the same for every run.

- ``trading``: ``ema_cross`` 2/3: about 100 intents per second of market time (each symbol's
  1 s bars close together, so they come in bursts, as live), each one routed, risk-checked, sent
  to the engine's fill simulator, filled, applied to positions and recorded (bus, journal).
- ``quiet`` (the baseline, measured in the same run on the same frames): ``ema_cross`` 2/1000,
  whose slow average never warms up here, so it never trades; the engines do the same per-event
  work otherwise.

Runs alternate (quiet, trading, ``--repeat`` times) and the fastest of each kind counts.
``us_per_intent`` = (trading - quiet) wall time / intents: everything trading adds, per intent
(Python and the native fill simulator, every asyncio hop, the journal's commits, and marking
the positions it leaves open at every later trade). ``*_stage_*`` split it with timers around
the execution layer's entry points, trading's minus quiet's: ``decision`` (route, risk, order,
submit), ``output`` (the engine's order updates and fills to positions, bus, journal),
``settle`` (only after a kill-switch trip) and ``market`` (books, clock, marks of held
positions); a journal's commit ends the intent step, outside the timers. ``intent_cost_in_msgs``
is ``us_per_intent`` over the quiet pipeline's cost per message: what one intent costs in
messages, a ratio less dependent on the machine and its load. The ``paper_journal_*`` runs keep
a SQLite journal (``synchronous`` FULL, as ``tradecore live`` does) in a temporary folder on
this disk (``--no-journal`` skips them); ``paper_journal_commits_per_intent`` counts the commits
(each one fsync) trading adds per intent: an fsync's cost depends on the disk and on whatever
else writes to it (other builds), the count does not.

Before/after a change, the same command against the previous sources gives the comparison
(the native module is unchanged by a Python-only change: put a checkout's ``python/`` with the
installed ``_core`` module first on ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from benchlib import report
from tradecore import schema
from tradecore.config import Config
from tradecore.journal.journal import Journal
from tradecore.latency import quiet_gc
from tradecore.pipeline import StrategyManager
from tradecore.session import RunState
from tradecore.streams.base import DispatchedStream, EventKind, GroupedBatch

SYMBOLS = 500
FRAME = 50  # trades per frame
RATE = 50_000  # msgs/s of market time
EVENT_BASE = 1_795_683_600_000_000_000 + 30 * 60 * 10**9  # 04:30 New York on a weekday


def frames(seconds: float, seed: int = 1) -> list[GroupedBatch]:
    """``seconds`` of market time for 500 symbols, as frames of 50 consecutive trades."""
    rng = np.random.default_rng(seed)
    count = int(seconds * RATE) // FRAME * FRAME
    symbols = [f"S{i:04d}" for i in range(SYMBOLS)]
    level = 10 + rng.random(SYMBOLS)
    steps = 1 + rng.normal(0, 0.002, (count // SYMBOLS + 1, SYMBOLS))  # trade k is symbol k % 500's
    prices = np.round(level * np.cumprod(steps, axis=0), 2).reshape(-1)[:count]
    out = []
    for start in range(0, count, FRAME):
        trades = schema.empty(schema.TRADE, FRAME)
        trades["ts_event"] = EVENT_BASE + (start + np.arange(FRAME)) * (10**9 // RATE)
        trades["price"], trades["size"] = prices[start:start + FRAME], 100
        names = [symbols[(start + j) % SYMBOLS] for j in range(FRAME)]
        out.append(GroupedBatch(EventKind.TRADE, trades, np.arange(FRAME + 1, dtype=np.int64), names, 0))
    return out


class Timers:
    """Wall time spent in the execution layer's entry points (ns), by stage: ``decision`` (an
    intent routed, checked, sent), ``output`` (the engines' fills and updates to positions, bus
    and journal), ``settle``, ``market`` (books, clock and marks of held positions)."""

    def __init__(self, execution: Any) -> None:
        self.ns = dict.fromkeys(("decision", "output", "settle", "market"), 0)
        ns = self.ns
        handle, on_output, settle = execution.handle_intents, execution.on_output, execution.settle
        grouped, reach = execution.on_market_grouped, execution.reach

        async def timed_handle(runner: Any, intents: np.ndarray) -> None:
            started = time.perf_counter_ns()
            await handle(runner, intents)
            ns["decision"] += time.perf_counter_ns() - started

        def timed_output(runner: Any, output: dict[str, np.ndarray]) -> bool:
            started = time.perf_counter_ns()
            result: bool = on_output(runner, output)
            ns["output"] += time.perf_counter_ns() - started
            return result

        async def timed_settle() -> None:
            started = time.perf_counter_ns()
            await settle()
            ns["settle"] += time.perf_counter_ns() - started

        def timed_grouped(group: GroupedBatch, indices: list[int]) -> None:
            started = time.perf_counter_ns()
            grouped(group, indices)
            ns["market"] += time.perf_counter_ns() - started

        def timed_reach(index: int) -> None:
            started = time.perf_counter_ns()
            reach(index)
            ns["market"] += time.perf_counter_ns() - started

        execution.handle_intents, execution.on_output, execution.settle = timed_handle, timed_output, timed_settle
        execution.on_market_grouped, execution.reach = timed_grouped, timed_reach


@dataclass
class Result:
    seconds: float
    intents: int
    timers: Timers
    positions: int
    commits: int  # the journal's (0 without one)


async def run(parts: list[GroupedBatch], slow: int, journal_path: str | None) -> Result:
    """Dispatch ``parts`` through a fresh paper-venue pipeline (``ema_cross`` 2/``slow``)."""
    config = Config().with_overrides(strategy={"name": "ema_cross", "params": {"fast": 2, "slow": slow},
                                               "bar_period": "1s"})
    journal = Journal(journal_path) if journal_path else None
    state = RunState.create(config, journal=journal)
    timers = Timers(state.execution)

    async def make_runner(symbol: str):  # type: ignore[no-untyped-def]
        return state.runner(symbol, state.make_engine(symbol))

    manager = state.manager = StrategyManager(DispatchedStream(), make_runner, state.bus)
    await manager.update_universe([f"S{i:04d}" for i in range(SYMBOLS)])
    with quiet_gc():  # the collector as `tradecore live` sets it
        started = time.perf_counter_ns()
        for part in parts:
            manager.dispatch_grouped(part)
            await asyncio.sleep(0)
        await manager.drain()
        elapsed = (time.perf_counter_ns() - started) / 1e9
    await manager.close()
    if journal is not None:
        journal.close()
    assert not manager.quarantined, manager.quarantined
    commits = journal.stats["commits"] if journal is not None else 0
    return Result(elapsed, state.execution.intents, timers, len(state.tracker.positions()), commits)


def best(results: list[Result]) -> Result:
    """The fastest run (the least disturbed by other load on the machine)."""
    return min(results, key=lambda result: result.seconds)


def measure(label: str, parts: list[GroupedBatch], repeat: int, folder: str | None) -> None:
    def journal(name: str) -> str | None:
        return None if folder is None else os.path.join(folder, f"{name}-{time.time_ns()}.sqlite")

    quiets, tradings = [], []
    for _ in range(repeat):  # interleaved: a change in the machine's load hits both alike
        quiets.append(asyncio.run(run(parts, 1000, journal("quiet"))))
        tradings.append(asyncio.run(run(parts, 3, journal("trading"))))
    quiet, trading = best(quiets), best(tradings)
    assert quiet.intents == 0, f"the quiet strategy traded ({quiet.intents} intents)"
    intents = trading.intents
    messages = len(parts) * FRAME
    per_msg = quiet.seconds / messages * 1e6
    per_intent = (trading.seconds - quiet.seconds) / intents * 1e6
    report(f"{label}_intents", intents, "intents")
    report(f"{label}_quiet_per_msg", per_msg, "us")
    report(f"{label}_us_per_intent", per_intent, "us")
    report(f"{label}_intent_cost_in_msgs", per_intent / per_msg, "msgs")
    if folder is not None:  # fsyncs: their cost depends on the disk and what else writes to it
        report(f"{label}_commits_per_intent", (trading.commits - quiet.commits) / intents, "commits")
    for stage, ns in trading.timers.ns.items():  # what trading added to each entry point
        report(f"{label}_stage_{stage}", (ns - quiet.timers.ns[stage]) / intents / 1e3, "us")
    print(f"# {label}: {messages} msgs, quiet {quiet.seconds:.3f} s, trading {trading.seconds:.3f} s, "
          f"{intents} intents, {trading.positions} positions open at the end", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a smoke test)")
    parser.add_argument("--seconds", type=float, default=30.0, help="market seconds per run (default 30)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind; the fastest counts")
    parser.add_argument("--no-journal", action="store_true", help="skip the journaled runs")
    args = parser.parse_args(argv)
    seconds, repeat = (10.0, 1) if args.quick else (args.seconds, args.repeat)
    parts = frames(seconds)
    measure("paper", parts, repeat, None)
    if not args.no_journal:
        with tempfile.TemporaryDirectory(prefix="tradecore-intent-bench-", dir=os.getcwd()) as folder:
            measure("paper_journal", parts, repeat, folder)


if __name__ == "__main__":
    main()
