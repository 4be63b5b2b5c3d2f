"""Opening and replaying a long recording of many symbols (``RecordingSource``).

A synthetic live recording (``Recorder``, as ``tradecore live --record`` writes it) of
``SYMBOLS`` symbols over ``SEGMENTS`` segments of trades and quotes, symbol activity skewed as
in a premarket (a few busy names, a long tail of quiet ones), is opened, every symbol is
subscribed and the whole recording is replayed at full speed through ``ReplayStream``, as
``tradecore backtest <recording>`` does. Figures:

- ``recording_open_replay_seconds``: open + list symbols + subscribe all + replay, best of 3;
- ``recording_legacy_open_replay_seconds``: the same with the previous code, kept below as
  :class:`LegacyRecordingSource` (a directory listing per symbol, a part per segment for every
  symbol, symbols split by one mask each) and :class:`LegacyReplayStream` (a stream's next part
  loaded as soon as its buffer empties, part bounds, i.e. Parquet footers, asked again every
  merge window), measured in the same run;
- ``recording_speedup_vs_legacy``: the ratio (legacy / indexed);
- ``recording_events_per_s``: events replayed per second by the indexed source.

Both replays must deliver the same events in the same order; the script checks it. Run
``python benchmarks/recording_bench.py [SYMBOLS SEGMENTS]`` (default 500 x 100; the legacy
replay of 500 x 200 takes minutes).
"""

from __future__ import annotations

import asyncio
import functools
import re
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from benchlib import best_of, report
from tradecore import schema
from tradecore.data import parquet
from tradecore.errors import DataError
from tradecore.streams.base import EVENT_DTYPES, EventBatch, EventKind
from tradecore.streams.recorder import Recorder, RecordingSource
from tradecore.streams.replay import Chunk, OnError, Part, ReplayStream

EVENTS_PER_SEGMENT = 2_000
_NS_MAX = np.iinfo(np.int64).max
START = 1_764_230_400_000_000_000  # a premarket morning, ns UTC


def write_recording(folder: Path, symbols: int, segments: int, seed: int = 5) -> int:
    """Write the synthetic recording; return its event count."""
    rng = np.random.default_rng(seed)
    names = [f"S{i:03d}" for i in range(symbols)]
    weights = 1.0 / np.arange(1, symbols + 1) ** 1.2  # Zipf-like activity: a long quiet tail
    weights /= weights.sum()
    batches = segments * EVENTS_PER_SEGMENT // 10
    drawn = rng.choice(symbols, size=batches, p=weights).tolist()
    quotes = (rng.random(batches) < 0.6).tolist()
    steps = rng.integers(1_000, 1_000_000, size=batches).tolist()
    ts = START
    total = 0
    with Recorder(folder, row_group_size=EVENTS_PER_SEGMENT, flush_interval=1e9,
                  clock=lambda: ts) as recorder:
        for symbol, quote, step in zip(drawn, quotes, steps):
            kind = EventKind.QUOTE if quote else EventKind.TRADE
            events = np.zeros(10, EVENT_DTYPES[kind])
            ts += step
            events["ts_event"] = ts + np.arange(10)
            events["instrument_id"] = symbol + 1
            if kind is EventKind.TRADE:
                events["price"], events["size"] = 10.0, 100.0
            else:
                events["bid_price"], events["ask_price"] = 9.99, 10.01
            recorder.write(EventBatch(kind, names[symbol], events,
                                      np.full(10, ts, np.int64)))
            total += 10
    return total


_SEGMENT = re.compile(r"^(\d{8})\.parquet$")


