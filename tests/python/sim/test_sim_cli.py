"""The ``tradecore sim`` command."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from tradecore.cli import main
from tradecore.cli_sim import _start_ns
from tradecore.sim.generator import new_york_ns


def test_sim_command_is_registered_with_its_options() -> None:
    result = CliRunner().invoke(main, ["sim", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--seed", "--speed", "--symbols", "--start", "--replay"):
        assert option in result.output


def test_start_is_read_in_new_york_time() -> None:
    assert _start_ns("2026-11-27") == new_york_ns(dt.date(2026, 11, 27), "04:00")
    assert _start_ns("2026-07-01T08:30") == new_york_ns(dt.date(2026, 7, 1), "08:30")


def test_keys_come_in_pairs() -> None:
    result = CliRunner().invoke(main, ["sim", "--key-id", "only"])
    assert result.exit_code != 0 and "--secret-key" in result.output
