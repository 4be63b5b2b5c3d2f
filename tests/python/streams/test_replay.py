"""Tests of tradecore.streams.replay on the real LEAN files and on crafted Parquet/CSV files.

Expected counts and times come from the inventory in shared/data/PROVENANCE.md; New York
offsets are spelled out (EDT -4 h) so the expectations do not depend on the code under test.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tradecore import schema
from tradecore.data import parquet
from tradecore.data.importer import import_lean
from tradecore.data.mapped_csv import CsvMapping, read_csv_events
from tradecore.errors import ConfigError, DataError
from tradecore.streams.base import EventBatch, EventKind
from tradecore.streams.replay import (
    KIND_ORDER,
    CsvSource,
    LeanSource,
    ParquetSource,
    ReplayStream,
    merge_time,
)

HOUR_NS = 3_600 * 10**9
EDT = -4
TARDIS = "nautilus_trader/tests/test_data/tardis_trades.csv"


def utc_ns(date: str, clock: str, offset_hours: int = EDT) -> int:
    """UTC ns of a New York wall-clock time, given the offset in force."""
    return int(np.datetime64(f"{date}T{clock}", "ns").astype(np.int64)) - offset_hours * HOUR_NS


async def drain(stream: ReplayStream, symbols: list[str]) -> list[EventBatch]:
    async with stream:
        await stream.subscribe(symbols)
        return [batch async for batch in stream]


def flatten(batches: list[EventBatch]) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """Merge time, stream label per event, and the label list, in delivery order."""
    labels = sorted({(b.kind.value, b.symbol) for b in batches})
    index = {label: i for i, label in enumerate(labels)}
    times = np.concatenate([merge_time(b.kind, b.events) for b in batches])
    ids = np.concatenate([np.full(len(b), index[b.kind.value, b.symbol]) for b in batches])
    return times, ids, labels


def stream_events(batches: list[EventBatch], kind: str, symbol: str) -> np.ndarray:
    parts = [b.events for b in batches if b.kind.value == kind and b.symbol == symbol]
    return schema.concatenate(parts, parts[0].dtype)


def same_fields(a: np.ndarray, b: np.ndarray, skip: tuple[str, ...] = ("instrument_id",)) -> bool:
    names = [n for n in a.dtype.names if n not in skip]
    return len(a) == len(b) and all(
        np.array_equal(a[n], b[n], equal_nan=a[n].dtype.kind == "f") for n in names
    )


@pytest.fixture(scope="module")
def imported(lean_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SPY, BAC, IBM trades, BAC quotes and minute bars for 2013-10-07..08 as Parquet."""
    out = tmp_path_factory.mktemp("parquet")
    import_lean(
        lean_root,
        out,
        ["spy", "ibm"],
        ["trade", "minute"],
        (dt.date(2013, 10, 7), dt.date(2013, 10, 8)),
    )
    import_lean(
        lean_root,
        out,
        ["bac"],
        ["trade", "quote", "minute"],
        (dt.date(2013, 10, 7), dt.date(2013, 10, 8)),
    )
    return out


# ---------------------------------------------------------------------------------------------
# Real data: counts, first and last events


@pytest.mark.asyncio
@pytest.mark.parametrize("source_kind", ["lean", "parquet"])
async def test_one_day_of_spy_trades_replays_every_print(
    lean_root, lean, imported, source_kind
) -> None:
    source = LeanSource(lean_root) if source_kind == "lean" else ParquetSource(imported)
    stream = ReplayStream(source, datasets=["trade"], start="2013-10-07", end="2013-10-08")
    batches = await drain(stream, ["spy"])
    events = stream_events(batches, "trade", "SPY")
    assert len(events) == 250_601
    assert events["ts_event"][0] == utc_ns("2013-10-07", "04:00:00.464")
    assert events["ts_event"][-1] == utc_ns("2013-10-07", "19:59:59.536")
    assert same_fields(events, lean("tick", "spy", "2013-10-07"))
    assert stream.stats["events"] == 250_601
    if source_kind == "lean":
        assert stream.stats["parts_loaded"] == 1  # only the file that can hold the window
    assert len(batches) <= 2  # one stream: the whole day (LEAN), or up to the next file's tie


