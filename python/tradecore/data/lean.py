"""Read QuantConnect LEAN US-equity files into tradecore event arrays.

The files live under a LEAN ``Data/`` root (``equity/usa/<resolution>/...``); each is a zip
archive holding one headerless CSV. Facts this module relies on (see the data's PROVENANCE.md):

- Times are America/New_York wall-clock times. Intraday files give milliseconds since local
  midnight of the date in the file name; hour and daily files give ``"YYYYMMDD HH:MM"``.
  Both become ``int64`` nanoseconds UTC here, with the daylight-saving offset of each row.
  A wall-clock time that does not exist (the skipped hour) moves forward by the one-hour gap
  and one that occurs twice (the repeated hour) takes the earlier instant, as LEAN's own
  conversion (NodaTime's lenient resolver) does; US equity sessions never touch those hours.
- Prices are integers in 1/10,000 dollar and become ``float64`` dollars (``value / 10000``, the
  nearest double to the exact decimal). Prices are raw: not adjusted for splits or dividends.
- Sale and quote conditions are flag words written in hexadecimal.

Bad input raises :class:`tradecore.errors.DataError` whose message starts with
``<path>:<line>:`` (``line`` is the 1-based line of the CSV inside the archive). The exception
also carries ``path``, ``line`` and ``row``; ``row`` keeps its meaning from the error tree, the
0-based index of the offending event in the array being built (``line - 1``, since the files
have no header), or ``-1`` when no single line is at fault (an unreadable archive). What counts
as bad:

- an unreadable archive (truncated, corrupt, failed CRC, a compression method zipfile lacks,
  encrypted) or one that does not hold exactly one file;
- a line with the wrong number of fields, an empty or non-numeric field, a blank line, a time
  of day outside ``[0, 24 h)``, a ``suspicious`` value other than 0 or 1, an exchange that is not
  one letter, a condition that is not a 32-bit hexadecimal word;
- NaN anywhere (prices and sizes must be integers, so ``nan`` there is non-numeric);
- a trade or bar price that is zero or negative, a quote price or any size or volume that is
  negative (a quote side given as ``0,0`` is an absent side, not an error);
- a crossed quote, both sides present and the bid above the ask (a locked quote, bid equal to
  ask, is kept), and a bar whose open or close is outside ``[low, high]`` (which covers a high
  below the low). The recorded files have neither: each quote row there has one side absent.

Timestamps going backwards are not malformed data, so they are returned as they are by default:
LEAN writes rows in time order, and the downstream aggregator owns the late-data policy. Each
reader logs one warning per file with the count and the first such line (logger
``tradecore.data.lean``), and raises ``DataError`` instead when called with ``strict=True``.
Nothing is ever dropped. "Backwards" means earlier than the previous row for ticks (several
ticks can share a millisecond) and not later than the previous row for bars (one bar per
period).

Parsing is vectorised: pandas' C CSV engine with explicit column types reads the whole file,
then NumPy fills the structured array. (pandas' pyarrow engine is not used: it infers numeric
types and casts afterwards, so a price of ``1674100.5`` would silently become an integer.) Only
after the fast parser has rejected a file does a line-by-line scan run, to name the line at
fault.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tradecore.calendar import sessions
from tradecore.errors import ConfigError, DataError
from tradecore.schema import BAR, QUOTE, TRADE, Session, TradeFlag, crossed

__all__ = [
    "DATASETS",
    "NEW_YORK",
    "available_dates",
    "lean_path",
    "read_daily_bars",
    "read_hour_bars",
    "read_minute_bars",
    "read_quote_ticks",
    "read_second_bars",
    "read_trade_ticks",
]

_log = logging.getLogger("tradecore.data.lean")

NEW_YORK = "America/New_York"
"""Time zone of every LEAN US-equity timestamp."""

Kind = Literal["trade", "quote"]
Resolution = Literal["tick", "second", "minute", "hour", "daily"]
PathLike = str | os.PathLike[str]
DateLike = dt.date | str

_SECOND_NS = 1_000_000_000
_MILLISECOND_NS = 1_000_000
_DAY_MS = 86_400_000
_PRICE_SCALE = 10_000.0
_PERIOD_NS = {
    "second": _SECOND_NS,
    "minute": 60 * _SECOND_NS,
    "hour": 3_600 * _SECOND_NS,
    "daily": 86_400 * _SECOND_NS,
}
_FILE_NAME = re.compile(r"^(\d{8})_(trade|quote)\.zip$")


# --------------------------------------------------------------------------------------------
# Paths


def _parse_date(value: DateLike) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).replace("-", "")
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise ConfigError(f"not a date: {value!r} (use YYYYMMDD, YYYY-MM-DD or a date)") from None


def _symbol_folder(symbol: str) -> str:
    if not symbol or any(c in symbol for c in "/\\.") or symbol.strip() != symbol:
        raise ConfigError(f"not a ticker symbol: {symbol!r}")
    return symbol.lower()


def lean_path(
    root: PathLike,
    kind: Kind,
    symbol: str,
    date: DateLike | None = None,
    resolution: Resolution = "tick",
) -> Path:
    """Return the path of one LEAN US-equity file (it need not exist).

    Parameters
    ----------
    root
        The LEAN ``Data`` folder.
    kind
        ``"trade"`` or ``"quote"``. Hour and daily files hold trade bars only.
    symbol
        Ticker, any case (LEAN folders are lower case).
    date
        New York trading date of an intraday file; ignored for ``"hour"`` and ``"daily"``.
    resolution
        ``"tick"``, ``"second"``, ``"minute"``, ``"hour"`` or ``"daily"``.

    Returns
    -------
    Path
        ``root/equity/usa/<resolution>/<symbol>/<YYYYMMDD>_<kind>.zip`` for intraday data,
        ``root/equity/usa/<resolution>/<symbol>.zip`` for hour and daily data.

    Raises
    ------
    ConfigError
        On an unknown kind or resolution, a quote file at hour or daily resolution, a missing
        date for intraday data, or a symbol that is not a plain ticker.
    """
    if kind not in ("trade", "quote"):
        raise ConfigError(f"kind must be 'trade' or 'quote', not {kind!r}")
    base = Path(root) / "equity" / "usa" / resolution
    folder = _symbol_folder(symbol)
    if resolution in ("hour", "daily"):
        if kind != "trade":
            raise ConfigError(f"LEAN {resolution} equity files here hold trade bars only")
        return base / f"{folder}.zip"
    if resolution not in ("tick", "second", "minute"):
        raise ConfigError(f"unknown resolution {resolution!r}")
    if date is None:
        raise ConfigError(f"{resolution} files are per day: give a date")
    return base / folder / f"{_parse_date(date):%Y%m%d}_{kind}.zip"


def available_dates(
    root: PathLike, symbol: str, resolution: Resolution = "tick", kind: Kind = "trade"
) -> list[dt.date]:
    """Return the dates that have an intraday file, oldest first.

    Parameters
    ----------
    root
        The LEAN ``Data`` folder.
    symbol
        Ticker, any case.
    resolution
        ``"tick"``, ``"second"`` or ``"minute"``; hour and daily data is one file per symbol.
    kind
        ``"trade"`` or ``"quote"``.

    Returns
    -------
    list of datetime.date
        Empty when the symbol has no folder at this resolution.
    """
    if resolution not in ("tick", "second", "minute"):
        raise ConfigError(
            f"available_dates lists per-day files (tick, second, minute), not {resolution!r}; "
            "hour and daily data is one file per symbol, see lean_path"
        )
    folder = lean_path(root, kind, symbol, dt.date(2000, 1, 1), resolution).parent
    if not folder.is_dir():
        return []
    dates = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match and match.group(2) == kind:
            dates.append(_parse_date(match.group(1)))
    return sorted(dates)


def _resolve(
    source: PathLike,
    symbol: str | None,
    date: DateLike | None,
    kind: Kind,
    resolution: Resolution,
) -> tuple[Path, dt.date]:
    """Return the file to read and its trading date, from a path or from (root, symbol, date)."""
    if symbol is not None:
        if date is None:
            raise ConfigError("give a date with the symbol")
        day = _parse_date(date)
        return lean_path(source, kind, symbol, day, resolution), day
    path = Path(source)
    if date is not None:
        return path, _parse_date(date)
    match = _FILE_NAME.match(path.name)
    if match is None:
        raise ConfigError(
            f"{path}: cannot tell the trading date from the file name (expected "
            "YYYYMMDD_trade.zip or YYYYMMDD_quote.zip); pass date="
        )
    return path, _parse_date(match.group(1))


# --------------------------------------------------------------------------------------------
# Errors


def _data_error(path: Path, message: str, line: int | None = None) -> DataError:
    """Build a DataError that names the file and, when known, the 1-based CSV line."""
    where = f"{path}:{line}" if line is not None else str(path)
    error = DataError(f"{where}: {message}")
    error.path = path
    error.line = line
    error.row = line - 1 if line is not None else -1
    return error


def _first(mask: np.ndarray) -> int | None:
    """Return the 1-based line of the first True in a per-row mask, or None."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) + 1 if hits.size else None


