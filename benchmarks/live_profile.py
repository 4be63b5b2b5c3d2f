"""Where a live frame's time goes: one paced step of ``live_bench`` with timers around the
per-frame stages, and each intent's timing against its frame.

Run ``python benchmarks/live_profile.py [--rate 50000] [--seconds 6]``. One line per figure as
``name: value unit``; lines starting with ``#`` narrate. A diagnostic, not a figure of merit:
the timers wrap the named functions in Python (about 0.2 µs each), so the stages add up to a
little more than the step's own latency figures, which ``live_bench``'s load step also prints
(``load_*``: a step of its own, strategies fresh, so intents are few).

- ``stage_<name>_p50/p99``: time inside each stage per call (``data_received``: a frame's whole
  handling from the socket; ``decode``; ``engines_pick``: choosing the frame's engines; ``book``:
  folding the frame into the execution layer's book; ``run_groups``: the engines; ``reach``:
  clock and marks as groups complete; ``health`` and ``health_check``: feed health per frame
  and at its periodic check).
- ``intent_*``: for each intent, from when the feed sent its frame to when the frame's dispatch
  started (``wait``) and from there to the engine's decision (``in_frame``); a burst of intents
  in one frame is routed before the next frame, so the next frames wait for it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import time
from collections.abc import Callable
from typing import Any

import live_bench
import numpy as np
from benchlib import report
from tradecore import health, pipeline, session
from tradecore.latency import quiet_gc
from tradecore.streams import alpaca, native_ws

_samples: dict[str, list[int]] = collections.defaultdict(list)
_frame: dict[str, int] = {}
_intents: list[tuple[int, int]] = []


def _timed(owner: Any, name: str, stage: str) -> None:
    inner: Callable[..., Any] = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter_ns()
        try:
            return inner(*args, **kwargs)
        finally:
            _samples[stage].append(time.perf_counter_ns() - started)

    setattr(owner, name, timed)


def _instrument() -> None:
    _timed(native_ws.NativeClientConnection, "data_received", "data_received")
    _timed(alpaca.AlpacaDecoder, "decode", "decode")
    _timed(pipeline.StrategyManager, "_grouped_engines", "engines_pick")
    _timed(session.PipelineExecution, "on_market_grouped", "book")
    _timed(session.PipelineExecution, "reach", "reach")
    _timed(health.FeedMonitor, "observe_grouped", "health")
    _timed(health.FeedMonitor, "check", "health_check")

    class Engine:  # run_groups is looked up on the module's _engine
        run_groups = staticmethod(pipeline._engine.run_groups)
        StopReason = pipeline._engine.StopReason

    _timed(Engine, "run_groups", "run_groups")
    pipeline._engine = Engine  # type: ignore[assignment]

    dispatch = pipeline.StrategyManager.dispatch_grouped

    def dispatch_grouped(self: pipeline.StrategyManager, group: Any) -> None:
        _frame["start"], _frame["sent"] = time.time_ns(), group.ts_received or 0
        dispatch(self, group)

    pipeline.StrategyManager.dispatch_grouped = dispatch_grouped  # type: ignore[method-assign]
    stamp = pipeline.SymbolRunner._stamp_intent

    def stamp_intent(self: pipeline.SymbolRunner) -> None:
        stamp(self)
        if _frame.get("sent"):
            _intents.append((_frame["start"] - _frame["sent"], time.time_ns() - _frame["start"]))

    pipeline.SymbolRunner._stamp_intent = stamp_intent  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50_000)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    _instrument()
    with quiet_gc():
        asyncio.run(live_bench.load(rate=args.rate, seconds=args.seconds, sweep=[]))
    for stage, values in _samples.items():
        kept = np.asarray(values[len(values) // 2:]) / 1e3  # the load step's (the baseline's first)
        report(f"stage_{stage}_p50", float(np.percentile(kept, 50)), "us")
        report(f"stage_{stage}_p99", float(np.percentile(kept, 99)), "us")
    if _intents:
        waits, inside = (np.asarray(column) / 1e3 for column in zip(*_intents))
        report("intent_count", len(_intents), "intents")
        report("intent_wait_p50", float(np.percentile(waits, 50)), "us")
        report("intent_in_frame_p50", float(np.percentile(inside, 50)), "us")
        report("intent_in_frame_max", float(inside.max()), "us")


if __name__ == "__main__":
    main()
