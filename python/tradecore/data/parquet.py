"""Event arrays to and from Parquet, and tradecore's Parquet dataset layout.

Layout of a dataset root (what ``tradecore data import`` writes and
:class:`tradecore.streams.replay.ParquetSource` reads)::

    <root>/<dataset>/<SYMBOL>/<YYYY-MM-DD>.parquet

``dataset`` names what the files hold: ``trade``, ``quote``, ``minute`` and ``second`` (bars of
that period, kind ``bar``), ``daily`` (kind ``daily_bar``) or any other
:class:`~tradecore.streams.base.EventKind` value. ``SYMBOL`` is upper case. The date is the
partition's trading date in the data's own time zone (New York for US equities); a file holds
that day's events in timestamp order, and the files of a symbol do not overlap.

Each file has one column per field of the kind's dtype (:data:`EVENT_DTYPES`), with the same
name and a matching Arrow type (``S4`` fields as ``fixed_size_binary(4)``), and optionally extra
columns (a recording adds ``ts_received`` and ``sequence``). The schema metadata holds
``tradecore.schema_version`` (:data:`SCHEMA_VERSION`), ``tradecore.kind`` and
``tradecore.symbol``, plus free-form ``tradecore.source`` provenance written by the importer.

Conversion is column by column, never row by row: fixed-width columns go through
``pa.array(column)`` one way and ``Array.to_numpy(zero_copy_only=...)`` the other. Files are
written through a temporary file and an atomic rename, so a reader never sees half a file.

Every page is written with a CRC32 checksum, verified when it is read: a damaged page (a
flipped bit changes a price or a timestamp, not the file's structure) is an error, not silently
different data. Pages without a checksum, in files written before tradecore wrote them, are
read unchecked.

Unreadable files (truncated, corrupt, a failed page checksum, a foreign schema) raise
:class:`DataError` naming the file and, when one is at fault, the row group.
:func:`read_events` can skip bad row groups instead, keeping every readable one.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tradecore.errors import ConfigError, DataError
from tradecore.streams.base import EVENT_DTYPES, EventKind

__all__ = [
    "DATASET_KINDS",
    "SCHEMA_VERSION",
    "column_minimum",
    "dataset_files",
    "dataset_kind",
    "dataset_path",
    "file_metadata",
    "from_table",
    "open_file",
    "read_events",
    "to_table",
    "write_table",
]

_log = logging.getLogger("tradecore.data.parquet")

SCHEMA_VERSION = 1
"""Version of the file layout above; readers reject files with another version."""

DATASET_KINDS: dict[str, EventKind] = {
    "minute": EventKind.BAR,
    "second": EventKind.BAR,
    "daily": EventKind.DAILY_BAR,
    **{kind.value: kind for kind in EventKind},
}
"""Event kind of each dataset folder name."""

OnError = Literal["raise", "skip"]
PathLike = str | os.PathLike[str]
_DATE_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")
_KEY_VERSION = b"tradecore.schema_version"
_KEY_KIND = b"tradecore.kind"
_KEY_SYMBOL = b"tradecore.symbol"


def dataset_kind(dataset: str) -> EventKind:
    """Return the event kind stored in a dataset folder (``"minute"`` -> ``EventKind.BAR``)."""
    try:
        return DATASET_KINDS[dataset]
    except KeyError:
        raise ConfigError(
            f"unknown dataset {dataset!r}; use one of {sorted(DATASET_KINDS)}"
        ) from None


def dataset_path(root: PathLike, dataset: str, symbol: str, date: dt.date) -> Path:
    """Return ``<root>/<dataset>/<SYMBOL>/<YYYY-MM-DD>.parquet`` (it need not exist)."""
    dataset_kind(dataset)
    if not symbol or any(c in symbol for c in "/\\.") or symbol.strip() != symbol:
        raise ConfigError(f"not a ticker symbol: {symbol!r}")
    return Path(root) / dataset / symbol.upper() / f"{date:%Y-%m-%d}.parquet"


def dataset_files(root: PathLike, dataset: str, symbol: str) -> list[tuple[dt.date, Path]]:
    """Return the ``(date, path)`` files of one dataset and symbol, oldest first."""
    folder = dataset_path(root, dataset, symbol, dt.date(2000, 1, 1)).parent
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = _DATE_FILE.match(entry.name)
        if match:
            found.append((dt.date.fromisoformat(match.group(1)), entry))
    return sorted(found)


# --------------------------------------------------------------------------------------------
# Arrays <-> tables


def _arrow_column(column: np.ndarray) -> pa.Array:
    if column.dtype.kind == "S":
        width = column.dtype.itemsize
        data = np.ascontiguousarray(column).view(np.uint8)
        return pa.Array.from_buffers(pa.binary(width), len(column), [None, pa.py_buffer(data)])
    return pa.array(np.ascontiguousarray(column))


def to_table(
    events: np.ndarray,
    *,
    kind: EventKind,
    symbol: str | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> pa.Table:
    """Return an Arrow table with one column per field of ``events``.

    Parameters
    ----------
    events
        Structured array of ``EVENT_DTYPES[kind]``.
    kind
        What the events are; stored in the schema metadata.
    symbol
        Stored in the schema metadata when given.
    extra
        More columns of the same length, e.g. ``ts_received`` (int64 ns UTC).
    metadata
        More ``tradecore.*`` schema metadata (e.g. ``{"source": ...}``).
    """
    if events.dtype != EVENT_DTYPES[kind]:
        raise TypeError(f"expected {kind.value} events ({EVENT_DTYPES[kind]}), got {events.dtype}")
    names = list(events.dtype.names or ())
    columns = [_arrow_column(events[name]) for name in names]
    for name, values in (extra or {}).items():
        if len(values) != len(events):
            raise ValueError(f"extra column {name!r} has {len(values)} rows, events {len(events)}")
        names.append(name)
        columns.append(_arrow_column(np.asarray(values)))
    meta = {_KEY_VERSION: str(SCHEMA_VERSION).encode(), _KEY_KIND: kind.value.encode()}
    if symbol is not None:
        meta[_KEY_SYMBOL] = symbol.upper().encode()
    for key, value in (metadata or {}).items():
        meta[f"tradecore.{key}".encode()] = str(value).encode()
    return pa.Table.from_arrays(columns, names=names).replace_schema_metadata(meta)


def _bytes_column(name: str, column: pa.Array, dtype: np.dtype) -> np.ndarray:
    """Return a binary or string column as ``S<n>`` (zero-copy when it is what we write)."""
    kind = column.type
    if pa.types.is_fixed_size_binary(kind) and kind.byte_width == dtype.itemsize:
        buffer = column.buffers()[1]
        return np.frombuffer(
            buffer, dtype=dtype, count=len(column), offset=column.offset * dtype.itemsize
        )
    # Other layouts (a file tradecore did not write) have offsets, not values, in buffer 1:
    # convert value by value (text as its UTF-8 bytes), refusing what would be cut short.
    try:
        column = column.cast(pa.binary())
    except pa.ArrowException:
        raise DataError(f"column {name!r} is {kind}, expected {dtype} bytes") from None
    longest = pc.max(pc.binary_length(column)).as_py() or 0
    if longest > dtype.itemsize:
        raise DataError(f"column {name!r} has a value of {longest} bytes, more than {dtype}")
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=dtype)


def _numpy_column(name: str, column: pa.ChunkedArray | pa.Array, dtype: np.dtype) -> np.ndarray:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if column.null_count:
        raise DataError(f"column {name!r} has {column.null_count} nulls")
    if dtype.kind == "S":
        return _bytes_column(name, column, dtype)
    values: np.ndarray = column.to_numpy(zero_copy_only=False)
    return values


def from_table(table: pa.Table, dtype: np.dtype) -> np.ndarray:
    """Return the events of ``table`` as a structured array of ``dtype``.

    Every field of ``dtype`` must be a column; other columns are ignored. A column of another
    integer type is taken when every value fits the field, a binary or text column (as UTF-8)
    for an ``S<n>`` field when no value is longer than ``n`` bytes.

    Raises
    ------
    DataError
        When a field is missing, has nulls, has a type that does not convert exactly, or holds
        a value that does not fit.
    """
    out = np.zeros(table.num_rows, dtype=dtype)
    for name in dtype.names or ():
        field_type = dtype.fields[name][0]  # type: ignore[index]
        if name not in table.column_names:
            raise DataError(f"column {name!r} is missing (have {table.column_names})")
        values = _numpy_column(name, table.column(name), field_type)
        if values.dtype != field_type and not np.can_cast(values.dtype, field_type, "same_kind"):
            raise DataError(f"column {name!r} is {values.dtype}, expected {field_type}")
        # Assignment wraps integers around (uint64 above 2**63 - 1 turns negative): check the
        # values when the types alone do not guarantee they fit.
        if field_type.kind in "iu" and len(values) and not np.can_cast(values.dtype, field_type):
            low, high = int(values.min()), int(values.max())
            limits = np.iinfo(field_type)
            if low < limits.min or high > limits.max:
                raise DataError(
                    f"column {name!r} ({values.dtype}) holds {low if low < limits.min else high}, "
                    f"outside {field_type}"
                )
        out[name] = values
    return out


# --------------------------------------------------------------------------------------------
# Files


def write_table(table: pa.Table, path: PathLike, *, row_group_size: int = 1 << 20) -> None:
    """Write ``table`` to ``path`` atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    row_group_size
        Rows per Parquet row group.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        # lz4 read back fastest of the codecs we measured (snappy, zstd, none) on a week of SPY
        # trades, at snappy's size.
        pq.write_table(
            table,
            temporary,
            row_group_size=row_group_size,
            compression="lz4",
            write_page_checksum=True,
        )
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _data_error(path: Path, message: str, row_group: int | None = None) -> DataError:
    where = f"{path} (row group {row_group})" if row_group is not None else str(path)
    error = DataError(f"{where}: {message}")
    error.path = path
    error.row_group = row_group
    return error