@pytest.mark.asyncio
async def test_bac_quotes_and_minute_bars_counts(imported) -> None:
    stream = ReplayStream(ParquetSource(imported), datasets=["quote", "minute"])
    batches = await drain(stream, ["bac"])
    quotes = stream_events(batches, "quote", "BAC")
    bars = stream_events(batches, "bar", "BAC")
    assert len(quotes) == 476_855 + 576_096
    assert quotes["ts_event"][0] == utc_ns("2013-10-07", "04:00:00.151")
    assert quotes["ts_event"][-1] == utc_ns("2013-10-08", "20:00:00.097")
    assert len(bars) == 595 + 573
    assert np.all(bars["ts_end"] - bars["ts_event"] == 60 * 10**9)


# ---------------------------------------------------------------------------------------------
# Merge order


@pytest.mark.asyncio
async def test_merge_of_spy_bac_ibm_trades_and_bac_quotes_is_ordered_and_complete(
    imported, lean
) -> None:
    stream = ReplayStream(ParquetSource(imported), datasets=["trade", "quote"])
    batches = await drain(stream, ["spy", "bac", "ibm"])
    times, ids, labels = flatten(batches)
    assert len(times) == 250_601 + 451_545 + 88_172 + 125_872 + 24_293 + 33_381 + 476_855 + 576_096
    assert np.all(np.diff(times) >= 0), "events must come in merge-time order"
    # At equal times: kind rank, then symbol.
    rule = sorted(labels, key=lambda label: (KIND_ORDER[EventKind(label[0])], label[1]))
    position = np.array([rule.index(label) for label in labels])
    tie = np.diff(times) == 0
    assert tie.sum() > 10_000
    assert np.all(np.diff(position[ids])[tie] >= 0), "ties must follow kind, then symbol"
    # Every stream is delivered whole and in file order.
    for symbol in ("spy", "bac", "ibm"):
        days = [lean("tick", symbol, d) for d in ("2013-10-07", "2013-10-08")]
        assert same_fields(stream_events(batches, "trade", symbol.upper()), np.concatenate(days))
    # Batches are runs: consecutive batches never belong to the same stream within a window.
    assert len(batches) < len(times) / 3


@pytest.mark.asyncio
async def test_parquet_and_lean_sources_replay_identically_and_window_size_does_not_matter(
    lean_root, imported
) -> None:
    def run(source, window):
        return drain(
            ReplayStream(
                source,
                datasets=["trade", "quote", "minute"],
                start="2013-10-07",
                end="2013-10-08T16:00",
                window=window,
            ),
            ["bac", "spy"],
        )

    from_lean = await run(LeanSource(lean_root), 1 << 20)
    from_parquet = await run(ParquetSource(imported), 1 << 20)
    small_window = await run(ParquetSource(imported), 5_000)
    reference = flatten(from_lean)
    for other in (from_parquet, small_window):
        times, ids, labels = flatten(other)
        assert labels == reference[2]
        assert np.array_equal(times, reference[0]) and np.array_equal(ids, reference[1])
    assert len(small_window) > len(from_parquet)


@pytest.mark.asyncio
async def test_ties_follow_the_documented_rule(tmp_path: Path) -> None:
    t = utc_ns("2013-10-07", "10:00")
    day = dt.date(2013, 10, 7)

    def write(dataset: str, symbol: str, events: np.ndarray) -> None:
        table = parquet.to_table(events, kind=parquet.dataset_kind(dataset), symbol=symbol)
        parquet.write_table(table, parquet.dataset_path(tmp_path, dataset, symbol, day))

    for symbol in ("BBB", "AAA"):
        trade = schema.empty(schema.TRADE, 2)
        trade["ts_event"], trade["price"], trade["size"] = [t - 1, t], 10.0, 1.0
        write("trade", symbol, trade)
        quote = schema.empty(schema.QUOTE, 1)
        quote["ts_event"], quote["bid_price"], quote["ask_price"] = t, 9.9, 10.1
        write("quote", symbol, quote)
        bar = schema.empty(schema.BAR, 1)
        bar["ts_event"], bar["ts_end"] = t - 60 * 10**9, t  # ends at t: merged at t
        write("minute", symbol, bar)
        status = schema.empty(schema.STATUS, 1)
        status["ts_event"], status["state"] = t, schema.TradingState.HALTED
        write("status", symbol, status)
    batches = await drain(ReplayStream(ParquetSource(tmp_path)), ["bbb", "aaa"])
    got = [(b.kind.value, b.symbol, len(b)) for b in batches]
    assert got == [
        ("trade", "AAA", 1),
        ("trade", "BBB", 1),  # t - 1
        ("status", "AAA", 1),
        ("status", "BBB", 1),
        ("bar", "AAA", 1),
        ("bar", "BBB", 1),
        ("quote", "AAA", 1),
        ("quote", "BBB", 1),
        ("trade", "AAA", 1),
        ("trade", "BBB", 1),
    ]


