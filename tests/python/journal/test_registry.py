"""Run registry: ids, folders, config, finish, list and show."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tradecore.errors import ConfigError
from tradecore.journal import RunRegistry
from tradecore.journal.registry import code_version, end_failed_run, new_run_id


def test_start_finish_list_and_get(tmp_path: Path) -> None:
    with RunRegistry(tmp_path / "runs") as registry:
        config = {"strategy": "ema_cross", "fast": 10, "symbols": ["SPY"]}
        first = registry.start_run("backtest", config, "0.1.0+abc", ("2013-10-07", "2013-10-11"))
        second = registry.start_run("paper", {"x": 1}, "0.1.0+abc")
        assert first.folder == tmp_path / "runs" / first.id
        assert json.loads(first.config_path.read_text()) == config
        assert first.status == "running" and first.metrics is None
        assert first.data_start == "2013-10-07" and first.parameters == config
        assert first.id < second.id
        finished = registry.finish_run(first.id, {"sharpe": 1.25, "round_trips": 4})
        assert finished.status == "finished" and finished.metrics == {"round_trips": 4,
                                                                      "sharpe": 1.25}
        assert [run.id for run in registry.list()] == [second.id, first.id]
        assert [run.id for run in registry.list(kind="backtest")] == [first.id]
        assert registry.get(first.id[:-3]).id == first.id  # a unique prefix
    with RunRegistry(tmp_path / "runs") as reopened:
        assert reopened.get(first.id).metrics == {"round_trips": 4, "sharpe": 1.25}


def test_a_data_range_known_only_at_the_end_is_stored_with_the_finish(tmp_path: Path) -> None:
    with RunRegistry(tmp_path / "runs") as registry:
        run = registry.start_run("live", {"x": 1}, "0.1.0+abc")
        assert run.data_start is None and run.data_end is None
        # Event times (ns UTC): 2026-11-26 10:30:00.123456 and 11:00 UTC.
        start, end = 1_795_689_000_123_456_789, 1_795_690_800_000_000_000
        finished = registry.finish_run(run.id, {"trips": 0}, data_range=(start, end))
        assert finished.data_start == "2026-11-26T10:30:00.123456+00:00"
        assert finished.data_end == "2026-11-26T11:00:00+00:00"
        kept = registry.finish_run(run.id, {"trips": 1})  # without one: the range stays
        assert kept.data_start == finished.data_start
        # A live run notes its start as it begins trading; a resumption keeps the first one.
        resumed = registry.start_run("live", {"x": 1}, "0.1.0+abc")
        registry.note_data_start(resumed.id, start)
        registry.note_data_start(resumed.id, end)  # the resumed process begins later
        done = registry.finish_run(resumed.id, {}, data_range=(end, end + 10**9))
        assert (done.data_start, done.data_end) == (finished.data_start, "2026-11-26T11:00:01+00:00")


def test_the_code_version_names_a_commit_of_this_repository() -> None:
    """Not the commit of whatever repository the installed files sit in (site-packages inside
    pyenv's checkout named pyenv's commit): the build records the commit it was built from."""
    root = Path(__file__).resolve().parents[3]
    if not (root / ".git").exists():
        pytest.skip("the tests do not run from a git checkout")
    version = code_version()
    assert "+" in version, version
    described = version.split("+", 1)[1].removesuffix("-dirty")
    commit = described.rsplit("-g", 1)[-1]  # "v1.2-3-gabc" once tagged; a bare hash until then
    found = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=root, capture_output=True)
    assert found.returncode == 0, f"{version}: {commit} is no commit of {root}"


def test_run_ids_are_sortable_and_unique() -> None:
    ids = [new_run_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert sorted(ids, key=lambda i: i[:23]) == sorted(ids)


def test_unknown_and_ambiguous_ids_and_bad_configs_raise(tmp_path: Path) -> None:
    with RunRegistry(tmp_path) as registry:
        registry.start_run("backtest", {}, "v")
        registry.start_run("backtest", {}, "v")
        with pytest.raises(ConfigError, match="no run"):
            registry.get("19990101")
        with pytest.raises(ConfigError, match="ambiguous"):
            registry.get("2")
        with pytest.raises(ConfigError):
            registry.start_run("", {}, "v")


def test_default_root_comes_from_the_environment(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADECORE_RUNS", str(tmp_path / "elsewhere"))
    with RunRegistry() as registry:
        assert registry.root == tmp_path / "elsewhere"
        run = registry.start_run("scan", {})
        assert run.code_version.startswith("0.") and run.code_version == code_version()


def test_the_latest_unfinished_run_is_found_and_reopened(tmp_path: Path) -> None:
    with RunRegistry(tmp_path) as registry:
        with pytest.raises(ConfigError, match="no unfinished live run"):
            registry.latest_unfinished("live")
        crashed = registry.start_run("live", {"a": 1})
        registry.start_run("backtest", {"a": 2})  # newer, but another kind
        finished = registry.start_run("live", {"a": 3})
        registry.finish_run(finished.id, {})
        assert registry.latest_unfinished("live").id == crashed.id
        registry.finish_run(crashed.id, {}, status="failed")
        with pytest.raises(ConfigError):
            registry.latest_unfinished("live")
        (crashed.folder / "journal.sqlite").write_bytes(b"")
        reopened = registry.reopen(crashed.id)
        assert reopened.status == "running" and reopened.finished_at is None
        with pytest.raises(ConfigError, match="no journal"):
            registry.reopen(finished.id)


def test_only_running_and_failed_runs_of_the_kind_are_resumable(tmp_path: Path) -> None:
    with RunRegistry(tmp_path) as registry:
        crashed = registry.start_run("live", {})
        failed = registry.start_run("live", {})
        registry.finish_run(failed.id, {}, status="failed")
        assert registry.resumable("live", failed.id).id == failed.id
        assert registry.resumable("live").id == crashed.id  # by default: the one whose process died
        for status in ("finished", "interrupted"):
            over = registry.start_run("live", {})
            registry.finish_run(over.id, {}, status=status)
            with pytest.raises(ConfigError, match=f"run {over.id} is {status}: only running and failed"):
                registry.resumable("live", over.id)
        backtest = registry.start_run("backtest", {})
        with pytest.raises(ConfigError, match="is a backtest run; only live runs"):
            registry.resumable("live", backtest.id)


def test_a_failed_runs_error_is_stamped_with_the_market_time_its_journal_reached(tmp_path: Path) -> None:
    """A live or backtest journal is in market time: an error stamped with the wall clock made a
    resume fast-forward the simulated market to the wall clock (a week later)."""
    from tradecore.journal.journal import Journal
    from tradecore.live import _latest

    market = 1_795_597_200_000_000_000  # 2026-11-20 04:00 New York
    with RunRegistry(tmp_path) as registry:
        run = registry.start_run("live", {})
        journal = Journal(run.journal_path)
        journal.error(market, "a market-time record", where="test")
        end_failed_run(registry, run.id, KeyboardInterrupt(), journal=journal, now=market + 7 * 86_400 * 10**9)
        with Journal(run.journal_path, readonly=True) as reopened:
            assert [r.ts_event for r in reopened.records("error")] == [market, market]
            assert _latest(reopened) == market
