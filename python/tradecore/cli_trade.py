"""``tradecore live`` and ``tradecore backtest``."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tradecore.config import SCANNER_KINDS, Config, load_config
from tradecore.errors import DataError, Error

if TYPE_CHECKING:
    from tradecore.analysis.summary import PerformanceSummary
    from tradecore.journal.journal import Journal
    from tradecore.streams.base import EventBatch

__all__ = ["backtest", "live"]

_KINDS = "trade,quote"  # what a backtest of market data replays by default


def _config(path: Path | None, **overrides: dict[str, Any]) -> Config:
    """The configuration at ``path`` with the command line's ``overrides`` (sections of
    fields; None values left out); an invalid one is the CLI's one-line error."""
    try:
        return load_config(path).with_overrides(**overrides)
    except Error as error:
        raise click.ClickException(str(error)) from None


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Run configuration (TOML); see `python -c 'import tradecore.config as c; print(c.__doc__)'`.")
@click.option("--duration", type=float, default=None,
              help="Wall-clock seconds to run (default: until the simulated session ends or Ctrl-C).")
@click.option("--speed", type=float, default=None, help="Simulator speed: simulated seconds per wall second.")
@click.option("--seed", type=int, default=None, help="Simulator seed (same seed, same session).")
@click.option("--symbols", type=int, default=None, help="Simulated universe size.")
@click.option("--no-ui", is_flag=True, help="No dashboard: log lines only (for scripts and CI).")
@click.option("--record", type=click.Path(file_okay=False, path_type=Path),
              help="Record what the stream delivered to this folder (replay it with `tradecore backtest FOLDER`).")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where runs are kept (default: ./runs or $TRADECORE_RUNS).")
@click.option("--resume", "resume", is_flag=False, flag_value="", default=None, metavar="[RUN_ID]",
              help="Take over a live run whose process died (default: the most recent unfinished "
                   "one): same run id and journal, its saved config; open orders and positions are "
                   "restored from the journal and reconciled with the broker.")
