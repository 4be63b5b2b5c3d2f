"""A run that fails after it was registered ends `failed` (or `interrupted` for Ctrl-C) in the
registry, with the error and without credentials, its journal kept and closed (a live run stopped
with Ctrl-C or SIGTERM ends as at its duration: finished): real processes,
the simulator's feed over loopback, real signals, the run's SQLite journal and registry."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tradecore.analysis.summary import executions_from_journal, summarize
from tradecore.config import Config
from tradecore.journal.journal import Journal
from tradecore.journal.registry import RunRegistry

WRONG_KEYS = {"APCA_API_KEY_ID": "failure-test-key", "APCA_API_SECRET_KEY": "failure-test-secret-8a1f"}


def tradecore(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from tradecore.cli import main; sys.exit(main())", *args]


def assert_closed_cleanly(journal_path: Path) -> list[str]:
    """The journal opens, is intact, has no leftover write-ahead log; return its error messages."""
    assert not journal_path.with_name(journal_path.name + "-wal").exists() or \
        journal_path.with_name(journal_path.name + "-wal").stat().st_size == 0
    with sqlite3.connect(journal_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Journal(journal_path, readonly=True) as journal:
        return [r.data["message"] for r in journal.records("error")]


def test_a_live_run_refused_by_the_stream_after_it_opened_is_registered_failed(tmp_path: Path) -> None:
    """The market-data stream refuses the keys: the run was already registered (its folder and
    journal exist), so the registry must say it failed, and why, without the keys."""
    sim = subprocess.Popen(tradecore("sim", "--port", "0", "--seed", "7", "--speed", "600",
                                     "--key-id", "the-right-key", "--secret-key", "the-right-secret"),
                           stdout=subprocess.PIPE, text=True)
    assert sim.stdout is not None
    urls = {}
    for line in sim.stdout:
        name, _, value = line.partition(" ")
        urls[name] = value.strip().split()[0] if value.strip() else ""
        if line.startswith("Ctrl-C"):
            break
    runs = tmp_path / "runs"
    try:
        config = tmp_path / "vendor.toml"
        config.write_text(f'[market]\nprovider = "alpaca"\nstream_url = "{urls["stream"]}"\n'
                          f'rest_url = "{urls["rest"]}"\n[scanner]\nkind = "fixed"\nsymbols = ["AAA"]\n')
        env = {**os.environ, **WRONG_KEYS}
        live = subprocess.run(tradecore("live", "--no-ui", "--config", str(config), "--runs-dir", str(runs),
                                        "--duration", "30"),
                              env=env, capture_output=True, text=True, timeout=120, check=False)
        assert live.returncode != 0 and "Traceback" not in live.stderr, live.stderr
        (run,) = RunRegistry(runs).list()
        assert f"run {run.id} failed; journal: {run.journal_path}" in live.stderr
        assert run.status == "failed" and run.finished_at is not None
        assert "402 'auth failed'" in run.metrics["error"], run.metrics  # type: ignore[index]
        errors = assert_closed_cleanly(run.journal_path)
        assert any(m.startswith("run failed: ") and "auth failed" in m for m in errors), errors
        listed = subprocess.run(tradecore("runs", "--root", str(runs)), capture_output=True, text=True, timeout=60, check=False)
        assert f"{run.id} live      failed" in listed.stdout, listed.stdout
        # The keys reached neither the run's files nor its output.
        secret = WRONG_KEYS["APCA_API_SECRET_KEY"]
        assert not [p for p in runs.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
        assert secret not in live.stdout + live.stderr
    finally:
        sim.terminate()
        sim.communicate(timeout=30)


def test_a_live_run_whose_stream_fails_mid_session_is_registered_failed_with_what_it_traded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The vendor ends the session with a fatal error (406, connection limit exceeded) while
    the run trades: the run shuts down as usual (positions flattened), then fails; the
    registry has the error and the summary of what was traded."""
    from tradecore.live import run_live
    from tradecore.sim.server import SimServer
    from tradecore.streams.alpaca import AlpacaConnectionLimitError

    monkeypatch.setenv("APCA_API_KEY_ID", WRONG_KEYS["APCA_API_KEY_ID"])
    monkeypatch.setenv("APCA_API_SECRET_KEY", WRONG_KEYS["APCA_API_SECRET_KEY"])
    runs = tmp_path / "runs"

    async def scenario() -> None:
        async with SimServer(seed=7, speed=600.0, symbols=40, port=0) as sim:
            config = Config().with_overrides(
                market={"provider": "alpaca", "stream_url": sim.stream_url, "rest_url": sim.rest_url},
                scanner={"kind": "fixed", "symbols": list(sim.market.gappers)[:3]},  # type: ignore[attr-defined]
                strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3, "quantity": 10}})
            run = asyncio.create_task(run_live(config, duration=120, ui=False, runs_root=runs))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not _has_fill(runs):
                await asyncio.sleep(0.2)
            assert _has_fill(runs), "no fill in time"
            await sim.feed.send_error(406, close=True)
            with pytest.raises(AlpacaConnectionLimitError, match="connection limit") as raised:
                await asyncio.wait_for(run, 60)
            (run_info,) = RunRegistry(runs).list()
            assert any(f"run {run_info.id} failed" in note for note in raised.value.__notes__)

    asyncio.run(scenario())
    (run,) = RunRegistry(runs).list()
    assert run.status == "failed" and run.metrics is not None
    assert "connection limit exceeded" in run.metrics["error"] and run.metrics["round_trips"] >= 0
    errors = assert_closed_cleanly(run.journal_path)
    assert any("connection limit exceeded" in m for m in errors), errors
    with Journal(run.journal_path, readonly=True) as journal:  # shut down as usual: flattened
        assert all(abs(q) < 1e-9 for q in journal.net_fills().values()), journal.net_fills()
    assert WRONG_KEYS["APCA_API_SECRET_KEY"] not in json.dumps(run.metrics)


