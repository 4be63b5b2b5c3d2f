"""Read event CSV files of any layout, described by a :class:`CsvMapping`.

A mapping names, for each dtype field, the CSV column that fills it, and says how to read the
time column (epoch units or text, and the time zone of naive text), how prices are scaled, and
where the symbol comes from. Fields that are not mapped stay 0, so a quote file without sizes
is fine. Single-letter venue codes (``exchange``) become their ASCII value.

Example: Tardis.dev trades (``exchange,symbol,timestamp,local_timestamp,id,side,price,amount``,
timestamps in microseconds)::

    CsvMapping(kind="trade", time="timestamp", time_unit="us", symbol_column="symbol",
               columns={"price": "price", "size": "amount", "trade_id": "id"})

Mapping mistakes (a column that is not in the file, a field the kind does not have, a missing
time column) raise :class:`ConfigError`; bad values in the file raise :class:`DataError` naming
the file and line: non-numeric or empty values, an unparseable time, a text time without a date
(pandas would take it from the wall clock), a time or integer out of its field's range, a
non-finite price or size, a price that is not positive (0 is allowed where it means absent: a
quote side, a limit, a VWAP), a negative size, an empty symbol, a crossed quote (bid above ask,
both present; a locked quote is fine), and an unreadable or empty file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from tradecore import schema
from tradecore.errors import ConfigError, DataError
from tradecore.streams.base import EVENT_DTYPES, EventKind

__all__ = ["CsvMapping", "read_csv_events"]

TimeUnit = Literal["s", "ms", "us", "ns", "text"]
_UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_PRICE_FIELDS = {
    "price",
    "bid_price",
    "ask_price",
    "open",
    "high",
    "low",
    "close",
    "vwap",
    "limit_up",
    "limit_down",
}
_LETTER_FIELDS = {"exchange", "bid_exchange", "ask_exchange"}
# Prices where 0 means absent (a one-sided quote, no limit, no VWAP); other prices are positive.
_MAY_BE_ZERO = {"bid_price", "ask_price", "vwap", "limit_up", "limit_down"}
# Read as integers: through a float, 1700000000001 ms would become 1700000000000999936 ns.
_WHOLE = r"\s*[+-]?\d+\s*"
# pandas fills a missing date in from the wall clock ("13:00", "now", "today").
_YEAR = r"(?<![\d.])\d{4}"
_OFFSET = r"(?:[Zz]|[+-]\d\d:?\d\d)\s*$"  # an RFC 3339 / ISO 8601 offset ending the time
_FIRST_TIME = pd.Timestamp.min.tz_localize("UTC")
_LAST_TIME = pd.Timestamp.max.tz_localize("UTC")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CsvMapping:
    """How the columns of a CSV file become events.

    Parameters
    ----------
    kind
        Event kind of every row (``"trade"``, ``"quote"``, ``"bar"``, ...).
    time
        Column holding the event time (becomes ``ts_event``).
    time_unit
        ``"s"``, ``"ms"``, ``"us"`` or ``"ns"`` since the Unix epoch, or ``"text"`` for date-time
        text (ISO 8601 or anything pandas parses).
    timezone
        Time zone of naive text times (IANA name); text with an offset keeps its offset.
        Default ``"UTC"``. Also the zone whose calendar dates partition an import.
    columns
        Field name -> CSV column name, e.g. ``{"price": "px", "size": "qty"}``.
    price_scale
        Prices in the file are divided by this (10000 for LEAN's deci-cents). Default 1.
    symbol, symbol_column
        Exactly one: the symbol of every row, or the column holding it.
    delimiter
        Field separator. Default ``","``.
    """

    kind: EventKind | str
    time: str
    columns: Mapping[str, str]
    time_unit: TimeUnit = "text"
    timezone: str = "UTC"
    price_scale: float = 1.0
    symbol: str | None = None
    symbol_column: str | None = None
    delimiter: str = ","

    def __post_init__(self) -> None:
        try:
            kind = EventKind(self.kind) if not isinstance(self.kind, EventKind) else self.kind
        except ValueError:
            raise ConfigError(f"CSV mapping: unknown kind {self.kind!r}") from None
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "columns", dict(self.columns))
        fields = set(EVENT_DTYPES[kind].names or ()) - {"ts_event", "instrument_id"}
        unknown = sorted(set(self.columns) - fields)
        if unknown:
            raise ConfigError(
                f"CSV mapping: {kind.value} events have no field(s) {unknown}; "
                f"mappable: {sorted(fields)}"
            )
        if self.time_unit not in (*_UNIT_NS, "text"):
            raise ConfigError(
                f"CSV mapping: time_unit {self.time_unit!r} is not s, ms, us, ns or text"
            )
        if (self.symbol is None) == (self.symbol_column is None):
            raise ConfigError("CSV mapping: give exactly one of symbol and symbol_column")
        if not self.price_scale > 0:
            raise ConfigError(f"CSV mapping: price_scale must be positive, not {self.price_scale}")
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"CSV mapping: unknown time zone {self.timezone!r}") from None

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> CsvMapping:
        """Build a mapping from a dict (e.g. parsed JSON), rejecting unknown keys."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"CSV mapping: unknown key(s) {unknown}; known: {sorted(known)}")
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"CSV mapping: {exc}") from None

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> CsvMapping:
        """Read a mapping from a JSON file."""
        try:
            values = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"CSV mapping {path}: {exc}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"CSV mapping {path}: expected a JSON object")
        return cls.from_dict(values)

    def partition_date(self, ts_event: np.ndarray) -> np.ndarray:
        """Return each event's calendar date (``datetime64[D]``) in :attr:`timezone`."""
        local = pd.DatetimeIndex(pd.to_datetime(ts_event, unit="ns", utc=True)).tz_convert(
            self.timezone
        )
        return local.tz_localize(None).to_numpy().astype("datetime64[D]")