def _require(path: Path, bad: np.ndarray, message: str, values: np.ndarray | None = None) -> None:
    """Raise for the first row where ``bad`` holds, showing its value when given."""
    line = _first(bad)
    if line is not None:
        shown = f" (got {values[line - 1:line].tolist()[0]!r})" if values is not None else ""
        raise _data_error(path, message + shown, line)


# --------------------------------------------------------------------------------------------
# Parsing


@dataclass(frozen=True)
class _Column:
    name: str
    dtype: str  # what the fast parser reads the field as
    pattern: str  # what a well-formed field looks like, for naming a bad line


_TIME = "float64", r"[+-]?\d+(\.\d*)?"  # ms after midnight; LEAN allows fractions
_INT = "int64", r"[+-]?\d{1,18}"  # fits int64
_HEX = "str", r"[0-9A-Fa-f]{1,8}"
_LETTER = "str", r"[A-Za-z]"
_FLAG = "int8", r"[01]"


def _columns(*specs: tuple[str, str, str]) -> tuple[_Column, ...]:
    return tuple(_Column(*spec) for spec in specs)


_TRADE_TICK = _columns(
    ("time_ms", *_TIME),
    ("price", *_INT),
    ("size", *_INT),
    ("exchange", *_LETTER),
    ("condition", *_HEX),
    ("suspicious", *_FLAG),
)
_QUOTE_TICK = _columns(
    ("time_ms", *_TIME),
    ("bid_price", *_INT),
    ("bid_size", *_INT),
    ("ask_price", *_INT),
    ("ask_size", *_INT),
    ("exchange", *_LETTER),
    ("condition", *_HEX),
    ("suspicious", *_FLAG),
)
_OHLCV = (("open", *_INT), ("high", *_INT), ("low", *_INT), ("close", *_INT), ("volume", *_INT))
_INTRADAY_BAR = _columns(("time_ms", *_TIME), *_OHLCV)
_STAMPED_BAR = _columns(("stamp", "str", r"\d{8} \d{2}:\d{2}"), *_OHLCV)