def test_a_scan_that_fails_is_journaled_and_retried_and_the_run_goes_on(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The screener's REST endpoint refuses connections (a vendor outage): each scan's failure
    is journaled and the next scan tries again; the run ends as it was asked to, not failed."""
    import socket

    from tradecore.live import run_live
    from tradecore.sim.server import SimServer

    monkeypatch.setenv("APCA_API_KEY_ID", "k")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "s")
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    runs = tmp_path / "runs"

    async def scenario() -> None:
        async with SimServer(seed=7, speed=60.0, symbols=20, port=0) as sim:
            config = Config().with_overrides(market={"provider": "alpaca", "stream_url": sim.stream_url, "rest_url": dead},
                                             scanner={"interval_seconds": 0.5})
            await run_live(config, duration=3, ui=False, runs_root=runs)

    asyncio.run(scenario())
    (run,) = RunRegistry(runs).list()
    assert run.status == "finished", run.metrics
    errors = assert_closed_cleanly(run.journal_path)
    scans = [m for m in errors if m.startswith("scan failed: ")]
    assert len(scans) >= 3, errors  # tried again at every interval


def test_a_live_run_whose_simulator_dies_is_registered_failed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded simulator's process dies mid-run (kill -9): the run shuts down as usual,
    then fails with the simulator's exit; it does not end as if the session were over."""
    from tradecore.errors import Error
    from tradecore.live import run_live
    from tradecore.sim import process as sim_process

    simulators: list[sim_process.SimProcess] = []

    class Kept(sim_process.SimProcess):
        async def start(self) -> sim_process.SimProcess:
            simulators.append(self)
            return await super().start()

    monkeypatch.setattr(sim_process, "SimProcess", Kept)
    runs = tmp_path / "runs"
    config = Config().with_overrides(sim={"speed": 600.0, "symbols": 40, "live_from": ""},
                                     scanner={"kind": "fixed", "symbols": ["CBB"]},
                                     strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3}})

    async def scenario() -> None:
        run = asyncio.create_task(run_live(config, duration=120, ui=False, runs_root=runs))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _journaled(runs, "universe"):
            await asyncio.sleep(0.05)
        assert _journaled(runs, "universe"), "the run never started its symbol"
        process = simulators[0]._process
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)
        with pytest.raises(Error, match="the simulator ended unexpectedly"):
            await asyncio.wait_for(run, 60)

    asyncio.run(scenario())
    (run,) = RunRegistry(runs).list()
    assert run.status == "failed" and run.metrics is not None
    assert "the simulator ended unexpectedly" in run.metrics["error"]
    assert_closed_cleanly(run.journal_path)


