"""``tradecore runs`` (the run registry) and ``tradecore scan`` (a scanner's universe)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import click

from tradecore.config import SCANNER_KINDS

__all__ = ["runs", "scan"]

_ROOT_HELP = "Runs folder (default: $TRADECORE_RUNS or ./runs)."
# The types `--allow-type` can let back in: ScanFilters().exclude_types, spelled out so that
# `--help` does not import the scanners (a test keeps the two equal).
_EXCLUDED_TYPES = ["etf", "warrant", "unit", "right"]


@click.group(invoke_without_command=True)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), help=_ROOT_HELP)
@click.option("--kind", help="Only runs of this kind (backtest, paper, live, scan, ...).")
@click.option("--limit", default=50, show_default=True, help="Newest runs to list (0 = all).")
@click.pass_context
def runs(context: click.Context, root: Path | None, kind: str | None, limit: int) -> None:
    """List runs from the registry, newest first (``runs show ID`` for one)."""
    context.obj = root
    if context.invoked_subcommand is not None:
        return
    from tradecore.journal import RunRegistry

    with RunRegistry(root) as registry:
        found = registry.list(kind=kind, limit=limit or None)
    if not found:
        click.echo(f"no runs in {registry.root}")
        return
    click.echo(f"{'id':<29} {'kind':<9} {'status':<11} {'data':<23} {'net PnL':>11} "
               f"{'trips':>6}  code")
    for run in found:
        metrics = run.metrics or {}
        data = f"{(run.data_start or '-')[:10]}..{(run.data_end or '-')[:10]}"
        pnl = metrics.get("net_pnl")
        pnl_text = f"{pnl:,.2f}" if isinstance(pnl, (int, float)) else "-"
        click.echo(f"{run.id:<29} {run.kind:<9} {run.status:<11} {data:<23} {pnl_text:>11} "
                   f"{metrics.get('round_trips', '-')!s:>6}  {run.code_version}")


@runs.command("show")
@click.argument("run_id")
@click.pass_obj
def show(root: Path | None, run_id: str) -> None:
    """Show one run (an id or a unique prefix): parameters, data range, metrics, journal."""
    from tradecore.errors import ConfigError
    from tradecore.journal import Journal, RunRegistry
    from tradecore.journal.journal import KINDS

    with RunRegistry(root) as registry:
        try:
            run = registry.get(run_id)
        except ConfigError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"run        {run.id}")
    click.echo(f"kind       {run.kind}   status {run.status}")
    click.echo(f"started    {run.started_at}")
    click.echo(f"finished   {run.finished_at or '-'}")
    click.echo(f"code       {run.code_version}")
    click.echo(f"data       {run.data_start or '-'} .. {run.data_end or '-'}")
    click.echo(f"folder     {run.folder}")
    click.echo("parameters " + json.dumps(run.parameters, sort_keys=True))
    if run.metrics:
        click.echo("metrics")
        width = max(len(k) for k in run.metrics)
        for key, value in sorted(run.metrics.items()):
            click.echo(f"  {key:<{width}}  {value}")
    if run.journal_path.is_file():
        with Journal(run.journal_path, readonly=True) as journal:
            counts = {kind: journal.count(kind) for kind in KINDS}
        click.echo("journal    " + ", ".join(f"{k} {n}" for k, n in counts.items() if n)
                   if any(counts.values()) else "journal    empty")


def _number(value: object, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    number = float(value)  # type: ignore[arg-type]
    if abs(number) >= 1e6:
        return f"{number / 1e6:,.1f}M"
    return f"{number:,.{digits}f}"


def _print_rows(rows: list[Any], show_all: bool, when: str) -> None:
    shown = [r for r in rows if r.passed or show_all]
    click.echo(f"{when}  {sum(r.passed for r in rows)} active of {len(rows)} scanned")
    columns = ("price", "prior_close", "gap_percent", "percent_change", "volume",
               "relative_volume", "float_shares", "asset_type")
    present = [c for c in columns if any(c in r.values for r in shown)]
    click.echo(f"{'symbol':<8} " + " ".join(f"{c[:12]:>12}" for c in present) + "  status")
    for row in shown:
        cells = " ".join(f"{_number(row.values.get(c)):>12}" for c in present)
        status = "active" if row.passed else "out: " + ",".join(row.reasons)
        click.echo(f"{row.symbol:<8} {cells}  {status}")


@click.command()
@click.option("--scanner", "kind", type=click.Choice(SCANNER_KINDS), default="premarket", show_default=True,
              help="premarket: gappers vs the prior close. top_gainers: the biggest risers since the "
              "prior close. Both with the filters below. fixed: the --symbols list.")
@click.option("--url", envvar="TRADECORE_MARKET_URL", default="https://data.alpaca.markets",
              show_default=True, help="Market-data REST base URL (the simulator's, or a vendor's).")
@click.option("--trading-url", envvar="TRADECORE_TRADING_URL",
              help="Base URL of /v2/assets (default: --url).")
@click.option("--symbols", help="Comma-separated symbols: the fixed list, or what to snapshot "
              "(default: discovered from the most-actives and movers screeners).")
@click.option("--min-gap", type=float, default=5.0, show_default=True, help="Gap %, at least.")
@click.option("--max-gap", type=float, help="Gap %, at most.")
@click.option("--min-price", type=float, default=1.0, show_default=True, help="$.")
@click.option("--max-price", type=float, default=20.0, show_default=True, help="$.")
@click.option("--min-volume", type=float, default=0.0, show_default=True,
              help="Premarket volume, shares.")
@click.option("--min-rvol", type=float, help="Relative volume (today / average daily).")
@click.option("--max-float", type=float, help="Float, shares.")
@click.option("--allow-type", multiple=True, type=click.Choice(_EXCLUDED_TYPES),
              help="Asset type not to exclude (repeatable).")
@click.option("--deny", help="Comma-separated symbols never to scan.")
@click.option("--top", type=int, default=20, show_default=True, help="Universe size.")
@click.option("--every", type=float, help="Scan again every this many seconds.")
@click.option("--count", type=int, default=0, help="Scans to run with --every (0 = forever).")
@click.option("--all", "show_all", is_flag=True, help="Also print symbols filtered out, with why.")
def scan(kind: str, url: str, trading_url: str | None, symbols: str | None, min_gap: float,
         max_gap: float | None, min_price: float, max_price: float, min_volume: float,
         min_rvol: float | None, max_float: float | None, allow_type: tuple[str, ...],
         deny: str | None, top: int, every: float | None, count: int, show_all: bool) -> None:
    """Print the scanner's universe with the values it filtered on, once or repeatedly.

    API keys are read from APCA_API_KEY_ID and APCA_API_SECRET_KEY when set.
    """
    from pydantic import ValidationError

    from tradecore.config import ScannerConfig
    from tradecore.errors import Error
    from tradecore.scanners import MarketDataClient, build_scanner
    from tradecore.scanners.filters import ScanFilters

    symbol_list = [s.strip().upper() for s in (symbols or "").split(",") if s.strip()]
    if kind == "fixed" and not symbol_list:
        raise click.UsageError("--scanner fixed needs --symbols")
    denied = [s.strip().upper() for s in (deny or "").split(",") if s.strip()]
    try:
        settings = ScannerConfig(
            kind=kind,
            symbols=tuple(symbol_list),
            filters={"min_gap_percent": min_gap, "max_gap_percent": max_gap,
                     "min_price": min_price, "max_price": max_price,
                     "min_premarket_volume": min_volume, "min_relative_volume": min_rvol,
                     "max_float": max_float, "deny": denied, "max_symbols": top,
                     "exclude_types": sorted(ScanFilters().exclude_types - set(allow_type))})
    except ValidationError as error:
        raise click.UsageError("; ".join(e["msg"] for e in error.errors())) from None

    async def run() -> None:
        client = MarketDataClient(url, trading_url=trading_url,
                                  key_id=os.environ.get("APCA_API_KEY_ID"),
                                  secret_key=os.environ.get("APCA_API_SECRET_KEY"))
        try:
            scanner = build_scanner(settings, client=client)
            done = 0
            while True:
                await scanner.update()
                _print_rows(scanner.rows, show_all, time.strftime("%H:%M:%S"))
                done += 1
                if every is None or (count and done >= count):
                    break
                await asyncio.sleep(every)
        finally:
            await client.close()

    try:
        asyncio.run(run())
    except Error as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot reach {url}: {error}") from None
