"""Replay stored market data as a :class:`MarketDataStream`.

Sources
-------
:class:`ParquetSource`
    tradecore's Parquet dataset layout (:mod:`tradecore.data.parquet`), what
    ``tradecore data import`` writes.
:class:`LeanSource`
    QuantConnect LEAN files read directly (:mod:`tradecore.data.lean`).
:class:`CsvSource`
    CSV files of any layout, described by a :class:`~tradecore.data.mapped_csv.CsvMapping`.
:class:`~tradecore.streams.recorder.RecordingSource`
    A folder written by :class:`~tradecore.streams.recorder.Recorder`.

Each source holds *datasets* (``trade``, ``quote``, ``minute``, ``second``, ``daily``, ...) per
symbol; a dataset is one event kind (:data:`tradecore.data.parquet.DATASET_KINDS`).

Merge order
-----------
Events of all subscribed (dataset, symbol) streams are merged by their *merge time*: ``ts_event``
for every kind except bars, whose merge time is ``ts_end``, the instant the bar is complete (so a
bar never arrives before the trades it sums up). Ties are broken, deterministically, by:

1. kind: status < luld < bars < quote < trade < correction < cancel_error. A halt applies to
   everything at its instant; a bar ending at *t* holds nothing at *t*; a trade executes
   against the quote in force;
2. symbol, alphabetically;
3. dataset, in the order given to :class:`ReplayStream` (``minute`` before ``second`` if given so);
4. position in the stream (file order).

Recordings are merged by their recorded delivery sequence instead, so they replay exactly as
they were delivered.

``start``/``end`` select events whose merge time (a recording: ``ts_received``) is in
``[start, end)``. With ``speed=0`` the stream hands out large batches: a batch of one stream
reaches up to the next event of another, found vectorised over a window of up to ``window``
events per stream. With ``speed > 0`` it sleeps until the wall clock reaches the event time
divided by ``speed`` (1 = real time), and a batch holds the events of one stream with the same
time.

Events of one stream are expected in time order. A file that is not is sorted by merge time
(stable) when loaded, counted in ``stats["parts_unsorted"]`` and logged; files of one stream
that overlap in time are replayed in file order, not re-sorted across files.

Bad input
---------
A part (file) that cannot be read is counted once in ``stats["parts_bad"]``.
``on_error="raise"`` (default) raises its :class:`DataError`, whose message names the file;
``"skip"`` logs it once with its path, leaves it out and keeps going. For Parquet only the
unreadable row groups are left out (``stats["row_groups_bad"]``), so nothing readable is lost.
LEAN files are all-or-nothing: the reader rejects a file with any bad line.

Subscriptions
-------------
``subscribe``/``unsubscribe`` work at any time. A symbol subscribed during a replay joins at the
replay clock (its events from the time of the last event handed out); an unsubscribed symbol's
batches stop at once, also within a merge window.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import datetime as dt
import functools
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tradecore import schema
from tradecore.data import lean, parquet
from tradecore.data.mapped_csv import CsvMapping, read_csv_events
from tradecore.errors import ConfigError, DataError
from tradecore.streams.base import (
    EVENT_DTYPES,
    EventBatch,
    EventKind,
    Instruments,
    MarketDataStream,
)

__all__ = [
    "KIND_ORDER",
    "Chunk",
    "CsvSource",
    "LeanSource",
    "ParquetSource",
    "Part",
    "ReplayStream",
    "Source",
    "merge_time",
    "to_ns",
]

_log = logging.getLogger("tradecore.streams.replay")

OnError = Literal["raise", "skip"]
TimeLike = int | str | dt.datetime | pd.Timestamp | np.datetime64
_NS_MAX = np.iinfo(np.int64).max
_DAY = dt.timedelta(days=1)

KIND_ORDER: dict[EventKind, int] = {
    EventKind.STATUS: 0,
    EventKind.LULD: 1,
    EventKind.BAR: 2,
    EventKind.UPDATED_BAR: 2,
    EventKind.DAILY_BAR: 2,
    EventKind.QUOTE: 3,
    EventKind.TRADE: 4,
    EventKind.CORRECTION: 5,
    EventKind.CANCEL_ERROR: 6,
}
"""Tie-break rank of each kind at equal merge time (lower first)."""

_BAR_KINDS = {EventKind.BAR, EventKind.UPDATED_BAR, EventKind.DAILY_BAR}


def merge_time(kind: EventKind, events: np.ndarray) -> np.ndarray:
    """Return the merge time of ``events`` (int64 ns UTC): bars' ``ts_end``, else ``ts_event``."""
    return events["ts_end" if kind in _BAR_KINDS else "ts_event"]


