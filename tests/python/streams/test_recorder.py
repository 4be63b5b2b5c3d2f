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
from tradecore.streams.base import EventBatch, EventKind
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
async def test_a_damaged_segment_is_skipped_once_and_the_rest_replays(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    with Recorder(folder, row_group_size=100) as recorder:
        for batch in itertools.islice(synthetic(), 30):
            recorder.write(batch)
    segments = sorted((folder / "trade").glob("*.parquet"))
    lost = segments[3].read_bytes()
    segments[3].write_bytes(lost[: len(lost) // 2])
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


def test_a_folder_that_is_not_a_recording_is_rejected(tmp_path: Path) -> None:
    from tradecore.errors import ConfigError

    with pytest.raises(ConfigError, match="not a recording"):
        RecordingSource(tmp_path)
