"""Bars shared by the peer benchmarks and by tradecore's side of the comparison.

Only numpy and pandas are needed, so tradecore's own benchmark can import this module and run on
exactly the same bars as the peers.

Bar frame layout (both loaders below return it):

* index ``ts_event``: ``DatetimeIndex`` in UTC, the bar's OPEN time (LEAN's and tradecore's
  convention; the bar covers ``[ts_event, ts_event + 1 min)``). NautilusTrader labels a bar by its
  close, so its runner shifts by one minute and shifts back when it reports.
* columns ``open, high, low, close, volume``: float64, prices in dollars.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "MINUTE_NS",
    "SPY_WEEK",
    "get_bars",
    "lean_root",
    "load_lean_minute",
    "load_lean_ticks",
    "synthetic_minute_bars",
]

MINUTE_NS = 60_000_000_000
NEW_YORK = "America/New_York"
BAR_COLUMNS = ["open", "high", "low", "close", "volume"]

#: The LEAN SPY week used by check.py and the README figures (minute bars and tick trades exist).
SPY_WEEK: list[tuple[str, str]] = [("spy", f"201310{d:02d}") for d in (7, 8, 9, 10, 11)]


def lean_root() -> Path:
    """Folder holding LEAN's ``Data/`` tree: ``$TRADECORE_DATA`` or /work/shared/data."""
    for candidate in (os.environ.get("TRADECORE_DATA"), "/work/shared/data"):
        if not candidate:
            continue
        path = Path(candidate)
        for root in (path / "quantconnect-lean", path):
            if (root / "Data" / "equity" / "usa").is_dir():
                return root
    raise FileNotFoundError("LEAN data not found: set TRADECORE_DATA to the shared data folder")


def _read_zip_csv(path: Path, names: list[str], dtype: dict | None = None) -> pd.DataFrame:
    with zipfile.ZipFile(path) as archive:
        (member,) = archive.namelist()
        text = archive.read(member)
    return pd.read_csv(io.BytesIO(text), header=None, names=names, dtype=dtype)


def _utc_index(date: str, time_ms: np.ndarray) -> pd.DatetimeIndex:
    """Milliseconds since New York local midnight of ``date`` -> UTC (DST-aware)."""
    day = dt.datetime.strptime(date, "%Y%m%d")
    local = pd.DatetimeIndex(pd.Timestamp(day) + pd.to_timedelta(time_ms, unit="ms"))
    return local.tz_localize(NEW_YORK).tz_convert("UTC")


def load_lean_minute(pairs: list[tuple[str, str]], root: Path | None = None) -> pd.DataFrame:
    """LEAN minute TRADE bars for ``[(symbol, 'YYYYMMDD'), ...]``, concatenated in the given order.

    Files are ``Data/equity/usa/minute/<sym>/<YYYYMMDD>_trade.zip`` holding headerless
    ``time_ms, open, high, low, close, volume`` with prices x10000. Extended hours are kept as
    LEAN ships them (the SPY files run 04:00..19:59 New York).
    """
    root = root or lean_root()
    frames = []
    for symbol, date in pairs:
        path = root / "Data/equity/usa/minute" / symbol.lower() / f"{date}_trade.zip"
        raw = _read_zip_csv(path, ["time_ms", *BAR_COLUMNS])
        frame = pd.DataFrame(
            {
                "open": raw["open"].to_numpy(np.float64) / 10_000,
                "high": raw["high"].to_numpy(np.float64) / 10_000,
                "low": raw["low"].to_numpy(np.float64) / 10_000,
                "close": raw["close"].to_numpy(np.float64) / 10_000,
                "volume": raw["volume"].to_numpy(np.float64),
            },
            index=_utc_index(date, raw["time_ms"].to_numpy()),
        )
        frames.append(frame)
    out = pd.concat(frames)
    out.index.name = "ts_event"
    if not out.index.is_monotonic_increasing:
        raise ValueError("bars are not in time order: give (symbol, date) pairs in date order")
    return out


def load_lean_ticks(
    pairs: list[tuple[str, str]], root: Path | None = None, drop_suspicious: bool = True
) -> pd.DataFrame:
    """LEAN tick TRADES: index ``ts_event`` (UTC), columns ``price`` (dollars), ``size``.

    Files: ``Data/equity/usa/tick/<sym>/<YYYYMMDD>_trade.zip`` with
    ``time_ms, price x10000, size, exchange, cond_hex, suspicious``. Rows flagged suspicious are
    dropped by default (LEAN drops them from its own bars too).
    """
    root = root or lean_root()
    frames = []
    for symbol, date in pairs:
        path = root / "Data/equity/usa/tick" / symbol.lower() / f"{date}_trade.zip"
        raw = _read_zip_csv(path, ["time_ms", "price", "size", "exchange", "cond", "suspicious"],
            dtype={"exchange": str, "cond": str},
        )
        if drop_suspicious:
            raw = raw[raw["suspicious"] == 0]
        frame = pd.DataFrame(
            {
                "price": raw["price"].to_numpy(np.float64) / 10_000,
                "size": raw["size"].to_numpy(np.float64),
            },
            index=_utc_index(date, raw["time_ms"].to_numpy()),
        )
        frames.append(frame)
    out = pd.concat(frames)
    out.index.name = "ts_event"
    return out


def synthetic_minute_bars(
    n: int, seed: int = 42, start: str = "2013-10-07 13:30", price: float = 100.0
) -> pd.DataFrame:
    """``n`` consecutive one-minute bars (no gaps, 24/7) from ``start`` UTC: a seeded random walk.

    Closes follow a geometric random walk (0.05% per minute), each bar opens at the previous close,
    high/low extend by a half-normal wick; prices are rounded to cents (NautilusTrader's equity
    precision, so every peer sees identical prices). Volumes are integers in [100, 10000]: at least
    the benchmark's 100-share order, as in LEAN's SPY minute files.
    """
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.0005, n)
    close = np.round(price * np.exp(np.cumsum(steps)), 2)
    close = np.maximum(close, 0.05)
    open_ = np.empty(n)
    open_[0] = np.round(price, 2)
    open_[1:] = close[:-1]
    wick = np.round(np.abs(rng.normal(0.0, 0.0003, (2, n))) * close, 2)
    high = np.maximum(open_, close) + wick[0]
    low = np.maximum(np.minimum(open_, close) - wick[1], 0.01)
    volume = rng.integers(100, 10_001, n).astype(np.float64)
    index = pd.date_range(pd.Timestamp(start, tz="UTC"), periods=n, freq="1min", name="ts_event")
    return pd.DataFrame(
        {"open": open_, "high": np.round(high, 2), "low": np.round(low, 2), "close": close,
         "volume": volume},
        index=index,
    )


def get_bars(kind: str, n: int | None = None, seed: int = 42) -> pd.DataFrame:
    """``kind='lean'``: the LEAN SPY week (``n`` ignored); ``kind='synthetic'``: ``n`` bars."""
    if kind == "lean":
        return load_lean_minute(SPY_WEEK)
    if kind == "synthetic":
        return synthetic_minute_bars(n or 200_000, seed=seed)
    raise ValueError(f"unknown bars kind {kind!r}: use 'lean' or 'synthetic'")