def _read_member(path: Path) -> bytes:
    """Return the bytes of the one file inside a LEAN zip archive (checked against its CRC)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) != 1:
                raise _data_error(path, f"expected one CSV in the archive, found {len(members)}")
            return archive.read(members[0])
    except FileNotFoundError:
        raise
    # zipfile raises NotImplementedError for a compression method it lacks and RuntimeError
    # for an encrypted member; both are RuntimeErrors (DataError is not one).
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError) as exc:
        raise _data_error(path, f"not a readable zip archive ({exc})") from exc


def _line_count(data: bytes) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _find_bad_line(path: Path, data: bytes, columns: tuple[_Column, ...]) -> DataError | None:
    """Scan line by line for the first malformed line; runs only after the fast parser failed."""
    patterns = [re.compile(column.pattern) for column in columns]
    lines = data.decode("utf-8", errors="replace").split("\n")
    if lines[-1] == "":
        lines.pop()  # the empty text after a final newline
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        fields = line.split(",")
        if len(fields) != len(columns):
            shown = repr(line) if line else "a blank line"
            return _data_error(
                path, f"expected {len(columns)} fields, found {len(fields)} in {shown}", number
            )
        for column, pattern, field in zip(columns, patterns, fields):
            if not pattern.fullmatch(field):
                return _data_error(path, f"bad {column.name} field {field!r}", number)
    return None


def _parse(path: Path, columns: tuple[_Column, ...]) -> pd.DataFrame:
    """Read a LEAN zip into a DataFrame with one typed column per field, row i = line i + 1."""
    data = _read_member(path)
    names = [column.name for column in columns]
    if not data.strip():
        return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in columns})
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            header=None,
            names=names,
            dtype={column.name: column.dtype for column in columns},
            engine="c",
            skip_blank_lines=False,
        )
    except (ValueError, TypeError, OverflowError) as exc:  # pandas' ParserError is a ValueError
        raise _find_bad_line(path, data, columns) or _data_error(
            path, f"unreadable CSV ({exc})"
        ) from exc
    # Row i must be line i + 1 for errors to name the right line; the count also guards
    # against anything the parser might merge or skip.
    if len(frame) != _line_count(data) or frame.isna().to_numpy().any():
        raise _find_bad_line(path, data, columns) or _data_error(
            path, f"{len(frame)} rows parsed from {_line_count(data)} lines"
        )
    return frame


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy()


def _prices(path: Path, frame: pd.DataFrame, name: str, *, zero_allowed: bool) -> np.ndarray:
    """Return a price column in dollars; raise on zero (unless allowed) or negative values."""
    raw = _column(frame, name)
    bad = raw < 0 if zero_allowed else raw <= 0
    _require(path, bad, f"{name} must be {'>= 0' if zero_allowed else '> 0'}", raw)
    return raw / _PRICE_SCALE


def _sizes(path: Path, frame: pd.DataFrame, name: str) -> np.ndarray:
    raw = _column(frame, name)
    _require(path, raw < 0, f"{name} must be >= 0", raw)
    return raw.astype(np.float64)


def _codes(path: Path, frame: pd.DataFrame, name: str, *, hexadecimal: bool) -> np.ndarray:
    """Map a text column to integers through its distinct values, not row by row.

    A hexadecimal flag word becomes its value, a one-letter code its ASCII value.
    """
    codes, uniques = pd.factorize(frame[name])
    values = np.empty(len(uniques), dtype=np.uint32)
    pattern = re.compile(_HEX[1] if hexadecimal else _LETTER[1])
    for i, text in enumerate(uniques):
        if not pattern.fullmatch(text):
            _require(path, codes == i, f"bad {name} field {text!r}")
        values[i] = int(text, 16) if hexadecimal else ord(text)
    return values[codes]


def _suspicious(path: Path, frame: pd.DataFrame) -> np.ndarray:
    raw = _column(frame, "suspicious")
    _require(path, (raw != 0) & (raw != 1), "suspicious must be 0 or 1", raw)
    return np.where(raw == 1, np.uint8(TradeFlag.SUSPICIOUS), np.uint8(0))


def _time_of_day_ns(path: Path, frame: pd.DataFrame) -> np.ndarray:
    """Return the time-of-day column (ms after New York midnight) as ns, checked to lie in a day."""
    ms = _column(frame, "time_ms")
    _require(path, ~((ms >= 0) & (ms < _DAY_MS)), "time of day must be in [0, 86400000) ms", ms)
    times: np.ndarray = np.rint(ms * _MILLISECOND_NS).astype(np.int64)
    return times


def _local_midnight_ns(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * 86_400 * _SECOND_NS


def _new_york_to_utc(local_ns: np.ndarray) -> np.ndarray:
    """Convert New York wall-clock ns (since the local epoch) to UTC ns, each row its offset.

    Like LEAN (``ConvertTo`` with NodaTime's ``AtLeniently``): a time in the repeated hour takes
    its first (daylight) instant, a time in the skipped hour moves forward by the gap, which is
    one hour in New York (02:30 becomes 03:30 EDT).
    """
    wall = pd.DatetimeIndex(local_ns.astype("datetime64[ns]"))
    utc = wall.tz_localize(
        NEW_YORK,
        ambiguous=np.ones(len(wall), dtype=bool),
        nonexistent=pd.Timedelta(hours=1),
    )
    return utc.asi8




def _check_order(path: Path, ts: np.ndarray, *, strict: bool, bars: bool) -> None:
    """Warn about (or, when strict, raise on) rows earlier than the previous row."""
    step = np.diff(ts)
    backwards = step <= 0 if bars else step < 0
    count = int(np.count_nonzero(backwards))
    if count == 0:
        return
    line = int(np.flatnonzero(backwards)[0]) + 2
    what = "not later than" if bars else "earlier than"
    if strict:
        raise _data_error(path, f"timestamp {what} the previous line's", line)
    _log.warning(
        "%s: %d rows with a timestamp %s the previous row's, first at line %d; "
        "returned in file order",
        path,
        count,
        what,
        line,
    )


def _instrument(instrument_id: int) -> np.uint32:
    if not 0 <= instrument_id < 2**32:
        raise ConfigError(f"instrument_id must fit in 32 bits unsigned, not {instrument_id}")
    return np.uint32(instrument_id)


# --------------------------------------------------------------------------------------------
# Readers


def read_trade_ticks(
    source: PathLike,
    symbol: str | None = None,
    date: DateLike | None = None,
    *,
    instrument_id: int = 0,
    strict: bool = False,
) -> np.ndarray:
    """Read a LEAN tick trade file (``tick/<sym>/<YYYYMMDD>_trade.zip``) into TRADE events.

    Parameters
    ----------
    source
        The file, or the LEAN ``Data`` folder when ``symbol`` and ``date`` are given.
    symbol, date
        Ticker and New York trading date. With a file path, ``date`` overrides the date taken
        from the file name.
    instrument_id
        Written into every event.
    strict
        Raise DataError on a timestamp earlier than the previous row's instead of returning the
        rows as they are (with a logged warning).

    Returns
    -------
    numpy.ndarray
        ``tradecore.schema.TRADE`` rows in file order: ``ts_event`` ns UTC, ``price`` dollars,
        ``size`` shares, ``conditions`` the sale-condition flag word, ``exchange`` the ASCII
        venue letter, ``flags`` TradeFlag.SUSPICIOUS when AlgoSeek flagged the print.

    Raises
    ------
    DataError
        On bad input, naming the file and line (see the module docstring).
    ConfigError
        On a bad symbol, date or instrument id.
    FileNotFoundError
        When the file does not exist.
    """
    path, day = _resolve(source, symbol, date, "trade", "tick")
    frame = _parse(path, _TRADE_TICK)
    out = np.zeros(len(frame), dtype=TRADE)
    out["ts_event"] = _new_york_to_utc(_local_midnight_ns(day) + _time_of_day_ns(path, frame))
    out["price"] = _prices(path, frame, "price", zero_allowed=False)
    out["size"] = _sizes(path, frame, "size")
    out["conditions"] = _codes(path, frame, "condition", hexadecimal=True)
    out["exchange"] = _codes(path, frame, "exchange", hexadecimal=False)
    out["flags"] = _suspicious(path, frame)
    out["instrument_id"] = _instrument(instrument_id)
    _check_order(path, out["ts_event"], strict=strict, bars=False)
    return out


def read_quote_ticks(
    source: PathLike,
    symbol: str | None = None,
    date: DateLike | None = None,
    *,
    instrument_id: int = 0,
    strict: bool = False,
) -> np.ndarray:
    """Read a LEAN tick quote file (``tick/<sym>/<YYYYMMDD>_quote.zip``) into QUOTE events.

    These are not NBBO updates: each row is one exchange's new bid or ask, and the other side
    is given as ``0,0``, which stays a 0 price and size here (the schema's "absent side"). To
    build a consolidated best bid and offer, track every exchange's sides separately. A row
    with both sides present must not be crossed (bid above ask); a locked one is kept.

    Parameters
    ----------
    source, symbol, date, instrument_id, strict
        As in :func:`read_trade_ticks`.

    Returns
    -------
    numpy.ndarray
        ``tradecore.schema.QUOTE`` rows in file order: ``ts_event`` ns UTC, prices in dollars
        (0 = absent side), sizes in shares, ``conditions`` the quote-condition flag word,
        ``bid_exchange``/``ask_exchange`` the ASCII venue letter on each present side (0 on an
        absent side), ``flags`` TradeFlag.SUSPICIOUS's bit when the quote was flagged.

    Raises
    ------
    DataError, ConfigError, FileNotFoundError
        As in :func:`read_trade_ticks`.
    """
    path, day = _resolve(source, symbol, date, "quote", "tick")
    frame = _parse(path, _QUOTE_TICK)
    out = np.zeros(len(frame), dtype=QUOTE)
    out["ts_event"] = _new_york_to_utc(_local_midnight_ns(day) + _time_of_day_ns(path, frame))
    for side in ("bid", "ask"):
        out[f"{side}_price"] = _prices(path, frame, f"{side}_price", zero_allowed=True)
        out[f"{side}_size"] = _sizes(path, frame, f"{side}_size")
    line = _first(crossed(out))
    if line is not None:
        bid, ask = out["bid_price"][line - 1], out["ask_price"][line - 1]
        raise _data_error(path, f"crossed quote: bid {bid} > ask {ask}", line)
    exchange = _codes(path, frame, "exchange", hexadecimal=False)
    out["bid_exchange"] = np.where(out["bid_price"] > 0, exchange, 0)
    out["ask_exchange"] = np.where(out["ask_price"] > 0, exchange, 0)
    out["conditions"] = _codes(path, frame, "condition", hexadecimal=True)
    out["flags"] = _suspicious(path, frame)
    out["instrument_id"] = _instrument(instrument_id)
    _check_order(path, out["ts_event"], strict=strict, bars=False)
    return out


def _fill_bar_prices(path: Path, frame: pd.DataFrame, out: np.ndarray, instrument_id: int) -> None:
    for name in ("open", "high", "low", "close"):
        out[name] = _prices(path, frame, name, zero_allowed=False)
    # Both ends must be trades of the bar; this also rules out a high below the low.
    low, high = out["low"], out["high"]
    inside = [(low <= out[name]) & (out[name] <= high) for name in ("open", "close")]
    line = _first(~(inside[0] & inside[1]))
    if line is not None:
        bar = out[line - 1]
        raise _data_error(
            path,
            f"impossible bar: open {bar['open']}, high {bar['high']}, low {bar['low']}, "
            f"close {bar['close']} (open and close must be within [low, high])",
            line,
        )
    out["volume"] = _sizes(path, frame, "volume")
    out["vwap"] = np.nan
    out["instrument_id"] = _instrument(instrument_id)


def _read_intraday_bars(
    source: PathLike,
    symbol: str | None,
    date: DateLike | None,
    resolution: Literal["second", "minute"],
    instrument_id: int,
    strict: bool,
) -> np.ndarray:
    path, day = _resolve(source, symbol, date, "trade", resolution)
    frame = _parse(path, _INTRADAY_BAR)
    out = np.zeros(len(frame), dtype=BAR)
    time_of_day = _time_of_day_ns(path, frame)
    out["ts_event"] = _new_york_to_utc(_local_midnight_ns(day) + time_of_day)
    out["ts_end"] = out["ts_event"] + _PERIOD_NS[resolution]
    out["session"] = sessions(out["ts_event"])
    _fill_bar_prices(path, frame, out, instrument_id)
    _check_order(path, out["ts_event"], strict=strict, bars=True)
    return out


def read_minute_bars(
    source: PathLike,
    symbol: str | None = None,
    date: DateLike | None = None,
    *,
    instrument_id: int = 0,
    strict: bool = False,
) -> np.ndarray:
    """Read a LEAN minute trade-bar file (``minute/<sym>/<YYYYMMDD>_trade.zip``) into BARs.

    LEAN leaves out minutes without trades, so bars need not be contiguous.

    Parameters
    ----------
    source, symbol, date, instrument_id, strict
        As in :func:`read_trade_ticks`.

    Returns
    -------
    numpy.ndarray
        ``tradecore.schema.BAR`` rows in file order: ``ts_event`` the bar's open and ``ts_end``
        the open plus the period, ns UTC; raw (not split-adjusted) prices in dollars;
        ``volume`` in shares; ``vwap`` NaN and ``trade_count`` 0, which LEAN bars do not carry;
        ``session`` of the open (:func:`tradecore.calendar.sessions`: PREMARKET 04:00-09:30,
        REGULAR 09:30-16:00, AFTER_HOURS 16:00-20:00, else OVERNIGHT; 13:00/17:00 on early
        closes).

    Raises
    ------
    DataError, ConfigError, FileNotFoundError
        As in :func:`read_trade_ticks`; ``strict`` raises on a bar that does not start after
        the previous one.
    """
    return _read_intraday_bars(source, symbol, date, "minute", instrument_id, strict)


def read_second_bars(
    source: PathLike,
    symbol: str | None = None,
    date: DateLike | None = None,
    *,
    instrument_id: int = 0,
    strict: bool = False,
) -> np.ndarray:
    """Read a LEAN second trade-bar file (``second/<sym>/<YYYYMMDD>_trade.zip``) into BARs.

    LEAN leaves out seconds without trades, so bars need not be contiguous.

    Parameters
    ----------
    source, symbol, date, instrument_id, strict
        As in :func:`read_trade_ticks`.

    Returns
    -------
    numpy.ndarray
        As for :func:`read_minute_bars`, with one-second bars.

    Raises
    ------
    DataError, ConfigError, FileNotFoundError
        As in :func:`read_minute_bars`.
    """
    return _read_intraday_bars(source, symbol, date, "second", instrument_id, strict)


def _read_stamped_bars(
    source: PathLike,
    symbol: str | None,
    resolution: Literal["hour", "daily"],
    instrument_id: int,
    strict: bool,
) -> np.ndarray:
    if symbol is not None:
        path = lean_path(source, "trade", symbol, None, resolution)
    else:
        path = Path(source)
    frame = _parse(path, _STAMPED_BAR)
    stamps = pd.to_datetime(frame["stamp"], format="%Y%m%d %H:%M", errors="coerce")
    _require(path, stamps.isna().to_numpy(), "bad stamp field", _column(frame, "stamp"))
    local = stamps.to_numpy().astype("datetime64[ns]").astype(np.int64)
    out = np.zeros(len(frame), dtype=BAR)
    out["ts_event"] = _new_york_to_utc(local)
    # A daily bar ends at the next New York midnight, which is 23 or 25 hours away across a
    # daylight-saving change; an hour bar is always one hour.
    if resolution == "daily":
        out["ts_end"] = _new_york_to_utc(local + _PERIOD_NS["daily"])
    else:
        out["ts_end"] = out["ts_event"] + _PERIOD_NS["hour"]
    out["session"] = Session.REGULAR
    _fill_bar_prices(path, frame, out, instrument_id)
    _check_order(path, out["ts_event"], strict=strict, bars=True)
    return out


def read_hour_bars(
    source: PathLike, symbol: str | None = None, *, instrument_id: int = 0, strict: bool = False
) -> np.ndarray:
    """Read a LEAN hour trade-bar file (``hour/<sym>.zip``, every day of the symbol) into BARs.

    LEAN's hour bars cover the regular session only and are stamped 09:00 to 15:00 New York.
    ``ts_event`` is the stamp and ``ts_end`` one hour later, as LEAN labels them, but the bar
    stamped 09:00 holds only 09:30-10:00 trading (there is no earlier regular trading).

    Parameters
    ----------
    source
        The file, or the LEAN ``Data`` folder when ``symbol`` is given.
    symbol
        Ticker, any case.
    instrument_id, strict
        As in :func:`read_trade_ticks`.

    Returns
    -------
    numpy.ndarray
        ``tradecore.schema.BAR`` rows in file order, as for :func:`read_minute_bars`, with
        ``session`` REGULAR on every bar.

    Raises
    ------
    DataError, ConfigError, FileNotFoundError
        As in :func:`read_minute_bars`.
    """
    return _read_stamped_bars(source, symbol, "hour", instrument_id, strict)


def read_daily_bars(
    source: PathLike, symbol: str | None = None, *, instrument_id: int = 0, strict: bool = False
) -> np.ndarray:
    """Read a LEAN daily trade-bar file (``daily/<sym>.zip``) into BARs.

    Daily bars aggregate the regular session (09:30-16:00) only. ``ts_event`` is New York
    midnight of the trading date (LEAN's ``00:00`` stamp) and ``ts_end`` the next New York
    midnight.

    Parameters
    ----------
    source, symbol, instrument_id, strict
        As in :func:`read_hour_bars`.

    Returns
    -------
    numpy.ndarray
        ``tradecore.schema.BAR`` rows in file order, as for :func:`read_minute_bars`, with
        ``session`` REGULAR on every bar.

    Raises
    ------
    DataError, ConfigError, FileNotFoundError
        As in :func:`read_minute_bars`.
    """
    return _read_stamped_bars(source, symbol, "daily", instrument_id, strict)


DATASETS: dict[str, tuple[str, str, Callable[..., np.ndarray]]] = {
    "trade": ("tick", "trade", read_trade_ticks),
    "quote": ("tick", "quote", read_quote_ticks),
    "minute": ("minute", "trade", read_minute_bars),
    "second": ("second", "trade", read_second_bars),
}
"""Dated datasets by name -> (LEAN resolution, file kind, reader): what import and replay read."""
