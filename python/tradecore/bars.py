"""Bars from trades and quotes, built by the native aggregator.

Batch and streaming are the same C++ code: :func:`aggregate` is a :class:`BarAggregator` fed
one array and flushed.

Time bars (``period`` from ``"1s"`` to ``"1d"``) align to New York midnight for US equities
(``calendar="us_equity"``) and never span a session boundary unless ``split_sessions=False``:
premarket 04:00-09:30, regular 09:30-16:00, after-hours 16:00-20:00 America/New_York (13:00
and 17:00 on early-close days, see :mod:`tradecore.calendar`), with daylight-saving changes
handled. Each bar's ``session`` field says which one it belongs to.
``ts_event`` is the bar's open, ``ts_end`` its exclusive end.

Policies (each counted in :attr:`BarAggregator.stats`):

``late``
    A trade older than the open bar: ``"drop"`` (default), ``"amend"`` (fold its volume and
    high/low into the open bar, not its close) or ``"raise"`` (:class:`~tradecore.errors.DataError`).
    Trades out of order *within* the open bar are simply part of it; the close is the last to
    arrive.
``empty``
    A period with no trades: ``"skip"`` (no bar, default) or ``"flat"`` (a flat bar at the
    previous close, volume 0, flagged ``BarFlag.FLAT``, only within the same trading day).
``bad``
    NaN, infinite, zero or negative price; negative or NaN size: ``"raise"`` (default;
    ``DataError`` with ``row``) or ``"skip"``.

After a ``DataError`` in a batch, the rows before the bad one stay applied and the bars they
closed are returned by the next call (or :meth:`BarAggregator.drain`): nothing accepted is lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TypeVar

import numpy as np

from tradecore import schema
from tradecore._native import _core
from tradecore.errors import ConfigError

__all__ = [
    "LEAN_PRICE_EXCLUDED_CONDITIONS",
    "BarAggregator",
    "QuoteBarAggregator",
    "aggregate",
    "aggregate_quotes",
    "parse_period",
    "resample",
]

_native = _core.bars
_T = TypeVar("_T")

_UNITS_NS = {
    "s": 1_000_000_000,
    "sec": 1_000_000_000,
    "min": 60_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
}
_SESSIONS = {
    "premarket": schema.Session.PREMARKET,
    "regular": schema.Session.REGULAR,
    "after_hours": schema.Session.AFTER_HOURS,
    "overnight": schema.Session.OVERNIGHT,
}
_EXTENDED = ("premarket", "regular", "after_hours")

LEAN_PRICE_EXCLUDED_CONDITIONS = 0x200 | 0x100000
"""AlgoSeek/LEAN sale-condition bits of prints that must not set the bar's prices under the
consolidated-tape rules: ``0x200`` (price not based on the quote) and ``0x100000``
(average-price trade). They still count in volume."""


def parse_period(period: str | int | timedelta) -> int:
    """Return a bar period in nanoseconds.

    Parameters
    ----------
    period
        ``"1s"``, ``"30s"``, ``"1min"``, ``"5min"``, ``"1h"``, ``"1d"`` (also ``"5m"``), a
        :class:`datetime.timedelta`, or an int of nanoseconds.
    """
    if isinstance(period, timedelta):
        return round(period.total_seconds() * 1e9)
    if isinstance(period, (int, np.integer)):
        return int(period)
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]+)\s*", str(period))
    if not match or match.group(2).lower() not in _UNITS_NS:
        raise ConfigError(f"cannot read bar period {period!r}: use e.g. '1s', '5min', '1h', '1d'")
    return int(match.group(1)) * _UNITS_NS[match.group(2).lower()]


def _choice(name: str, value: str, options: Mapping[str, _T]) -> _T:
    try:
        return options[value]
    except KeyError:
        raise ConfigError(f"{name}={value!r} is not one of {sorted(options)}") from None


def _config(
    *,
    period: str | int | timedelta | None,
    kind: str,
    size: float | None,
    sessions: Iterable[str],
    split_sessions: bool,
    late: str,
    empty: str,
    bad: str,
    calendar: str,
    exclude_price_conditions: int,
    exclude_volume_conditions: int,
    drop_suspicious: bool,
    instrument_id: int,
) -> _native.AggregatorConfig:
    config = _native.AggregatorConfig()
    config.kind = _choice(
        "kind",
        kind,
        {
            "time": _native.BarKind.TIME,
            "tick": _native.BarKind.TICK,
            "volume": _native.BarKind.VOLUME,
            "value": _native.BarKind.VALUE,
            "range": _native.BarKind.RANGE,
        },
    )
    if kind == "time":
        if period is None:
            raise ConfigError("time bars need a period, e.g. period='1min'")
        config.period_ns = parse_period(period)
    else:
        if size is None:
            raise ConfigError(f"{kind} bars need a size (trades, shares, dollars or dollars)")
        config.size = float(size)
    mask = 0
    for name in sessions:
        mask |= 1 << int(_choice("sessions", name, _SESSIONS))
    config.sessions = mask
    config.split_at_sessions = bool(split_sessions)
    config.late = _choice(
        "late",
        late,
        {"drop": _native.LatePolicy.DROP, "amend": _native.LatePolicy.AMEND, "raise": _native.LatePolicy.RAISE},
    )
    config.empty = _choice(
        "empty", empty, {"skip": _native.EmptyPolicy.SKIP, "flat": _native.EmptyPolicy.FLAT}
    )
    config.bad = _choice(
        "bad", bad, {"raise": _native.BadDataPolicy.RAISE, "skip": _native.BadDataPolicy.SKIP}
    )
    config.calendar = _choice(
        "calendar",
        calendar,
        {"us_equity": _native.Calendar.US_EQUITY, "utc": _native.Calendar.UTC},
    )
    config.exclude_price_conditions = int(exclude_price_conditions)
    config.exclude_volume_conditions = int(exclude_volume_conditions)
    config.drop_suspicious = bool(drop_suspicious)
    config.instrument_id = int(instrument_id)
    return config


def _contiguous(events: np.ndarray, dtype: np.dtype, what: str) -> np.ndarray:
    """Return ``events`` as a C-contiguous array of ``dtype`` (a copy only if it is a view)."""
    if not isinstance(events, np.ndarray) or events.dtype != dtype:
        got = getattr(events, "dtype", type(events).__name__)
        raise TypeError(f"expected a NumPy array of tradecore.schema.{what}, got {got}")
    return np.ascontiguousarray(events)


class BarAggregator(_native.BarAggregator):
    """Streaming bar builder (C++). See the module docstring for the policies.

    Parameters
    ----------
    period
        Time-bar period (``"1s"`` ... ``"1d"``); ignored for other kinds.
    kind
        ``"time"``, ``"tick"`` (every ``size`` trades), ``"volume"`` (every ``size`` shares,
        trades split across bars), ``"value"`` (every ``size`` dollars) or ``"range"`` (a new bar
        when high-low would exceed ``size`` dollars).
    sessions
        Sessions to aggregate; trades in others are counted as ``outside_session``.
    split_sessions
        Cut bars at session boundaries (default). ``False`` with ``period="1d"`` and
        ``sessions=("regular",)`` gives exchange-style daily bars stamped at New York midnight.
    exclude_price_conditions, exclude_volume_conditions
        Condition bits whose prints do not set prices / do not count in volume (tape rules; see
        :data:`LEAN_PRICE_EXCLUDED_CONDITIONS`).
    drop_suspicious
        Skip prints flagged ``TradeFlag.SUSPICIOUS`` (counted).
    """

    def __init__(
        self,
        period: str | int | timedelta | None = "1min",
        *,
        kind: str = "time",
        size: float | None = None,
        sessions: Iterable[str] = _EXTENDED,
        split_sessions: bool = True,
        late: str = "drop",
        empty: str = "skip",
        bad: str = "raise",
        calendar: str = "us_equity",
        exclude_price_conditions: int = 0,
        exclude_volume_conditions: int = 0,
        drop_suspicious: bool = True,
        instrument_id: int = 0,
    ) -> None:
        super().__init__(
            _config(
                period=period,
                kind=kind,
                size=size,
                sessions=sessions,
                split_sessions=split_sessions,
                late=late,
                empty=empty,
                bad=bad,
                calendar=calendar,
                exclude_price_conditions=exclude_price_conditions,
                exclude_volume_conditions=exclude_volume_conditions,
                drop_suspicious=drop_suspicious,
                instrument_id=instrument_id,
            )
        )

    def update_batch(self, trades: np.ndarray) -> np.ndarray:
        """Apply a TRADE array in arrival order; return the BAR array of bars it closed."""
        return super().update_batch(_contiguous(trades, schema.TRADE, "TRADE"))

    def update_bars(self, bars: np.ndarray) -> np.ndarray:
        """Apply lower-period BAR rows (time bars only); return the bars they closed."""
        return super().update_bars(_contiguous(bars, schema.BAR, "BAR"))


class QuoteBarAggregator(_native.QuoteBarAggregator):
    """Streaming quote-bar builder (C++): bid/ask OHLC, last sizes, time-weighted spread.

    The book carries across bars: a bar opens at the book in force at its start. A side with
    price 0 is absent in that update (one-sided quotes). Crossed quotes, NaN/negative prices or
    sizes, and quotes with neither side are bad data (``bad`` policy). Late quotes never
    rewrite a closed bar: they are dropped and counted (``late="raise"`` raises).
    """

    def __init__(
        self,
        period: str | int | timedelta = "1min",
        *,
        sessions: Iterable[str] = _EXTENDED,
        split_sessions: bool = True,
        late: str = "drop",
        bad: str = "raise",
        calendar: str = "us_equity",
        instrument_id: int = 0,
    ) -> None:
        super().__init__(
            _config(
                period=period,
                kind="time",
                size=None,
                sessions=sessions,
                split_sessions=split_sessions,
                late=late,
                empty="skip",
                bad=bad,
                calendar=calendar,
                exclude_price_conditions=0,
                exclude_volume_conditions=0,
                drop_suspicious=True,
                instrument_id=instrument_id,
            )
        )

    def update_batch(self, quotes: np.ndarray) -> np.ndarray:
        """Apply a QUOTE array; return the QUOTE_BAR array of bars it closed."""
        return super().update_batch(_contiguous(quotes, schema.QUOTE, "QUOTE"))


def aggregate(trades: np.ndarray, period: str | int | timedelta | None = "1min", **options: object) -> np.ndarray:
    """Build bars from a TRADE array in one call (the streaming code, then a flush).

    ``options`` are those of :class:`BarAggregator`. Returns a BAR array.
    """
    aggregator = BarAggregator(period, **options)  # type: ignore[arg-type]
    closed = aggregator.update_batch(trades)
    return schema.concatenate([closed, aggregator.flush()], schema.BAR)


def resample(bars: np.ndarray, period: str | int | timedelta, **options: object) -> np.ndarray:
    """Build higher-period time bars from lower ones (5-min from 1-min).

    The result matches aggregating the original trades directly with the same options (VWAP to
    floating-point rounding). Flat input bars contribute nothing.
    """
    aggregator = BarAggregator(period, **options)  # type: ignore[arg-type]
    closed = aggregator.update_bars(bars)
    return schema.concatenate([closed, aggregator.flush()], schema.BAR)


def aggregate_quotes(quotes: np.ndarray, period: str | int | timedelta = "1min", **options: object) -> np.ndarray:
    """Build QUOTE_BAR rows from a QUOTE array in one call."""
    aggregator = QuoteBarAggregator(period, **options)  # type: ignore[arg-type]
    closed = aggregator.update_batch(quotes)
    return schema.concatenate([closed, aggregator.flush()], schema.QUOTE_BAR)
