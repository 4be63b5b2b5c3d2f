"""``tradecore sim``: the embedded market simulator on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import signal
from pathlib import Path

import click

__all__ = ["sim"]


def _start_ns(text: str | None) -> int | None:
    """``YYYY-MM-DD`` (04:00 New York that day) or ``YYYY-MM-DDTHH:MM`` (New York time)."""
    if not text:
        return None
    from tradecore.sim.generator import NEW_YORK, NS

    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    if len(text) == 10:
        when = when.replace(hour=4)
    if when.tzinfo is None:
        when = when.replace(tzinfo=NEW_YORK)
    return int(when.timestamp()) * NS


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind (loopback by default; anything else exposes the feed).")
@click.option("--port", default=8790, show_default=True,
              help="WebSocket data feed port; REST listens on the next port.")
@click.option("--rest-port", type=int, default=None, help="REST port (default: --port + 1).")
@click.option("--seed", default=0, show_default=True, help="Random seed: same seed, same session.")
@click.option("--speed", default=1.0, show_default=True,
              help="Simulated seconds per real second (60: a premarket hour in a minute; "
                   "0: as fast as possible).")
@click.option("--symbols", "symbol_count", default=300, show_default=True,
              help="Universe size of the generated market.")
@click.option("--gappers", default=6, show_default=True, help="How many symbols gap 30%+.")
@click.option("--start", default=None,
              help="Session start: YYYY-MM-DD (04:00 New York) or YYYY-MM-DDTHH:MM New York. "
                   "Default: the next weekday's 04:00.")
@click.option("--replay", "replay_path", type=click.Path(exists=True, path_type=Path),
              help="Serve recorded or imported data instead: a LEAN Data folder, a recording "
                   "or a Parquet dataset.")
@click.option("--replay-symbols", default="SPY", show_default=True,
              help="Comma-separated symbols to replay (with --replay).")
@click.option("--key-id", envvar="TRADECORE_SIM_KEY_ID", default=None,
              help="The simulator's own key (default: any key is accepted).")
@click.option("--secret-key", envvar="TRADECORE_SIM_SECRET_KEY", default=None,
              help="The simulator's own secret (with --key-id).")
@click.option("--submit-latency", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Simulated seconds an order of the Trading API takes to reach the market "
              "(it fills only after; e.g. to test orders still working when a client dies).")
@click.option("-v", "--verbose", count=True, help="More logging (-v INFO, -vv DEBUG).")
def sim(host: str, port: int, rest_port: int | None, seed: int, speed: float,
        symbol_count: int, gappers: int, start: str | None, replay_path: Path | None,
        replay_symbols: str, key_id: str | None, secret_key: str | None,
        submit_latency: float, verbose: int) -> None:
    """Run the market simulator: an Alpaca-compatible data stream and REST on loopback.

    The REST port also serves the Trading API (account, orders, positions; protocols.md 2) and
    its trade_updates WebSocket at /stream, filling orders on the simulated market: point
    `tradecore live` at it with `execution.broker = "alpaca"` and `market.trading_url` = the
    REST URL printed below.
    """
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if (key_id is None) != (secret_key is None):
        raise click.UsageError("give both --key-id and --secret-key, or neither")
    from tradecore.engine import FillModel
    from tradecore.sim.market import Market
    from tradecore.sim.server import SimServer
    from tradecore.sim.trading import install

    start_ns = _start_ns(start)
    market: Market
    if replay_path is not None:
        from tradecore.sim.replayed import ReplayMarket, open_source
        from tradecore.streams.replay import ReplayStream

        source = open_source(replay_path)
        stream = ReplayStream(source, start=start_ns, speed=speed,
                              datasets=[d for d in ("quote", "trade") if d in source.datasets()]
                              or None)
        market = ReplayMarket(stream, [s.strip() for s in replay_symbols.split(",") if s.strip()])
    else:
        from tradecore.sim.simulated import SimulatedMarket

        market = SimulatedMarket(seed=seed, start=start_ns, speed=speed, symbols=symbol_count,
                                 gappers=gappers)

    async def serve() -> None:
        keys = {key_id: secret_key} if key_id is not None and secret_key is not None else None
        model = FillModel()
        model.submit_latency_ns = round(submit_latency * 1e9)
        trading = functools.partial(install, keys=keys, fill_model=model)
        async with SimServer(market, host=host, port=port, rest_port=rest_port, key_id=key_id,
                             secret_key=secret_key, extra_routes=[trading]) as server:
            click.echo(f"stream  {server.stream_url}")
            click.echo(f"rest    {server.rest_url}")
            click.echo(f"trading {server.rest_url} (trade_updates at /stream)")
            if hasattr(market, "gappers"):
                click.echo(f"gappers {' '.join(market.gappers)}")
            click.echo("Ctrl-C stops the simulator.")
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            finished = asyncio.ensure_future(server.finished.wait())
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({finished, stopped}, return_when=asyncio.FIRST_COMPLETED)
            for waiter in (finished, stopped):
                waiter.cancel()
            click.echo("session over" if server.finished.is_set() else "stopping")

    asyncio.run(serve())
