"""``tradecore runs`` and ``tradecore runs show``, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tradecore.journal import Journal, RunRegistry


def run_cli(*args: str, runs: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from tradecore.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env={**os.environ, "TRADECORE_RUNS": str(runs)}, timeout=120,
                          check=False)


def test_runs_lists_and_shows_registered_runs(tmp_path: Path) -> None:
    with RunRegistry(tmp_path) as registry:
        first = registry.start_run("backtest", {"strategy": "ema_cross", "fast": 10}, "0.1.0+x",
                                   ("2013-10-07", "2013-10-11"))
        with Journal(first.journal_path) as journal:
            journal.fill("SPY", {"ts_event": 1, "order_id": 1, "side": "buy", "price": 1.0,
                                 "quantity": 1})
            journal.error(2, "boom")
        registry.finish_run(first.id, {"net_pnl": 1234.5, "round_trips": 7})
        second = registry.start_run("paper", {}, "0.1.0+y")
    listed = run_cli("runs", runs=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[1].startswith(second.id) and lines[2].startswith(first.id)
    assert "1,234.50" in lines[2] and "2013-10-07..2013-10-11" in lines[2]
    only = run_cli("runs", "--kind", "paper", runs=tmp_path)
    assert first.id not in only.stdout and second.id in only.stdout
    shown = run_cli("runs", "show", first.id[:-2], runs=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"run        {first.id}" in shown.stdout
    assert '"fast": 10' in shown.stdout and "round_trips" in shown.stdout
    assert "fill 1, error 1" in shown.stdout
    missing = run_cli("runs", "show", "1999", runs=tmp_path)
    assert missing.returncode != 0 and "no run" in missing.stderr


def test_runs_on_an_empty_registry(tmp_path: Path) -> None:
    result = run_cli("runs", runs=tmp_path / "none")
    assert result.returncode == 0 and "no runs" in result.stdout