def live(config_path: Path | None, duration: float | None, speed: float | None, seed: int | None,
         symbols: int | None, no_ui: bool, record: Path | None, runs_dir: Path | None,
         resume: str | None) -> None:
    """Trade live: by default the embedded market simulator, premarket_momentum, paper fills.

    Starts the simulator in a child process on loopback (no account, no network), connects the real
    Alpaca stream and REST clients to it, scans the premarket, starts one engine per symbol the
    scanner picks, routes intents through risk checks to the paper venue, and shows a dashboard.
    Everything is journaled under the run's folder; `tradecore runs` lists past runs.

    With `execution.broker = "alpaca"` orders go to the Alpaca Trading API at
    `market.trading_url` (keys from APCA_API_KEY_ID / APCA_API_SECRET_KEY); with the embedded
    simulator and no trading URL, to the simulator's own trading endpoints.

    Against a vendor (`market.provider = "alpaca"`), `market.stream = "polygon"` takes the market
    data from Polygon/Massive (key from MASSIVE_API_KEY or POLYGON_API_KEY) instead of Alpaca's
    stream; scans and history still use the Alpaca REST API at `market.rest_url`.
    """
    from tradecore.live import run_live

    if resume is not None and (config_path or speed or seed or symbols):
        raise click.UsageError("--resume runs with the resumed run's saved config: "
                               "drop --config, --speed, --seed and --symbols")
    config = _config(config_path, sim={"speed": speed, "seed": seed, "symbols": symbols})
    logging.basicConfig(level=logging.INFO if no_ui else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        result = asyncio.run(run_live(config, duration=duration, ui=not no_ui, record=record, runs_root=runs_dir,
                                      resume=resume))
    except KeyboardInterrupt:
        raise click.ClickException("interrupted") from None
    except Error as error:  # the message, and which run failed (a note added by run_live)
        raise click.ClickException("\n".join([str(error), *getattr(error, "__notes__", ())])) from None
    if result.resumed is not None:
        click.echo(f"resumed run {result.run_id}: {len(result.resumed.findings)} reconciliation findings")
        for finding in result.resumed.findings:
            click.echo(f"  {finding.message}")
        for symbol, (adopted, reason) in result.resumed.adoptions.items():
            click.echo(f"  {symbol}: {'adopted' if adopted else 'not adopted'}: {reason}")
    click.echo(f"run {result.run_id}: {result.events:,} events, {result.intents} intents")
    if result.fill_check is not None:
        mismatched = len(result.fill_check["mismatches"])
        click.echo(f"broker check: {result.fill_check['orders']} orders, "
                   + (f"{mismatched} fill mismatches" if mismatched else "journal fills equal the broker's"))
    click.echo(result.summary.format())
    for symbol, why in result.unsent.items():
        click.echo(f"left open {symbol}: the closing order was not sent: {why}")
    for stage, figures in result.latency.items():
        click.echo(f"latency {stage}: p50 {figures['p50_us']:.0f} µs, p99 {figures['p99_us']:.0f} µs")
    for symbol, reason in result.quarantined.items():
        click.echo(f"quarantined {symbol}: {reason}")
    click.echo(f"journal: {result.folder}")


@click.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--symbols", default="", help="Comma-separated symbols (default: all in a recording).")
@click.option("--kinds", default=None, help=f"Datasets to replay (default: {_KINDS}; a recording: all).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--strategy", type=click.Choice(["ema_cross", "premarket_momentum", "vwap_reclaim"]), default=None)
@click.option("--scanner", "scanner_kind", type=click.Choice(SCANNER_KINDS),
              default="fixed", show_default=True,
              help="fixed: trade every symbol from the start. premarket, top_gainers: the "
              "symbols are candidates, and the scanner picks the universe among them every "
              "[scanner] interval_seconds of replay time, with the [scanner] filters of --config, "
              "seeing only the data before each scan (no look-ahead).")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def backtest(source: Path, symbols: str, kinds: str | None, config_path: Path | None, strategy: str | None,
             scanner_kind: str, runs_dir: Path | None) -> None:
    """Replay SOURCE through the same engine at full speed and print a performance summary.

    SOURCE is a LEAN Data folder, a folder imported with `tradecore data import`, or a
    recording made by `tradecore live --record` (which replays the universe it recorded).

    A scanner-driven backtest: `tradecore backtest DATA --symbols aig,bac,ibm --scanner
    top_gainers --config run.toml`, with e.g. `[scanner] interval_seconds = 600` and
    `filters = {max_symbols = 1, min_gap_percent = 0.5}` in run.toml. The gap needs the
    source's daily bars (the prior close); every universe change is journaled.
    """
    from rich.progress import BarColumn, Progress, TextColumn

    from tradecore.journal.journal import Journal
    from tradecore.journal.registry import RunRegistry, code_version, end_failed_run
    from tradecore.session import backtest as run_backtest
    from tradecore.session import backtest_recording
    from tradecore.streams.recorder import RecordingSource
    from tradecore.streams.replay import LeanSource, ParquetSource

    scanned = scanner_kind != "fixed"
    config = _config(config_path, strategy={"name": strategy},
                     scanner={"kind": scanner_kind if scanned else None})
    replay_source: RecordingSource | LeanSource | ParquetSource | None
    if (source / "universe.jsonl").is_file():
        # Its universe changes and clock ticks sit at counts of all its events, and its symbols
        # shared one account: a part of it would not be the run it recorded.
        given = [name for name, value in (("--symbols", symbols), ("--kinds", kinds), ("--scanner", scanned))
                 if value]
        if given:
            raise click.UsageError("a recording of `tradecore live` replays the universe and data it "
                                   f"recorded, and replays it whole: drop {' and '.join(given)}")
        replay_source, datasets = None, None  # a live recording: started and stopped as it was
    elif (source / "recording.json").is_file():
        replay_source, datasets = RecordingSource(source), None
    elif (source / "equity").is_dir():
        replay_source, datasets = LeanSource(source), (kinds or _KINDS).split(",")
    else:
        replay_source, datasets = ParquetSource(source), (kinds or _KINDS).split(",")
    wanted = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    if not wanted and replay_source is not None:
        wanted = _recorded_symbols(replay_source)
    if not wanted and replay_source is not None:
        raise click.ClickException("no symbols: pass --symbols")
    registry = RunRegistry(runs_dir or config.run.runs_dir or None)
    run = registry.start_run("backtest", {**config.model_dump(), "source": str(source), "symbols": wanted},
                             code_version())
    journal = Journal(run.journal_path, synchronous="NORMAL")
    started = time.perf_counter()
    span: list[int] = []  # the first and last event time replayed (ns UTC)
    try:
        with Progress(TextColumn("replaying"), BarColumn(bar_width=None),
                      TextColumn("{task.completed:,.0f} events"), transient=True) as progress:
            task = progress.add_task("replay", total=None)

            def advance(batch: EventBatch) -> None:
                progress.advance(task, len(batch))
                if len(batch):
                    times = batch.events["ts_event"]
                    if span:
                        span[1] = max(span[1], int(times.max()))
                    else:
                        span.extend((int(times.min()), int(times.max())))

            if replay_source is None:
                state, events = asyncio.run(backtest_recording(config, source, journal=journal,
                                                               on_batch=advance))
            else:
                state, events = asyncio.run(run_backtest(
                    config, replay_source, wanted, datasets=datasets or replay_source.datasets(),
                    journal=journal, on_batch=advance, scanned=scanned))
        if not events:  # a run over no data is no result: it fails, with what to check
            what = (f" for {', '.join(wanted)}" if wanted else "") + (f" ({', '.join(datasets)})" if datasets else "")
            raise DataError(f"no events to replay from {source}{what}: check the folder and --symbols, --kinds")
    except BaseException as error:  # what was replayed before the error stays in the journal
        try:
            metrics = _performance(journal, config, span).to_dict()
        except Exception:  # noqa: BLE001 - the journal may be what failed; the error matters more
            metrics = {}
        status = end_failed_run(registry, run.id, error, journal=journal, now=time.time_ns(), metrics=metrics)
        where = f"run {run.id} {status}; journal: {run.journal_path}"
        if isinstance(error, (Error, KeyboardInterrupt)):
            message = "interrupted" if isinstance(error, KeyboardInterrupt) else str(error)
            raise click.ClickException(f"{message}\n{where}") from None
        # Anything else is a defect or Ctrl-C: its traceback is what to look at.
        error.add_note(where)
        raise
    elapsed = time.perf_counter() - started
    summary = _performance(journal, config, span)
    registry.finish_run(run.id, {**summary.to_dict(), "events": events, "events_per_s": events / elapsed},
                        data_range=(span[0], span[1]) if span else None)
    journal.close()
    click.echo(f"{events:,} events in {elapsed:.2f} s ({events / elapsed:,.0f} events/s), "
               f"{state.execution.intents} intents")
    click.echo(summary.format())
    for symbol, reason in (state.manager.quarantined.items() if state.manager else []):
        click.echo(f"quarantined {symbol}: {reason}")
    click.echo(f"run {run.id}; journal: {run.journal_path}")


def _performance(journal: Journal, config: Config, span: list[int]) -> PerformanceSummary:
    """The performance of what ``journal`` holds (flushed first) over the replayed ``span``
    (its first and last event time, ns UTC; empty: from the first fill to the last)."""
    from tradecore.analysis.summary import executions_from_journal, summarize

    journal.flush()
    return summarize(executions_from_journal(journal), starting_equity=config.execution.starting_cash,
                     period_start=span[0] if span else None, period_end=span[1] if span else None)


def _recorded_symbols(source: object) -> list[str]:
    symbols = getattr(source, "symbols", None)
    return sorted(symbols() if callable(symbols) else symbols or [])
