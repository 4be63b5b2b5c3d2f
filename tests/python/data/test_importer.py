"""Tests of tradecore.data.importer and ``tradecore data import`` on the real LEAN files."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from tradecore.data import parquet
from tradecore.data.importer import import_csv, import_lean, parse_dates
from tradecore.data.mapped_csv import CsvMapping
from tradecore.errors import ConfigError, DataError
from tradecore.streams.base import EventKind

OCT7, OCT8 = dt.date(2013, 10, 7), dt.date(2013, 10, 8)
TARDIS = "nautilus_trader/tests/test_data/tardis_trades.csv"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from tradecore.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
        timeout=300,
    )


def rows(path: Path) -> int:
    return parquet.file_metadata(path).num_rows


def test_lean_import_writes_every_row_and_is_idempotent(
    lean_root: Path, tmp_path: Path, lean
) -> None:
    report = import_lean(
        lean_root, tmp_path, ["spy", "bac"], ["trade", "quote", "minute"], (OCT7, OCT8)
    )
    # SPY has no tick quotes: 2 SPY trade + 2 SPY minute + 2 BAC trade + 2 BAC quote + 2 BAC minute.
    assert report.count("written") == 10 and report.count("bad") == 0
    assert rows(parquet.dataset_path(tmp_path, "trade", "SPY", OCT7)) == 250_601
    assert rows(parquet.dataset_path(tmp_path, "trade", "SPY", OCT8)) == 451_545
    assert rows(parquet.dataset_path(tmp_path, "quote", "BAC", OCT8)) == 576_096
    assert rows(parquet.dataset_path(tmp_path, "minute", "SPY", OCT7)) == 828
    events, _, _ = parquet.read_events(parquet.dataset_path(tmp_path, "quote", "BAC", OCT7))
    expected = lean("tick", "bac", "2013-10-07", "quote")
    assert all(np.array_equal(events[n], expected[n]) for n in expected.dtype.names)
    bars, _, _ = parquet.read_events(
        parquet.dataset_path(tmp_path, "minute", "SPY", OCT7), EventKind.BAR
    )
    assert np.isnan(bars["vwap"]).all() and bars["ts_end"][0] - bars["ts_event"][0] == 60 * 10**9

    again = import_lean(
        lean_root, tmp_path, ["spy", "bac"], ["trade", "quote", "minute"], (OCT7, OCT8)
    )
    assert again.count("up to date") == 10 and again.rows == report.rows
    damaged = parquet.dataset_path(tmp_path, "trade", "BAC", OCT7)
    damaged.write_bytes(damaged.read_bytes()[:1000])
    repaired = import_lean(lean_root, tmp_path, ["bac"], ["trade"], (OCT7, OCT7))
    assert repaired.count("written") == 1 and rows(damaged) == 88_172
    forced = import_lean(lean_root, tmp_path, ["bac"], ["trade"], (OCT7, OCT7), force=True)
    assert forced.count("written") == 1


def truncated(data: bytes) -> bytes:
    return data[:5000]


def in_central_directory(change: Callable[[bytearray, int], None]) -> Callable[[bytes], bytes]:
    """Damage the member's central-directory entry, which zipfile trusts when extracting."""

    def damage(data: bytes) -> bytes:
        changed = bytearray(data)
        change(changed, changed.rfind(b"PK\x01\x02"))
        return bytes(changed)

    return damage


def deflate64(data: bytearray, entry: int) -> None:
    data[entry + 10] = 9  # a method zipfile cannot decompress: NotImplementedError


def encryption_flag(data: bytearray, entry: int) -> None:
    data[entry + 8] |= 0x01  # zipfile wants a password: RuntimeError


