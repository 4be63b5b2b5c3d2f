"""A loopback server that speaks the Alpaca market data v2 stock stream, for tests and demos.

It follows protocols.md section 1 and the emulator checklist (section 7): welcome first, auth by
headers or by message (deadline 404, 402, 403, 401 before auth, 406 per key), subscriptions as
sets answered with the full set (``corrections``/``cancelErrors`` mirror ``trades``), an optional
symbol limit (405), 400 on junk, 410 on channels the feed does not carry, JSON or msgpack chosen
by the upgrade's ``Content-Type``, ``T`` written first in every object, control messages alone.

Test hooks push scripted events (:meth:`AlpacaTestServer.publish`, built with :func:`trade`,
:func:`quote`, :func:`bar`, ...), send raw or malformed frames, send error codes, drop
connections without a close frame and refuse upgrades with an HTTP status. Events carry ``t``
as int ns; the server writes it as RFC 3339 (JSON) or a msgpack Timestamp. A ``t`` given as a
string is sent as is (to script bad timestamps).

Usage::

    async with AlpacaTestServer() as server:
        stream = AlpacaStream(url=server.url, key_id=server.key_id,
                              secret_key=server.secret_key)
"""

from __future__ import annotations

import asyncio
import collections
import http
import itertools
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import msgpack
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tradecore.streams.alpaca import format_timestamp

__all__ = [
    "ERROR_MESSAGES",
    "AlpacaTestServer",
    "TestSession",
    "bar",
    "cancel_error",
    "correction",
    "luld",
    "quote",
    "status",
    "trade",
]

logger = logging.getLogger("tradecore.streams.testing")

ERROR_MESSAGES = {
    400: "invalid syntax",
    401: "not authenticated",
    402: "auth failed",
    403: "already authenticated",
    404: "auth timeout",
    405: "symbol limit exceeded",
    406: "connection limit exceeded",
    407: "slow client",
    409: "insufficient subscription",
    410: "invalid subscribe action for this feed",
    411: "insufficient scope",
    500: "internal error",
}
"""Alpaca's error texts by code (protocols.md 1.7)."""

_CHANNEL_OF_TYPE = {
    "t": "trades",
    "q": "quotes",
    "b": "bars",
    "u": "updatedBars",
    "d": "dailyBars",
    "s": "statuses",
    "l": "lulds",
    "c": "trades",  # corrections follow trades
    "x": "trades",  # cancel/errors follow trades
    "i": "imbalances",
}
_STOCK_CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds",
                   "imbalances")
_SYMBOL = re.compile(r"\*|[A-Z][A-Z0-9.\-/]{0,15}")


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


# -- server ------------------------------------------------------------------------------------


@dataclass(eq=False)
class TestSession:
    """One client connection as the server sees it."""

    __test__ = False  # not a pytest test class

    number: int
    connection: ServerConnection
    encoding: str  # "json" or "msgpack"
    path: str
    headers: Headers
    authenticated: bool = False
    ever_authenticated: bool = False
    key_id: str | None = None
    subscriptions: dict[str, set[str]] = field(
        default_factory=lambda: {c: set() for c in _STOCK_CHANNELS})
    received: list[Any] = field(default_factory=list)  # client messages, decoded
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, message: Mapping[str, Any]) -> bool:
        """Whether this session subscribed to ``message``'s channel and symbol."""
        channel = _CHANNEL_OF_TYPE.get(message.get("T", ""))
        if channel is None:
            return True  # unknown types are scripted on purpose: send them
        symbols = self.subscriptions[channel]
        return "*" in symbols or message.get("S") in symbols

    def reply(self) -> dict[str, Any]:
        """The full subscription reply for this session."""
        subs = self.subscriptions
        return {"T": "subscription", "trades": sorted(subs["trades"]),
                "quotes": sorted(subs["quotes"]), "bars": sorted(subs["bars"]),
                "updatedBars": sorted(subs["updatedBars"]),
                "dailyBars": sorted(subs["dailyBars"]), "statuses": sorted(subs["statuses"]),
                "lulds": sorted(subs["lulds"]), "corrections": sorted(subs["trades"]),
                "cancelErrors": sorted(subs["trades"])}