# ---------------------------------------------------------------------------------------------
# Selection, history, pacing, subscriptions


@pytest.mark.asyncio
async def test_start_and_end_select_a_half_open_window(imported, lean) -> None:
    start, end = utc_ns("2013-10-08", "09:30"), utc_ns("2013-10-08", "09:31")
    batches = await drain(
        ReplayStream(ParquetSource(imported), datasets=["trade"], start=start, end=end), ["spy"]
    )
    events = stream_events(batches, "trade", "SPY")
    day = lean("tick", "spy", "2013-10-08")
    expected = day[(day["ts_event"] >= start) & (day["ts_event"] < end)]
    assert len(events) == len(expected) > 1000
    assert same_fields(events, expected)


def test_history_returns_what_came_before_the_start(imported, lean) -> None:
    start = utc_ns("2013-10-08", "09:30")
    stream = ReplayStream(ParquetSource(imported), start=start)
    last5 = stream.history("spy", "trade", count=5)
    day = lean("tick", "spy", "2013-10-08")
    before = day[day["ts_event"] < start]
    assert same_fields(last5, before[-5:])
    assert np.all(last5["instrument_id"] == stream.instruments.id_of("SPY"))
    window = stream.history("spy", "trade", lookback=dt.timedelta(minutes=30))
    assert same_fields(window, before[before["ts_event"] >= start - 30 * 60 * 10**9])
    # Across a day boundary: minute bars that ended before 04:00 on the 8th are the 7th's.
    bars = stream.history("bac", "minute", before=utc_ns("2013-10-08", "04:00"), count=3)
    assert len(bars) == 3 and bars["ts_end"][-1] <= utc_ns("2013-10-07", "20:00")
    assert len(stream.history("spy", "trade", count=0)) == 0


@pytest.mark.asyncio
async def test_speed_paces_by_the_event_clock(imported) -> None:
    start = utc_ns("2013-10-08", "09:30:00")
    end = start + 400_000_000  # 0.4 s of SPY trades at the open
    speed = 2.0
    stream = ReplayStream(
        ParquetSource(imported), datasets=["trade"], start=start, end=end, speed=speed
    )
    began = time.perf_counter()
    batches = await drain(stream, ["spy", "bac"])
    elapsed = time.perf_counter() - began
    times, _, _ = flatten(batches)
    assert len(times) > 50
    assert elapsed >= (times[-1] - times[0]) / 1e9 / speed * 0.98
    # Paced batches hold one stream's events at one instant.
    assert all(np.all(b.events["ts_event"] == b.events["ts_event"][0]) for b in batches)


@pytest.mark.asyncio
async def test_subscribe_and_unsubscribe_during_replay(imported) -> None:
    stream = ReplayStream(
        ParquetSource(imported),
        datasets=["trade"],
        start="2013-10-07",
        end="2013-10-08",
        window=2_000,
    )
    seen: list[EventBatch] = []
    await stream.subscribe(["spy", "bac"])
    joined_at = None
    async for batch in stream:
        seen.append(batch)
        if len(seen) == 200:
            await stream.unsubscribe(["bac"])
        if len(seen) == 250:
            await stream.subscribe(["ibm"])
            joined_at = int(batch.events["ts_event"][-1])
    await stream.close()
    after = [b.symbol for b in seen[200:]]
    assert "BAC" in [b.symbol for b in seen[:200]] and "BAC" not in after
    ibm = [b for b in seen if b.symbol == "IBM"]
    assert ibm and all(b.events["ts_event"][0] >= joined_at for b in ibm)
    assert "IBM" not in [b.symbol for b in seen[:250]]
    assert stream.subscribed == frozenset({"SPY", "IBM"})
    times, _, _ = flatten(seen)
    assert np.all(np.diff(times) >= 0)


