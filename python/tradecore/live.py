"""``tradecore live``: the pipeline on a live stream, the embedded simulator by default.

With no configuration it starts the simulator in-process on loopback, connects to it with the
real Alpaca stream client and REST client, scans the premarket, trades ``premarket_momentum``
on the paper venue and shows a terminal dashboard. Every run gets an id, a folder with its
config and journal, and a row in the run registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time

import numpy as np
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradecore import schema
from tradecore.analysis.summary import PerformanceSummary, executions_from_journal, summarize
from tradecore.bus import EventBus
from tradecore.config import Config
from tradecore.journal.journal import Journal
from tradecore.journal.registry import RunRegistry, code_version
from tradecore.latency import LatencyStats
from tradecore.pipeline import StrategyManager, SymbolRunner
from tradecore.scanners import (
    EnrichmentCache,
    FixedScanner,
    MarketDataClient,
    PremarketScanner,
    RestReferences,
    ScanFilters,
    Scanner,
    SnapshotInputs,
    TopGainersScanner,
)
from tradecore.session import RunState, StartLog, run_pipeline
from tradecore.streams.alpaca import AlpacaDecoder, AlpacaStream, format_timestamp
from tradecore.streams.base import EventKind
from tradecore.streams.recorder import Recorder, RecordingStream
from tradecore.tasks import start_task

__all__ = ["LiveResult", "run_live"]

_log = logging.getLogger("tradecore.live")
_SIM_KEY = "tradecore-sim"  # the embedded simulator accepts any keys; these are not secrets


@dataclass
class LiveResult:
    run_id: str
    folder: Path
    summary: PerformanceSummary
    events: int
    intents: int
    latency: dict[str, dict[str, float]]
    quarantined: dict[str, str]


def _scanner(config: Config, client: MarketDataClient, state: RunState, journal: Journal,
             clock: Any) -> Scanner:
    options = {"keep": state.holds_position, "journal": journal, "clock": clock}
    kind = config.scanner.kind
    if kind == "fixed":
        return FixedScanner(config.scanner.symbols, **options)
    if kind == "top_gainers":
        return TopGainersScanner(client, **options)
    filters = ScanFilters.from_mapping(config.scanner.filters)
    enrichment = EnrichmentCache(RestReferences(client))
    return PremarketScanner(SnapshotInputs(client), enrichment, filters, **options)


async def _warm_up(client: MarketDataClient, runner: SymbolRunner, now: int) -> np.ndarray | None:
    """History from the REST bars endpoint, through the strategies' own update code; return it."""
    day_start = now - (now % 86_400_000_000_000)
    try:
        history = await client.bars([runner.symbol], format_timestamp(day_start - 14 * 86_400_000_000_000),
                                    format_timestamp(now))
    except Exception as error:  # noqa: BLE001 - warm-up is best effort; the strategy says if not ready
        _log.warning("%s: no history for warm-up: %s", runner.symbol, error)
        return None
    rows = history.get(runner.symbol, [])
    if not rows:
        return None
    # REST bars carry the stream's bar fields: the stream decoder validates and converts them
    # (bad rows are counted and logged there, not trusted here).
    frame = json.dumps([{**row, "T": "b", "S": runner.symbol} for row in rows])
    batches = [b.events for b in AlpacaDecoder(encoding="json").decode(frame).batches
               if b.kind is EventKind.BAR]
    if not batches:
        return None
    bars = schema.concatenate(batches, schema.BAR)
    bars = np.ascontiguousarray(bars[bars["ts_end"] <= now])
    runner.engine.warm_up(bars)
    return bars