def file_metadata(path: PathLike) -> pq.FileMetaData:
    """Return a Parquet file's footer metadata.

    Raises
    ------
    DataError
        When the file is not a readable Parquet file (e.g. truncated: no footer).
    FileNotFoundError
        When it does not exist.
    """
    path = Path(path)
    try:
        return pq.read_metadata(path)
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError) as exc:
        raise _data_error(path, f"not a readable Parquet file ({exc})") from exc


def open_file(path: PathLike) -> pq.ParquetFile:
    """Open a Parquet file for reading its data, with page checksums verified.

    Every read of event data goes through here, so a damaged page fails its read with an
    ``OSError`` (``read_events`` reports it as DataError) instead of returning changed values.

    Raises
    ------
    DataError
        When the file is not a readable Parquet file.
    FileNotFoundError
        When it does not exist.
    """
    path = Path(path)
    try:
        return pq.ParquetFile(path, page_checksum_verification=True)
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError) as exc:
        raise _data_error(path, f"not a readable Parquet file ({exc})") from exc


def column_minimum(path: PathLike, column: str) -> int | None:
    """Return the minimum of an integer column from the footer statistics, or None if unknown.

    Reads only the footer; an unreadable file gives None (loading it reports the error).
    """
    try:
        meta = pq.read_metadata(path)
        index = meta.schema.names.index(column)
        minimums = []
        for group in range(meta.num_row_groups):
            stats = meta.row_group(group).column(index).statistics
            if stats is None or not stats.has_min_max:
                return None
            minimums.append(int(stats.min))
        return min(minimums, default=None)
    except (pa.ArrowException, OSError, ValueError):
        return None


