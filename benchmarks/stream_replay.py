"""Replay and import speed on the real LEAN week, with pandas baselines measured in the same run.

Usage: ``python benchmarks/stream_replay.py [--repeat N]`` with the package installed and the data
found as in :mod:`tradecore.data.locate` (or ``$TRADECORE_DATA``). The LEAN files are imported
into a temporary Parquet dataset first (that import is the ``lean_import`` figure). Each figure is
the best of N runs.

Figures (name, value, unit):

``replay_parquet_batches``
    SPY tick trades, 5 days: :class:`ReplayStream` over the Parquet files at speed 0, events/s
    handed out as NumPy batches (read, decode, merge, batch).
``pandas_read_parquet``
    ``pandas.read_parquet`` of the same files (decode into a DataFrame only), rows/s.
``replay_vs_pandas``
    The ratio of the two (above 1: replay into batches is faster than pandas just reading).
``replay_parquet_merged``
    SPY, BAC, IBM trades and BAC quotes, 5 days, merged by time: events/s. Interleaved streams
    give short runs, so this measures the per-batch cost.
``lean_import``
    ``import_lean`` of the SPY trade week (unzip, parse, validate, write Parquet): rows/s.
``pandas_read_csv_lean``
    pandas' C parser alone on the same unzipped CSV text, rows/s, and ``lean_import_vs_pandas``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
from benchlib import best_of
from tradecore.data import available_dates, lean_path, lean_root, parquet
from tradecore.data.importer import import_lean
from tradecore.streams.replay import ParquetSource, ReplayStream

__all__ = ["figures", "main"]


def _replay(root: Path, datasets: list[str], symbols: list[str]) -> int:
    async def go() -> int:
        stream = ReplayStream(ParquetSource(root), datasets=datasets)
        async with stream:
            await stream.subscribe(symbols)
            return sum([len(batch) async for batch in stream])

    return asyncio.run(go())


def figures(repeat: int = 3) -> list[tuple[str, float, str]]:
    """Measure and return ``(name, value, unit)`` figures (see the module docstring)."""
    lean = lean_root()
    if lean is None:
        raise RuntimeError("LEAN data not found: set TRADECORE_DATA")
    out: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="tradecore-bench-") as folder:
        root = Path(folder)
        import_seconds = best_of(lambda: import_lean(lean, root, ["spy"], ["trade"], force=True), repeat)
        spy_rows = sum(
            parquet.file_metadata(p).num_rows
            for _, p in parquet.dataset_files(root, "trade", "SPY")
        )
        import_lean(lean, root, ["bac", "ibm"], ["trade"])
        import_lean(lean, root, ["bac"], ["quote"])

        replay_seconds = best_of(lambda: _replay(root, ["trade"], ["spy"]), repeat)
        files = [p for _, p in parquet.dataset_files(root, "trade", "SPY")]
        pandas_seconds = best_of(lambda: [pd.read_parquet(p) for p in files], repeat)
        merged_rows = _replay(root, ["trade", "quote"], ["spy", "bac", "ibm"])
        merged_seconds = best_of(lambda: _replay(root, ["trade", "quote"], ["spy", "bac", "ibm"]), repeat)

        texts = []
        for day in available_dates(lean, "spy"):
            with zipfile.ZipFile(lean_path(lean, "trade", "spy", day)) as archive:
                texts.append(archive.read(archive.namelist()[0]))
        types = {0: "float64", 1: "int64", 2: "int64", 3: "str", 4: "str", 5: "int8"}
        csv_seconds = best_of(lambda: [pd.read_csv(io.BytesIO(t), header=None, dtype=types) for t in texts], repeat)
    out.append(("replay_parquet_batches", spy_rows / replay_seconds, "events/s"))
    out.append(("pandas_read_parquet", spy_rows / pandas_seconds, "rows/s"))
    out.append(("replay_vs_pandas", pandas_seconds / replay_seconds, "x"))
    out.append(("replay_parquet_merged", merged_rows / merged_seconds, "events/s"))
    out.append(("lean_import", spy_rows / import_seconds, "rows/s"))
    out.append(("pandas_read_csv_lean", spy_rows / csv_seconds, "rows/s"))
    out.append(("lean_import_vs_pandas", csv_seconds / import_seconds, "x"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    args = parser.parse_args()
    try:
        results = figures(args.repeat)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    for name, value, unit in results:
        print(f"{name}: {value:,.2f} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
