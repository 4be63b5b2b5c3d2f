"""`tradecore live` and `tradecore backtest` as a user runs them (subprocesses, real sockets)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    code = "import sys; from tradecore.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def test_live_runs_on_the_simulator_and_registers_the_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = run_cli("live", "--duration", "4", "--speed", "600", "--no-ui", "--runs-dir", str(runs))
    assert result.returncode == 0, result.stderr
    assert "round trips" in result.stdout and "journal:" in result.stdout
    listed = run_cli("runs", "--root", str(runs))
    assert listed.returncode == 0, listed.stderr
    assert "live" in listed.stdout


def test_backtest_replays_lean_ticks_and_prints_a_summary(lean_root: Path, tmp_path: Path) -> None:
    result = run_cli("backtest", str(lean_root), "--symbols", "spy", "--kinds", "trade",
                     "--strategy", "ema_cross", "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    assert "1,887,460 events in" in result.stdout  # every SPY trade of the five days
    assert "round trips" in result.stdout and "journal:" in result.stdout


def test_a_bad_config_is_a_plain_error(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text("[sim]\nsped = 3\n")
    result = run_cli("live", "--config", str(config), "--no-ui", "--duration", "1")
    assert result.returncode != 0
    assert "sim.sped" in result.stderr and "Traceback" not in result.stderr
