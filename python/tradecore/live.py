"""``tradecore live``: the pipeline on a live stream, the embedded simulator by default.

With no configuration it starts the simulator in a child process on loopback
(:mod:`tradecore.sim.process`: generating the market and serving its REST never hold this
process's event loop), connects to it with the real Alpaca stream client and REST client,
scans the premarket, trades ``premarket_momentum`` on the paper venue and shows a terminal
dashboard. Every run gets an id, a folder with its config and journal, and a row in the run
registry.

``market.stream = "polygon"`` takes the market data from a Polygon/Massive stream instead (key
from ``MASSIVE_API_KEY`` / ``POLYGON_API_KEY``, checked before the run opens); scans and history
still come from the Alpaca-protocol REST at ``market.rest_url``.

``execution.broker = "alpaca"`` trades through :class:`~tradecore.execution.alpaca.AlpacaBroker`
(REST + ``trade_updates``) at ``market.trading_url``; with the simulator as provider and no URL,
the embedded simulator mounts its trading endpoints and orders go over loopback. ``resume``
takes a crashed run over (:mod:`tradecore.resume`).

A market clock ticks every active symbol every ``clock.interval_seconds`` of market time (the
simulator's clock, or the wall clock against a vendor), so bars close and time rules fire
without data; ``record`` keeps the ticks for the backtest of the recording
(:mod:`tradecore.clock`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from tradecore.analysis.summary import PerformanceSummary, executions_from_journal, summarize
from tradecore.bars import parse_period
from tradecore.bus import EventBus
from tradecore.calendar import new_york_date, new_york_time
from tradecore.clock import ClockLog, MarketClock
from tradecore.config import Config
from tradecore.errors import ConfigError
from tradecore.execution.broker import Broker
from tradecore.execution.market import to_decimal
from tradecore.health import ENTRY_RULE, FeedMonitor, rest_bars
from tradecore.journal.journal import Journal
from tradecore.journal.registry import RunInfo, RunRegistry, code_version, end_failed_run
from tradecore.latency import LatencyStats, quiet_gc
from tradecore.pipeline import StrategyManager, SymbolRunner
from tradecore.resume import (
    INHERITED_RULE,
    ResumeReport,
    adopt_position,
    block_inherited,
    cancel_refused_entries,
    check_fills,
    reconcile,
    save_resume_point,
)
from tradecore.scanners import MarketDataClient, build_scanner
from tradecore.session import RunState, StartLog, flatten_at_shutdown, run_pipeline
from tradecore.streams.alpaca import AlpacaStream
from tradecore.streams.base import EventBatch, GroupedBatch
from tradecore.streams.polygon import DEFAULT_URL as POLYGON_URL
from tradecore.streams.polygon import PolygonStream, environment_key
from tradecore.streams.recorder import Recorder, RecordingStream
from tradecore.tasks import start_task

__all__ = ["INHERITED_RULE", "LiveResult", "run_live"]

if TYPE_CHECKING:
    from tradecore.sim.process import SimProcess

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
    resumed: ResumeReport | None = None
    fill_check: dict[str, Any] | None = None  # journal vs broker fills at the end (broker = "alpaca")
    ticks: int = 0  # market clock ticks given to the symbols
    unsent: dict[str, str] = field(default_factory=dict)  # positions shutdown could not close: why
    data_range: tuple[int, int] | None = None  # market time (ns UTC) trading began and ended


async def _warm_up(client: MarketDataClient, runner: SymbolRunner, now: int) -> np.ndarray | None:
    """History from the REST bars endpoint, through the strategies' own update code; return it."""
    day_start = now - (now % 86_400_000_000_000)
    try:
        bars = await rest_bars(client, runner.symbol, day_start - 14 * 86_400_000_000_000, now + 1)
    except Exception as error:  # noqa: BLE001 - warm-up is best effort; the strategy says if not ready
        _log.warning("%s: no history for warm-up: %s", runner.symbol, error)
        return None
    bars = np.ascontiguousarray(bars[bars["ts_end"] <= now])
    if not len(bars):
        return None
    runner.engine.warm_up(bars)
    return bars


