"""``tradecore data``: import market data into tradecore's Parquet layout."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Literal

import click

__all__ = ["data"]


@click.group()
def data() -> None:
    """Import market data into Parquet (see tradecore.data.parquet for the layout)."""
    logger = logging.getLogger("tradecore")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)


@data.command("import")
@click.option(
    "--lean",
    "lean_root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="LEAN Data folder to import from.",
)
@click.option(
    "--csv",
    "csv_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV file to import (repeatable); needs --mapping.",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file of a CsvMapping (see tradecore.data.mapped_csv).",
)
@click.option("--symbols", default="", help="Comma-separated tickers (LEAN).")
@click.option(
    "--kinds",
    default="trade,quote,minute",
    show_default=True,
    help="Comma-separated LEAN datasets: trade, quote, minute, second.",
)
@click.option("--dates", default=None, help="YYYYMMDD..YYYYMMDD (inclusive) or YYYYMMDD (LEAN).")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Parquet dataset root to write.",
)
@click.option(
    "--on-error",
    type=click.Choice(["raise", "skip"]),
    default="raise",
    show_default=True,
    help="Stop at a bad input file, or skip it (counted and logged).",
)
@click.option("--force", is_flag=True, help="Rewrite files that are already up to date.")
@click.option("--quiet", is_flag=True, help="No per-file progress lines.")
def import_command(
    lean_root: Path | None,
    csv_files: tuple[Path, ...],
    mapping: Path | None,
    symbols: str,
    kinds: str,
    dates: str | None,
    out: Path,
    on_error: Literal["raise", "skip"],
    force: bool,
    quiet: bool,
) -> None:
    """Import LEAN (--lean) or CSV (--csv with --mapping) data into Parquet under --out.

    Idempotent: files already imported from the same input are left alone.
    """
    from tradecore.data import importer
    from tradecore.data.mapped_csv import CsvMapping
    from tradecore.errors import ConfigError, DataError

    def progress(done: int, total: int, result: importer.FileResult) -> None:
        if not quiet:
            day = f" {result.date:%Y-%m-%d}" if result.date else ""
            click.echo(
                f"[{done}/{total}] {result.dataset} {result.symbol}{day}: "
                f"{result.rows:,} rows, {result.status}",
                err=True,
            )

    started = time.perf_counter()
    try:
        if (lean_root is None) == (not csv_files):
            raise ConfigError("give either --lean or --csv")
        if lean_root is not None:
            names = [s for s in symbols.split(",") if s.strip()]
            if not names:
                raise ConfigError("--lean needs --symbols, e.g. --symbols spy,bac")
            report = importer.import_lean(
                lean_root,
                out,
                [s.strip() for s in names],
                [k.strip() for k in kinds.split(",") if k.strip()],
                importer.parse_dates(dates) if dates else None,
                on_error=on_error,
                force=force,
                progress=progress,
            )
        else:
            if mapping is None:
                raise ConfigError("--csv needs --mapping (a JSON CsvMapping)")
            report = importer.import_csv(
                csv_files,
                CsvMapping.from_json(mapping),
                out,
                on_error=on_error,
                force=force,
                progress=progress,
            )
    except (ConfigError, DataError) as exc:
        raise click.ClickException(str(exc)) from None
    elapsed = time.perf_counter() - started
    merged = report.count("merged")  # only CSV imports merge; LEAN files are one day each
    click.echo(
        f"{len(report.files)} files: {report.count('written')} written, "
        + (f"{merged} merged, " if merged else "")
        + f"{report.count('up to date')} up to date, {report.count('bad')} bad; "
        f"{report.rows:,} rows in {elapsed:.1f} s"
    )
    if not report.files:
        raise click.ClickException("nothing to import: no input files matched")
