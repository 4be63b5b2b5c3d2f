"""Tests of tradecore.streams.recorder: exact replay of a recording, and crash safety under a
real ``kill -9`` of a recording process."""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tradecore import schema
from tradecore.errors import DataError
from tradecore.streams.base import EVENT_DTYPES, EventBatch, EventKind
from tradecore.streams.recorder import Recorder, RecordingSource, RecordingStream
from tradecore.streams.replay import LeanSource, ReplayStream


async def replay(folder: Path, symbols: list[str], **options: object) -> list[EventBatch]:
    async with ReplayStream(RecordingSource(folder), **options) as stream:  # type: ignore[arg-type]
        await stream.subscribe(symbols)
        return [batch async for batch in stream]


def flat(batches: list[EventBatch]) -> list[tuple]:
    """One tuple per event: kind, symbol, fields, receive time (padding bytes ignored)."""
    out = []
    for batch in batches:
        assert batch.ts_received is not None
        for event, received in zip(batch.events.tolist(), batch.ts_received.tolist()):
            out.append((batch.kind, batch.symbol, event, received))
    return out


@pytest.mark.asyncio
async def test_a_recording_replays_exactly_what_was_delivered(
    lean_root: Path, tmp_path: Path
) -> None:
    clock = itertools.count(1_000_000_000)
    inner = ReplayStream(
        LeanSource(lean_root),
        datasets=["trade", "quote"],
        start="2013-10-07T13:30",
        end="2013-10-07T13:40",
    )
    recorder = Recorder(tmp_path / "rec", row_group_size=4_000, clock=lambda: next(clock))
    async with RecordingStream(inner, recorder) as stream:
        await stream.subscribe(["spy", "bac", "ibm"])
        delivered = [batch async for batch in stream]
    assert recorder.stats["segments"] > 5
    assert {(b.kind, b.symbol) for b in delivered} >= {
        (EventKind.QUOTE, "BAC"),
        (EventKind.TRADE, "IBM"),
    }
    replayed = await replay(tmp_path / "rec", ["spy", "bac", "ibm"])
    assert flat(replayed) == flat(delivered)
    # A partial selection by receive time.
    middle = delivered[len(delivered) // 2].ts_received[0]  # type: ignore[index]
    later = await replay(tmp_path / "rec", ["spy", "bac", "ibm"], start=int(middle))
    assert flat(later) == [e for e in flat(delivered) if e[3] >= middle]


CHILD = """
import sys
sys.path[:0] = {paths!r}
from test_recorder import synthetic
from tradecore.streams.recorder import Recorder
recorder = Recorder(sys.argv[1], row_group_size=500, flush_interval=3600.0)
for batch in synthetic():
    recorder.write(batch)
"""


def synthetic() -> Iterator[EventBatch]:
    """Endless deterministic batches: 37 trades each, alternating two symbols."""
    for number in itertools.count():
        first = number * 37
        index = np.arange(first, first + 37)
        events = schema.empty(schema.TRADE, 37)
        events["ts_event"] = 1_600_000_000_000_000_000 + index * 1_000
        events["price"] = 100.0 + index % 7
        events["size"] = 1.0 + index % 3
        events["instrument_id"] = number % 2
        yield EventBatch(
            EventKind.TRADE,
            "AAA" if number % 2 else "BBB",
            events,
            1_700_000_000_000_000_000 + index.astype(np.int64),
        )


def test_a_killed_recorder_loses_at_most_the_open_segment(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    code = CHILD.format(paths=[str(Path(__file__).parent), *sys.path])
    errors = tmp_path / "stderr.txt"
    with open(errors, "wb") as sink:
        child = subprocess.Popen([sys.executable, "-c", code, str(folder)], stderr=sink)
    try:
        deadline = time.monotonic() + 60
        while len(list((folder / "trade").glob("*.parquet"))) < 6:
            assert child.poll() is None, errors.read_text()
            assert time.monotonic() < deadline, "the recorder wrote no segments"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)  # kill -9 mid-recording
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    segments = sorted((folder / "trade").glob("*.parquet"))
    batches = asyncio.run(replay(folder, ["aaa", "bbb"]))
    got = flat(batches)
    # 500-row segments from 37-row batches hold 14 batches (518 rows) each.
    assert len(got) == 518 * len(segments) >= 6 * 518
    expected = flat(list(itertools.islice(synthetic(), 14 * len(segments))))
    assert got == expected
    # A new recorder on the same folder continues the sequence after the last complete segment.
    with Recorder(folder) as recorder:
        recorder.write(next(synthetic()))
    assert RecordingSource(folder).next_sequence() == len(got) + 37


@pytest.mark.asyncio
@pytest.mark.parametrize("damage", ["truncated", "flipped byte"])
async def test_a_damaged_segment_is_skipped_once_and_the_rest_replays(
    tmp_path: Path, damage: str, flip_value_byte
) -> None:
    folder = tmp_path / "rec"
    with Recorder(folder, row_group_size=100) as recorder:
        for batch in itertools.islice(synthetic(), 30):
            recorder.write(batch)
    segments = sorted((folder / "trade").glob("*.parquet"))
    if damage == "truncated":
        lost = segments[3].read_bytes()
        segments[3].write_bytes(lost[: len(lost) // 2])
    else:  # a well-formed file with one changed timestamp: only the page checksum tells
        flip_value_byte(segments[3], "ts_event")
    (folder / "trade" / ".00000099.parquet.tmp").write_bytes(b"half a file")  # ignored
    with pytest.raises(DataError, match="00000003.parquet"):
        await replay(folder, ["aaa", "bbb"])
    stream = ReplayStream(RecordingSource(folder), on_error="skip")
    async with stream:
        await stream.subscribe(["aaa", "bbb"])
        got = flat([batch async for batch in stream])
    assert stream.stats["parts_bad"] == 1
    everything = flat(list(itertools.islice(synthetic(), 30)))
    assert len(got) == 30 * 37 - 111  # segment 3 held three batches
    assert got == everything[:333] + everything[444:]


@pytest.mark.asyncio
async def test_a_malformed_batch_is_refused_at_once_and_the_recording_goes_on(tmp_path: Path) -> None:
    """Receive times that do not match the events, or events of another dtype, are refused by
    write() itself; accepted, they would fail the segment's flush, and every later one."""
    folder = tmp_path / "rec"
    good = list(itertools.islice(synthetic(), 3))
    with Recorder(folder, row_group_size=50) as recorder:
        recorder.write(good[0])
        short = EventBatch(EventKind.TRADE, "AAA", good[1].events, good[1].ts_received[:-1])  # type: ignore[index]
        with pytest.raises(DataError, match="AAA: 36 receive times for 37 events"):
            recorder.write(short)
        quotes = EventBatch(EventKind.TRADE, "AAA", schema.empty(schema.QUOTE, 2))
        with pytest.raises(DataError, match="dtype"):
            recorder.write(quotes)
        recorder.write(good[1])
        recorder.write(good[2])
    assert recorder.stats == {"events": 3 * 37, "segments": 2}
    assert flat(await replay(folder, ["AAA", "BBB"])) == flat(good)


@pytest.mark.asyncio
async def test_symbols_are_recorded_as_the_replay_and_the_instrument_ids_know_them(tmp_path: Path) -> None:
    """Symbols are case-insensitive across the platform (an instrument id per upper-cased
    symbol): a batch delivered as "bbb" replays as BBB's, not as no data at all."""
    folder = tmp_path / "rec"
    batch = next(synthetic())
    with Recorder(folder) as recorder:
        recorder.write(EventBatch(batch.kind, "bbb", batch.events, batch.ts_received))
    assert RecordingSource(folder).symbols() == ["BBB"]
    assert flat(await replay(folder, ["bbb"])) == flat([batch])


def test_a_folder_that_is_not_a_recording_is_rejected(tmp_path: Path) -> None:
    from tradecore.errors import ConfigError

    with pytest.raises(ConfigError, match="not a recording"):
        RecordingSource(tmp_path)


def sparse_recording(folder: Path, *, symbols: int = 40, batches: int = 600) -> list[EventBatch]:
    """A recording where a few symbols trade all the time and most rarely (as in a premarket
    scan universe); return what was written."""
    rng = np.random.default_rng(3)
    weights = 1.0 / np.arange(1, symbols + 1) ** 1.5
    written = []
    with Recorder(folder, row_group_size=200, flush_interval=3600.0) as recorder:
        for number, symbol in enumerate(rng.choice(symbols, batches, p=weights / weights.sum())):
            kind = EventKind.QUOTE if number % 3 else EventKind.TRADE
            events = schema.empty(EVENT_DTYPES[kind], 5)
            events["ts_event"] = 1_600_000_000_000_000_000 + number * 10 + np.arange(5)
            events["instrument_id"] = symbol
            batch = EventBatch(kind, f"S{symbol:02d}", events,
                               np.full(5, 1_700_000_000_000_000_000 + number, np.int64))
            recorder.write(batch)
            written.append(batch)
    return written


@pytest.mark.asyncio
async def test_a_replay_of_many_symbols_reads_each_segment_once(tmp_path: Path) -> None:
    written = sparse_recording(tmp_path / "rec")
    files = len(list((tmp_path / "rec").glob("*/*.parquet")))
    source = RecordingSource(tmp_path / "rec")
    symbols = source.symbols()
    assert symbols == sorted({b.symbol for b in written})
    async with ReplayStream(source) as stream:
        await stream.subscribe(symbols)
        replayed = [batch async for batch in stream]
    assert flat(replayed) == flat(written)
    assert source.stats["segments_read"] == files  # not once per symbol
    # A symbol's stream has a part only in the segments that hold it.
    import pyarrow.parquet as pq

    quiet = symbols[-1]
    for kind in ("trade", "quote"):
        paths = sorted((tmp_path / "rec" / kind).glob("*.parquet"))
        holding = [str(p) for p in paths
                   if quiet in pq.read_table(p, columns=["symbol"]).column("symbol").to_pylist()]
        assert [part.where for part in source.parts(kind, quiet, None, None)] == holding
        assert len(holding) < len(paths)


@pytest.mark.asyncio
async def test_a_recording_without_symbols_in_its_footers_replays_alike(tmp_path: Path) -> None:
    """Recordings written before segments listed their symbols are indexed from the column."""
    import pyarrow.parquet as pq

    written = sparse_recording(tmp_path / "rec", batches=150)
    for path in (tmp_path / "rec").glob("*/*.parquet"):
        table = pq.read_table(path)
        meta = {k: v for k, v in (table.schema.metadata or {}).items()
                if k != b"tradecore.symbols"}
        pq.write_table(table.replace_schema_metadata(meta), path, row_group_size=len(table))
        assert b"tradecore.symbols" not in (pq.read_metadata(path).metadata or {})
    source = RecordingSource(tmp_path / "rec")
    assert source.symbols() == sorted({b.symbol for b in written})
    assert flat(await replay(tmp_path / "rec", source.symbols())) == flat(written)