class LegacyRecordingSource(RecordingSource):
    """The ``RecordingSource`` before the segment index (the baseline), unchanged."""

    def __init__(self, folder: Path, *, cache_segments: int = 8) -> None:
        super().__init__(folder)
        self._legacy_cache: OrderedDict[Path, dict[str, Chunk] | DataError] = OrderedDict()
        self._legacy_cache_size = cache_segments

    def _legacy_segments(self, kind: EventKind) -> list[tuple[int, Path]]:
        folder = self.folder / kind.value
        if not folder.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _SEGMENT.match(p.name))]
        return sorted(found)

    def symbols(self) -> list[str]:
        import pyarrow.parquet as pq

        found: set[str] = set()
        for kind in EventKind:
            for _, path in self._legacy_segments(kind):
                found.update(pq.read_table(path, columns=["symbol"]).column("symbol").unique()
                             .to_pylist())
        return sorted(str(s) for s in found)

    def _legacy_split(self, path: Path, kind: EventKind, on_error: OnError) -> dict[str, Chunk]:
        cached = self._legacy_cache.get(path)
        if cached is None:
            try:
                events, extra, bad = parquet.read_events(
                    path, kind, extra=("ts_received", "sequence", "symbol"), on_error=on_error)
                codes, names = pd.factorize(extra["symbol"])
                cached = {}
                for index, name in enumerate(names):
                    pick = codes == index
                    received = extra["ts_received"][pick].astype(np.int64)
                    cached[str(name)] = Chunk(events[pick],
                                              extra["sequence"][pick].astype(np.int64),
                                              received, received, bad)
            except DataError as exc:
                cached = exc
            self._legacy_cache[path] = cached
            while len(self._legacy_cache) > self._legacy_cache_size:
                self._legacy_cache.popitem(last=False)
        if isinstance(cached, DataError):
            raise cached
        return cached

    def parts(self, dataset: str, symbol: str, start: int | None, end: int | None) -> list[Part]:
        kind = self.kind(dataset)

        def loader(path: Path) -> Callable[[OnError], Chunk]:
            def load(on_error: OnError) -> Chunk:
                found = self._legacy_split(path, kind, on_error).get(symbol.upper())
                if found is None:
                    empty = np.empty(0, np.int64)
                    return Chunk(schema.empty(EVENT_DTYPES[kind]), empty, empty, empty)
                return Chunk(found.events.copy(), found.key, found.clock, found.ts_received,
                             found.bad_row_groups)

            return load

        return [Part(str(path), loader(path),
                     functools.partial(parquet.column_minimum, path, "sequence"))
                for _, path in self._legacy_segments(kind)]


class LegacyReplayStream(ReplayStream):
    """The merge before parts were loaded when due (the baseline)."""

    def _due(self) -> tuple[list[Any], int]:
        cursors = []
        for symbol in sorted(self._subscribed):
            for cursor in self._cursors[symbol]:
                while cursor.remaining == 0 and cursor.more_parts:
                    self._extend(cursor)
                if cursor.remaining:
                    cursors.append(cursor)
                cursor._bound = (-1, None)  # bounds were asked of the part every window
        return cursors, _NS_MAX


async def replay(source: RecordingSource, stream_type: type[ReplayStream] = ReplayStream
                 ) -> list[tuple[str, str, int, int]]:
    """Open-to-end replay of every symbol; return (kind, symbol, events, first event time)."""
    stream = stream_type(source, speed=0.0)
    await stream.subscribe(source.symbols())
    out = []
    async for batch in stream:
        out.append((batch.kind.value, batch.symbol, len(batch), int(batch.events["ts_event"][0])))
    await stream.close()
    return out


def main() -> None:
    symbols, segments = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (500, 100)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "recording"
        events = write_recording(folder, symbols, segments)
        report("recording_symbols", symbols, "symbols")
        report("recording_segments", len(list((folder / "trade").iterdir())), "segments per kind")
        report("recording_events", events, "events")
        results: dict[str, list[tuple[str, str, int, int]]] = {}

        def run(name: str, make: Callable[[Path], RecordingSource],
                stream_type: type[ReplayStream], repeat: int) -> float:
            def once() -> None:
                results[name] = asyncio.run(replay(make(folder), stream_type))
            return best_of(once, repeat=repeat)

        indexed = run("indexed", RecordingSource, ReplayStream, 3)
        legacy = run("legacy", LegacyRecordingSource, LegacyReplayStream, 1)  # slow: once
        assert results["indexed"] == results["legacy"], "the two sources replay differently"
        assert sum(n for _, _, n, _ in results["indexed"]) == events
        report("recording_open_replay_seconds", indexed, "s")
        report("recording_legacy_open_replay_seconds", legacy, "s")
        report("recording_speedup_vs_legacy", legacy / indexed, "x")
        report("recording_events_per_s", events / indexed, "events/s")


if __name__ == "__main__":
    main()