def test_bad_parameters_are_config_errors(tmp_path: Path) -> None:
    tmp_path.joinpath("trade").mkdir()
    source = ParquetSource(tmp_path)
    with pytest.raises(ConfigError):
        ReplayStream(source, speed=-1)
    with pytest.raises(ConfigError):
        ReplayStream(source, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        ReplayStream(source, datasets=["ticks"])
    with pytest.raises(ConfigError):
        ParquetSource(tmp_path / "missing")


NOT_TIMES = ["garbage", 2**70, -(2**63), float("nan"), "NaT", "3000-01-01", True]


@pytest.mark.parametrize("value", NOT_TIMES, ids=[repr(v) for v in NOT_TIMES])
@pytest.mark.parametrize("name", ["start", "end"])
def test_a_start_or_end_that_is_no_time_is_a_config_error_naming_it(
    tmp_path: Path, name: str, value: object
) -> None:
    # Raised when the stream is built, not as a pandas error (or a TypeError) at subscribe.
    tmp_path.joinpath("trade").mkdir()
    with pytest.raises(ConfigError, match=rf"^{name} must be a time.*{re.escape(repr(value))}"):
        ReplayStream(ParquetSource(tmp_path), **{name: value})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^before must be a time"):
        ReplayStream(ParquetSource(tmp_path)).history("XYZ", "trade", before=value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Bad input


def _trades(start: int, n: int) -> np.ndarray:
    events = schema.empty(schema.TRADE, n)
    events["ts_event"] = start + np.arange(n) * 1_000
    events["price"], events["size"] = 10.0, 1.0
    return events


def _write_days(
    root: Path, days: int, rows: int = 1_000, row_group_size: int = 1 << 20
) -> list[Path]:
    paths = []
    for i in range(days):
        day = dt.date(2020, 1, 6 + i)
        path = parquet.dataset_path(root, "trade", "XYZ", day)
        start = utc_ns(day.isoformat(), "10:00", -5)
        parquet.write_table(
            parquet.to_table(_trades(start, rows), kind=EventKind.TRADE),
            path,
            row_group_size=row_group_size,
        )
        paths.append(path)
    return paths


@pytest.mark.asyncio
async def test_truncated_parquet_raises_a_data_error_naming_the_file(tmp_path: Path) -> None:
    paths = _write_days(tmp_path, 3)
    paths[1].write_bytes(paths[1].read_bytes()[:-100])
    with pytest.raises(DataError, match=r"2020-01-07\.parquet.*not a readable Parquet file"):
        await drain(ReplayStream(ParquetSource(tmp_path)), ["xyz"])


@pytest.mark.asyncio
async def test_skip_policy_keeps_every_readable_file_and_row_group(tmp_path: Path, caplog) -> None:
    paths = _write_days(tmp_path, 3, rows=3_000, row_group_size=1_000)
    paths[0].write_bytes(paths[0].read_bytes()[:-100])  # no footer: the whole file is lost
    meta = parquet.file_metadata(paths[2])
    group = meta.row_group(1).column(0)  # garble the middle row group's ts_event column
    data = bytearray(paths[2].read_bytes())
    offset = group.dictionary_page_offset if group.has_dictionary_page else group.data_page_offset
    data[offset : offset + group.total_compressed_size] = b"\xff" * group.total_compressed_size
    paths[2].write_bytes(bytes(data))
    stream = ReplayStream(ParquetSource(tmp_path), on_error="skip")
    with caplog.at_level("WARNING", logger="tradecore"):
        batches = await drain(stream, ["xyz"])
    assert sum(map(len, batches)) == 3_000 + 2_000
    assert stream.stats["parts_bad"] == 1 and stream.stats["row_groups_bad"] == 1
    messages = [r.getMessage() for r in caplog.records]
    assert sum("2020-01-06.parquet" in m for m in messages) == 1
    assert sum("2020-01-08.parquet (row group 1)" in m for m in messages) == 1


@pytest.mark.asyncio
async def test_a_flipped_byte_in_a_data_page_fails_its_checksum_naming_the_file(
    tmp_path: Path, flip_value_byte
) -> None:
    paths = _write_days(tmp_path, 3)
    flip_value_byte(paths[1], "ts_event")
    with pytest.raises(DataError, match=r"2020-01-07\.parquet: cannot read the data .*CRC"):
        await drain(ReplayStream(ParquetSource(tmp_path)), ["xyz"])
    stream = ReplayStream(ParquetSource(tmp_path), on_error="skip")
    assert sum(map(len, await drain(stream, ["xyz"]))) == 2_000
    assert stream.stats["parts_bad"] == 1


def test_a_file_written_without_page_checksums_still_reads(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    events = _trades(utc_ns("2020-01-06", "10:00", -5), 1_000)
    path = tmp_path / "old.parquet"
    pq.write_table(parquet.to_table(events, kind=EventKind.TRADE), path)  # no checksums, as before
    np.testing.assert_array_equal(parquet.read_events(path)[0], events)


@pytest.mark.asyncio
async def test_a_foreign_parquet_file_is_a_data_error(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = parquet.dataset_path(tmp_path, "trade", "XYZ", dt.date(2020, 1, 6))
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"ts_event": [1, 2]}), path)
    with pytest.raises(DataError, match="schema version"):
        await drain(ReplayStream(ParquetSource(tmp_path)), ["xyz"])


def _with_column(table: Any, name: str, values: Any) -> Any:
    """``table`` (a pyarrow Table) with one column replaced, as another writer might store it."""
    return table.set_column(table.schema.get_field_index(name), name, values)


def test_a_uint64_time_beyond_int64_is_a_data_error_not_a_negative_time(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    events = _trades(utc_ns("2020-01-06", "10:00", -5), 2)
    table = parquet.to_table(events, kind=EventKind.TRADE)
    stamps = pa.array([events["ts_event"][0], 2**63 + 5], pa.uint64())
    path = tmp_path / "foreign.parquet"
    pq.write_table(_with_column(table, "ts_event", stamps), path)
    with pytest.raises(DataError, match=rf"foreign\.parquet: column 'ts_event' .*{2**63 + 5}"):
        parquet.read_events(path)


def test_status_codes_stored_as_text_read_as_their_bytes(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    events = schema.empty(schema.STATUS, 2)
    events["ts_event"] = [1, 2]
    table = parquet.to_table(events, kind=EventKind.STATUS)
    path = tmp_path / "foreign.parquet"
    pq.write_table(_with_column(table, "status_code", pa.array(["H", "T12"])), path)
    assert parquet.read_events(path)[0]["status_code"].tolist() == [b"H", b"T12"]
    pq.write_table(_with_column(table, "status_code", pa.array(["H", "T1234"])), path)
    with pytest.raises(DataError, match="column 'status_code' has a value of 5 bytes"):
        parquet.read_events(path)


@pytest.mark.asyncio
async def test_out_of_order_file_is_sorted_counted_and_logged(tmp_path: Path, caplog) -> None:
    events = _trades(utc_ns("2020-01-06", "10:00", -5), 10)[::-1].copy()
    parquet.write_table(
        parquet.to_table(events, kind=EventKind.TRADE),
        parquet.dataset_path(tmp_path, "trade", "XYZ", dt.date(2020, 1, 6)),
    )
    stream = ReplayStream(ParquetSource(tmp_path))
    with caplog.at_level("WARNING", logger="tradecore"):
        batches = await drain(stream, ["xyz"])
    assert np.all(np.diff(batches[0].events["ts_event"]) > 0)
    assert stream.stats["parts_unsorted"] == 1
    assert any("out of time order" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------------------------------
# CSV


TARDIS_MAPPING = {
    "kind": "trade",
    "time": "timestamp",
    "time_unit": "us",
    "symbol_column": "symbol",
    "columns": {"price": "price", "size": "amount", "trade_id": "id"},
}


@pytest.mark.asyncio
async def test_csv_replay_with_a_column_mapping(data_root: Path) -> None:
    source = CsvSource([data_root / TARDIS], CsvMapping.from_dict(TARDIS_MAPPING))
    batches = await drain(ReplayStream(source), ["btcusdt"])
    events = stream_events(batches, "trade", "BTCUSDT")
    assert len(events) == 9_999
    assert events["ts_event"][0] == 1_582_329_602_111_000_000
    assert events["price"][0] == 9682.0 and events["size"][0] == 0.132
    assert events["trade_id"][0] == 42_377_944
    assert np.all(np.diff(events["ts_event"]) >= 0)


@pytest.mark.asyncio
async def test_csv_text_times_with_a_time_zone_and_price_scale(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        "when;bid;ask;ex\n2013-10-07 09:30:00.5;1674100;1674200;P\n"
        "2013-10-07 09:30:01;1674000;1674300;Q\n"
    )
    mapping = CsvMapping(
        kind="quote",
        time="when",
        timezone="America/New_York",
        price_scale=10_000,
        symbol="spy",
        delimiter=";",
        columns={"bid_price": "bid", "ask_price": "ask", "bid_exchange": "ex"},
    )
    batches = await drain(ReplayStream(CsvSource([path], mapping)), ["spy"])
    quotes = batches[0].events
    assert quotes["ts_event"][0] == utc_ns("2013-10-07", "09:30:00.5")
    assert list(quotes["bid_price"]) == [167.41, 167.40]
    assert list(quotes["bid_exchange"]) == [ord("P"), ord("Q")]


def test_csv_mapping_mistakes_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("t,px\n1,2\n")
    with pytest.raises(ConfigError, match="no field"):
        CsvMapping(kind="trade", time="t", symbol="X", columns={"bid_price": "px"})
    with pytest.raises(ConfigError, match="exactly one"):
        CsvMapping(kind="trade", time="t", columns={"price": "px"})
    with pytest.raises(ConfigError, match="time_unit"):
        CsvMapping(kind="trade", time="t", symbol="X", time_unit="days", columns={})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="time zone"):
        CsvMapping(kind="trade", time="t", symbol="X", timezone="Mars/Olympus", columns={})
    with pytest.raises(ConfigError, match="unknown key"):
        CsvMapping.from_dict(
            {"kind": "trade", "time": "t", "symbol": "X", "columns": {}, "scale": 2}
        )
    mapping = CsvMapping(kind="trade", time="t", time_unit="s", symbol="X", columns={"size": "qty"})
    with pytest.raises(ConfigError, match=r"column\(s\) \['qty'\]"):
        CsvSource([path], mapping).parts("trade", "X", None, None)[0].load("raise")
    bad_json = tmp_path / "m.json"
    bad_json.write_text(json.dumps(["not", "an", "object"]))
    with pytest.raises(ConfigError):
        CsvMapping.from_json(bad_json)


def test_csv_bad_value_is_a_data_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("t,px\n1,2\n2,oops\n")
    mapping = CsvMapping(kind="trade", time="t", time_unit="s", symbol="X", columns={"price": "px"})
    with pytest.raises(DataError, match=r"t\.csv:3: bad price"):
        CsvSource([path], mapping).parts("trade", "X", None, None)[0].load("raise")


TRADE_MAPPING = {
    "kind": "trade",
    "time": "t",
    "time_unit": "ms",
    "symbol_column": "sym",
    "columns": {"price": "px", "size": "qty", "trade_id": "id"},
}
QUOTE_MAPPING = {
    "kind": "quote",
    "time": "t",
    "time_unit": "ms",
    "symbol": "X",
    "columns": {"bid_price": "bid", "ask_price": "ask"},
}
TEXT_MAPPING = {"kind": "trade", "time": "t", "symbol": "X", "columns": {"price": "px"}}
# A header and a good first row, so the bad row is line 3.
TRADES = "t,sym,px,qty,id\n1,X,1,1,1\n"
QUOTES = "t,bid,ask\n1,10.0,10.5\n"
TEXTS = "t,px\n2024-01-02T10:00:00Z,1\n"


@pytest.mark.parametrize(
    ("mapping", "text", "message"),
    [
        pytest.param(
            TRADE_MAPPING, TRADES + "2,X,-5,1,2\n", r"price .* positive", id="negative price"
        ),
        pytest.param(TRADE_MAPPING, TRADES + "2,X,0,1,2\n", r"price .* positive", id="zero price"),
        pytest.param(
            TRADE_MAPPING, TRADES + "2,X,inf,1,2\n", r"price .* finite", id="infinite price"
        ),
        pytest.param(
            TRADE_MAPPING, TRADES + "2,X,1,-10,2\n", r"size .* negative", id="negative size"
        ),
        pytest.param(
            TRADE_MAPPING, TRADES + "2,X,1,1,-1\n", r"trade_id .* out of range", id="negative id"
        ),
        pytest.param(
            TRADE_MAPPING,
            TRADES + "2,X,1,1,99999999999999999999999\n",
            r"trade_id .* out of range",
            id="id beyond 64 bits",
        ),
        pytest.param(
            TRADE_MAPPING,
            TRADES + "1e30,X,1,1,2\n",
            r"time .* out of range",
            id="decimal time out of range",
        ),
        # Fits int64 as milliseconds, not as nanoseconds.
        pytest.param(
            TRADE_MAPPING,
            TRADES + "9999999999999999,X,1,1,2\n",
            r"time .* out of range",
            id="whole time out of range",
        ),
        pytest.param(TRADE_MAPPING, TRADES + "2,,1,1,2\n", r"no symbol", id="empty symbol"),
        pytest.param(QUOTE_MAPPING, QUOTES + "2,10.5,10.0\n", r"crossed quote", id="crossed quote"),
        pytest.param(TEXT_MAPPING, TEXTS + "now,1\n", r"wall clock", id="now"),
        pytest.param(TEXT_MAPPING, TEXTS + "13:00,1\n", r"wall clock", id="time without a date"),
        pytest.param(
            TEXT_MAPPING, TEXTS + "3000-01-01T00:00:00Z,1\n", r"out of range", id="year 3000"
        ),
    ],
)
def test_csv_impossible_values_are_data_errors_naming_their_line(
    tmp_path: Path, mapping: dict[str, object], text: str, message: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"t\.csv:3: .*{message}") as raised:
        read_csv_events(path, CsvMapping.from_dict(mapping))
    assert raised.value.path == path and raised.value.line == 3


def test_csv_times_with_offsets_are_exact_across_a_daylight_saving_change(tmp_path: Path) -> None:
    """Each time's own offset counts (New York's changes at the end of the summer); a time
    without one among times with one is an error naming its line."""
    path = tmp_path / "t.csv"
    path.write_text("t,px\n2024-11-03T01:30:00-04:00,1\n2024-11-03T01:30:00-05:00,2\n2024-11-03T07:30:00Z,3\n")
    mapping = CsvMapping.from_dict({"kind": "trade", "time": "t", "symbol": "X", "columns": {"price": "px"}})
    times = read_csv_events(path, mapping)["X"]["ts_event"].tolist()
    hour = 3_600 * 10**9
    assert times == [times[0], times[0] + hour, times[0] + 2 * hour]
    assert times[0] == 1_730_611_800 * 10**9  # 2024-11-03T05:30:00Z
    path.write_text("t,px\n2024-11-03T01:30:00-04:00,1\n2024-11-03T01:45:00,2\n")
    with pytest.raises(DataError, match=r"t\.csv:3: .*no offset where other rows have one"):
        read_csv_events(path, mapping)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", r"not a readable CSV file", id="empty file"),
    ],
)
def test_csv_files_pandas_cannot_read_are_data_errors_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"t\.csv: .*{message}"):
        read_csv_events(path, CsvMapping.from_dict(TEXT_MAPPING))