class AlpacaTestServer:
    """An Alpaca stock-stream server on loopback.

    Parameters
    ----------
    key_id, secret_key
        The only credentials accepted.
    host, port
        Where to listen; port 0 picks a free one (see :attr:`url`).
    auth_timeout
        Seconds a client has to authenticate (404 after).
    symbol_limit
        Maximum symbols per session across channels (405 beyond), ``None`` for no limit.
    connection_limit
        Authenticated sessions per key (406 beyond).
    carried_channels
        Channels this feed carries; others get 410.
    timestamp_digits
        Fractional digits of JSON timestamps (Alpaca varies between 0 and 9).
    """

    __test__ = False

    def __init__(
        self,
        *,
        key_id: str = "test-key",
        secret_key: str = "test-secret",
        host: str = "127.0.0.1",
        port: int = 0,
        auth_timeout: float = 10.0,
        symbol_limit: int | None = None,
        connection_limit: int = 1,
        carried_channels: Iterable[str] = _STOCK_CHANNELS,
        timestamp_digits: int = 9,
    ) -> None:
        self.key_id = key_id
        self.secret_key = secret_key
        self.host = host
        self.port = port
        self.auth_timeout = auth_timeout
        self.symbol_limit = symbol_limit
        self.connection_limit = connection_limit
        self.carried_channels = frozenset(carried_channels)
        self.timestamp_digits = timestamp_digits
        self.sessions: list[TestSession] = []
        """Open sessions, oldest first."""
        self.history: list[TestSession] = []
        """Every session ever opened."""
        self.refused_upgrades = 0
        self._refuse: collections.deque[int] = collections.deque()
        self._server: Server | None = None
        self._numbers = itertools.count(1)
        self._changed = asyncio.Condition()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> AlpacaTestServer:
        """Start listening; return self."""
        self._server = await serve(self._handle, self.host, self.port,
                                   process_request=self._process_request, ping_interval=None,
                                   logger=logging.getLogger("tradecore.streams.testing.server"))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening and close every session."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> AlpacaTestServer:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """``ws://host:port/v2/test``."""
        return f"ws://{self.host}:{self.port}/v2/test"

    # -- hooks ---------------------------------------------------------------------------

    def refuse_upgrades(self, status: int = 429, count: int = 1) -> None:
        """Answer the next ``count`` upgrade requests with HTTP ``status`` instead of 101."""
        self._refuse.extend([status] * count)

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

    async def send_error(self, code: int, *, session: TestSession | None = None,
                         close: bool = False) -> None:
        """Send the error message for ``code``; close the session afterwards if asked."""
        for target in [session] if session is not None else list(self.sessions):
            await self._send(target, [{"T": "error", "code": code,
                                       "msg": ERROR_MESSAGES.get(code, "error")}])
            if close:
                await target.connection.close()

    async def drop(self, *, session: TestSession | None = None) -> None:
        """Cut the TCP connection without a close frame, as a network failure would."""
        for target in [session] if session is not None else list(self.sessions):
            target.connection.transport.abort()
            await target.closed.wait()

    # -- protocol ------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request
                         ) -> Response | None:
        if self._refuse:
            status = self._refuse.popleft()
            self.refused_upgrades += 1
            return connection.respond(http.HTTPStatus(status), f"refused ({status})\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        assert request is not None
        content_type = request.headers.get("Content-Type", "")
        session = TestSession(
            number=next(self._numbers), connection=connection,
            encoding="msgpack" if "msgpack" in content_type else "json",
            path=request.path, headers=request.headers)
        self.sessions.append(session)
        self.history.append(session)
        try:
            await self._serve(session)
        except ConnectionClosed:
            pass
        finally:
            self.sessions.remove(session)
            session.authenticated = False
            session.closed.set()
            await self._notify()

    async def _serve(self, session: TestSession) -> None:
        await self._send(session, [{"T": "success", "msg": "connected"}])
        headers = session.headers
        if "APCA-API-KEY-ID" in headers:
            if not await self._authenticate(session, headers["APCA-API-KEY-ID"],
                                            headers.get("APCA-API-SECRET-KEY", "")):
                return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.auth_timeout
        while True:
            if session.authenticated:
                frame = await session.connection.recv()
            else:
                try:
                    frame = await asyncio.wait_for(session.connection.recv(),
                                                   max(0.0, deadline - loop.time()))
                except TimeoutError:
                    await self.send_error(404, session=session, close=True)
                    return
            message = self._decode(frame)
            session.received.append(message)
            await self._notify()
            if not isinstance(message, dict) or not isinstance(message.get("action"), str):
                await self.send_error(400, session=session)
                continue
            action = message["action"]
            if action == "auth":
                if session.authenticated:
                    await self.send_error(403, session=session)
                elif not await self._authenticate(session, message.get("key"),
                                                  message.get("secret")):
                    return
            elif action in ("subscribe", "unsubscribe"):
                if not session.authenticated:
                    await self.send_error(401, session=session)
                else:
                    await self._subscribe(session, action, message)
            else:
                await self.send_error(400, session=session)

    async def _authenticate(self, session: TestSession, key: Any, secret: Any) -> bool:
        if key != self.key_id or secret != self.secret_key:
            await self.send_error(402, session=session, close=True)
            return False
        holders = [s for s in self.sessions if s.authenticated and s.key_id == key]
        if len(holders) >= self.connection_limit:
            await self.send_error(406, session=session, close=True)
            return False
        session.authenticated = session.ever_authenticated = True
        session.key_id = key
        await self._send(session, [{"T": "success", "msg": "authenticated"}])
        await self._notify()
        return True

    async def _subscribe(self, session: TestSession, action: str, message: dict[str, Any]
                         ) -> None:
        changes: dict[str, set[str]] = {}
        for key, value in message.items():
            if key == "action":
                continue
            if key not in _STOCK_CHANNELS or key not in self.carried_channels:
                await self.send_error(410 if isinstance(value, list) else 400, session=session)
                return
            if not isinstance(value, list) or not all(
                    isinstance(v, str) and _SYMBOL.fullmatch(v) for v in value):
                await self.send_error(400, session=session)
                return
            changes[key] = set(value)
        new = {c: set(s) for c, s in session.subscriptions.items()}
        for channel, symbols in changes.items():
            if action == "subscribe":
                new[channel] |= symbols
            else:
                new[channel] -= symbols
        if self.symbol_limit is not None:
            distinct = set().union(*new.values()) - {"*"}
            if len(distinct) > self.symbol_limit:
                await self.send_error(405, session=session)
                return
        session.subscriptions = new
        await self._send(session, [session.reply()])
        await self._notify()

    # -- wire ----------------------------------------------------------------------------

    def _decode(self, frame: bytes | str) -> Any:
        try:
            if isinstance(frame, bytes):
                try:
                    return msgpack.unpackb(frame)
                except Exception:  # noqa: BLE001 - clients may send JSON in binary frames
                    return json.loads(frame)
            return json.loads(frame)
        except Exception:  # noqa: BLE001 - junk is answered with 400
            return None

    async def _send(self, session: TestSession, messages: Sequence[Mapping[str, Any]]) -> None:
        if session.encoding == "msgpack":
            payload: bytes | str = msgpack.packb([self._wire(m, msgpack_ts=True)
                                                  for m in messages])
        else:
            payload = json.dumps([self._wire(m, msgpack_ts=False) for m in messages])
        await session.connection.send(payload)

    def _wire(self, message: Mapping[str, Any], *, msgpack_ts: bool) -> dict[str, Any]:
        out = {"T": message["T"]} if "T" in message else {}
        for key, value in message.items():
            if key == "t" and isinstance(value, int):
                value = (msgpack.Timestamp.from_unix_nano(value) if msgpack_ts
                         else format_timestamp(value, self.timestamp_digits))
            out[key] = value
        return out

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
