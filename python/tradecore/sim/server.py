"""Run a market, its WebSocket data feed and its REST endpoints in-process on loopback.

Usage::

    async with SimServer(seed=7, speed=60) as sim:
        stream = StockDataStream("key", "secret", url_override=sim.stream_url)
        client = StockHistoricalDataClient("key", "secret", url_override=sim.rest_url)
        sim.market.last_quote("ABCD")

The feed listens on ``port`` (default :data:`DEFAULT_PORT`) and the REST app on ``rest_port``
(default the next port; with ``port=0`` both pick free ports). ``extra_routes`` callables
``(app, market)`` mount more routes on the REST app before it starts, e.g.
``tradecore.sim.trading.install`` for the paper-trading endpoints.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from aiohttp import web

from tradecore.sim.feed import MarketFeed
from tradecore.sim.market import Market
from tradecore.sim.rest import create_app
from tradecore.sim.simulated import SimulatedMarket
from tradecore.tasks import start_task

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "SimServer"]

logger = logging.getLogger("tradecore.sim.server")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8790
"""The feed's default port; REST is on the next one (8791)."""

RouteInstaller = Callable[[web.Application, Market], object]


class SimServer:
    """The simulator: ``market`` + :class:`~tradecore.sim.feed.MarketFeed` + REST.

    Parameters
    ----------
    market
        The market to serve; default a :class:`SimulatedMarket` built from ``market_options``
        (``seed``, ``speed``, ``start``, ``symbols``, ``gappers``, ``params``).
    host
        Interface to bind, loopback by default.
    port, rest_port
        Feed and REST ports; ``rest_port=None`` means ``port + 1`` (or a free one if ``port``
        is 0).
    key_id, secret_key
        The simulator's own keys; ``None`` accepts any keys (feed and REST).
    extra_routes
        Callables adding routes to the REST app (``install(app, market)``).
    run_market
        Start ``market.run()`` (cancelled on close); False leaves the clock to the caller.
    feed_options
        More keyword arguments for :class:`~tradecore.sim.feed.MarketFeed`.
    """

    def __init__(self, market: Market | None = None, *, host: str = DEFAULT_HOST,
                 port: int = DEFAULT_PORT, rest_port: int | None = None,
                 key_id: str | None = None, secret_key: str | None = None,
                 extra_routes: Iterable[RouteInstaller] = (), run_market: bool = True,
                 feed_options: dict[str, Any] | None = None, **market_options: Any) -> None:
        self.market: Market = market if market is not None else SimulatedMarket(**market_options)
        self.host = host
        self.port = port
        self.rest_port = rest_port if rest_port is not None else (port + 1 if port else 0)
        self.key_id = key_id
        self.secret_key = secret_key
        self.run_market = run_market
        self.feed = MarketFeed(self.market, host=host, port=port, key_id=key_id,
                               secret_key=secret_key, **(feed_options or {}))
        self.app = create_app(self.market, key_id=key_id, secret_key=secret_key,
                              extra_routes=extra_routes)
        self._runner: web.AppRunner | None = None
        self._market_task: asyncio.Task[None] | None = None
        self.finished = asyncio.Event()
        """Set when the market's session has ended (or failed)."""

    @property
    def stream_url(self) -> str:
        """The feed's URL (any path is served; ``/v2/sip`` like the vendor)."""
        return f"ws://{self.host}:{self.feed.port}/v2/sip"

    @property
    def rest_url(self) -> str:
        """Base URL of the REST endpoints (``url_override`` of the alpaca-py clients)."""
        return f"http://{self.host}:{self.rest_port}"

    async def start(self) -> SimServer:
        """Start the feed, the REST app and the market clock; return self."""
        await self.feed.start()
        try:
            self._runner = web.AppRunner(self.app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, self.rest_port)
            await site.start()
            if self.rest_port == 0:
                sockets = getattr(site._server, "sockets", None) or []  # private: the bound port
                self.rest_port = sockets[0].getsockname()[1]
        except BaseException:
            await self.close()
            raise
        if self.run_market:
            self._market_task = start_task(self._run_market(), "sim-market", log=logger)
        logger.info("simulator on %s (feed) and %s (REST)", self.stream_url, self.rest_url)
        return self

    async def _run_market(self) -> None:
        try:
            await self.market.run()
        finally:
            self.finished.set()

    async def close(self) -> None:
        """Stop the market, the feed and the REST app (safe to call twice)."""
        task, self._market_task = self._market_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await asyncio.shield(self.feed.close())
        runner, self._runner = self._runner, None
        if runner is not None:
            await asyncio.shield(runner.cleanup())

    async def __aenter__(self) -> SimServer:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
