"""`tradecore live` and `tradecore backtest` as a user runs them (subprocesses, real sockets)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tradecore.analysis.summary import executions_from_journal, summarize
from tradecore.journal.journal import Journal
from tradecore.journal.registry import RunRegistry


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    code = "import sys; from tradecore.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def test_live_runs_on_the_simulator_and_registers_the_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = run_cli("live", "--duration", "4", "--speed", "600", "--no-ui", "--runs-dir", str(runs))
    assert result.returncode == 0, result.stderr
    assert "round trips" in result.stdout and "journal:" in result.stdout
    # By default it joins the session at 05:30 New York, the earlier premarket already history
    # (a user does not wait through 90 simulated minutes of quiet market first).
    assert "simulating the session up to 05:30:00 New York" in result.stderr
    (journal,) = runs.glob("*/journal.sqlite")
    with sqlite3.connect(journal) as db:
        scans = db.execute("SELECT ts_event, data FROM events WHERE kind = 'universe' ORDER BY seq").fetchall()
    joined = dt.datetime.fromtimestamp(scans[0][0] / 1e9, ZoneInfo("America/New_York"))
    assert dt.time(5, 30) <= joined.time() < dt.time(5, 40)  # its first scan (the clock runs from 05:30)
    assert any(json.loads(data)["universe"] for _, data in scans)  # its gappers came in
    listed = run_cli("runs", "--root", str(runs))
    # The registry's data range: the market time it traded over (the simulator's clock).
    (run,) = RunRegistry(runs).list()
    assert run.data_start is not None and run.data_end is not None
    began = dt.datetime.fromisoformat(run.data_start).astimezone(ZoneInfo("America/New_York"))
    assert dt.time(5, 30) <= began.time() < dt.time(5, 40) and run.data_end > run.data_start
    # Exposure is over the run's span (from when it began trading to its last record), not only
    # from its first to its last fill (which made any single round trip "100% of time").
    (journal_path,) = runs.glob("*/journal.sqlite")
    with Journal(journal_path, readonly=True) as journal:
        executions = executions_from_journal(journal)
        last = (journal.ts_span() or (0, 0))[1]
    span = summarize(executions, period_start=_ns(run.data_start), period_end=max(_ns(run.data_end), last or 0))
    assert run.metrics is not None
    assert run.metrics["exposure"] == (None if span.exposure is None else pytest.approx(span.exposure))
    if len(executions) >= 2:  # the seeded session's YRRS trade (05:53) starts well after 05:30
        assert span.exposure is not None and span.exposure < summarize(executions).exposure == 1.0
    assert listed.returncode == 0, listed.stderr
    assert "live" in listed.stdout


def _ns(iso: str) -> int:
    """An ISO 8601 time of the registry as ns UTC."""
    when = dt.datetime.fromisoformat(iso)
    return int(when.timestamp()) * 10**9 + when.microsecond * 1000


def test_backtest_replays_lean_ticks_and_prints_a_summary(lean_root: Path, tmp_path: Path) -> None:
    result = run_cli("backtest", str(lean_root), "--symbols", "spy", "--kinds", "trade",
                     "--strategy", "ema_cross", "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    assert "1,887,460 events in" in result.stdout  # every SPY trade of the five days
    assert "round trips" in result.stdout and "journal:" in result.stdout
    (run,) = RunRegistry(tmp_path / "runs").list()  # the data range: the five days replayed
    assert run.data_start is not None and run.data_end is not None
    assert run.data_start.startswith("2013-10-07T") and run.data_end.startswith("2013-10-11T")


def test_an_aapl_minute_backtest_leaves_no_strategy_stuck_waiting_on_its_exit(lean_root: Path,
                                                                             tmp_path: Path) -> None:
    """AAPL minute bars, ema_cross: on 2014-06-06 11:52 an entry's second half fills in the run
    where the exit is decided. Every exit closes the position its strategy holds, every
    PENDING_EXIT ends, and what is open at the end is the last entry of the run, still LONG."""
    result = run_cli("backtest", str(lean_root), "--symbols", "aapl", "--kinds", "minute",
                     "--strategy", "ema_cross", "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    journal = Journal(Path(result.stdout.rsplit("journal: ", 1)[1].strip()))
    try:
        exits = [r for r in journal.records("intent", symbol="AAPL") if r.data["sizing"] == "CLOSE_POSITION"]
        risks = {r.data["intent_id"]: r.data for r in journal.records("risk", symbol="AAPL")}
        orders = [r for r in journal.records("order", symbol="AAPL") if r.data["side"] == "SELL"]
        assert len(exits) == len(orders) > 10
        for intent, order in zip(exits, orders):  # the strategy's position, all of it
            assert risks[order.order_id]["details"]["position_shares"] == f"{intent.data['quantity']:g}"
            assert order.data["quantity"] == intent.data["quantity"]
        transitions = [r.data for r in journal.records("transition", symbol="AAPL")]
        for before, after in zip(transitions, transitions[1:]):
            if before["to_state"] == "PENDING_EXIT":
                assert after["rule"] == "exit_filled", (before, after)
        last = transitions[-1]
        assert last["to_state"] == "LONG" and last["rule"] == "entry_filled"
        position = list(journal.records("position", symbol="AAPL"))[-1].data
        assert position["quantity"] == last["values"]["position"]
        assert f"open at end                  AAPL {position['quantity']:+.1f}" in result.stdout
    finally:
        journal.close()


def test_a_backtest_with_nothing_to_replay_fails_with_a_hint(lean_root: Path, tmp_path: Path) -> None:
    """An empty folder, or symbols the data does not have: before, 0 events and a `finished` run."""
    empty = tmp_path / "empty"
    empty.mkdir()
    runs = tmp_path / "runs"
    for source, symbols in ((empty, "spy"), (lean_root, "zzzz")):
        result = run_cli("backtest", str(source), "--symbols", symbols, "--strategy", "ema_cross",
                         "--runs-dir", str(runs))
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert (f"Error: no events to replay from {source} for {symbols.upper()} (trade, quote): "
                "check the folder and --symbols, --kinds") in result.stderr, result.stderr
    assert [run.status for run in RunRegistry(runs).list()] == ["failed", "failed"]


def test_a_bad_config_is_a_plain_error(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text("[sim]\nsped = 3\n")
    result = run_cli("live", "--config", str(config), "--no-ui", "--duration", "1")
    assert result.returncode != 0
    assert "sim.sped" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("option", [("--speed", "0"), ("--speed", "-1"), ("--symbols", "0"),
                                    ("--symbols", "6000")])
def test_a_bad_option_value_is_a_plain_error_like_a_bad_config(option: tuple[str, str], tmp_path: Path) -> None:
    result = run_cli("live", *option, "--no-ui", "--duration", "1", "--runs-dir", str(tmp_path))
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("Error: invalid configuration in command-line options: sim.")
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())  # no run opened


@pytest.mark.parametrize("options", [("--symbols", "aaa"), ("--kinds", "trade"),
                                     ("--symbols", "aaa", "--scanner", "top_gainers")])
def test_a_backtest_of_a_live_recording_refuses_options_that_would_replay_part_of_it(
        options: tuple[str, ...], tmp_path: Path) -> None:
    """A live recording replays whole (its universe changes and clock ticks sit at counts of
    all its events; its symbols share one account): a subset was silently ignored before."""
    recording = tmp_path / "recording"
    recording.mkdir()
    (recording / "universe.jsonl").write_text("")
    result = run_cli("backtest", str(recording), *options, "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    given = [option for option in options if option.startswith("--")]
    assert f"replays it whole: drop {' and '.join(given)}" in result.stderr, result.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("resume", [False, True])
def test_live_refuses_to_record_into_a_folder_that_holds_a_recording(resume: bool, tmp_path: Path) -> None:
    """Appended to, a recording could not be replayed (its counts of events start again at 0,
    and its clock ticks go back): refused before a run opens or is resumed."""
    recording, runs = tmp_path / "recording", tmp_path / "runs"
    recording.mkdir()
    (recording / "recording.json").write_text("{}")
    (recording / "clock.jsonl").write_text("")
    crashed = RunRegistry(runs).start_run("live", {})
    Journal(crashed.journal_path).close()
    resuming = ("--resume", crashed.id) if resume else ()
    result = run_cli("live", *resuming, "--no-ui", "--duration", "1", "--record", str(recording),
                     "--runs-dir", str(runs))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert (f"Error: {recording} already holds a recording (recording.json, clock.jsonl): "
            "record into a new folder") in result.stderr
    assert [(run.id, run.status) for run in RunRegistry(runs).list()] == [(crashed.id, "running")]
    assert sorted(p.name for p in recording.iterdir()) == ["clock.jsonl", "recording.json"]


def test_a_backtest_of_a_recording_whose_clock_log_goes_back_in_time_is_refused(
        tmp_path: Path) -> None:
    from tradecore.journal.registry import RunRegistry

    recording, runs = tmp_path / "recording", tmp_path / "runs"
    made = run_cli("live", "--duration", "5", "--speed", "5000", "--seed", "7", "--no-ui",
                   "--record", str(recording), "--runs-dir", str(runs))
    assert made.returncode == 0, made.stderr
    intact = run_cli("backtest", str(recording), "--runs-dir", str(runs))
    assert intact.returncode == 0, intact.stderr
    lines = (recording / "clock.jsonl").read_text().splitlines(keepends=True)
    assert len(lines) > 10
    # Two ways a copy can be damaged: two ticks swapped (time goes back), or a tick placed
    # after events that came after the next tick (`after` goes back while time goes on).
    middle = len(lines) // 2
    swapped = lines[:middle] + [lines[middle + 1], lines[middle]] + lines[middle + 2:]
    moved = {**json.loads(lines[middle]), "after": json.loads(lines[middle + 1])["after"] + 1}
    earlier = lines[:middle] + [json.dumps(moved) + "\n"] + lines[middle + 1:]
    for name, damaged, line, problem in (("swapped", swapped, middle + 2, "is not after the previous"),
                                         ("earlier", earlier, middle + 2, "events, the previous tick")):
        copy = tmp_path / name
        shutil.copytree(recording, copy)
        (copy / "clock.jsonl").write_text("".join(damaged))
        result = run_cli("backtest", str(copy), "--runs-dir", str(runs))
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert f"clock.jsonl:{line}: clock tick out of order: " in result.stderr, result.stderr
        assert problem in result.stderr
    # The failed runs are registered as failed, with the error; the recording is untouched.
    failed = [r for r in RunRegistry(runs).list() if r.status == "failed"]
    assert len(failed) == 2 and all("out of order" in r.metrics["error"] for r in failed)
    assert (recording / "clock.jsonl").read_text() == "".join(lines)


def test_a_scanned_backtest_trades_the_universe_the_scanner_saw_at_each_scan_time(
        lean_root: Path, tmp_path: Path) -> None:
    """`tradecore backtest --scanner top_gainers` over LEAN ticks: every universe the scanner
    journaled is the top gainer computed straight from the files with the events before the
    scan time only, and every intent is for a symbol of the universe in force then."""
    import numpy as np
    import pandas as pd
    from tradecore import schema
    from tradecore.data import lean as lean_reader
    from tradecore.journal.journal import Journal

    symbols, interval = ["AIG", "BAC", "IBM"], 1800
    config = tmp_path / "run.toml"
    config.write_text(f"[scanner]\ninterval_seconds = {interval}.0\nfilters = {{min_gap_percent = "
                      "-100.0, min_price = 1.0, max_price = 1000.0, max_symbols = 1}\n"
                      '[strategy]\nname = "ema_cross"\n')
    result = run_cli("backtest", str(lean_root), "--symbols", ",".join(symbols), "--kinds",
                     "trade", "--scanner", "top_gainers", "--config", str(config),
                     "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    journal_path = Path(result.stdout.rsplit("journal: ", 1)[1].strip())

    days = ("20131007", "20131008", "20131009", "20131010", "20131011")
    trades = {s: schema.concatenate([lean_reader.read_trade_ticks(lean_root, s, d) for d in days],
                                    schema.TRADE) for s in symbols}
    daily = {s: lean_reader.read_daily_bars(lean_reader.lean_path(lean_root, "trade", s, None,
                                                                  "daily")) for s in symbols}

    def ny_date(ts: int) -> dt.date:
        return pd.Timestamp(int(ts), tz="UTC").tz_convert("America/New_York").date()

    def top_gainer(t: int) -> tuple[str, ...]:
        gaps = {}
        for s in symbols:
            before = trades[s][trades[s]["ts_event"] < t]
            clean = before[(before["flags"] & schema.TradeFlag.SUSPICIOUS) == 0]
            bars = daily[s]
            ended = bars[(bars["ts_end"] <= t) & np.array(
                [ny_date(b + 12 * 3600 * 10**9) < ny_date(t) for b in bars["ts_event"]])]
            if len(clean) and len(ended):
                gaps[s] = float(clean["price"][-1]) / float(ended["close"][-1]) - 1
        return tuple(sorted(gaps, key=lambda s: (-gaps[s], s))[:1])

    with Journal(journal_path, readonly=True) as journal:
        changes = list(journal.records("universe"))
        intents = list(journal.records("intent"))
        assert len(changes) > 5 and len({tuple(c.data["universe"]) for c in changes}) == 4  # () first
        for change in changes:
            assert change.ts_event % (interval * 10**9) == 0  # at a scan time
            kept = set(change.data.get("kept", ()))
            ranked = tuple(s for s in change.data["universe"] if s not in kept)
            assert ranked == top_gainer(change.ts_event), change
        assert intents
        for intent in intents:
            assert intent.symbol in (journal.universe_at(intent.ts_event) or []), intent