def _open_run(registry: RunRegistry, config: Config, resume: str | None
              ) -> tuple[RunInfo, Config, IO[str]]:
    """A new live run, or the run to resume with its own configuration; and the run's lock."""
    if resume is None:
        run = registry.start_run("live", config.model_dump(), code_version())
        return run, config, _lock(run)
    info = registry.resumable("live", resume)
    try:
        saved = Config.model_validate(info.parameters)
    except ValueError as error:
        raise ConfigError(f"run {info.id}: its saved config no longer validates: {error}") from None
    lock = _lock(info)
    return registry.reopen(info.id), saved, lock


def _lock(run: RunInfo) -> IO[str]:
    """Hold the run's lock file for as long as this process runs it (the kernel releases it
    when the process dies, even by kill -9): two processes never write one journal."""
    lock = (run.folder / "live.lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip()
        lock.close()
        raise ConfigError(f"run {run.id} is still running (process {holder or '?'}): "
                          "stop it before resuming") from None
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


def _sim_starting_cash(config: Config) -> str | None:
    """The cash of the simulator's trading endpoints, when it is the broker (provider sim, no
    trading URL); None: it serves no Trading API."""
    if config.execution.broker != "alpaca" or config.market.trading_url:
        return None
    return str(config.execution.starting_cash)


def _broker(config: Config, trading_url: str, keys: tuple[str | None, str | None]) -> Broker | None:
    """The configured broker: None for the paper venue inside the engines."""
    if config.execution.broker == "paper":
        return None
    from tradecore.execution.alpaca import PAPER_URL, AlpacaBroker

    return AlpacaBroker(base_url=trading_url or PAPER_URL, key_id=keys[0], secret_key=keys[1])


async def _connect_broker(state: RunState, journal: Journal, now: int, *, resume: bool,
                          run_id: str) -> ResumeReport | None:
    """Bring the account up to date before trading: the broker's figures for a fresh run; for
    a resume, the journal reconciled with the broker (a broker outside the process is asked
    over REST first, then its update stream connects and replays what changed in between)."""
    broker = state.broker
    report = None
    if resume:
        journal.resumed(now, broker=state.config.execution.broker, details={"run_id": run_id})
        report = await reconcile(journal, state.pipeline, paper=state.paper, now=now,
                                 starting_cash=to_decimal(state.config.execution.starting_cash))
    if state.paper:
        return report
    connect = getattr(broker, "connect", None)
    if connect is not None:
        await connect()
    if not resume:
        await state.pipeline.sync_from_broker()
    elif (resync := getattr(broker, "resync", None)) is not None:
        await resync()
    await state.pipeline.drain()
    return report


async def _settle(state: RunState, timeout: float) -> None:
    """Wait until the broker has reported on every order sent (at shutdown, after flattening)."""
    deadline = time.monotonic() + timeout
    while state.pipeline.open_order_ids and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        await state.pipeline.drain()
    if state.pipeline.open_order_ids:
        _log.warning("%d orders still open at the broker after %.0f s", len(state.pipeline.open_order_ids),
                     timeout)


async def _restart_symbols(state: RunState, symbols: list[str], journal: Journal, now: int) -> None:
    """Start a runner for every resumed symbol with a position or an open order (a symbol that
    cannot start is journaled; its position stays held by the account)."""
    assert state.manager is not None
    for symbol in symbols:
        if symbol in state.manager.symbols:
            continue
        try:
            await state.manager.start_symbol(symbol)
        except Exception as error:  # noqa: BLE001 - one symbol must not stop the resume
            _log.error("resume: %s could not restart: %s", symbol, error)
            journal.error(now, f"resume: {symbol} could not restart: {error}", symbol=symbol, where="resume")


async def _check_broker_fills(state: RunState, journal: Journal, now: int) -> dict[str, Any] | None:
    """Wait for the broker's last reports, then compare its fills with the journal's (journaled)."""
    await _settle(state, timeout=10.0)
    try:
        check = await check_fills(journal, state.broker)
    except Exception as error:  # noqa: BLE001 - the run's record must still close
        journal.error(now, f"end-of-run fill check failed: {error}", where="shutdown")
        return None
    mismatched = len(check["mismatches"])
    journal.reconciliation(now, "end_check", f"{check['orders']} orders sent by this run: "
                           + (f"{mismatched} differ from the broker's fills" if mismatched
                              else "journal fills equal the broker's"), details=check)
    return check


async def _prior_close(client: MarketDataClient, symbol: str) -> dict[str, float]:
    """The previous session's close from a snapshot (best effort)."""
    try:
        snapshot = (await client.snapshots([symbol])).get(symbol) or {}
    except Exception as error:  # noqa: BLE001 - the strategy says if it needs it
        _log.warning("%s: no snapshot for the prior close: %s", symbol, error)
        return {}
    previous = snapshot.get("prevDailyBar") or {}
    return {symbol: float(previous["c"])} if previous.get("c") else {}


async def run_live(config: Config, *, duration: float | None = None, ui: bool = True,
                   record: Path | None = None, runs_root: Path | None = None,
                   console: Any = None, resume: str | None = None,
                   max_events: int | None = None) -> LiveResult:
    """Run live until ``duration`` wall seconds pass, ``max_events`` events were delivered (a
    fixed amount of work however loaded the machine), the simulated session ends, or Ctrl-C /
    SIGTERM (a second one interrupts the shutdown: the run is then registered interrupted).

    ``resume``: take over a crashed live run ("" = the most recent unfinished one): same run
    id, folder and journal (appended), the run's own saved configuration; see
    :mod:`tradecore.resume`.
    """
    polygon_key = _polygon_key(config)  # a missing key fails before a run opens
    if record is not None:
        StartLog.check_fresh(record)  # so does a recording folder already used
    registry = RunRegistry(runs_root or config.run.runs_dir or None)
    try:
        run, config, lock = _open_run(registry, config, resume)
    except BaseException:
        registry.close()
        raise
    # From here on the run is registered: however it ends, the registry says how.
    journal: Journal | None = None
    try:
        if resume is not None:  # the resumed run's own config says which stream
            polygon_key = _polygon_key(config)
        journal = Journal(run.journal_path)
        result, metrics = await _trade(config, run, journal, ui=ui, duration=duration, record=record,
                                       console=console, resume=resume, max_events=max_events,
                                       polygon_key=polygon_key,
                                       began=lambda now: registry.note_data_start(run.id, now))
        registry.finish_run(run.id, metrics, data_range=result.data_range)
        journal.close()
        return result
    except BaseException as error:
        hidden = (os.environ.get("APCA_API_KEY_ID"), os.environ.get("APCA_API_SECRET_KEY"), polygon_key)
        status = end_failed_run(registry, run.id, error, journal=journal, now=time.time_ns(), hidden=hidden,
                                metrics=_summary_metrics(journal, config))
        error.add_note(f"run {run.id} {status}; journal: {run.journal_path}"
                       + (f" (take it over with `tradecore live --resume {run.id}`)" if status == "failed" else ""))
        raise
    finally:
        registry.close()
        lock.close()


def _summary(journal: Journal, config: Config, period: tuple[int, int] | None = None) -> PerformanceSummary:
    """The performance summary of what the run's journal holds (flushed first); ``period``: the
    market time it traded over, exposure's denominator (default: first to last fill)."""
    journal.flush()
    start, end = period if period is not None else (None, None)
    return summarize(executions_from_journal(journal), starting_equity=config.execution.starting_cash,
                     period_start=start, period_end=end)


def _summary_metrics(journal: Journal | None, config: Config) -> dict[str, Any]:
    """The performance summary of what a failed run traded (best effort: the failure may be
    the journal's)."""
    if journal is None:
        return {}
    try:
        return _summary(journal, config).to_dict()
    except Exception:  # noqa: BLE001 - the error being recorded matters more than the summary
        return {}


async def _trade(config: Config, run: RunInfo, journal: Journal, *, ui: bool, duration: float | None,
                 record: Path | None, console: Any, resume: str | None, max_events: int | None,
                 polygon_key: str | None, began: Callable[[int], None]) -> tuple[LiveResult, dict[str, Any]]:
    """The run itself; return its result and the metrics to register (``began``: told the
    market time trading begins)."""
    bus = EventBus()
    latency = LatencyStats()
    events = 0
    resumed: ResumeReport | None = None
    fill_check: dict[str, Any] | None = None
    unsent: dict[str, str] = {}
    async with contextlib.AsyncExitStack() as stack:
        if config.market.provider == "sim":
            if ui and console is None:  # the fast-forward's note, then the dashboard
                from rich.console import Console

                console = Console()
            # A resumed run's market goes on from where the crashed process left it, not back
            # to the join time: the journal's latest record says where that was.
            sim = await stack.enter_async_context(_simulator(
                config, console if ui else None, resume_at=_latest(journal) if resume is not None else None))
            keys: tuple[str | None, str | None] = (_SIM_KEY, _SIM_KEY)
            stream_url, rest_url = sim.stream_url, sim.rest_url
            trading_url = config.market.trading_url or sim.rest_url
            clock = sim.now
            finished = sim.finished
            simulator: SimProcess | None = sim
        else:
            stream_url, rest_url = config.market.stream_url, config.market.rest_url
            trading_url = config.market.trading_url
            keys = (os.environ.get("APCA_API_KEY_ID"), os.environ.get("APCA_API_SECRET_KEY"))
            clock, finished = time.time_ns, asyncio.Event()
            simulator = None
        broker = _broker(config, trading_url, keys)
        if broker is not None:
            stack.push_async_callback(broker.close)
        # Every process gets its own client order id prefix: a resumed run must never reuse an id.
        state = RunState.create(config, journal=journal, bus=bus, broker=broker,
                                order_prefix="tc" + secrets.token_hex(4))
        state.execution.latency = latency
        resumed = await _connect_broker(state, journal, clock(), resume=resume is not None, run_id=run.id)
        client = MarketDataClient(rest_url, key_id=keys[0], secret_key=keys[1])
        stack.push_async_callback(client.close)
        health = None
        if config.health.enabled:
            health = FeedMonitor(config.health, bus=bus, journal=journal,
                                 clock=clock, bar_period_ns=parse_period(config.strategy.bar_period),
                                 history=lambda symbol, start, end: rest_bars(client, symbol, start, end))
            state.gate.add_rule(ENTRY_RULE, health.entry_block)
        stream: Any = _market_stream(config, stream_url, keys, polygon_key, latency=latency,
                                     on_gap=health.on_gap if health is not None else None)
        start_log = StartLog(record) if record is not None else None
        starts: dict[str, dict[str, Any]] = {}
        starts_written: list[dict[str, Any]] = []
        if record is not None:
            stream = RecordingStream(stream, Recorder(record))
            if resumed is not None:  # the account the backtest of the recording must start from
                save_resume_point(record, journal, state.tracker, to_decimal(config.execution.starting_cash))
        stack.push_async_callback(stream.close)
        scanner = build_scanner(config.scanner, client=client, keep=state.holds_position,
                                journal=journal, clock=clock)
        # Positions, and entry orders still working with nothing filled yet.
        to_adopt = set(resumed.symbols) if resumed is not None else set()

        async def make_runner(symbol: str) -> SymbolRunner:
            for row in scanner.rows:
                if row.symbol == symbol and row.values.get("prior_close"):
                    state.prior_closes[symbol] = float(row.values["prior_close"])  # type: ignore[arg-type]
            if symbol not in state.prior_closes:  # a resumed symbol the scanner has not seen
                state.prior_closes.update(await _prior_close(client, symbol))
            engine = state.make_engine(symbol)
            runner = state.runner(symbol, engine)
            history = await _warm_up(client, runner, clock())
            adoption = None
            if symbol in to_adopt and resumed is not None:  # once: its first start after the resume
                to_adopt.discard(symbol)
                adopt_position(state, runner, resumed, journal, clock(), history)  # in resumed.adoptions
                adoption = {"adopted": resumed.adoptions[symbol][0], "args": resumed.adoption_args.get(symbol)}
            if health is not None:
                health.track(symbol)
                runner.hooks.append(health)
            if start_log is not None:  # so a backtest of the recording starts alike
                starts[symbol] = {"prior_close": state.prior_closes.get(symbol),
                                  "instrument_id": state.instruments[symbol],
                                  "warmup": start_log.save_history(len(starts_written), symbol, history),
                                  **({"adoption": adoption} if adoption is not None else {})}
            return runner

        def on_change(action: str, symbol: str, after: int) -> None:
            if start_log is None:
                return
            entry = {"action": action, "symbol": symbol, "after": after, **starts.pop(symbol, {})}
            starts_written.append(entry)
            start_log.write(entry)

        state.manager = StrategyManager(stream, make_runner, bus, holds_position=state.holds_position,
                                        on_change=on_change, on_quarantine=state.quarantined)
        stop = asyncio.Event()
        tasks: set[asyncio.Task[Any]] = set()

        def count(part: EventBatch | GroupedBatch) -> None:
            nonlocal events
            events += len(part)
            if max_events is not None and events >= max_events:
                stop.set()
            if health is not None:
                if isinstance(part, GroupedBatch):
                    health.observe_grouped(part)
                else:
                    health.observe(part)

        market_clock = None
        if config.clock.interval_ns:
            # Ticks follow market time: the simulator's session clock runs `speed` times the wall's.
            speed = config.sim.speed if config.market.provider == "sim" else 1.0
            on_tick = None
            if record is not None:
                clock_log = ClockLog(record)
                stack.callback(clock_log.close)
                manager = state.manager
                assert manager is not None
                on_tick = lambda at: clock_log.write(at, manager.dispatched, len(starts_written))
            market_clock = MarketClock(config.clock.interval_ns, clock, speed=speed,
                                       delay=config.clock.delay_seconds, on_tick=on_tick)

        async def consume() -> None:
            await run_pipeline(state, stream, stop=stop, on_batch=count, on_group=count,
                               clock=market_clock)

        async def scan_loop() -> None:
            interval = config.scanner.interval_seconds / max(config.sim.speed, 1e-9) \
                if config.market.provider == "sim" else config.scanner.interval_seconds
            failures = 0
            while not stop.is_set():
                try:
                    change = await scanner.update()
                except Exception as error:  # noqa: BLE001 - a failed scan (REST 5xx, a timeout) is retried
                    # The universe stays as it was; the symbols trading keep trading.
                    failures += 1
                    _log.error("scan failed (%d in a row; the universe stays as it was): %s", failures, error)
                    journal.error(clock(), f"scan failed: {error}", where="scan", error_type=type(error).__name__)
                else:
                    failures = 0
                    await state.manager.update_universe(change.universe, clock())  # type: ignore[union-attr]
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)

        await stream.subscribe([])  # connect now: failures surface before any trading
        stack.enter_context(quiet_gc())  # set up: from here on no collection may pause the feed for ms
        dashboard = None
        if ui:  # before the resumed symbols start: it shows their adoptions
            from tradecore.dashboard import Dashboard

            dashboard = Dashboard(state, latency, clock, console=console)
        if resumed is not None:
            await _restart_symbols(state, resumed.symbols, journal, clock())
            # Before any event reaches an engine: nothing trades on an unmanaged position.
            adopted = {s for s, (taken, _) in resumed.adoptions.items() if taken}
            canceling = await cancel_refused_entries(state, resumed, journal, clock())
            block_inherited(state, {s: q for s, q in resumed.positions.items() if s not in adopted}, canceling)
        # The run cannot go on without these: one that fails ends the run as failed.
        vital = [start_task(consume(), "tradecore.live.consume", owner=tasks, log=_log)]
        if not state.paper:  # broker events reach the journal as they arrive, not at the next tick
            vital.append(start_task(state.pipeline.run(), "tradecore.live.broker_events", owner=tasks, log=_log))
        if simulator is not None:  # a simulator that dies fails the run (after the usual shutdown)
            vital.append(start_task(simulator.serving(), "tradecore.live.simulator", owner=tasks, log=_log))
        start_task(scan_loop(), "tradecore.live.scan", owner=tasks, log=_log)
        if health is not None:
            start_task(health.run(stop, frames=lambda: stream.stats.get("frames", 0),
                                  active=lambda: state.manager.symbols if state.manager else ()),
                       "tradecore.live.health", owner=tasks, log=_log)
        ender = start_task(finished.wait(), "tradecore.live.session_end", owner=tasks, log=_log)
        if dashboard is not None:
            start_task(dashboard.run(stop), "tradecore.live.dashboard", owner=tasks, log=_log)
        else:  # --no-ui: what the dashboard's activity would show, as log lines
            from tradecore.dashboard import log_activity

            start_task(log_activity(bus, stop, _log), "tradecore.live.activity", owner=tasks, log=_log)
        start = clock()
        began(start)
        # Ctrl-C or SIGTERM (a service manager's stop) ends the run as its duration would:
        # flattened as configured, summarised, registered finished. A second one interrupts that.
        asked_to_stop = asyncio.Event()
        stopper = start_task(asked_to_stop.wait(), "tradecore.live.stop_signal", owner=tasks, log=_log)
        caught = _catch_stop_signals(asked_to_stop)
        try:
            await asyncio.wait({ender, stopper, *vital}, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
        finally:
            _release_stop_signals(caught)
            stop.set()
            ended = clock()
            # Scanning and consuming end first, so nothing subscribes to a closing stream.
            for task in list(tasks):
                if task.get_name() not in ("tradecore.live.dashboard", "tradecore.live.activity"):
                    task.cancel()  # (those two show the last events, then end by themselves)
            await asyncio.gather(*tasks, return_exceptions=True)
            if start_log is not None:
                start_log.write({"action": "end", "symbol": "", "after": state.manager.dispatched})
            # Shutdown is bounded: a broker that stops answering must not hold the run open.
            limit = config.execution.shutdown_timeout_seconds
            # What was received is processed first (a backtest of the recording flattens after
            # the last recorded event too); close() reports any symbol still busy after the limit.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(state.manager.drain(), limit)
            if config.execution.flatten_on_exit:
                try:
                    await asyncio.wait_for(flatten_at_shutdown(state, unsent), limit)
                except Exception as error:  # noqa: BLE001 - report it; the run's record must still close
                    error_text = str(error) or f"no answer within {limit} s"
                    _log.error("flattening at shutdown failed: %s", error_text)
                    journal.error(clock(), f"flattening at shutdown failed: {error_text}", where="shutdown")
            cut = await state.manager.close(timeout=limit)
            if cut:
                message = f"shutdown: {len(cut)} symbols still busy after {limit} s were cut off: {cut}"
                _log.error("%s", message)
                journal.error(clock(), message, where="shutdown")
            await stream.close()
            if not state.paper:
                fill_check = await _check_broker_fills(state, journal, clock())
        for task in vital:  # shut down as usual, then fail with the task's error
            if task.done() and not task.cancelled() and (failure := task.exception()) is not None:
                raise failure
    for histogram in latency.records():  # one histogram per stage
        journal.append("latency", clock(), histogram)
    # Exposure over the run's span: from when it began trading (a resumed run: its first record,
    # in the crashed process) to its last record (the shutdown's flattening included).
    journal.flush()
    first, last = journal.ts_span() or (start, ended)
    summary = _summary(journal, config, (min(start, first), max(ended, last)))
    metrics = {**summary.to_dict(), "events": events, "intents": state.execution.intents}
    return LiveResult(run.id, run.folder, summary, events, state.execution.intents, latency.summary(),
                      dict(state.manager.quarantined) if state.manager else {}, resumed, fill_check,
                      state.manager.ticks if state.manager else 0, unsent, (start, ended)), metrics


def _catch_stop_signals(asked: asyncio.Event) -> list[signal.Signals]:
    """Set ``asked`` on SIGINT and SIGTERM instead of their default; return the signals caught
    (none outside the main thread, where handlers cannot be installed)."""
    loop = asyncio.get_running_loop()
    caught = []
    for number in (signal.SIGINT, signal.SIGTERM):

        def stop(name: str = number.name) -> None:
            _log.warning("%s: stopping the run (again to interrupt the shutdown)", name)
            asked.set()

        try:
            loop.add_signal_handler(number, stop)
        except (RuntimeError, ValueError, NotImplementedError):  # not the main thread, or no signals
            continue
        caught.append(number)
    return caught


def _release_stop_signals(caught: list[signal.Signals]) -> None:
    loop = asyncio.get_running_loop()
    for number in caught:
        loop.remove_signal_handler(number)  # SIGINT raises KeyboardInterrupt again, SIGTERM ends the process


def _polygon_key(config: Config) -> str | None:
    """The Polygon key from the environment when the stream is Polygon's, else None."""
    return environment_key() if config.market.stream == "polygon" else None


def _market_stream(config: Config, url: str, keys: tuple[str | None, str | None],
                   polygon_key: str | None, **options: Any) -> AlpacaStream | PolygonStream:
    """The market-data stream of ``market.stream``: Alpaca's protocol (the embedded simulator
    speaks it) with ``keys``, or Polygon's with its key."""
    if config.market.stream == "polygon":
        return PolygonStream(url=url or POLYGON_URL, api_key=polygon_key, channels=("T", "Q"),
                             **options)
    return AlpacaStream(url=url, key_id=keys[0], secret_key=keys[1],
                        channels=("trades", "quotes", "statuses"), **options)


def _simulator(config: Config, console: Any, resume_at: int | None = None) -> SimProcess:
    """The embedded simulator (in a process of its own: :mod:`tradecore.sim.process`), joined
    at ``sim.live_from`` of its session, or at ``resume_at`` (ns UTC) if later (``console``:
    where to say so, None: the log only)."""
    from tradecore.sim.generator import default_start, new_york_ns
    from tradecore.sim.process import SimOptions, SimProcess

    start = _start(config.sim.start) or default_start()  # decided here: the child must not guess it again
    until = new_york_ns(new_york_date(start), config.sim.live_from) if config.sim.live_from else 0
    until = max(until, resume_at or 0)
    if until > start:
        note = (f"simulating the session up to {new_york_time(until)} New York ({config.sim.symbols} "
                "symbols) before joining it live")
        _log.info(note)
        if console is not None:
            console.print(note + "...")
    return SimProcess(SimOptions(seed=config.sim.seed, symbols=config.sim.symbols, speed=config.sim.speed,
                                 start=start, until=until, starting_cash=_sim_starting_cash(config)))



def _latest(journal: Journal) -> int | None:
    """The latest event time a journal holds (where a resumed run's market goes on from)."""
    span = journal.ts_span()
    return None if span is None else span[1]


def _start(text: str) -> int | None:
    """A session start in New York time ("YYYY-MM-DD HH:MM"), or None for the default."""
    if not text:
        return None
    import pandas as pd

    return int(pd.Timestamp(text, tz="America/New_York").tz_convert("UTC").value)

