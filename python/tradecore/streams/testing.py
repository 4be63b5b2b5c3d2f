"""Loopback servers speaking the vendors' stock streams (Alpaca v2, Polygon/Massive) for tests.

The protocols are :class:`tradecore.sim.feed.AlpacaFeedServer` (the simulator's data feed) and
:class:`tradecore.sim.polygon_feed.PolygonFeedServer`: this module only adds the same scripting
hooks to both (:class:`ScriptedServer`).

Test hooks push scripted events (:meth:`AlpacaTestServer.publish`, built with :func:`trade`,
:func:`quote`, :func:`bar`, ...), send raw or malformed frames, send error codes, drop
connections without a close frame and refuse upgrades with an HTTP status. Events carry ``t``
as int ns; the server writes it as RFC 3339 (JSON) or a msgpack Timestamp. A ``t`` given as a
string is sent as is (to script bad timestamps). Polygon messages (:func:`polygon_trade`, ...)
are sent exactly as built: JSON, times in Unix ms as the vendor sends them.

Usage::

    async with AlpacaTestServer() as server:
        stream = AlpacaStream(url=server.url, key_id=server.key_id,
                              secret_key=server.secret_key)
"""

from __future__ import annotations

import asyncio
import collections
import http
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from tradecore.sim.feed import ERROR_MESSAGES, AlpacaFeedServer, FeedServer, FeedSession
from tradecore.sim.polygon_feed import PolygonFeedServer

__all__ = [
    "ERROR_MESSAGES",
    "AlpacaTestServer",
    "PolygonTestServer",
    "ScriptedServer",
    "TestSession",
    "bar",
    "cancel_error",
    "correction",
    "luld",
    "polygon_aggregate",
    "polygon_quote",
    "polygon_trade",
    "quote",
    "status",
    "trade",
]

# -- message builders (T first, t as int ns) ---------------------------------------------------


def trade(symbol: str, ts: int, price: float, size: int, *, trade_id: int = 1,
          exchange: str = "V", conditions: Sequence[str] = ("@",), tape: str = "C"
          ) -> dict[str, Any]:
    """Return a trade message (``T`` = ``t``)."""
    return {"T": "t", "S": symbol, "i": trade_id, "x": exchange, "p": price, "s": size,
            "c": list(conditions), "t": ts, "z": tape}


def quote(symbol: str, ts: int, bid: float, ask: float, *, bid_size: int = 1,
          ask_size: int = 1, bid_exchange: str = "V", ask_exchange: str = "V",
          conditions: Sequence[str] = ("R",), tape: str = "C") -> dict[str, Any]:
    """Return a quote message (``T`` = ``q``)."""
    return {"T": "q", "S": symbol, "bx": bid_exchange, "bp": bid, "bs": bid_size,
            "ax": ask_exchange, "ap": ask, "as": ask_size, "c": list(conditions), "t": ts,
            "z": tape}


def bar(symbol: str, ts: int, open_: float, high: float, low: float, close: float,
        volume: int, *, trade_count: int = 1, vwap: float | None = None, kind: str = "b"
        ) -> dict[str, Any]:
    """Return a bar message; ``kind`` ``b`` (minute), ``u`` (updated) or ``d`` (daily)."""
    return {"T": kind, "S": symbol, "o": open_, "h": high, "l": low, "c": close, "v": volume,
            "t": ts, "n": trade_count, "vw": close if vwap is None else vwap}


def status(symbol: str, ts: int, status_code: str, reason_code: str = "", *,
           status_message: str = "", reason_message: str = "", tape: str = "C"
           ) -> dict[str, Any]:
    """Return a trading-status message (``T`` = ``s``)."""
    return {"T": "s", "S": symbol, "sc": status_code, "sm": status_message, "rc": reason_code,
            "rm": reason_message, "t": ts, "z": tape}


def luld(symbol: str, ts: int, limit_up: float, limit_down: float, *, indicator: str = "B",
         tape: str = "C") -> dict[str, Any]:
    """Return a LULD band message (``T`` = ``l``)."""
    return {"T": "l", "S": symbol, "u": limit_up, "d": limit_down, "i": indicator, "t": ts,
            "z": tape}


def correction(symbol: str, ts: int, *, original_id: int, original_price: float,
               original_size: int, corrected_id: int, corrected_price: float,
               corrected_size: int, exchange: str = "V",
               original_conditions: Sequence[str] = ("@",),
               corrected_conditions: Sequence[str] = ("@",), tape: str = "C"
               ) -> dict[str, Any]:
    """Return a trade-correction message (``T`` = ``c``)."""
    return {"T": "c", "S": symbol, "x": exchange, "oi": original_id, "op": original_price,
            "os": original_size, "oc": list(original_conditions), "ci": corrected_id,
            "cp": corrected_price, "cs": corrected_size, "cc": list(corrected_conditions),
            "t": ts, "z": tape}


def cancel_error(symbol: str, ts: int, *, trade_id: int, price: float, size: int,
                 action: str = "C", exchange: str = "V", tape: str = "C") -> dict[str, Any]:
    """Return a trade cancel (``action="C"``) or error (``"E"``) message (``T`` = ``x``)."""
    return {"T": "x", "S": symbol, "i": trade_id, "x": exchange, "p": price, "s": size,
            "a": action, "t": ts, "z": tape}


# -- Polygon/Massive message builders (ev first, times as the vendor sends them: Unix ms) ------


