"""Tests of tradecore.data.locate and of the data fixtures' skip-or-fail rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from tradecore.data import locate


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A checkout next to a shared/data folder holding LEAN's Data folder."""
    checkout = tmp_path / "wt"
    checkout.mkdir()
    data = tmp_path / "shared" / "data"
    (data / "quantconnect-lean" / "Data").mkdir(parents=True)
    return checkout, data


def test_environment_variable_wins_and_is_the_only_candidate(monkeypatch, layout, tmp_path):
    checkout, data = layout
    monkeypatch.chdir(checkout)
    monkeypatch.setenv(locate.ENV_VAR, str(tmp_path / "elsewhere"))
    assert locate.data_root_candidates() == [tmp_path / "elsewhere"]
    assert locate.data_root() is None
    monkeypatch.setenv(locate.ENV_VAR, str(data))
    assert locate.data_root() == data
    assert locate.lean_root() == data / "quantconnect-lean" / "Data"


def test_default_is_shared_data_next_to_the_working_directory(monkeypatch, layout):
    checkout, data = layout
    monkeypatch.delenv(locate.ENV_VAR, raising=False)
    monkeypatch.chdir(checkout)
    assert locate.data_root() == data.resolve()


def test_repository_root_is_tried_after_the_working_directory(monkeypatch, layout, tmp_path):
    checkout, data = layout
    monkeypatch.delenv(locate.ENV_VAR, raising=False)
    elsewhere = tmp_path / "a" / "b"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    assert locate.data_root(repository=checkout) == data.resolve()


def test_data_without_lean_has_no_lean_root(monkeypatch, tmp_path):
    monkeypatch.setenv(locate.ENV_VAR, str(tmp_path))
    assert locate.data_root() == tmp_path
    assert locate.lean_root() is None


CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


@pytest.mark.parametrize(("ci", "outcome"), [("", "skipped"), ("true", "failed")])
def test_missing_data_skips_locally_and_fails_under_ci(pytester, monkeypatch, ci, outcome):
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(
        textwrap.dedent(
            """
            def test_needs_data(lean_root):
                pass
            """
        )
    )
    monkeypatch.setenv(locate.ENV_VAR, str(pytester.path / "no-such-folder"))
    monkeypatch.setenv("CI", ci)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(**{"errors" if outcome == "failed" else outcome: 1})
    result.stdout.fnmatch_lines(["*real market data not found: set TRADECORE_DATA*"])
