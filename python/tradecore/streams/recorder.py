"""Record exactly what a stream delivered, crash-safe, and replay it.

Recording layout (a folder)::

    <folder>/recording.json                   format name and schema version
    <folder>/<kind>/<NNNNNNNN>.parquet        segment N of one event kind

A *segment* is everything buffered since the previous one: when ``row_group_size`` events are
buffered, or ``flush_interval`` seconds have passed at the next write, or on :meth:`Recorder.flush`
/ :meth:`Recorder.close`, the recorder writes one Parquet file (a single row group) per kind
present, with the kind's dtype fields plus ``symbol``, ``ts_received`` (int64 ns UTC, when the
event was received) and ``sequence`` (int64, the event's position in delivery order across the
whole recording). The file's metadata lists the symbols it holds (``tradecore.symbols``, a JSON
array), so a reader can index a recording from the footers alone.

Crash safety. A Parquet file is readable only once its footer is written, at close, so a
recording is a series of small closed files instead of one open one. Each segment file is
written to a temporary name, fsynced and renamed into place (atomic on POSIX), so a file that
has a segment name is complete. A process killed at any point loses only the open segment
(the events buffered in memory, at most ``row_group_size`` plus one batch) and perhaps a
leftover ``.tmp`` file, which readers ignore. Every earlier event stays readable.

:class:`RecordingSource` replays a recording through
:class:`~tradecore.streams.replay.ReplayStream` in recorded delivery order (by ``sequence``),
with the recorded ``ts_received`` in each batch and ``instrument_id`` as recorded; ``speed > 0``
paces by ``ts_received``, and ``start``/``end`` select by it. It indexes the recording once, the
first time a kind is asked for: one directory listing and one footer per segment (first sequence
number, symbols; recordings written before the symbols were in the metadata have their symbol
column read once instead), so a replay of many symbols reads each segment once.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import pandas as pd
import pyarrow as pa

from tradecore import schema
from tradecore.data import parquet
from tradecore.errors import ConfigError, DataError
from tradecore.streams.base import (
    EVENT_DTYPES,
    EventBatch,
    EventKind,
    GroupedBatch,
    MarketDataStream,
)
from tradecore.streams.replay import Chunk, OnError, Part, Source

__all__ = ["FORMAT", "Recorder", "RecordingSource", "RecordingStream"]

_log = logging.getLogger("tradecore.streams.recorder")

FORMAT = "tradecore-recording"
"""Value of ``format`` in ``recording.json``."""

_SEGMENT = re.compile(r"^(\d{8})\.parquet$")
_EXTRA = ("ts_received", "sequence")
_SYMBOLS_KEY = "symbols"  # tradecore.symbols in a segment's metadata


@dataclass(frozen=True, slots=True)
class _Segment:
    """One segment file as indexed from its footer."""

    number: int
    path: Path
    first_sequence: int | None  # None: unknown (an unreadable footer)
    last_sequence: int | None
    symbols: frozenset[str] | None  # None: unknown, the segment may hold any symbol


def _index_segment(number: int, path: Path) -> _Segment:
    """Read what the replay needs from a segment's footer (its symbol column, for a recording
    written before the footer listed its symbols). A damaged file is indexed as unknown: it
    is reported when replayed."""
    try:
        meta = parquet.file_metadata(path)
        column = meta.schema.names.index("sequence")
        stats = [meta.row_group(g).column(column).statistics for g in range(meta.num_row_groups)]
        known = all(s is not None and s.has_min_max for s in stats) and stats
        first = min(int(s.min) for s in stats) if known else None
        last = max(int(s.max) for s in stats) if known else None
        listed = (meta.metadata or {}).get(f"tradecore.{_SYMBOLS_KEY}".encode())
        if listed is not None:
            symbols = frozenset(json.loads(listed))
        else:
            with parquet.open_file(path) as reader:
                column_values = reader.read(columns=["symbol"]).column("symbol")
            symbols = frozenset(str(s) for s in column_values.unique().to_pylist())
    except (DataError, ValueError, pa.ArrowException, OSError):
        return _Segment(number, path, None, None, None)
    return _Segment(number, path, first, last, symbols)


class Recorder:
    """Write event batches to a recording folder in crash-safe segments.

    Parameters
    ----------
    folder
        Created if missing. An existing recording is appended to, continuing its sequence.
    row_group_size
        Events buffered before a segment is written (the most a crash can lose).
    flush_interval
        Seconds after which the next write also writes the segment, so a quiet stream does
        not hold events in memory for long.
    clock
        Source of receive times (ns UTC) for batches without ``ts_received``.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        row_group_size: int = 65_536,
        flush_interval: float = 1.0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if row_group_size < 1 or flush_interval < 0:
            raise ConfigError("row_group_size must be positive and flush_interval not negative")
        self.folder = Path(folder)
        self.row_group_size = row_group_size
        self.flush_interval = flush_interval
        self._clock = clock
        self.folder.mkdir(parents=True, exist_ok=True)
        header = self.folder / "recording.json"
        if not header.exists():
            header.write_text(
                json.dumps({"format": FORMAT, "schema_version": parquet.SCHEMA_VERSION})
            )
        source = RecordingSource(self.folder)
        self._segment = source.next_segment()
        self._sequence = source.next_sequence()
        self._buffer: list[tuple[EventBatch, np.ndarray, np.ndarray]] = []
        self._buffered = 0
        self._opened = time.monotonic()
        self._closed = False
        self.stats = {"events": 0, "segments": 0}

    def write(self, batch: EventBatch) -> None:
        """Buffer a batch and write the segment if it is full or old.

        Receive times come from ``batch.ts_received``, else the recorder's clock (now).
        """
        if self._closed:
            raise ConfigError("the recorder is closed")
        if not len(batch):
            return
        # Checked before anything is buffered: a bad batch refused here leaves the segment
        # writable (accepted, it would fail every later flush, and with it the whole segment).
        if batch.events.dtype != EVENT_DTYPES[batch.kind]:
            raise DataError(f"{batch.symbol}: {batch.kind.value} events of dtype {batch.events.dtype}, "
                            f"not the schema's {EVENT_DTYPES[batch.kind]}")
        if batch.ts_received is not None:
            received = np.asarray(batch.ts_received, dtype=np.int64)
            if received.shape != (len(batch),):
                raise DataError(f"{batch.symbol}: {received.size} receive times for {len(batch)} events")
        else:
            received = np.full(len(batch), self._clock(), dtype=np.int64)
        sequence = np.arange(self._sequence, self._sequence + len(batch), dtype=np.int64)
        self._sequence += len(batch)
        if not self._buffer:
            self._opened = time.monotonic()
        self._buffer.append((batch, received, sequence))
        self._buffered += len(batch)
        self.stats["events"] += len(batch)
        if (
            self._buffered >= self.row_group_size
            or time.monotonic() - self._opened >= self.flush_interval
        ):
            self.flush()

    def flush(self) -> None:
        """Write the open segment (one file per kind in it)."""
        if not self._buffer:
            return
        by_kind: dict[EventKind, list[tuple[EventBatch, np.ndarray, np.ndarray]]] = {}
        for item in self._buffer:
            by_kind.setdefault(item[0].kind, []).append(item)
        for kind, items in by_kind.items():
            dtype = EVENT_DTYPES[kind]
            events = schema.concatenate([b.events for b, _, _ in items], dtype)
            names = [b.symbol.upper() for b, _, _ in items]  # as the replay and the instrument ids know them
            codes = np.repeat(np.arange(len(names), dtype=np.int32), [len(b) for b, _, _ in items])
            symbols = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(names))
            table = parquet.to_table(
                events,
                kind=kind,
                extra={
                    "ts_received": np.concatenate([r for _, r, _ in items]),
                    "sequence": np.concatenate([s for _, _, s in items]),
                },
                metadata={_SYMBOLS_KEY: json.dumps(sorted(set(names)))},
            )
            table = table.append_column("symbol", symbols)
            path = self.folder / kind.value / f"{self._segment:08d}.parquet"
            parquet.write_table(table, path, row_group_size=max(len(events), 1))
        self._segment += 1
        self._buffer.clear()
        self._buffered = 0
        self.stats["segments"] += 1

    def close(self) -> None:
        """Write the open segment and stop accepting batches. Safe to call twice."""
        if not self._closed:
            self.flush()
            self._closed = True

    def __enter__(self) -> Recorder:  # noqa: PYI034 (Self needs Python 3.11)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class RecordingStream(MarketDataStream):
    """Pass a stream through unchanged while a :class:`Recorder` writes every batch it delivers.

    Batches without ``ts_received`` (replay) are stamped by the recorder's clock, and are handed
    on with that stamp, so the consumer sees what was recorded.
    """

    def __init__(self, inner: MarketDataStream, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    async def subscribe(self, symbols: Iterable[str]) -> None:
        await self.inner.subscribe(symbols)

    async def unsubscribe(self, symbols: Iterable[str]) -> None:
        await self.inner.unsubscribe(symbols)

    @property
    def subscribed(self) -> frozenset[str]:
        return self.inner.subscribed

    @property
    def stats(self) -> dict[str, int]:
        return {**self.inner.stats, **{f"recorded_{k}": v for k, v in self.recorder.stats.items()}}

    def __aiter__(self) -> AsyncIterator[EventBatch]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[EventBatch]:
        async for batch in self.inner:
            yield self._record(batch)

    async def parts(self) -> AsyncIterator[EventBatch | GroupedBatch]:
        """The inner stream's parts, whole frames included (recorded as their batches)."""
        async for part in self.inner.parts():
            yield self._record_part(part)

    def push_parts(self, sink: Callable[[EventBatch | GroupedBatch], None] | None) -> bool:
        """The inner stream's pushed parts, recorded as :meth:`parts` records them."""
        return self.inner.push_parts(None if sink is None else lambda part: sink(self._record_part(part)))

    def _record_part(self, part: EventBatch | GroupedBatch) -> EventBatch | GroupedBatch:
        if not isinstance(part, GroupedBatch):
            return self._record(part)
        if part.ts_received is None:
            part = part.with_received(self.recorder._clock())
        for batch in part.batches():
            self.recorder.write(batch)
        return part

    def _record(self, batch: EventBatch) -> EventBatch:
        if batch.ts_received is None:
            stamp = np.full(len(batch), self.recorder._clock(), dtype=np.int64)
            batch = EventBatch(batch.kind, batch.symbol, batch.events, stamp)
        self.recorder.write(batch)
        return batch

    async def close(self) -> None:
        try:
            await self.inner.close()
        finally:
            self.recorder.close()


class RecordingSource(Source):
    """A recording folder as a replay :class:`~tradecore.streams.replay.Source`.

    Datasets are the recorded kinds; each segment file holding a symbol is a part of that
    symbol's stream. Files that are not complete segments (leftover ``.tmp`` files of a killed
    recorder) are ignored. The segments are indexed the first time a kind is asked for (see the
    module docstring); segments written after that are not seen by this source.
    ``stats["segments_read"]`` counts segment files read for their events.
    """

    keeps_instrument_ids = True

    def __init__(self, folder: str | os.PathLike[str], *, cache_segments: int = 8) -> None:
        self.folder = Path(folder)
        header = self.folder / "recording.json"
        try:
            info = json.loads(header.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{self.folder} is not a recording ({header}: {exc})") from None
        if info.get("format") != FORMAT or info.get("schema_version") != parquet.SCHEMA_VERSION:
            raise DataError(f"{header}: not a {FORMAT} of schema version {parquet.SCHEMA_VERSION}")
        self._index: dict[EventKind, list[_Segment]] = {}
        self._cache: OrderedDict[Path, dict[str, Chunk] | DataError] = OrderedDict()
        self._cache_size = cache_segments
        self.stats = {"segments_read": 0}

    def _segments(self, kind: EventKind) -> list[_Segment]:
        """The complete segments of ``kind``, oldest first (indexed once)."""
        index = self._index.get(kind)
        if index is None:
            folder = self.folder / kind.value
            found = sorted((int(m.group(1)), p) for p in folder.iterdir()
                           if (m := _SEGMENT.match(p.name))) if folder.is_dir() else []
            index = self._index[kind] = [_index_segment(n, p) for n, p in found]
        return index

    def next_segment(self) -> int:
        """Return the number the next segment file gets."""
        numbers = [s.number for kind in EventKind for s in self._segments(kind)]
        return max(numbers, default=-1) + 1

    def next_sequence(self) -> int:
        """Return the sequence number after the last recorded event (from readable segments)."""
        last = -1
        for kind in EventKind:
            for segment in reversed(self._segments(kind)):
                if segment.last_sequence is not None:
                    last = max(last, segment.last_sequence)
                    break
        return last + 1

    def datasets(self) -> tuple[str, ...]:
        return tuple(kind.value for kind in EventKind if self._segments(kind))

    def symbols(self) -> list[str]:
        """Every symbol with at least one recorded event (from the index)."""
        found: set[str] = set()
        for kind in EventKind:
            for segment in self._segments(kind):
                found |= segment.symbols or frozenset()
        return sorted(found)

    def kind(self, dataset: str) -> EventKind:
        try:
            return EventKind(dataset)
        except ValueError:
            raise ConfigError(f"a recording's datasets are event kinds, not {dataset!r}") from None

    def _split(self, path: Path, kind: EventKind, on_error: OnError) -> dict[str, Chunk]:
        """The events of one segment by symbol, each in recorded order (the last few cached:
        every symbol of a segment is loaded when the replay reaches it)."""
        cached = self._cache.get(path)
        if cached is None:
            self.stats["segments_read"] += 1
            try:
                events, extra, bad = parquet.read_events(
                    path, kind, extra=(*_EXTRA, "symbol"), on_error=on_error
                )
                codes, names = pd.factorize(extra["symbol"])
                order = np.argsort(codes, kind="stable")  # by symbol, recorded order within
                cuts = np.searchsorted(codes[order], np.arange(len(names) + 1))
                events = events[order]
                sequence = extra["sequence"][order].astype(np.int64)
                received = extra["ts_received"][order].astype(np.int64)
                cached = {}
                for index, name in enumerate(names):
                    low, high = cuts[index], cuts[index + 1]
                    cached[str(name)] = Chunk(
                        events[low:high], sequence[low:high], received[low:high],
                        received[low:high], bad,
                    )
            except DataError as exc:
                cached = exc
            self._cache[path] = cached
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        if isinstance(cached, DataError):
            raise cached
        return cached

    def parts(self, dataset: str, symbol: str, start: int | None, end: int | None) -> list[Part]:
        kind = self.kind(dataset)
        symbol = symbol.upper()

        def loader(path: Path) -> Callable[[OnError], Chunk]:
            def load(on_error: OnError) -> Chunk:
                found = self._split(path, kind, on_error).get(symbol)
                if found is None:
                    empty = np.empty(0, np.int64)
                    return Chunk(schema.empty(EVENT_DTYPES[kind]), empty, empty, empty)
                return Chunk(
                    found.events.copy(),
                    found.key,
                    found.clock,
                    found.ts_received,
                    found.bad_row_groups,
                )

            return load

        def bound(value: int | None) -> Callable[[], int | None]:
            return lambda: value

        return [
            Part(str(segment.path), loader(segment.path), bound(segment.first_sequence))
            for segment in self._segments(kind)
            if segment.symbols is None or symbol in segment.symbols
        ]