def to_ns(value: TimeLike, name: str = "time") -> int:
    """Return ``value`` as int64 ns UTC: an int is taken as ns; naive text or datetimes as UTC.

    Raises
    ------
    ConfigError
        Naming ``name`` and the value, when it is not a time that int64 ns can hold (text
        pandas cannot parse, NaN/NaT, an int or a date out of range, a bool).
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        ns = int(value)
    else:
        # pandas raises ValueErrors (DateParseError, OutOfBoundsDatetime) or a TypeError (a
        # bool, a list), and turns NaN into NaT, which would only fail later, at subscribe.
        try:
            stamp = pd.Timestamp(value)
            if pd.isna(stamp):
                raise ValueError("NaN/NaT is no time")
            if stamp.tzinfo is None:
                stamp = stamp.tz_localize("UTC")
            ns = int(stamp.as_unit("ns").value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ConfigError(f"{name} must be a time, not {value!r} ({exc})") from None
    if not -_NS_MAX <= ns <= _NS_MAX:  # int64's minimum is pandas' NaT
        raise ConfigError(f"{name} must be a time within int64 ns UTC, not {value!r}")
    return ns


# --------------------------------------------------------------------------------------------
# Sources


@dataclasses.dataclass(frozen=True, slots=True)
class Chunk:
    """Events of one stream, loaded from one part.

    Attributes
    ----------
    events
        Structured array of the dataset's kind.
    key
        int64 merge key per event; ``None`` means :func:`merge_time`.
    clock
        int64 ns per event for pacing and start/end; ``None`` means the key.
    ts_received
        Receive times (recordings only).
    bad_row_groups
        Row groups of the part that were unreadable and skipped.
    """

    events: np.ndarray
    key: np.ndarray | None = None
    clock: np.ndarray | None = None
    ts_received: np.ndarray | None = None
    bad_row_groups: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class Part:
    """One loadable piece (a file) of a stream, oldest first.

    Attributes
    ----------
    where
        Names the part in messages (a path).
    load
        Returns the part's events; takes the stream's ``on_error``.
    lower_bound
        Optionally returns a cheap lower bound of the part's keys without loading it (e.g. from
        Parquet statistics), or None. It lets the merge hand out a whole buffer when the next
        part cannot tie with it.
    """

    where: str
    load: Callable[[OnError], Chunk]
    lower_bound: Callable[[], int | None] | None = None


class Source(abc.ABC):
    """Stored events, per dataset and symbol."""

    keeps_instrument_ids = False
    """True when stored ``instrument_id``s are kept; otherwise the stream assigns them."""

    @abc.abstractmethod
    def datasets(self) -> tuple[str, ...]:
        """Return the dataset names this source can hold (the default selection)."""

    @abc.abstractmethod
    def parts(self, dataset: str, symbol: str, start: int | None, end: int | None) -> list[Part]:
        """Return the parts of one stream that may hold clock times in ``[start, end)``."""

    def kind(self, dataset: str) -> EventKind:
        """Return the event kind of a dataset."""
        return parquet.dataset_kind(dataset)


def _day_range(start: int | None, end: int | None) -> tuple[dt.date, dt.date]:
    """Dates of files (local trading dates) that may hold UTC times in [start, end)."""
    low = dt.date.min if start is None else pd.Timestamp(start, unit="ns").date() - _DAY
    high = dt.date.max if end is None else pd.Timestamp(end, unit="ns").date() + _DAY
    return low, high


class ParquetSource(Source):
    """tradecore's Parquet dataset layout under ``root`` (see :mod:`tradecore.data.parquet`)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ConfigError(f"no Parquet dataset folder at {self.root}")

    def datasets(self) -> tuple[str, ...]:
        return tuple(sorted(p.name for p in self.root.iterdir() if p.name in parquet.DATASET_KINDS))

    def parts(self, dataset: str, symbol: str, start: int | None, end: int | None) -> list[Part]:
        kind = self.kind(dataset)
        low, high = _day_range(start, end)

        def loader(path: Path) -> Callable[[OnError], Chunk]:
            def load(on_error: OnError) -> Chunk:
                events, _, bad = parquet.read_events(path, kind, on_error=on_error)
                return Chunk(events, bad_row_groups=bad)

            return load

        column = "ts_end" if kind in _BAR_KINDS else "ts_event"
        return [
            Part(str(path), loader(path), functools.partial(parquet.column_minimum, path, column))
            for day, path in parquet.dataset_files(self.root, dataset, symbol)
            if low <= day <= high
        ]


