"""The ``tradecore`` command line."""

from __future__ import annotations

import time
from pathlib import Path

import click

from tradecore._version import __version__
from tradecore.errors import Error

__all__ = ["main"]

SESSION_NAMES = {0: "-", 1: "pre", 2: "regular", 3: "after", 4: "overnight"}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tradecore")
def main() -> None:
    """tradecore: event-driven trading research and paper trading."""


@main.command()
@click.option("--symbol", default="spy", show_default=True, help="Ticker of a LEAN tick file.")
@click.option("--date", "day", default="20131007", show_default=True, help="Trading date, YYYYMMDD.")
@click.option("--period", default="5min", show_default=True, help="Bar period: 1s ... 1d.")
@click.option(
    "--session",
    "sessions",
    multiple=True,
    type=click.Choice(["premarket", "regular", "after_hours"]),
    help="Sessions to aggregate (repeatable). Default: all three.",
)
@click.option("--tape-rules/--all-prints", default=False, show_default=True,
              help="Leave average-price and off-quote prints out of prices, as LEAN does.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Market data folder (default: $TRADECORE_DATA or ../shared/data).")
@click.option("--limit", default=40, show_default=True, help="Bars to print (0 = all).")
def bars(symbol: str, day: str, period: str, sessions: tuple[str, ...], tape_rules: bool,
         data_dir: Path | None, limit: int) -> None:
    """Build bars from a day of real LEAN trade ticks with the native aggregator."""
    import numpy as np
    import pandas as pd

    from tradecore import bars as bar_module
    from tradecore.data import lean, locate
    from tradecore.schema import BAR, concatenate

    if data_dir is not None:
        lean_data = data_dir / "quantconnect-lean" / "Data"
        root: Path | None = lean_data if lean_data.is_dir() else None
    else:
        root = locate.lean_root()
    if root is None:
        raise click.ClickException(
            f"real market data not found: pass --data or set {locate.ENV_VAR} to the folder "
            "holding quantconnect-lean/"
        )
    options: dict[str, object] = {}
    if sessions:
        options["sessions"] = sessions
    if tape_rules:
        options["exclude_price_conditions"] = bar_module.LEAN_PRICE_EXCLUDED_CONDITIONS
    try:
        aggregator = bar_module.BarAggregator(period, **options)  # type: ignore[arg-type]
        trades = lean.read_trade_ticks(root, symbol, day)
    except FileNotFoundError:
        raise click.ClickException(f"no LEAN trade ticks for {symbol.upper()} on {day} under {root}") from None
    except Error as error:  # a bad period, a damaged file: the message says which
        raise click.ClickException(str(error)) from None
    start = time.perf_counter()
    closed = aggregator.update_batch(trades)
    last = aggregator.flush()
    elapsed = time.perf_counter() - start
    result = concatenate([closed, last], BAR)
    local = pd.to_datetime(result["ts_event"], utc=True).tz_convert("America/New_York")
    shown = result if limit == 0 else result[:limit]
    click.echo(f"{symbol.upper()} {day}  {period} bars  ({len(result)} bars from {len(trades):,} trades)")
    click.echo(f"{'New York':<17} {'session':<8} {'open':>9} {'high':>9} {'low':>9} {'close':>9} "
               f"{'volume':>11} {'vwap':>10} {'trades':>7}")
    for i, bar in enumerate(shown):
        click.echo(
            f"{local[i].strftime('%Y-%m-%d %H:%M'):<17} {SESSION_NAMES[int(bar['session'])]:<8} "
            f"{bar['open']:9.2f} {bar['high']:9.2f} {bar['low']:9.2f} {bar['close']:9.2f} "
            f"{bar['volume']:11,.0f} {bar['vwap']:10.4f} {bar['trade_count']:7d}"
        )
    if len(shown) < len(result):
        click.echo(f"... {len(result) - len(shown)} more (--limit 0 shows all)")
    stats = aggregator.stats
    skipped = {k: v for k, v in stats.items() if k not in ("accepted", "bars_emitted") and v}
    click.echo(f"accepted {stats['accepted']:,} trades; skipped/flagged: {skipped or 'none'}")
    rate = len(trades) / elapsed if elapsed > 0 else float("inf")
    click.echo(f"aggregated in {elapsed * 1e3:.2f} ms ({rate / 1e6:,.0f} M trades/s); "
               f"total volume {np.sum(result['volume']):,.0f}")


from tradecore.cli_data import data  # noqa: E402

main.add_command(data)

from tradecore.cli_runs import runs, scan  # noqa: E402

main.add_command(runs)
main.add_command(scan)

from tradecore.cli_trade import backtest, live  # noqa: E402

main.add_command(live)
main.add_command(backtest)

from tradecore.cli_sim import sim  # noqa: E402

main.add_command(sim)