def polygon_trade(symbol: str, t: int, price: float, size: int, *, trade_id: str = "1",
                  exchange: int = 4, conditions: Sequence[int] = (0,), tape: int = 3,
                  sequence: int = 1) -> dict[str, Any]:
    """Return a trade message (``ev`` = ``T``); ``t`` in Unix ms (or ns, to test both)."""
    return {"ev": "T", "sym": symbol, "x": exchange, "i": trade_id, "z": tape, "p": price,
            "s": size, "c": list(conditions), "t": t, "q": sequence}


def polygon_quote(symbol: str, t: int, bid: float, ask: float, *, bid_size: int = 1,
                  ask_size: int = 1, bid_exchange: int = 15, ask_exchange: int = 15,
                  condition: int = 0, tape: int = 3, sequence: int = 1) -> dict[str, Any]:
    """Return a quote message (``ev`` = ``Q``)."""
    return {"ev": "Q", "sym": symbol, "bx": bid_exchange, "bp": bid, "bs": bid_size,
            "ax": ask_exchange, "ap": ask, "as": ask_size, "c": condition, "i": [],
            "t": t, "q": sequence, "z": tape}


def polygon_aggregate(symbol: str, start: int, end: int, open_: float, high: float,
                      low: float, close: float, volume: int, *, vwap: float | None = None,
                      minute: bool = True) -> dict[str, Any]:
    """Return an aggregate: ``AM`` (per minute) or ``A`` (per second); ``start``/``end`` ms."""
    return {"ev": "AM" if minute else "A", "sym": symbol, "v": volume, "av": volume * 10,
            "op": open_, "vw": close if vwap is None else vwap, "o": open_, "c": close,
            "h": high, "l": low, "a": close, "z": 100, "s": start, "e": end}


# -- servers ------------------------------------------------------------------------------------

TestSession = FeedSession
"""One client connection as the server sees it (the feed's session)."""


class ScriptedServer(FeedServer):
    """Test hooks for any :class:`~tradecore.sim.feed.FeedServer` protocol (mixed in first).

    Every client message is recorded and there is no total connection cap by default.
    """

    __test__ = False
    server_logger = "tradecore.streams.testing.server"

    def __init__(self, **options: Any) -> None:
        options.setdefault("record_received", True)
        options.setdefault("max_connections", 1_000_000)
        super().__init__(**options)
        self.refused_upgrades = 0
        self._refuse: collections.deque[int] = collections.deque()

    def refuse_upgrades(self, status: int = 429, count: int = 1) -> None:
        """Answer the next ``count`` upgrade requests with HTTP ``status`` instead of 101."""
        self._refuse.extend([status] * count)

    def _process_request(self, connection: ServerConnection, request: Request
                         ) -> Response | None:
        if self._refuse:
            status = self._refuse.popleft()
            self.refused_upgrades += 1
            return connection.respond(http.HTTPStatus(status), f"refused ({status})\n")
        return super()._process_request(connection, request)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds (checked whenever a session changes state)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def wait_for_session(self, count: int = 1, timeout: float = 5.0) -> TestSession:
        """Wait for the ``count``-th session ever to authenticate; return it."""
        await self.wait_for(
            lambda: sum(s.ever_authenticated for s in self.history) >= count, timeout)
        return [s for s in self.history if s.ever_authenticated][count - 1]

    async def publish(self, messages: Sequence[Mapping[str, Any]], *,
                      session: TestSession | None = None) -> int:
        """Send ``messages`` as one frame to each authenticated session subscribed to them.

        Returns the number of messages sent (summed over sessions).
        """
        sent = 0
        for target in [session] if session is not None else list(self.sessions):
            if not target.authenticated:
                continue
            chosen = [m for m in messages if target.wants(m)]
            if chosen:
                await self._send(target, chosen)
                sent += len(chosen)
        return sent

    async def send_raw(self, frame: bytes | str, *, session: TestSession | None = None) -> None:
        """Send ``frame`` verbatim (text for ``str``, binary for ``bytes``)."""
        for target in [session] if session is not None else list(self.sessions):
            await target.connection.send(frame)

    async def drop(self, *, session: TestSession | None = None) -> None:
        """Cut the TCP connection without a close frame, as a network failure would."""
        for target in [session] if session is not None else list(self.sessions):
            target.connection.transport.abort()
            await target.closed.wait()


class AlpacaTestServer(ScriptedServer, AlpacaFeedServer):
    """An Alpaca stock-stream server on loopback with test hooks.

    Parameters are those of :class:`~tradecore.sim.feed.AlpacaFeedServer`, with fixed test
    credentials by default, one connection per key (as the vendor), no total connection cap,
    and every client message recorded.
    """

    __test__ = False

    def __init__(self, *, key_id: str = "test-key", secret_key: str = "test-secret",
                 **options: Any) -> None:
        super().__init__(key_id=key_id, secret_key=secret_key, **options)
        self.key_id: str = key_id
        self.secret_key: str = secret_key

    @property
    def url(self) -> str:
        """``ws://host:port/v2/test``."""
        return f"ws://{self.host}:{self.port}/v2/test"


class PolygonTestServer(ScriptedServer, PolygonFeedServer):
    """A Polygon/Massive stocks-stream server on loopback with test hooks.

    Parameters are those of :class:`~tradecore.sim.polygon_feed.PolygonFeedServer`, with a
    fixed test key by default, one connection per key, no total connection cap, and every client
    message recorded. Messages are published as built (see :func:`polygon_trade`, ...).
    """

    __test__ = False

    def __init__(self, *, api_key: str = "test-api-key", **options: Any) -> None:
        super().__init__(api_key=api_key, **options)
        self.api_key: str = api_key