def _check_schema(path: Path, schema: pa.Schema, kind: EventKind | None) -> EventKind:
    meta = schema.metadata or {}
    version = meta.get(_KEY_VERSION)
    if version != str(SCHEMA_VERSION).encode():
        raise _data_error(
            path,
            f"not a tradecore event file of schema version {SCHEMA_VERSION} "
            f"(tradecore.schema_version is {version!r})",
        )
    try:
        stored = EventKind(meta.get(_KEY_KIND, b"").decode())
    except ValueError:
        raise _data_error(path, f"unknown tradecore.kind {meta.get(_KEY_KIND)!r}") from None
    if kind is not None and stored != kind:
        raise _data_error(path, f"holds {stored.value} events, expected {kind.value}")
    return stored


def read_events(
    path: PathLike,
    kind: EventKind | None = None,
    *,
    extra: tuple[str, ...] = (),
    on_error: OnError = "raise",
) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Read a tradecore Parquet event file.

    Parameters
    ----------
    path
        The file.
    kind
        Expected event kind; ``None`` takes the kind from the file's metadata.
    extra
        Names of extra columns to return as plain arrays (e.g. ``("ts_received",)``).
    on_error
        ``"raise"``: a bad row group raises DataError. ``"skip"``: it is logged and left out,
        and every readable row group is returned. An unreadable footer or a foreign schema
        always raises, since then nothing in the file can be trusted.

    Returns
    -------
    events, extras, bad_row_groups
        The events (dtype of the kind), the extra columns, and how many row groups were skipped.

    Raises
    ------
    DataError
        Naming the file and row group (see above).
    """
    path = Path(path)
    with open_file(path) as reader:
        stored = _check_schema(path, reader.schema_arrow, kind)
        dtype = EVENT_DTYPES[stored]
        columns = [*(dtype.names or ()), *extra]
        missing = [name for name in columns if name not in reader.schema_arrow.names]
        if missing:
            raise _data_error(path, f"columns {missing} are missing")
        if reader.num_row_groups <= 1 or on_error == "raise":
            try:
                table = reader.read(columns=columns, use_threads=True)
            except (pa.ArrowException, OSError) as exc:
                raise _data_error(path, f"cannot read the data ({exc})") from exc
            bad = 0
        else:
            tables, bad = [], 0
            for group in range(reader.num_row_groups):
                try:
                    tables.append(reader.read_row_group(group, columns=columns, use_threads=True))
                except (pa.ArrowException, OSError) as exc:
                    bad += 1
                    _log.warning(
                        "%s (row group %d): skipped, cannot read it (%s)", path, group, exc
                    )
            table = pa.concat_tables(tables) if tables else reader.schema_arrow.empty_table()
    try:
        events = from_table(table, dtype)
        extras = {name: table.column(name).to_numpy() for name in extra}
    except DataError as exc:
        raise _data_error(path, str(exc)) from exc
    return events, extras, bad