class LeanSource(Source):
    """QuantConnect LEAN US-equity files under a LEAN ``Data`` root, read directly.

    Datasets: ``trade`` and ``quote`` (tick files), ``minute`` and ``second`` (trade bars),
    ``daily`` (daily trade bars, one file per symbol).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if not (self.root / "equity").is_dir():
            raise ConfigError(f"{self.root} is not a LEAN Data folder (no equity/ inside)")

    def datasets(self) -> tuple[str, ...]:
        return ("trade", "quote", "minute", "second", "daily")

    def parts(self, dataset: str, symbol: str, start: int | None, end: int | None) -> list[Part]:
        if dataset == "daily":
            path = lean.lean_path(self.root, "trade", symbol, None, "daily")
            if not path.is_file():
                return []
            return [Part(str(path), lambda _: Chunk(lean.read_daily_bars(path)))]
        if dataset not in lean.DATASETS:
            raise ConfigError(f"LEAN source has no dataset {dataset!r}; use {self.datasets()}")
        resolution, kind, reader = lean.DATASETS[dataset]
        # A New York date D holds UTC times in [D 04:00, D+1 05:00) (EDT/EST), bar ends included.
        low, high = dt.date.min, dt.date.max
        if start is not None:
            low = (pd.Timestamp(start, unit="ns") - pd.Timedelta(hours=29)).date()
        if end is not None:
            high = (pd.Timestamp(end, unit="ns") - pd.Timedelta(hours=4, nanoseconds=1)).date()

        def loader(day: dt.date) -> Callable[[OnError], Chunk]:
            return lambda _: Chunk(reader(self.root, symbol, day))

        return [
            Part(str(lean.lean_path(self.root, kind, symbol, day, resolution)), loader(day))  # type: ignore[arg-type]
            for day in lean.available_dates(self.root, symbol, resolution, kind)  # type: ignore[arg-type]
            if low <= day <= high
        ]


class CsvSource(Source):
    """CSV files read through one :class:`CsvMapping`; the dataset is the mapping's kind.

    Each file is a part; a file is parsed once and its rows split by symbol.
    """

    def __init__(self, paths: Iterable[str | os.PathLike[str]], mapping: CsvMapping) -> None:
        self.paths = [Path(p) for p in paths]
        self.mapping = mapping
        self._parsed: dict[Path, dict[str, np.ndarray]] = {}

    def datasets(self) -> tuple[str, ...]:
        assert isinstance(self.mapping.kind, EventKind)
        return (self.mapping.kind.value,)

    def parts(self, dataset: str, symbol: str, start: int | None, end: int | None) -> list[Part]:
        if dataset not in self.datasets():
            return []

        def loader(path: Path) -> Callable[[OnError], Chunk]:
            def load(_: OnError) -> Chunk:
                if path not in self._parsed:
                    self._parsed[path] = read_csv_events(path, self.mapping)
                rows = self._parsed[path].get(symbol.upper())
                dtype = EVENT_DTYPES[self.kind(dataset)]
                return Chunk(rows.copy() if rows is not None else schema.empty(dtype))

            return load

        return [Part(str(path), loader(path)) for path in self.paths]


# --------------------------------------------------------------------------------------------
# The stream


class _Cursor:
    """Read position in one (dataset, symbol) stream: loaded events and the parts left."""

    def __init__(
        self, kind: EventKind, dataset: str, symbol: str, parts: list[Part], rank: tuple[int, str, int], begin: int
    ) -> None:
        self.kind, self.dataset, self.symbol, self.rank = kind, dataset, symbol, rank
        self.begin = begin  # clock at which the stream joins the replay
        self.parts = parts
        self.next_part = 0
        dtype = EVENT_DTYPES[kind]
        self.events = schema.empty(dtype)
        self.key = self.clock = np.empty(0, np.int64)
        self.received: np.ndarray | None = None
        self.pos = 0
        self._bound: tuple[int, int | None] = (-1, None)  # (part index, its lower bound)

    @property
    def more_parts(self) -> bool:
        return self.next_part < len(self.parts)

    def next_bound(self) -> int | None:
        """Return the lower bound of the next part's keys, or None if unknown (asked of the
        part once: it may read a file footer)."""
        if self._bound[0] != self.next_part:
            part = self.parts[self.next_part]
            self._bound = (self.next_part, part.lower_bound() if part.lower_bound else None)
        return self._bound[1]

    @property
    def remaining(self) -> int:
        return len(self.key) - self.pos

    def append(self, chunk: Chunk, start: int, end: int) -> None:
        """Keep the unread buffer and add ``chunk``'s events with clock in ``[start, end)``."""
        key = merge_time(self.kind, chunk.events) if chunk.key is None else chunk.key
        clock = key if chunk.clock is None else chunk.clock
        received = chunk.ts_received
        if chunk.clock is None:  # the clock is the sorted key: select by slicing, no copy
            low, high = np.searchsorted(key, [start, end])
            events, key = chunk.events[low:high], key[low:high]
            clock = key
            received = None if received is None else received[low:high]
        else:
            keep = (clock >= start) & (clock < end)
            if not keep.all():
                events, key, clock = chunk.events[keep], key[keep], clock[keep]
                received = None if received is None else received[keep]
            else:
                events = chunk.events
        p = self.pos
        if p == len(self.key):  # nothing unread: take the new arrays as they are
            self.events, self.key, self.clock, self.received = events, key, clock, received
        else:
            self.events = schema.concatenate([self.events[p:], events], self.events.dtype)
            self.key = np.concatenate([self.key[p:], key])
            self.clock = (
                self.key if chunk.clock is None else np.concatenate([self.clock[p:], clock])
            )
            if received is not None:
                old = self.received[p:] if self.received is not None else np.empty(0, np.int64)
                self.received = np.concatenate([old, received])
        self.pos = 0

    def batch(self, stop: int) -> EventBatch:
        received = None if self.received is None else self.received[self.pos : stop]
        return EventBatch(self.kind, self.symbol, self.events[self.pos : stop], received)