def _journaled(runs: Path, kind: str) -> bool:
    """Whether the (only) run under ``runs`` has journaled a record of ``kind`` yet."""
    for path in runs.glob("*/journal.sqlite"):
        try:
            with Journal(path, readonly=True) as journal:
                return journal.count(kind) > 0
        except sqlite3.OperationalError:  # the run is still creating its journal's tables
            return False
    return False


def _has_fill(runs: Path) -> bool:
    return _journaled(runs, "fill")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_ends_a_live_run_as_its_duration_would(tmp_path: Path, stop: signal.Signals) -> None:
    """The way to end a live run without --duration (and a service manager's stop): positions
    flattened, the summary printed, the run registered finished."""
    runs = tmp_path / "runs"
    config = tmp_path / "quick.toml"
    config.write_text('[strategy]\nname = "ema_cross"\nbar_period = "1s"\nparams = {fast = 2, slow = 3, quantity = 10}\n'
                      '[sim]\nsymbols = 40\n')
    live = subprocess.Popen(tradecore("live", "--no-ui", "--config", str(config), "--runs-dir", str(runs)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not _has_fill(runs):
            time.sleep(0.1)
        assert _has_fill(runs), "no fill in time"
        live.send_signal(stop)
        out, err = live.communicate(timeout=60)
    finally:
        if live.poll() is None:
            live.kill()
    assert live.returncode == 0, err
    assert "stopping the run" in err and "Traceback" not in err, err
    assert " intent BUY " in err and " fill " in err, err  # --no-ui logs the dashboard's activity
    (run,) = RunRegistry(runs).list()
    assert run.status == "finished", (run.status, err)
    assert f"journal: {run.folder}" in out and "round trips" in out, out
    assert assert_closed_cleanly(run.journal_path) == []
    with Journal(run.journal_path, readonly=True) as journal:  # flattened, as configured
        assert journal.count("fill") > 0
        assert all(abs(q) < 1e-9 for q in journal.net_fills().values()), journal.net_fills()


def test_a_backtest_stopped_with_ctrl_c_is_registered_interrupted(lean_root: Path, tmp_path: Path) -> None:
    """A backtest stopped half way is not finished: interrupted, with what it replayed kept."""
    runs = tmp_path / "runs"
    # Every LEAN symbol, trades and quotes: ~17 s of replay, so Ctrl-C lands mid-run even on a
    # loaded machine (SPY's trades alone take ~1.5 s, and the test lost that race once).
    backtest = subprocess.Popen(tradecore("backtest", str(lean_root), "--symbols", "spy,bac,ibm,aig",
                                          "--kinds", "trade,quote", "--strategy", "ema_cross",
                                          "--runs-dir", str(runs)),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _has_fill(runs):  # well into the replay
            time.sleep(0.05)
        assert _has_fill(runs), "the backtest traded nothing in time"
        backtest.send_signal(signal.SIGINT)
        _, err = backtest.communicate(timeout=60)
    finally:
        if backtest.poll() is None:
            backtest.kill()
    assert backtest.returncode != 0
    (run,) = RunRegistry(runs).list()
    assert run.status == "interrupted", (run.status, err)
    assert run.metrics is not None and run.metrics["error_type"] == "KeyboardInterrupt"
    assert f"Error: interrupted\nrun {run.id} interrupted; journal: {run.journal_path}" in err, err
    assert "Traceback" not in err, err
    errors = assert_closed_cleanly(run.journal_path)
    assert errors == ["run interrupted: KeyboardInterrupt"]
    with Journal(run.journal_path, readonly=True) as journal:  # what was replayed before stays
        assert journal.count("fill") > 0
        # ... and the registry has the performance of what was journaled.
        executions = executions_from_journal(journal)
    assert run.metrics["fills"] == summarize(executions).fills > 0, run.metrics
