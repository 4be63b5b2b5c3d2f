"""Tests of tradecore.data.lean against the recorded LEAN files and against broken files.

Expected counts and times come from the inventory in shared/data/PROVENANCE.md. Expected UTC
instants are written with the New York offset spelled out (EDT -4 h, EST -5 h) so they do not
depend on the time-zone code under test.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from tradecore.data import (
    available_dates,
    lean_path,
    read_daily_bars,
    read_hour_bars,
    read_minute_bars,
    read_quote_ticks,
    read_second_bars,
    read_trade_ticks,
)
from tradecore.errors import ConfigError, DataError
from tradecore.schema import BAR, QUOTE, TRADE, Session, TradeFlag

HOUR_NS = 3_600 * 10**9
MINUTE_NS = 60 * 10**9
EDT, EST = -4, -5


def utc_ns(date: str, time: str, offset_hours: int) -> int:
    """UTC ns of a New York wall-clock time, given the offset in force."""
    local = np.datetime64(f"{date}T{time}", "ns").astype(np.int64)
    return int(local) - offset_hours * HOUR_NS


# ---------------------------------------------------------------------------------------------
# Real files: counts, first and last times, session split (PROVENANCE inventory)

INVENTORY = [
    # resolution, kind, symbol, date, rows, first, last, offset, rows before 09:30, at/after 16:00
    ("tick", "trade", "spy", "2013-10-07", 250601, "04:00:00.464", "19:59:59.536", EDT, 2835, 6262),
    ("tick", "trade", "spy", "2013-10-10", 460032, "04:00:00.795", "19:59:36.983", EDT, 7952, 8909),
    ("tick", "trade", "aig", "2013-10-11", 31318, "09:18:42.400", "19:26:15.287", EDT, 18, 44),
    ("tick", "quote", "bac", "2013-10-08", 576096, "04:00:00.142", "20:00:00.097", EDT, 1120, 978),
    ("tick", "quote", "ibm", "2013-10-07", 109067, "04:00:00.054", "20:00:00.122", EDT, 873, 196),
    ("second", "trade", "spy", "2013-10-08", 22383, "04:00:17", "19:59:58", EDT, 843, 2024),
    ("minute", "trade", "spy", "2013-10-07", 828, "04:00:00", "19:59:00", EDT, 260, 178),
    ("minute", "trade", "shy", "2008-03-07", 336, "08:54:00", "16:58:00", EST, 1, 2),
    ("minute", "trade", "shy", "2008-03-10", 316, "08:33:00", "16:03:00", EDT, 2, 1),
]


@pytest.mark.parametrize(
    ("resolution", "kind", "symbol", "date", "rows", "first", "last", "offset", "pre", "post"),
    INVENTORY,
    ids=[f"{r}-{k}-{s}-{d}" for r, k, s, d, *_ in INVENTORY],
)
def test_file_matches_inventory(
    lean, resolution, kind, symbol, date, rows, first, last, offset, pre, post
):
    events = lean(resolution, symbol, date, kind)
    ts = events["ts_event"]
    assert len(events) == rows
    assert ts[0] == utc_ns(date, first, offset)
    assert ts[-1] == utc_ns(date, last, offset)
    assert np.count_nonzero(ts < utc_ns(date, "09:30", offset)) == pre
    assert np.count_nonzero(ts >= utc_ns(date, "16:00", offset)) == post
    assert np.all(np.diff(ts) >= 0)


def test_spy_tick_week_has_every_trade(lean_root):
    dates = available_dates(lean_root, "SPY")
    assert dates == [dt.date(2013, 10, day) for day in range(7, 12)]
    assert sum(len(read_trade_ticks(lean_root, "SPY", day)) for day in dates) == 1_887_460


def test_shy_minute_bars_change_utc_offset_across_the_2008_dst_start(lean):
    # Friday 2008-03-07 is EST, Monday 2008-03-10 EDT (the change was Sunday 03-09 02:00).
    for date, offset in (("2008-03-07", EST), ("2008-03-10", EDT)):
        bars = lean("minute", "shy", date)
        midnight_utc = utc_ns(date, "00:00", offset)
        time_of_day = bars["ts_event"] - midnight_utc
        assert np.all(time_of_day % MINUTE_NS == 0)
        assert time_of_day.min() >= 4 * HOUR_NS and time_of_day.max() < 20 * HOUR_NS


def test_trade_tick_fields_follow_the_lean_columns(lean):
    # First line of SPY 20131007: 14400464,1674100,100,P,20002000,0
    first = lean("tick", "spy", "2013-10-07")[0]
    assert first.dtype == TRADE
    assert first["price"] == 1674100 / 10000 == 167.41
    assert first["size"] == 100
    assert first["exchange"] == ord("P")
    assert first["conditions"] == 0x20002000
    assert first["flags"] == 0
    assert first["instrument_id"] == 0


def test_suspicious_print_keeps_its_flag_and_conditions(lean):
    trades = lean("tick", "spy", "2013-10-10")
    flagged = trades[(trades["flags"] & TradeFlag.SUSPICIOUS) != 0]
    assert len(flagged) == 10
    # 57749465,1655900,250629,D,20002000,1
    ts = utc_ns("2013-10-10", "00:00", EDT) + 57_749_465 * 10**6
    match = flagged[(flagged["ts_event"] == ts) & (flagged["size"] == 250_629)]
    assert len(match) == 1
    assert match["price"][0] == 165.59
    assert match["exchange"][0] == ord("D")
    assert match["conditions"][0] == 0x20002000


def test_hex_conditions_with_letters_are_read_as_hex(lean):
    # SPY 20131010 has the sale condition "20004a00".
    assert np.any(lean("tick", "spy", "2013-10-10")["conditions"] == 0x20004A00)


def test_quote_ticks_are_one_sided_per_exchange_updates(lean):
    quotes = lean("tick", "ibm", "2013-10-07", "quote")
    assert quotes.dtype == QUOTE
    bid_only = (quotes["bid_price"] > 0) & (quotes["ask_price"] == 0)
    ask_only = (quotes["ask_price"] > 0) & (quotes["bid_price"] == 0)
    assert np.count_nonzero(bid_only) == 54_533
    assert np.count_nonzero(ask_only) == 54_534
    assert np.count_nonzero(bid_only | ask_only) == len(quotes)
    # the venue is recorded on the side that was quoted only
    assert np.all(quotes["ask_exchange"][bid_only] == 0)
    assert np.all(quotes["bid_exchange"][bid_only] > 0)
    assert np.all(quotes["bid_size"][ask_only] == 0)


def test_quote_tick_sample_rows(lean):
    quotes = lean("tick", "bac", "2013-10-08", "quote")
    # 42326211,137600,40300,0,0,Q,1,0 then 42326211,0,0,137700,59900,N,1,0
    ts = utc_ns("2013-10-08", "00:00", EDT) + 42_326_211 * 10**6
    same_ms = quotes[quotes["ts_event"] == ts]
    assert len(same_ms) == 2
    bid, ask = same_ms
    assert (bid["bid_price"], bid["bid_size"], bid["bid_exchange"]) == (13.76, 40_300, ord("Q"))
    assert (ask["ask_price"], ask["ask_size"], ask["ask_exchange"]) == (13.77, 59_900, ord("N"))
    assert bid["conditions"] == ask["conditions"] == 1


def test_minute_bars_are_marked_with_new_york_sessions(lean):
    bars = lean("minute", "spy", "2013-10-07")
    assert bars.dtype == BAR
    counts = {Session(s): int(n) for s, n in zip(*np.unique(bars["session"], return_counts=True))}
    assert counts == {Session.PREMARKET: 260, Session.REGULAR: 390, Session.AFTER_HOURS: 178}
    assert np.all(bars["ts_end"] - bars["ts_event"] == MINUTE_NS)
    assert np.all(np.isnan(bars["vwap"])) and np.all(bars["trade_count"] == 0)


def test_second_bars_last_one_second(lean):
    bars = lean("second", "spy", "2013-10-08")
    assert np.all(bars["ts_end"] - bars["ts_event"] == 10**9)
    # 38858000,1670900,1671000,1670900,1670900,30520
    bar = bars[bars["ts_event"] == utc_ns("2013-10-08", "10:47:38", EDT)][0]
    assert (bar["open"], bar["high"], bar["low"], bar["close"], bar["volume"]) == (
        167.09, 167.10, 167.09, 167.09, 30_520
    )


def test_aapl_split_day_minute_bar_keeps_the_raw_pre_split_open(lean):
    bar = lean("minute", "aapl", "2014-06-09")[0]
    assert bar["ts_event"] == utc_ns("2014-06-09", "04:00", EDT)
    assert (bar["open"], bar["low"]) == (645.57, 92.23)


def test_aapl_daily_bars_are_raw_across_the_2014_split(lean):
    bars = lean("daily", "aapl")
    assert len(bars) == 5849
    by_day = {
        day: bars[bars["ts_event"] == utc_ns(day, "00:00", EDT)][0]
        for day in ("2014-06-05", "2014-06-06", "2014-06-09")
    }
    assert by_day["2014-06-06"]["close"] == 645.57
    assert by_day["2014-06-09"]["open"] == 92.69
    assert by_day["2014-06-09"]["close"] == 93.70
    assert by_day["2014-06-09"]["volume"] == 72_875_948
    assert by_day["2014-06-09"]["ts_end"] == utc_ns("2014-06-10", "00:00", EDT)
    assert np.all(bars["session"] == Session.REGULAR)


def test_daily_bar_equals_the_regular_session_minute_bars(lean):
    spy = lean("daily", "spy")
    day = spy[spy["ts_event"] == utc_ns("2013-10-07", "00:00", EDT)][0]
    assert (day["open"], day["high"], day["low"], day["close"], day["volume"]) == (
        167.43, 168.45, 167.25, 167.42, 81_489_219
    )
    minutes = lean("minute", "spy", "2013-10-07")
    regular = minutes[minutes["session"] == Session.REGULAR]
    assert regular["volume"].sum() == day["volume"]
    assert regular["high"].max() == day["high"] and regular["low"].min() == day["low"]


def test_hour_bar_stamped_0900_holds_0930_to_1000(lean):
    hours = lean("hour", "spy")
    assert len(hours) == 40_832
    bar = hours[hours["ts_event"] == utc_ns("2013-10-07", "09:00", EDT)][0]
    assert bar["ts_end"] == utc_ns("2013-10-07", "10:00", EDT)
    assert bar["volume"] == 13_131_967
    assert bar["session"] == Session.REGULAR
    minutes = lean("minute", "spy", "2013-10-07")
    first_half_hour = (minutes["ts_event"] >= utc_ns("2013-10-07", "09:30", EDT)) & (
        minutes["ts_event"] < utc_ns("2013-10-07", "10:00", EDT)
    )
    assert minutes["volume"][first_half_hour].sum() == bar["volume"]


def test_path_and_root_symbol_date_read_the_same_file(lean_root):
    path = lean_path(lean_root, "trade", "SPY", "20131007", "minute")
    assert path == lean_root / "equity/usa/minute/spy/20131007_trade.zip"
    by_path = read_minute_bars(path, instrument_id=7)
    by_name = read_minute_bars(lean_root, "spy", dt.date(2013, 10, 7), instrument_id=7)
    assert by_path.tobytes() == by_name.tobytes()  # byte equality: NaN vwap != NaN
    assert np.all(by_path["instrument_id"] == 7)


# ---------------------------------------------------------------------------------------------
# Paths


def test_lean_path_layout():
    root = Path("/data")
    assert lean_path(root, "quote", "IBM", "2013-10-07") == Path(
        "/data/equity/usa/tick/ibm/20131007_quote.zip"
    )
    assert lean_path(root, "trade", "AAPL", resolution="daily") == Path(
        "/data/equity/usa/daily/aapl.zip"
    )
    assert lean_path(root, "trade", "spy", None, "hour") == Path("/data/equity/usa/hour/spy.zip")


@pytest.mark.parametrize(
    ("kind", "symbol", "date", "resolution"),
    [
        ("quote", "spy", None, "daily"),
        ("trade", "spy", None, "minute"),
        ("trade", "spy", "2013-10-07", "week"),
        ("bid", "spy", "2013-10-07", "tick"),
        ("trade", "../spy", "2013-10-07", "tick"),
        ("trade", "spy", "yesterday", "tick"),
    ],
)
def test_lean_path_rejects_bad_arguments(kind, symbol, date, resolution):
    with pytest.raises(ConfigError):
        lean_path("/data", kind, symbol, date, resolution)


def test_available_dates_of_a_missing_symbol_is_empty(tmp_path):
    assert available_dates(tmp_path, "spy", "minute") == []
    with pytest.raises(ConfigError):
        available_dates(tmp_path, "spy", "daily")


# ---------------------------------------------------------------------------------------------
# Written files: rules that the real data does not exercise

TRADES = [
    "14400464,1674100,100,P,20002000,0",
    "14400465,1674100,1400,P,2000,0",
    "14400466,1674200,200,Q,20,1",
]
BARS = ["14400000,6455700,6455700,922300,924200,600", "14460000,924600,924600,924600,924600,59"]


def write_zip(folder: Path, name: str, lines: list[str], ending: str = "") -> Path:
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name.replace(".zip", ".csv"), "\n".join(lines) + ending)
    return path


def test_minute_session_boundaries(tmp_path):
    starts = ["03:59", "04:00", "09:29", "09:30", "15:59", "16:00", "19:59", "20:00"]
    lines = []
    for start in starts:
        hours, minutes = map(int, start.split(":"))
        lines.append(f"{(hours * 60 + minutes) * 60_000},10000,10000,10000,10000,1")
    bars = read_minute_bars(write_zip(tmp_path, "20131007_trade.zip", lines))
    S = Session
    assert list(bars["session"]) == [
        S.OVERNIGHT, S.PREMARKET, S.PREMARKET, S.REGULAR, S.REGULAR, S.AFTER_HOURS,
        S.AFTER_HOURS, S.OVERNIGHT,
    ]  # fmt: skip


def test_daily_bar_before_the_dst_change_lasts_23_hours(tmp_path):
    # Not a trading day; the rule is that a daily bar ends at the next New York midnight.
    path = write_zip(tmp_path, "spy.zip", ["20080309 00:00,10000,10000,10000,10000,1"])
    bar = read_daily_bars(path)[0]
    assert bar["ts_event"] == utc_ns("2008-03-09", "00:00", EST)
    assert bar["ts_end"] - bar["ts_event"] == 23 * HOUR_NS


def test_file_with_a_final_newline_and_crlf_reads_the_same(tmp_path):
    plain = read_trade_ticks(write_zip(tmp_path, "20131007_trade.zip", TRADES))
    crlf = tmp_path / "crlf"
    crlf.mkdir()
    ended = read_trade_ticks(write_zip(crlf, "20131007_trade.zip", TRADES, "\n"))
    np.testing.assert_array_equal(plain, ended)
    with zipfile.ZipFile(crlf / "20131008_trade.zip", "w") as archive:
        archive.writestr("x.csv", "\r\n".join(TRADES) + "\r\n")
    windows = read_trade_ticks(crlf / "20131008_trade.zip", date="2013-10-07")
    np.testing.assert_array_equal(plain, windows)


def test_empty_file_gives_no_events(tmp_path):
    assert len(read_trade_ticks(write_zip(tmp_path, "20131007_trade.zip", []))) == 0


def test_backwards_tick_is_returned_and_logged_unless_strict(tmp_path, caplog):
    lines = [TRADES[0], "14400000,1674100,100,P,2000,0", TRADES[1]]
    path = write_zip(tmp_path, "20131007_trade.zip", lines)
    with caplog.at_level(logging.WARNING, logger="tradecore.data.lean"):
        trades = read_trade_ticks(path)
    assert len(trades) == 3 and trades["ts_event"][1] < trades["ts_event"][0]
    assert "first at line 2" in caplog.text
    with pytest.raises(DataError, match=r":2: timestamp earlier") as info:
        read_trade_ticks(path, strict=True)
    assert info.value.row == 1


def test_repeated_bar_start_is_an_error_when_strict(tmp_path):
    path = write_zip(tmp_path, "20131007_trade.zip", [BARS[0], BARS[0]])
    assert len(read_minute_bars(path)) == 2
    with pytest.raises(DataError, match=r":2: timestamp not later"):
        read_minute_bars(path, strict=True)


def test_file_name_without_a_date_needs_one(tmp_path):
    path = write_zip(tmp_path, "ticks.zip", TRADES)
    with pytest.raises(ConfigError, match="pass date="):
        read_trade_ticks(path)
    assert len(read_trade_ticks(path, date="2013-10-07")) == 3


def with_line(lines: list[str], number: int, text: str) -> list[str]:
    """Replace 1-based line ``number``."""
    return [text if i == number else line for i, line in enumerate(lines, start=1)]


QUOTES = ["42325939,0,0,137700,59900,N,1,0", "42326211,137600,40300,0,0,Q,1,0"]
BAD_LINES = [
    # reader, good lines, line number, bad text, message
    (read_trade_ticks, TRADES, 2, "14400465,1674100,1400,P,2000", "expected 6 fields, found 5"),
    (read_trade_ticks, TRADES, 2, "14400465,1674100,1400,P,2000,0,0", "expected 6 fields, found 7"),
    (read_trade_ticks, TRADES, 2, "", "a blank line"),
    (read_trade_ticks, TRADES, 1, "14400464,abc,100,P,2000,0", "bad price field 'abc'"),
    (read_trade_ticks, TRADES, 2, "14400465,nan,100,P,2000,0", "bad price field 'nan'"),
    (read_trade_ticks, TRADES, 2, "NaN,1674100,100,P,2000,0", "bad time_ms field 'NaN'"),
    (read_trade_ticks, TRADES, 2, "14400465,,100,P,2000,0", "bad price field ''"),
    (read_trade_ticks, TRADES, 2, "14400465,1674100.5,100,P,2000,0", "bad price field"),
    (read_trade_ticks, TRADES, 2, "14400465,-1674100,100,P,2000,0", "price must be > 0"),
    (read_trade_ticks, TRADES, 2, "14400465,0,100,P,2000,0", "price must be > 0"),
    (read_trade_ticks, TRADES, 2, "14400465,1674100,-100,P,2000,0", "size must be >= 0"),
    (read_trade_ticks, TRADES, 3, "14400466,99999999999999999999,1,P,2,0", "bad price field"),
    (read_trade_ticks, TRADES, 2, "14400465,1674100,100,PQ,2000,0", "bad exchange field 'PQ'"),
    (read_trade_ticks, TRADES, 2, "14400465,1674100,100,P,20g0,0", "bad condition field"),
    (read_trade_ticks, TRADES, 2, "14400465,1674100,100,P,2000,2", "suspicious must be 0 or 1"),
    (read_trade_ticks, TRADES, 2, "86400000,1674100,100,P,2000,0", "time of day must be in"),
    (read_trade_ticks, TRADES, 2, "-1,1674100,100,P,2000,0", "time of day must be in"),
    (read_quote_ticks, QUOTES, 2, "42326211,-137600,40300,0,0,Q,1,0", "bid_price must be >= 0"),
    (read_quote_ticks, QUOTES, 1, "42325939,0,0,137700,-1,N,1,0", "ask_size must be >= 0"),
    (read_minute_bars, BARS, 2, "14460000,924600,924600,nan,924600,59", "bad low field 'nan'"),
    (read_minute_bars, BARS, 2, "14460000,924600,924600,924600,924600,-59", "volume must be >= 0"),
    (read_second_bars, BARS, 1, "14400000,6455700,6455700,0,924200,600", "low must be > 0"),
    (read_quote_ticks, QUOTES, 2, "42326211,137600,100,137500,100,Q,1,0", "crossed quote: bid"),
    (read_minute_bars, BARS, 2, "14460000,924500,924500,924600,924500,59", "high 92.45, low 92.46"),
    (read_minute_bars, BARS, 2, "14460000,924700,924600,924600,924600,59", "bar: open 92.47,"),
    (read_second_bars, BARS, 2, "14460000,924600,924600,924600,924500,59", "close 92.45 ("),
]


def test_locked_and_one_sided_quotes_are_kept(tmp_path):
    # Only a crossed quote (both sides present, bid above ask) is bad: a locked quote is a real
    # market state and a 0,0 side is LEAN's "absent side".
    lines = [*QUOTES, "42326300,137600,100,137600,200,P,1,0", "42326400,137500,100,137600,0,P,1,0"]
    quotes = read_quote_ticks(write_zip(tmp_path, "20131007_quote.zip", lines))
    assert quotes[["bid_price", "ask_price"]].tolist() == [
        (0.0, 13.77), (13.76, 0.0), (13.76, 13.76), (13.75, 13.76),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("reader", "lines", "number", "text", "message"),
    BAD_LINES,
    ids=[f"{case[0].__name__}-{case[4]}" for case in BAD_LINES],
)
def test_bad_line_raises_data_error_naming_file_and_line(
    tmp_path, reader, lines, number, text, message
):
    name = "20131007_quote.zip" if reader is read_quote_ticks else "20131007_trade.zip"
    path = write_zip(tmp_path, name, with_line(lines, number, text))
    with pytest.raises(DataError) as info:
        reader(path)
    assert str(info.value).startswith(f"{path}:{number}: ")
    assert message in str(info.value)
    assert (info.value.line, info.value.row, info.value.path) == (number, number - 1, path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("2013100 00:00,10000,10000,10000,10000,1", "bad stamp field"),
        ("20131307 00:00,10000,10000,10000,10000,1", "bad stamp field"),
        ("20131008 00:00,10000,10000,10000,10000", "expected 6 fields"),
        ("20131008 00:00,10000,10000,10000,10001,1", "impossible bar"),
    ],
)
def test_bad_stamped_bar_line_raises_data_error(tmp_path, line, message):
    path = write_zip(tmp_path, "spy.zip", ["20131007 00:00,10000,10000,10000,10000,1", line])
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:2: {message}"):
        read_daily_bars(path)
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:2: {message}"):
        read_hour_bars(path)


def test_truncated_zip_raises_data_error(tmp_path):
    whole = write_zip(tmp_path, "20131007_trade.zip", TRADES * 100).read_bytes()
    path = tmp_path / "20131008_trade.zip"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="not a readable zip archive") as info:
        read_trade_ticks(path)
    assert str(info.value).startswith(f"{path}: ")
    assert info.value.row == -1 and info.value.line is None


def test_corrupt_zip_fails_its_crc_check(tmp_path, lean_root):
    data = bytearray(lean_path(lean_root, "trade", "spy", "2013-10-07").read_bytes())
    data[5000] ^= 0xFF
    path = tmp_path / "20131007_trade.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"not a readable zip archive .*(CRC|Error -3)"):
        read_trade_ticks(path)


def set_central_directory(path: Path, *, method: int | None = None, encrypted: bool = False) -> None:
    """Rewrite the one member's compression method or encryption flag in the central directory,
    which is what zipfile trusts when it reads the member."""
    data = bytearray(path.read_bytes())
    entry = data.rfind(b"PK\x01\x02")
    if method is not None:
        data[entry + 10] = method
    if encrypted:
        data[entry + 8] |= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [{"method": 9}, {"method": 99}, {"encrypted": True}],
    ids=["deflate64", "unknown-method", "encrypted"],
)
def test_zip_member_zipfile_cannot_extract_raises_data_error(tmp_path, damage):
    # zipfile raises NotImplementedError / RuntimeError here, which the skip policies of the
    # importer and the replay do not catch: the reader must turn them into a DataError.
    path = write_zip(tmp_path, "20131007_trade.zip", TRADES)
    set_central_directory(path, **damage)
    with pytest.raises(DataError, match="not a readable zip archive") as info:
        read_trade_ticks(path)
    assert str(info.value).startswith(f"{path}: ")
    assert info.value.row == -1 and info.value.line is None


def test_zip_with_two_files_raises_data_error(tmp_path):
    path = tmp_path / "20131007_trade.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", TRADES[0])
        archive.writestr("b.csv", TRADES[1])
    with pytest.raises(DataError, match="expected one CSV in the archive, found 2"):
        read_trade_ticks(path)


def test_missing_file_is_not_a_data_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_trade_ticks(tmp_path, "spy", "2013-10-07")


def test_instrument_id_must_fit_32_bits(tmp_path):
    path = write_zip(tmp_path, "20131007_trade.zip", TRADES)
    with pytest.raises(ConfigError):
        read_trade_ticks(path, instrument_id=2**32)


def test_dst_change_days_convert_each_row_with_its_own_offset(tmp_path):
    # No session touches these hours, but the conversion is per row: before and after the
    # change use different offsets, the repeated 01:xx takes its first (EDT) instant and the
    # skipped 02:xx moves forward by the one-hour gap, as LEAN's lenient conversion does.
    def at(clock: str) -> str:
        hours, minutes = map(int, clock.split(":"))
        return f"{(hours * 60 + minutes) * 60_000},10000,1,P,1,0"

    fall = read_trade_ticks(
        write_zip(tmp_path, "20081102_trade.zip", [at("00:30"), at("01:30"), at("03:00")])
    )
    assert list(fall["ts_event"]) == [
        utc_ns("2008-11-02", "00:30", EDT),
        utc_ns("2008-11-02", "01:30", EDT),
        utc_ns("2008-11-02", "03:00", EST),
    ]
    spring = read_trade_ticks(
        write_zip(tmp_path, "20080309_trade.zip", [at("01:30"), at("02:30"), at("03:30")])
    )
    assert list(spring["ts_event"]) == [
        utc_ns("2008-03-09", "01:30", EST),
        utc_ns("2008-03-09", "03:30", EDT),
        utc_ns("2008-03-09", "03:30", EDT),
    ]  # 02:30 lands on 03:30 EDT, the same instant as the real 03:30
