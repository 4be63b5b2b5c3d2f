"""Import LEAN and CSV market data into tradecore's Parquet dataset layout.

The output is ``<out>/<dataset>/<SYMBOL>/<YYYY-MM-DD>.parquet`` (see :mod:`tradecore.data.parquet`).

Importing is idempotent: each output file records the SHA-256 of its input (and, for CSV, of
the mapping) in its metadata, and an output whose record matches is left alone ("up to date")
unless ``force``. A CSV import into a day that already has a file merges with it ("merged"):
CSV files need not split at days, so two of them can fill the same day. Files are written
atomically, so an interrupted import leaves whole files only and a rerun finishes the job.

Importing validates: every input line is checked by the reader (:mod:`tradecore.data.lean`,
:mod:`tradecore.data.mapped_csv`), out-of-order timestamps are logged, and each written file is
read back to check its row count. A bad input file is counted and logged once with its path;
``on_error="raise"`` stops with its :class:`DataError`, ``"skip"`` goes on with the next file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.lib import recfunctions

from tradecore import schema
from tradecore.data import lean, parquet
from tradecore.data.mapped_csv import CsvMapping, read_csv_events
from tradecore.errors import ConfigError, DataError

__all__ = [
    "LEAN_DATASETS",
    "FileResult",
    "ImportReport",
    "import_csv",
    "import_lean",
    "parse_dates",
]

_log = logging.getLogger("tradecore.data.importer")

OnError = Literal["raise", "skip"]
PathLike = str | os.PathLike[str]

LEAN_DATASETS = lean.DATASETS
"""Dataset name -> (LEAN resolution, LEAN file kind, reader) of what :func:`import_lean` reads."""


@dataclasses.dataclass(frozen=True)
class FileResult:
    """What happened to one output file: ``status`` is ``written``, ``merged`` (with the events
    the file already had; ``rows`` is then the file's total), ``up to date`` or ``bad``."""

    dataset: str
    symbol: str
    date: dt.date | None
    source: Path
    output: Path | None
    rows: int
    status: str
    error: str | None = None


@dataclasses.dataclass
class ImportReport:
    """Every file result of one import, with totals."""

    files: list[FileResult] = dataclasses.field(default_factory=list)

    def count(self, status: str) -> int:
        """Return how many files ended with ``status``."""
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows(self) -> int:
        """Rows in files written, merged or already up to date."""
        return sum(f.rows for f in self.files if f.status != "bad")


Progress = Callable[[int, int, FileResult], None]
"""Called after each file as ``progress(done, total, result)``."""


def parse_dates(text: str) -> tuple[dt.date, dt.date]:
    """Parse ``YYYYMMDD..YYYYMMDD`` (inclusive) or a single ``YYYYMMDD`` into (first, last)."""
    low, sep, high = text.partition("..")
    try:
        first = dt.datetime.strptime(low.strip().replace("-", ""), "%Y%m%d").date()
        last = (
            dt.datetime.strptime(high.strip().replace("-", ""), "%Y%m%d").date() if sep else first
        )
    except ValueError:
        raise ConfigError(f"dates {text!r}: use YYYYMMDD or YYYYMMDD..YYYYMMDD") from None
    if last < first:
        raise ConfigError(f"dates {text!r}: the range ends before it starts")
    return first, last


def _sha256(*paths: Path, extra: bytes = b"") -> str:
    digest = hashlib.sha256(extra)
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _up_to_date(output: Path, fingerprint: str) -> int | None:
    """Return the row count of ``output`` if it holds the import of ``fingerprint``, else None."""
    if not output.is_file():
        return None
    try:
        meta = parquet.file_metadata(output)
    except DataError:
        return None  # unreadable: rewrite it
    stored = (meta.metadata or {}).get(b"tradecore.source_sha256", b"").decode()
    return meta.num_rows if stored == fingerprint else None


def _write(
    events: np.ndarray, dataset: str, symbol: str, output: Path, source: str, fingerprint: str
) -> None:
    kind = parquet.dataset_kind(dataset)
    table = parquet.to_table(
        events, kind=kind, symbol=symbol, metadata={"source": source, "source_sha256": fingerprint}
    )
    parquet.write_table(table, output)
    written = parquet.file_metadata(output).num_rows
    if written != len(events):
        raise DataError(f"{output}: wrote {len(events)} rows but reading back found {written}")


def _merged(existing: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Return ``existing`` plus the rows of ``events`` it does not hold yet, sorted by time (stable).

    Rows are compared whole, as multisets: a row ``events`` holds n times is added as often as
    ``existing`` holds it fewer than n times. Re-importing a file so adds nothing, while identical
    trades within one file (same time, price and size) are all kept.
    """
    both = schema.concatenate([existing, events], events.dtype)
    packed = recfunctions.repack_fields(both)  # compare fields, not the padding between them
    keys = packed.view(np.dtype((np.void, packed.dtype.itemsize)))
    _, ids = np.unique(keys, return_inverse=True)
    old, new = ids[: len(existing)], ids[len(existing) :]
    held = np.bincount(old, minlength=len(keys))
    # Each new row's rank among the equal rows before it in ``events``.
    order = np.argsort(new, kind="stable")
    rank = np.empty(len(new), np.int64)
    rank[order] = np.arange(len(new)) - np.searchsorted(new[order], new[order])
    merged = schema.concatenate([existing, events[rank >= held[new]]], events.dtype)
    return merged[np.argsort(merged["ts_event"], kind="stable")]


def _ordered(events: np.ndarray, where: str) -> None:
    ts = events["ts_event"]
    back = np.flatnonzero(ts[1:] < ts[:-1])
    if back.size:
        _log.warning(
            "%s: %d rows earlier than the previous row, first at row %d",
            where,
            back.size,
            back[0] + 1,
        )


def import_lean(
    root: PathLike,
    out: PathLike,
    symbols: Iterable[str],
    datasets: Sequence[str] = ("trade", "quote", "minute"),
    dates: tuple[dt.date, dt.date] | None = None,
    *,
    on_error: OnError = "raise",
    force: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import LEAN US-equity files into Parquet, one output file per input file.

    Parameters
    ----------
    root
        The LEAN ``Data`` folder.
    out
        The Parquet dataset root.
    symbols
        Tickers, any case.
    datasets
        Names from :data:`LEAN_DATASETS`.
    dates
        Inclusive (first, last) New York trading dates; default every date found.
    on_error
        ``"raise"`` at the first bad input file, or ``"skip"`` it (counted, logged once).
    force
        Rewrite outputs that are already up to date.
    progress
        Called after every file.

    Returns
    -------
    ImportReport
    """
    unknown = [d for d in datasets if d not in LEAN_DATASETS]
    if unknown:
        raise ConfigError(f"unknown LEAN dataset(s) {unknown}; use {sorted(LEAN_DATASETS)}")
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    root, out = Path(root), Path(out)
    jobs = []
    for symbol in (s.upper() for s in symbols):
        for dataset in datasets:
            resolution, kind, reader = LEAN_DATASETS[dataset]
            for day in lean.available_dates(root, symbol, resolution, kind):  # type: ignore[arg-type]
                if dates is None or dates[0] <= day <= dates[1]:
                    source = lean.lean_path(root, kind, symbol, day, resolution)  # type: ignore[arg-type]
                    jobs.append((dataset, symbol, day, source, reader))
    report = ImportReport()
    for done, (dataset, symbol, day, source, reader) in enumerate(jobs, start=1):
        output = parquet.dataset_path(out, dataset, symbol, day)
        fingerprint = _sha256(source, extra=f"lean/{parquet.SCHEMA_VERSION}".encode())
        rows = None if force else _up_to_date(output, fingerprint)
        if rows is not None:
            result = FileResult(dataset, symbol, day, source, output, rows, "up to date")
        else:
            try:
                events = reader(root, symbol, day)
                _write(events, dataset, symbol, output, str(source.relative_to(root)), fingerprint)
                result = FileResult(dataset, symbol, day, source, output, len(events), "written")
            except DataError as exc:
                if on_error == "raise":
                    raise
                _log.warning("skipped %s: %s", source, exc)
                result = FileResult(dataset, symbol, day, source, None, 0, "bad", str(exc))
        report.files.append(result)
        if progress is not None:
            progress(done, len(jobs), result)
    return report


def import_csv(
    paths: Iterable[PathLike],
    mapping: CsvMapping,
    out: PathLike,
    *,
    on_error: OnError = "raise",
    force: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import CSV files into Parquet through ``mapping``.

    All files are read first, then each symbol's events are sorted by time (stable) and split
    into one output file per calendar date in ``mapping.timezone``. The dataset is the mapping's
    kind (``trade``, ``quote``, ``bar``, ...).

    Parameters
    ----------
    paths
        CSV files.
    mapping
        How their columns become events.
    out, on_error, force, progress
        As in :func:`import_lean`; a bad CSV file is one bad result.

    Returns
    -------
    ImportReport
    """
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    sources = [Path(p) for p in paths]
    assert not isinstance(mapping.kind, str)
    dataset = mapping.kind.value
    report = ImportReport()
    per_symbol: dict[str, list[np.ndarray]] = {}
    good = []
    for path in sources:
        try:
            for symbol, events in read_csv_events(path, mapping).items():
                per_symbol.setdefault(symbol, []).append(events)
            good.append(path)
        except DataError as exc:
            if on_error == "raise":
                raise
            _log.warning("skipped %s: %s", path, exc)
            report.files.append(FileResult(dataset, "", None, path, None, 0, "bad", str(exc)))
    if not good:
        return report
    described = json.dumps(dataclasses.asdict(mapping), default=str, sort_keys=True)
    fingerprint = _sha256(*good, extra=f"csv/{parquet.SCHEMA_VERSION}/{described}".encode())
    source_name = ",".join(p.name for p in good)
    jobs = []
    for symbol, arrays in sorted(per_symbol.items()):
        events = schema.concatenate(arrays, arrays[0].dtype)
        _ordered(events, f"{source_name} {symbol}")
        events = events[np.argsort(events["ts_event"], kind="stable")]
        days = mapping.partition_date(events["ts_event"])
        for day in np.unique(days):
            jobs.append((symbol, day.astype(dt.date), events[days == day]))
    for done, (symbol, day, events) in enumerate(jobs, start=1):
        output = parquet.dataset_path(out, dataset, symbol, day)
        rows = None if force else _up_to_date(output, fingerprint)
        status, source = "written", source_name
        if rows is None and output.is_file():
            try:
                # Readable row groups are kept; an unreadable footer or schema is replaced.
                existing, _, _ = parquet.read_events(output, mapping.kind, on_error="skip")
                before = parquet.file_metadata(output).metadata or {}
            except DataError as exc:
                _log.warning("%s: cannot be read, so replaced rather than merged: %s", output, exc)
            else:
                events = _merged(existing, events)
                previous = before.get(b"tradecore.source", b"").decode()
                source = ",".join(dict.fromkeys(f"{previous},{source_name}".strip(",").split(",")))
                if len(events) > len(existing):
                    status = "merged"
                elif not force:
                    rows = len(events)  # it holds every row already: leave it alone
        if rows is None:
            _write(events, dataset, symbol, output, source, fingerprint)
            result = FileResult(dataset, symbol, day, good[0], output, len(events), status)
        else:
            result = FileResult(dataset, symbol, day, good[0], output, rows, "up to date")
        report.files.append(result)
        if progress is not None:
            progress(done, len(jobs), result)
    return report
