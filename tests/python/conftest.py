"""Fixtures shared by the Python tests: where the recorded market data is, and a loader for it.

Tests that need the data take the ``data_root``, ``lean_root`` or ``lean`` fixture. When the
data folder is missing they are skipped, except under ``CI=true``, where a missing folder fails
them: CI must never pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from tradecore.data import lean as lean_reader
from tradecore.data import locate

pytest_plugins = ["pytester"]

REPOSITORY = Path(__file__).resolve().parents[2]

LeanLoader = Callable[..., np.ndarray]


def _missing(what: str) -> None:
    message = (
        f"real market data not found: set {locate.ENV_VAR} to the folder holding "
        f"PROVENANCE.md (tried {what})"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI=true requires the data", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The market data folder (``shared/data``)."""
    root = locate.data_root(REPOSITORY)
    if root is None:
        _missing(", ".join(map(str, locate.data_root_candidates(REPOSITORY))))
    assert root is not None
    return root


@pytest.fixture(scope="session")
def lean_root(data_root: Path) -> Path:
    """The LEAN ``Data`` folder inside the market data folder."""
    root = locate.lean_root(REPOSITORY)
    if root is None:
        _missing(str(data_root / "quantconnect-lean" / "Data"))
    assert root is not None
    return root


_READERS = {
    ("tick", "trade"): lean_reader.read_trade_ticks,
    ("tick", "quote"): lean_reader.read_quote_ticks,
    ("second", "trade"): lean_reader.read_second_bars,
    ("minute", "trade"): lean_reader.read_minute_bars,
    ("hour", "trade"): lean_reader.read_hour_bars,
    ("daily", "trade"): lean_reader.read_daily_bars,
}


@pytest.fixture(scope="session")
def lean(lean_root: Path) -> LeanLoader:
    """Return ``load(resolution, symbol, date=None, kind="trade")``: a cached, read-only array.

    Files are read once per session; the arrays are frozen so no test can change another's.
    """

    @cache
    def load(resolution: str, symbol: str, date: str | None = None, kind: str = "trade"):
        reader = _READERS[resolution, kind]
        args = (lean_root, symbol) if date is None else (lean_root, symbol, date)
        events = reader(*args)
        events.flags.writeable = False
        return events

    return load