async def run_live(config: Config, *, duration: float | None = None, ui: bool = True,
                   record: Path | None = None, runs_root: Path | None = None,
                   console: Any = None) -> LiveResult:
    """Run live until ``duration`` wall seconds pass, the simulated session ends, or Ctrl-C."""
    from tradecore.sim.server import SimServer

    registry = RunRegistry(runs_root or config.run.runs_dir)
    run = registry.start_run("live", config.model_dump(), code_version())
    journal = Journal(run.journal_path)
    bus = EventBus()
    state = RunState.create(config, journal=journal, bus=bus)
    latency = LatencyStats()
    state.execution.latency = latency
    events = 0
    async with contextlib.AsyncExitStack() as stack:
        if config.market.provider == "sim":
            sim = await stack.enter_async_context(SimServer(
                seed=config.sim.seed, speed=config.sim.speed, symbols=config.sim.symbols, port=0,
                start=_start(config.sim.start)))
            stream_url, rest_url, keys = sim.stream_url, sim.rest_url, (_SIM_KEY, _SIM_KEY)
            clock = sim.market.now
            finished = sim.finished
        else:
            stream_url, rest_url = config.market.stream_url, config.market.rest_url
            keys = (os.environ.get("APCA_API_KEY_ID"), os.environ.get("APCA_API_SECRET_KEY"))
            clock, finished = time.time_ns, asyncio.Event()
        stream: Any = AlpacaStream(url=stream_url, key_id=keys[0], secret_key=keys[1],
                                   channels=("trades", "quotes", "statuses"), latency=latency)
        start_log = StartLog(record) if record is not None else None
        starts: dict[str, dict[str, Any]] = {}
        starts_written: list[dict[str, Any]] = []
        if record is not None:
            stream = RecordingStream(stream, Recorder(record))
        client = MarketDataClient(rest_url, key_id=keys[0], secret_key=keys[1])
        stack.push_async_callback(client.close)
        stack.push_async_callback(stream.close)
        scanner = _scanner(config, client, state, journal, clock)

        async def make_runner(symbol: str) -> SymbolRunner:
            for row in scanner.rows:
                if row.symbol == symbol and row.values.get("prior_close"):
                    state.prior_closes[symbol] = float(row.values["prior_close"])  # type: ignore[arg-type]
            engine = state.make_engine(symbol)
            runner = state.runner(symbol, engine)
            history = await _warm_up(client, runner, clock())
            if start_log is not None:  # so a backtest of the recording starts alike
                starts[symbol] = {"prior_close": state.prior_closes.get(symbol),
                                  "instrument_id": state.instruments[symbol],
                                  "warmup": start_log.save_history(len(starts_written), symbol, history)}
            return runner

        def on_change(action: str, symbol: str, after: int) -> None:
            if start_log is None:
                return
            entry = {"action": action, "symbol": symbol, "after": after, **starts.pop(symbol, {})}
            starts_written.append(entry)
            start_log.write(entry)

        state.manager = StrategyManager(stream, make_runner, bus, holds_position=state.holds_position,
                                        on_change=on_change)
        stop = asyncio.Event()
        tasks: set[asyncio.Task[Any]] = set()

        def count(batch: Any) -> None:
            nonlocal events
            events += len(batch)

        async def consume() -> None:
            await run_pipeline(state, stream, stop=stop, on_batch=count)

        async def scan_loop() -> None:
            interval = config.scanner.interval_seconds / max(config.sim.speed, 1e-9) \
                if config.market.provider == "sim" else config.scanner.interval_seconds
            while not stop.is_set():
                change = await scanner.update()
                await state.manager.update_universe(change.universe, clock())  # type: ignore[union-attr]
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)

        await stream.subscribe([])  # connect now: failures surface before any trading
        start_task(consume(), "tradecore.live.consume", owner=tasks, log=_log)
        start_task(scan_loop(), "tradecore.live.scan", owner=tasks, log=_log)
        ender = start_task(finished.wait(), "tradecore.live.session_end", owner=tasks, log=_log)
        dashboard = None
        if ui:
            from tradecore.dashboard import Dashboard

            dashboard = Dashboard(state, latency, clock, console=console)
            start_task(dashboard.run(stop), "tradecore.live.dashboard", owner=tasks, log=_log)
        try:
            await asyncio.wait({ender, *[t for t in tasks if t.get_name() == "tradecore.live.consume"]},
                               timeout=duration, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.set()
            # Scanning and consuming end first, so nothing subscribes to a closing stream.
            for task in list(tasks):
                if task.get_name() != "tradecore.live.dashboard":
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if start_log is not None:
                start_log.write({"action": "end", "symbol": "", "after": state.manager.dispatched})
            if config.execution.flatten_on_exit:
                try:
                    await state.pipeline.flatten(reason="shutdown")
                    for runner in (entry.runner for entry in state.manager.symbols.values()):
                        await runner._consume(runner.engine.native.drain())  # the flattening fills
                except Exception as error:  # noqa: BLE001 - report it; the run's record must still close
                    _log.error("flattening at shutdown failed: %s", error)
                    journal.error(clock(), f"flattening at shutdown failed: {error}", where="shutdown")
            await state.manager.close()
            await stream.close()
    for record in latency.records():  # one histogram per stage
        journal.append("latency", clock(), record)
    journal.flush()
    summary = summarize(executions_from_journal(journal),
                        starting_equity=config.execution.starting_cash)
    metrics = {**summary.to_dict(), "events": events, "intents": state.execution.intents}
    registry.finish_run(run.id, metrics)
    journal.close()
    registry.close()
    return LiveResult(run.id, run.folder, summary, events, state.execution.intents, latency.summary(),
                      dict(state.manager.quarantined) if state.manager else {})


def _start(text: str) -> int | None:
    """A session start in New York time ("YYYY-MM-DD HH:MM"), or None for the default."""
    if not text:
        return None
    import pandas as pd

    return int(pd.Timestamp(text, tz="America/New_York").tz_convert("UTC").value)