@pytest.mark.parametrize(
    "damage",
    [truncated, in_central_directory(deflate64), in_central_directory(encryption_flag)],
    ids=["truncated", "unsupported-compression-method", "encrypted"],
)
def test_a_bad_lean_file_is_skipped_or_raised(
    lean_root: Path, tmp_path: Path, caplog, damage: Callable[[bytes], bytes]
) -> None:
    root = tmp_path / "Data"
    for day in ("20131007", "20131008"):
        source = lean_root / "equity/usa/tick/ibm" / f"{day}_trade.zip"
        target = root / "equity/usa/tick/ibm" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    broken = root / "equity/usa/tick/ibm/20131007_trade.zip"
    broken.write_bytes(damage(broken.read_bytes()))
    with pytest.raises(DataError, match="20131007_trade.zip"):
        import_lean(root, tmp_path / "out", ["ibm"], ["trade"])
    with caplog.at_level("WARNING", logger="tradecore"):
        report = import_lean(root, tmp_path / "out", ["ibm"], ["trade"], on_error="skip")
    assert report.count("bad") == 1 and report.count("written") == 1
    assert sum("20131007_trade.zip" in r.getMessage() for r in caplog.records) == 1
    assert rows(parquet.dataset_path(tmp_path / "out", "trade", "IBM", OCT8)) == 33_381


def test_csv_import_partitions_by_date_in_the_mapping_zone(data_root: Path, tmp_path: Path) -> None:
    mapping = CsvMapping(
        kind="trade",
        time="timestamp",
        time_unit="us",
        symbol_column="symbol",
        columns={"price": "price", "size": "amount", "trade_id": "id"},
    )
    report = import_csv([data_root / TARDIS], mapping, tmp_path)
    assert report.rows == 9_999 and report.count("written") == 1
    assert rows(parquet.dataset_path(tmp_path, "trade", "BTCUSDT", dt.date(2020, 2, 22))) == 9_999
    shifted = CsvMapping(**{**mapping.__dict__, "timezone": "America/New_York"})
    report = import_csv([data_root / TARDIS], shifted, tmp_path / "ny")
    assert {f.date for f in report.files} == {dt.date(2020, 2, 21)}  # 00:00-02:05 UTC
    assert import_csv([data_root / TARDIS], mapping, tmp_path).count("up to date") == 1