def test_csv_whole_times_are_read_exactly_beside_decimal_ones(tmp_path: Path) -> None:
    # One decimal time used to turn the whole column to float: 1700000000001 ms became
    # 1700000000000999936 ns.
    path = tmp_path / "t.csv"
    path.write_text("t,px\n1700000000001,1\n1.5,1\n")
    mapping = CsvMapping(
        kind="trade", time="t", time_unit="ms", symbol="X", columns={"price": "px"}
    )
    times = read_csv_events(path, mapping)["X"]["ts_event"]
    assert times.tolist() == [1_700_000_000_001_000_000, 1_500_000]


def test_csv_locked_and_one_sided_quotes_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("t,bid,ask\n1,10.0,10.0\n2,0,10.0\n3,10.0,0\n")
    quotes = read_csv_events(path, CsvMapping.from_dict(QUOTE_MAPPING))["X"]
    assert quotes[["bid_price", "ask_price"]].tolist() == [(10, 10), (0, 10), (10, 0)]


@pytest.mark.asyncio
async def test_csv_replay_skips_unreadable_and_bad_files_and_keeps_the_good_one(
    tmp_path: Path,
) -> None:
    mapping = CsvMapping.from_dict(TEXT_MAPPING)
    files = {
        "empty.csv": "",
        "zones.csv": "t,px\n2024-01-02T10:00:00Z,1\n2024-01-02T10:00:00,2\n",
        "negative.csv": "t,px\n2024-01-02T10:00:00Z,-1\n",
        "good.csv": "t,px\n2024-01-02T10:00:00Z,5\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    stream = ReplayStream(CsvSource([tmp_path / n for n in files], mapping), on_error="skip")
    batches = await drain(stream, ["x"])
    assert stream_events(batches, "trade", "X")["price"].tolist() == [5.0]
    assert stream.stats["parts_bad"] == 3