def _error(path: Path, message: str, line: int | None = None) -> DataError:
    where = f"{path}:{line}" if line is not None else str(path)
    error = DataError(f"{where}: {message}")
    error.path, error.line = path, line
    return error


def _first_bad(path: Path, bad: np.ndarray, message: str, raw: pd.Series) -> None:
    hits = np.flatnonzero(bad)
    if hits.size:
        # Line numbers are 1-based and count the header line.
        raise _error(path, f"{message} (got {raw.iloc[hits[0]]!r})", int(hits[0]) + 2)


def _numbers(path: Path, raw: pd.Series, message: str) -> pd.Series:
    numbers = pd.to_numeric(raw, errors="coerce")
    _first_bad(path, numbers.isna().to_numpy(), message, raw)
    return numbers


def _integers(
    path: Path, raw: pd.Series, numbers: pd.Series, what: str, dtype: np.dtype, scale: int = 1
) -> np.ndarray:
    """Return ``numbers`` times ``scale`` as ``dtype``, rejecting values outside its range.

    Whole numbers stay integers all the way; decimals (``1.5``, ``1e3``) are scaled as floats
    and must then be whole, unless ``scale`` is a time unit, when they are rounded to the
    nanosecond.
    """
    info = np.iinfo(dtype)
    # int64 fields are times, and pandas reads the lowest int64 as NaT.
    low, high = max(int(info.min), -int(info.max)), int(info.max)
    if numbers.dtype.kind in "iu":
        whole, exact = np.ones(len(raw), bool), numbers.to_numpy()
    else:  # decimals among them, or integers beyond 64 bits
        whole = raw.str.fullmatch(_WHOLE).to_numpy()
        exact = pd.to_numeric(raw[whole]).to_numpy()
        if exact.dtype.kind not in "iu":
            exact = np.array([int(text) for text in raw[whole]], dtype=object)
    given = numbers.to_numpy(dtype=np.float64)[~whole] * scale
    decimals = np.round(given)
    if scale == 1:
        fraction = np.zeros(len(raw), bool)
        fraction[~whole] = decimals != given
        _first_bad(path, fraction, f"{what} is not whole", raw)
    # Strict bounds for decimals: -2**63 and 2**64 are doubles just outside int64 and uint64.
    span = 2.0 ** (8 * dtype.itemsize - (dtype.kind == "i"))
    outside = np.zeros(len(raw), bool)
    outside[whole] = (exact < -(-low // scale)) | (exact > high // scale)
    outside[~whole] = ~(
        (decimals > -span if dtype.kind == "i" else decimals >= 0) & (decimals < span)
    )
    _first_bad(path, outside, f"{what} is out of range", raw)
    out = np.zeros(len(raw), dtype)
    out[whole] = exact.astype(dtype) * dtype.type(scale)
    out[~whole] = decimals.astype(dtype)
    return out


def _times(path: Path, mapping: CsvMapping, raw: pd.Series) -> np.ndarray:
    what = f"time {mapping.time!r}"
    if mapping.time_unit == "text":
        _first_bad(
            path,
            ~raw.str.contains(_YEAR).to_numpy(),
            f"{what} has no date with a four-digit year (pandas would take it from the wall clock)",
            raw,
        )
        # Times that carry their offset are exact whatever it is (a file crossing a daylight
        # saving change has two); times without one are the mapping's time zone. Both at once
        # would be a guess.
        zoned = raw.str.contains(_OFFSET).to_numpy()
        if zoned.any() and not zoned.all():
            _first_bad(path, ~zoned, f"{what} has no offset where other rows have one", raw)
        try:
            parsed = pd.to_datetime(raw, errors="coerce", format="mixed", utc=bool(zoned.all()))
        except ValueError as exc:
            raise _error(path, f"cannot read {what}: {exc}") from exc
        _first_bad(path, parsed.isna().to_numpy(), f"cannot read {what}", raw)
        index = pd.DatetimeIndex(parsed)
        if index.tz is None:
            index = index.tz_localize(mapping.timezone, ambiguous="NaT", nonexistent="NaT")
            _first_bad(
                path, np.asarray(index.isna()), "time does not exist or is ambiguous locally", raw
            )
        index = index.tz_convert("UTC")
        outside = np.asarray((index < _FIRST_TIME) | (index > _LAST_TIME))
        _first_bad(path, outside, f"{what} is out of range (int64 nanoseconds)", raw)
        return index.as_unit("ns").asi8.copy()
    numbers = _numbers(path, raw, f"bad time {mapping.time!r}")
    return _integers(path, raw, numbers, what, np.dtype(np.int64), _UNIT_NS[mapping.time_unit])


def read_csv_events(path: str | os.PathLike[str], mapping: CsvMapping) -> dict[str, np.ndarray]:
    """Read a CSV file into events, per symbol, in file order.

    Returns
    -------
    dict
        Upper-case symbol -> structured array of the mapping's kind (``instrument_id`` 0).

    Raises
    ------
    ConfigError
        When a mapped column is not in the file.
    DataError
        On a bad value, naming the file and line (1-based, the header is line 1).
    """
    path = Path(path)
    assert isinstance(mapping.kind, EventKind)
    try:
        frame = pd.read_csv(path, sep=mapping.delimiter, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise _error(path, f"not a readable CSV file ({exc})") from exc
    wanted = [mapping.time, *mapping.columns.values()]
    if mapping.symbol_column is not None:
        wanted.append(mapping.symbol_column)
    missing = [column for column in wanted if column not in frame.columns]
    if missing:
        raise ConfigError(
            f"{path}: CSV mapping names column(s) {missing}, file has {list(frame.columns)}"
        )
    dtype = EVENT_DTYPES[mapping.kind]
    out = np.zeros(len(frame), dtype=dtype)
    out["ts_event"] = _times(path, mapping, frame[mapping.time])
    for field, column in mapping.columns.items():
        raw = frame[column]
        target = dtype.fields[field][0]  # type: ignore[index]
        if field in _LETTER_FIELDS:
            text = raw.fillna("")
            _first_bad(path, (text.str.len() != 1).to_numpy(), f"{column!r} is not one letter", raw)
            out[field] = np.frombuffer("".join(text).encode("ascii", "replace"), dtype=np.uint8)
            continue
        if target.kind == "S":
            out[field] = raw.to_numpy().astype(target)
            continue
        numbers = _numbers(path, raw, f"bad {field} value in {column!r}")
        if target.kind in "iu":
            out[field] = _integers(path, raw, numbers, f"{field} in {column!r}", target)
            continue
        values = numbers.to_numpy(dtype=np.float64)
        if field in _PRICE_FIELDS:
            values = values / mapping.price_scale
        if field in _PRICE_FIELDS and field not in _MAY_BE_ZERO:
            bad, rule = ~(values > 0), "positive"
        else:
            bad, rule = ~(values >= 0), "0 or more (not negative)"
        _first_bad(
            path, bad | np.isinf(values), f"{field} in {column!r} must be finite and {rule}", raw
        )
        out[field] = values
    if "bid_price" in mapping.columns and "ask_price" in mapping.columns:
        crossed = schema.crossed(out)  # as the live decoders refuse them
        if crossed.any():
            bid, ask = (frame[mapping.columns[side]] for side in ("bid_price", "ask_price"))
            _first_bad(path, crossed, "crossed quote (bid above ask)", bid + " > " + ask)
    if mapping.symbol is not None:
        return {mapping.symbol.upper(): out}
    names = frame[mapping.symbol_column]
    _first_bad(
        path, (names.str.strip() == "").to_numpy(), f"no symbol in {mapping.symbol_column!r}", names
    )
    symbols = names.str.upper().to_numpy()
    return {str(symbol): out[symbols == symbol] for symbol in pd.unique(symbols)}
