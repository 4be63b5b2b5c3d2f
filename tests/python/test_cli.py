"""The tradecore command line, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tradecore


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = "import sys; from tradecore.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert tradecore.__version__ in result.stdout


def test_bars_demo_on_real_ticks(data_root: Path) -> None:
    result = run_cli("bars", "--symbol", "spy", "--date", "20131007", "--period", "5min",
                     env={"TRADECORE_DATA": str(data_root)})
    assert result.returncode == 0, result.stderr
    assert "191 bars from 250,601 trades" in result.stdout
    assert "2013-10-07 04:00  pre" in result.stdout
    assert "accepted 250,601 trades" in result.stdout


def test_bars_without_data_says_where_to_point(tmp_path: Path) -> None:
    result = run_cli("bars", "--data", str(tmp_path))
    assert result.returncode != 0
    assert "real market data not found" in result.stderr


def test_bars_of_a_day_without_a_file_or_with_a_bad_period_is_a_clear_error(data_root: Path) -> None:
    env = {"TRADECORE_DATA": str(data_root)}
    for args, message in ((("--symbol", "zzz"), "no LEAN trade ticks for ZZZ on 20131007 under "),
                          (("--date", "20131012", "--symbol", "spy"), "no LEAN trade ticks for SPY on 20131012"),
                          (("--period", "7q"), "7q")):
        result = run_cli("bars", *args, env=env)
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