class ReplayStream(MarketDataStream):
    """Replay a :class:`Source` as a stream, merged in the order of the module docstring.

    Parameters
    ----------
    source
        Where the events are.
    datasets
        Which datasets to replay for every subscribed symbol, in tie-break order; default all
        of the source's.
    start, end
        Replay events with merge time in ``[start, end)``: int ns UTC, or a datetime / text
        (naive means UTC); anything else, NaN included, is a ConfigError. Default: everything.
    speed
        0: as fast as possible, in large batches. N > 0: N x real time, paced by the event clock.
    on_error
        ``"raise"`` or ``"skip"`` an unreadable file (see the module docstring).
    instruments
        Registry assigning ``instrument_id``s (a new one by default). Recordings keep theirs.
    window
        Events per stream considered in one merge step (memory/latency trade-off).
    """

    def __init__(
        self,
        source: Source,
        *,
        datasets: Sequence[str] | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        speed: float = 0.0,
        on_error: OnError = "raise",
        instruments: Instruments | None = None,
        window: int = 1 << 20,
    ) -> None:
        if speed < 0 or not np.isfinite(speed):
            raise ConfigError(f"speed must be 0 (as fast as possible) or positive, not {speed}")
        if on_error not in ("raise", "skip"):
            raise ConfigError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        if window < 1:
            raise ConfigError(f"window must be positive, not {window}")
        self.source = source
        self.datasets = tuple(datasets) if datasets is not None else source.datasets()
        for name in self.datasets:
            source.kind(name)
        self.start = to_ns(start, "start") if start is not None else None
        self.end = to_ns(end, "end") if end is not None else None
        self.speed = float(speed)
        self.on_error: OnError = on_error
        self.instruments = instruments if instruments is not None else Instruments()
        self.window = int(window)
        self._subscribed: set[str] = set()
        self._cursors: dict[str, list[_Cursor]] = {}
        self._generation = 0  # bumped by every subscription change
        self._clock: int | None = None  # merge clock of the last event handed out
        self._pace_origin: tuple[float, int] | None = None
        self._closed = False
        self._bad_parts: set[str] = set()
        self._stats = dict.fromkeys(
            ("events", "batches", "parts_loaded", "parts_bad", "row_groups_bad", "parts_unsorted"),
            0,
        )

    # -- subscriptions ----------------------------------------------------------------------

    @property
    def subscribed(self) -> frozenset[str]:
        return frozenset(self._subscribed)

    async def subscribe(self, symbols: Iterable[str]) -> None:
        """Start replaying ``symbols``; during a replay they join at the current replay time."""
        for symbol in (s.upper() for s in symbols):
            if symbol in self._subscribed:
                continue
            begin = self.start if self._clock is None else self._clock
            cursors = []
            for index, dataset in enumerate(self.datasets):
                kind = self.source.kind(dataset)
                parts = self.source.parts(dataset, symbol, begin, self.end)
                if parts:
                    rank = (KIND_ORDER[kind], symbol, index)
                    joins = begin if begin is not None else -_NS_MAX
                    cursors.append(_Cursor(kind, dataset, symbol, parts, rank, joins))
            if not cursors:
                _log.warning("no data for %s in datasets %s", symbol, list(self.datasets))
            self._subscribed.add(symbol)
            self._cursors[symbol] = cursors
            self._generation += 1

    async def unsubscribe(self, symbols: Iterable[str]) -> None:
        """Stop replaying ``symbols``; no batch of theirs is handed out after this returns."""
        for symbol in (s.upper() for s in symbols):
            if symbol in self._subscribed:
                self._subscribed.discard(symbol)
                del self._cursors[symbol]
                self._generation += 1

    # -- loading ----------------------------------------------------------------------------

    @property
    def stats(self) -> dict[str, int]:
        """``events`` and ``batches`` handed out, ``parts_loaded``, ``parts_bad`` (skipped or
        raised), ``row_groups_bad`` (skipped), ``parts_unsorted`` (sorted on load)."""
        return dict(self._stats)

    def _load(self, part: Part) -> Chunk | None:
        try:
            chunk = part.load(self.on_error)
        except DataError as exc:
            if part.where not in self._bad_parts:  # a file shared by several streams counts once
                self._bad_parts.add(part.where)
                self._stats["parts_bad"] += 1
                if self.on_error == "skip":
                    _log.warning("skipped unreadable %s: %s", part.where, exc)
            if self.on_error == "raise":
                raise
            return None
        self._stats["parts_loaded"] += 1
        self._stats["row_groups_bad"] += chunk.bad_row_groups
        return chunk

    def _sorted(self, kind: EventKind, where: str, chunk: Chunk) -> Chunk:
        key = merge_time(kind, chunk.events) if chunk.key is None else chunk.key
        if len(key) < 2 or bool(np.all(key[1:] >= key[:-1])):
            return chunk
        self._stats["parts_unsorted"] += 1
        _log.warning("%s: events out of time order; replayed sorted by time (stable)", where)
        order = np.argsort(key, kind="stable")
        clock = None if chunk.clock is None else chunk.clock[order]
        received = None if chunk.ts_received is None else chunk.ts_received[order]
        return Chunk(chunk.events[order], key[order], clock, received)

    def _due(self) -> tuple[list[_Cursor], int]:
        """Return the cursors with unread events, loading the parts that are due, and the
        lowest lower bound of the parts not loaded yet (the merge stops before it).

        A part is due when it may hold the next event to hand out: its lower bound is unknown,
        or not above the smallest unread key. Later parts wait, so a quiet symbol's next part
        is loaded when the replay reaches it, not as soon as its buffer empties (which, for a
        recording, would read a segment early for every such symbol).
        """
        loaded: list[_Cursor] = []
        waiting: list[_Cursor] = []
        for symbol in sorted(self._subscribed):
            for cursor in self._cursors[symbol]:
                if cursor.remaining:
                    loaded.append(cursor)
                elif cursor.more_parts:
                    waiting.append(cursor)
        while waiting:
            bounds = [c.next_bound() for c in waiting]
            if loaded:
                next_key = min(int(c.key[c.pos]) for c in loaded)
            else:
                next_key = min((b for b in bounds if b is not None), default=-_NS_MAX)
            still: list[_Cursor] = []
            extended = False
            for cursor, bound in zip(waiting, bounds):
                if bound is not None and bound > next_key:
                    still.append(cursor)
                    continue
                extended = True
                self._extend(cursor)
                if cursor.remaining:
                    loaded.append(cursor)
                elif cursor.more_parts:
                    still.append(cursor)
            waiting = still
            if not extended:
                break  # every part left has a known bound above the next key
        bounds = [c.next_bound() for c in waiting]
        return loaded, min((b for b in bounds if b is not None), default=_NS_MAX)

    def _extend(self, cursor: _Cursor) -> None:
        part = cursor.parts[cursor.next_part]
        cursor.next_part += 1
        chunk = self._load(part)
        if chunk is None:
            return
        chunk = self._sorted(cursor.kind, part.where, chunk)
        if not self.source.keeps_instrument_ids:
            chunk.events["instrument_id"] = self.instruments.id_of(cursor.symbol)
        cursor.append(chunk, cursor.begin, self.end if self.end is not None else _NS_MAX)

    # -- merging ----------------------------------------------------------------------------

    def _runs(self, cursors: list[_Cursor], cap: int = _NS_MAX) -> list[tuple[_Cursor, int]]:
        """Return the next window of the merge as (cursor, stop) runs, in delivery order.

        A run starts at its cursor's read position. Events with key >= the horizon stay for
        the next window: the horizon is ``cap`` (where parts not loaded yet begin), the last
        loaded key of any cursor with parts left (its next part may tie with it) or the key
        after ``window`` events of a long buffer.
        """
        horizon = cap
        for c in cursors:
            if c.more_parts:
                bound = c.next_bound()
                last = int(c.key[-1])
                horizon = min(horizon, bound if bound is not None and bound > last else last)
            cap = c.pos + self.window
            if cap < len(c.key) and c.key[cap] > c.key[c.pos]:
                horizon = min(horizon, int(c.key[cap]))
        stops = [
            len(c.key)
            if horizon == _NS_MAX
            else c.pos + int(np.searchsorted(c.key[c.pos :], horizon))
            for c in cursors
        ]
        taking = [(c, stop) for c, stop in zip(cursors, stops) if stop > c.pos]
        if not taking:
            for c in cursors:  # everything left ties with the horizon: load the next parts
                if c.more_parts and c.key[-1] == horizon:
                    self._extend(c)
            return []
        if len(taking) == 1 and self.speed == 0:
            return taking
        keys = np.concatenate([c.key[c.pos : stop] for c, stop in taking])
        sizes = np.array([stop - c.pos for c, stop in taking])
        ids = np.repeat(np.arange(len(taking)), sizes)
        order = np.argsort(keys, kind="stable")  # ties: cursor order (the rule), then position
        sid = ids[order]
        cut = sid[1:] != sid[:-1]
        if self.speed > 0:
            clocks = np.concatenate([c.clock[c.pos : stop] for c, stop in taking])[order]
            cut |= clocks[1:] != clocks[:-1]
        ends = np.append(np.flatnonzero(cut) + 1, len(order))
        runs = []
        taken = [c.pos for c, _ in taking]
        for run_id, length in zip(sid[ends - 1].tolist(), np.diff(ends, prepend=0).tolist()):
            taken[run_id] += length
            runs.append((taking[run_id][0], taken[run_id]))
        return runs

    async def _pace(self, clock: int) -> None:
        loop = asyncio.get_running_loop()
        if self._pace_origin is None:
            self._pace_origin = (loop.time(), clock)
        wall0, clock0 = self._pace_origin
        delay = wall0 + (clock - clock0) / 1e9 / self.speed - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)

    def __aiter__(self) -> AsyncIterator[EventBatch]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[EventBatch]:
        while not self._closed:
            cursors, cap = self._due()
            if not cursors:
                return
            cursors.sort(key=lambda c: c.rank)
            generation = self._generation
            for cursor, stop in self._runs(cursors, cap):
                if self._closed or self._generation != generation:
                    break  # subscriptions changed: rebuild the merge from the read positions
                if self.speed > 0:
                    await self._pace(int(cursor.clock[cursor.pos]))
                    if self._closed or self._generation != generation:
                        break
                batch = cursor.batch(stop)
                self._clock = int(cursor.clock[stop - 1])
                cursor.pos = stop
                self._stats["events"] += len(batch)
                self._stats["batches"] += 1
                yield batch
            if self.speed == 0:
                await asyncio.sleep(0)  # let other tasks run between windows

    async def close(self) -> None:
        self._closed = True
        self._cursors = {symbol: [] for symbol in self._cursors}

    # -- warm-up ----------------------------------------------------------------------------

    def history(
        self,
        symbol: str,
        dataset: str,
        before: TimeLike | None = None,
        count: int | None = None,
        lookback: TimeLike | dt.timedelta | None = None,
    ) -> np.ndarray:
        """Return the events of one stream that came before a time, for warm-up.

        Parameters
        ----------
        symbol
            Ticker, any case.
        dataset
            ``"trade"``, ``"minute"``, ... (one of the source's datasets).
        before
            Exclusive limit on the merge time (a recording: ``ts_received``); default the
            stream's ``start``.
        count
            At most this many events, the latest ones.
        lookback
            Only events within this long before ``before`` (timedelta, or int ns).

        Returns
        -------
        numpy.ndarray
            Events of the dataset's kind, oldest first, with ``instrument_id`` assigned as in
            the replay.
        """
        kind = self.source.kind(dataset)
        limit = to_ns(before, "before") if before is not None else self.start
        if limit is None:
            raise ConfigError("history needs `before` when the stream has no start")
        if isinstance(lookback, dt.timedelta):
            earliest: int | None = limit - round(lookback.total_seconds() * 1e9)
        else:
            earliest = None if lookback is None else int(lookback)  # type: ignore[arg-type]
            earliest = None if earliest is None else limit - earliest
        symbol = symbol.upper()
        found: list[np.ndarray] = []
        total = 0
        for part in reversed(self.source.parts(dataset, symbol, earliest, limit)):
            chunk = self._load(part)
            if chunk is None:
                continue
            chunk = self._sorted(kind, part.where, chunk)  # as replay sees it: `count` keeps the latest
            key = chunk.key if chunk.key is not None else merge_time(kind, chunk.events)
            clock = key if chunk.clock is None else chunk.clock
            keep = (clock < limit) & (clock >= (earliest if earliest is not None else -_NS_MAX))
            events = chunk.events[keep]
            if len(events) and not self.source.keeps_instrument_ids:
                events["instrument_id"] = self.instruments.id_of(symbol)
            found.insert(0, events)
            total += len(events)
            if count is not None and total >= count:
                break
        events = schema.concatenate(found, EVENT_DTYPES[kind])
        if count is not None and count < len(events):
            events = events[len(events) - count :]
        return events