def test_csv_import_merges_a_day_already_imported_from_another_file(tmp_path: Path) -> None:
    mapping = CsvMapping(
        kind="trade", time="t", time_unit="ms", symbol="XYZ", columns={"price": "px", "size": "q"}
    )
    # 2024-01-02 14:00 and 18:00 UTC; the morning file holds two identical trades.
    morning, afternoon = tmp_path / "morning.csv", tmp_path / "afternoon.csv"
    morning.write_text("t,px,q\n1704204000000,100,1\n1704204000000,100,1\n1704204001000,101,1\n")
    afternoon.write_text("t,px,q\n1704218400000,102,1\n1704204001000,101,1\n")
    day = parquet.dataset_path(tmp_path / "out", "trade", "XYZ", dt.date(2024, 1, 2))
    assert import_csv([afternoon], mapping, tmp_path / "out").count("written") == 1
    report = import_csv([morning], mapping, tmp_path / "out")
    assert [(f.status, f.rows) for f in report.files] == [("merged", 4)]
    events, _, _ = parquet.read_events(day)
    assert events["price"].tolist() == [100.0, 100.0, 101.0, 102.0]  # in time order
    assert b"morning.csv" in parquet.file_metadata(day).metadata[b"tradecore.source"]
    # Importing either file again adds nothing: its rows are already there.
    for source in (morning, afternoon):
        again = import_csv([source], mapping, tmp_path / "out")
        assert [(f.status, f.rows) for f in again.files] == [("up to date", 4)]
    assert rows(day) == 4

    import_csv([afternoon], mapping, tmp_path / "cli")
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps({**mapping.__dict__, "kind": "trade"}))
    result = run_cli(
        "data", "import", "--csv", str(morning), "--mapping", str(mapping_file),
        "--out", str(tmp_path / "cli"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "1 files: 0 written, 1 merged, 0 up to date, 0 bad; 4 rows" in result.stdout


def test_csv_import_skips_files_pandas_cannot_read(tmp_path: Path) -> None:
    files = {
        "empty.csv": "",
        "zones.csv": "t,sym,px\n2024-01-02T10:00:00Z,X,1\n2024-01-02T10:00:00,X,2\n",
        "year3000.csv": "t,sym,px\n3000-01-01T00:00:00Z,X,1\n",
        "no_symbol.csv": "t,sym,px\n2024-01-02T10:00:00Z,,1\n",
        "good.csv": "t,sym,px\n2024-01-02T10:00:00Z,xyz,5\n",
    }
    paths = [tmp_path / name for name in files]
    for path, text in zip(paths, files.values(), strict=True):
        path.write_text(text)
    described = {"kind": "trade", "time": "t", "symbol_column": "sym", "columns": {"price": "px"}}
    mapping = CsvMapping.from_dict(described)
    for path in paths[:-1]:
        with pytest.raises(DataError, match=path.name):
            import_csv([path, paths[-1]], mapping, tmp_path / "out")
    report = import_csv(paths, mapping, tmp_path / "out", on_error="skip")
    assert report.count("bad") == 4 and report.count("written") == 1
    assert "no_symbol.csv:2: " in str(report.files[3].error)

    # 9999999999999999 ms fits int64, but not as nanoseconds.
    huge = tmp_path / "huge.csv"
    huge.write_text("t,sym,px\n9999999999999999,X,1\n")
    in_ms = CsvMapping.from_dict({**described, "time_unit": "ms"})
    report = import_csv([huge], in_ms, tmp_path / "out", on_error="skip")
    assert report.count("bad") == 1 and "huge.csv:2: " in str(report.files[0].error)

    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps(described))
    inputs = [argument for path in paths for argument in ("--csv", str(path))]
    result = run_cli(
        "data", "import", *inputs, "--mapping", str(mapping_file), "--out", str(tmp_path / "cli"),
        "--on-error", "skip",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "1 written, 0 up to date, 4 bad" in result.stdout


def test_parse_dates() -> None:
    assert parse_dates("20131007..20131011") == (OCT7, dt.date(2013, 10, 11))
    assert parse_dates("2013-10-07") == (OCT7, OCT7)
    for bad in ("20131011..20131007", "yesterday"):
        with pytest.raises(ConfigError):
            parse_dates(bad)
    with pytest.raises(ConfigError):
        import_lean(".", ".", ["spy"], ["ticks"])


def test_cli_imports_lean_and_csv(data_root: Path, lean_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "data",
        "import",
        "--lean",
        str(lean_root),
        "--symbols",
        "ibm",
        "--kinds",
        "trade,minute",
        "--dates",
        "20131007..20131008",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert (
        "4 files: 4 written, 0 up to date, 0 bad; 58,551 rows" in result.stdout
    )  # 24,293 + 33,381 + 453 + 424
    assert "[1/4] trade IBM 2013-10-07: 24,293 rows, written" in result.stderr
    again = run_cli(
        "data",
        "import",
        "--lean",
        str(lean_root),
        "--symbols",
        "ibm",
        "--kinds",
        "trade,minute",
        "--dates",
        "20131007..20131008",
        "--out",
        str(out),
        "--quiet",
    )
    assert "0 written, 4 up to date" in again.stdout and again.stderr == ""

    mapping = tmp_path / "tardis.json"
    mapping.write_text(
        json.dumps(
            {
                "kind": "trade",
                "time": "timestamp",
                "time_unit": "us",
                "symbol_column": "symbol",
                "columns": {"price": "price", "size": "amount"},
            }
        )
    )
    result = run_cli(
        "data",
        "import",
        "--csv",
        str(data_root / TARDIS),
        "--mapping",
        str(mapping),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert rows(parquet.dataset_path(out, "trade", "BTCUSDT", dt.date(2020, 2, 22))) == 9_999

    mapping.write_text(
        json.dumps(
            {
                "kind": "trade",
                "time": "timestamp",
                "symbol": "X",
                "columns": {"price": "no_such_column"},
            }
        )
    )
    result = run_cli(
        "data",
        "import",
        "--csv",
        str(data_root / TARDIS),
        "--mapping",
        str(mapping),
        "--out",
        str(out),
    )
    assert result.returncode != 0 and "no_such_column" in result.stderr
    result = run_cli("data", "import", "--out", str(out))
    assert result.returncode != 0 and "either --lean or --csv" in result.stderr
