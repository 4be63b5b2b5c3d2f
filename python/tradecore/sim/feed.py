"""Market-data streams served over WebSocket: the shared server and the Alpaca v2 protocol.

:class:`FeedServer` is the protocol-free part every vendor emulation shares (sessions, limits,
fan-out, slow-client drops, lifecycle); :class:`tradecore.sim.polygon_feed.PolygonFeedServer`
speaks Polygon/Massive on it. :class:`AlpacaFeedServer` holds the Alpaca protocol
(protocols.md section 1 and the emulator checklist, section 7): welcome first, auth by upgrade
headers or by message (deadline 404, 402, 403, 401 before auth, 406 per key), subscriptions as sets answered with the full set (``corrections`` /
``cancelErrors`` mirror ``trades``), an optional symbol limit (405), 400 on junk, 410 on
channels the feed does not carry, JSON or msgpack chosen by the upgrade's ``Content-Type``,
``T`` written first in every object, msgpack ``t`` as the Timestamp extension, control
messages alone. :class:`MarketFeed` serves a :class:`~tradecore.sim.market.Market` through it;
:class:`tradecore.streams.testing.AlpacaTestServer` adds scripting hooks for tests.

Fan-out: each market event is encoded once per encoding in use (a packed msgpack map or a JSON
object text); a client's frame is the array header followed by the encodings of the events it
subscribed to, so ten clients cost little more than one. Each client has a bounded outbox
(``max_queued`` messages); a client that lets it fill is sent ``407 slow client`` and
disconnected, as the vendor does, instead of growing memory.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import http
import itertools
import json
import logging
import math
import re
import struct
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, TypeVar

import msgpack
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tradecore.sim.market import Market
from tradecore.streams.alpaca import TRADE_CONDITION_BITS, format_timestamp
from tradecore.streams.base import EventBatch, EventKind
from tradecore.tasks import start_task

__all__ = [
    "CHANNEL_OF_KIND",
    "ERROR_MESSAGES",
    "STOCK_CHANNELS",
    "AlpacaFeedServer",
    "FeedServer",
    "FeedSession",
    "MarketFeed",
    "encode_batch",
]

logger = logging.getLogger("tradecore.sim.feed")

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

CHANNEL_OF_TYPE = {
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
CHANNEL_OF_KIND = {
    EventKind.TRADE: "trades",
    EventKind.QUOTE: "quotes",
    EventKind.BAR: "bars",
    EventKind.UPDATED_BAR: "updatedBars",
    EventKind.DAILY_BAR: "dailyBars",
    EventKind.STATUS: "statuses",
    EventKind.LULD: "lulds",
    EventKind.CORRECTION: "trades",
    EventKind.CANCEL_ERROR: "trades",
}
STOCK_CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds",
                  "imbalances")
_Server = TypeVar("_Server", bound="FeedServer")
_SYMBOL = re.compile(r"\*|[A-Z][A-Z0-9.\-/]{0,15}")
_NS = 1_000_000_000


# -- session -----------------------------------------------------------------------------------


@dataclass(eq=False)
class FeedSession:
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
        default_factory=lambda: {c: set() for c in STOCK_CHANNELS})
    received: list[Any] = field(default_factory=list)  # client messages, if the server records
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    outbox: collections.deque[tuple[int, bytes | str]] = field(default_factory=collections.deque)
    queued: int = 0  # messages in the outbox
    sent: int = 0  # data messages written
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    dropping: bool = False  # being disconnected as a slow client

    def wants(self, message: Mapping[str, Any]) -> bool:
        """Whether this session subscribed to ``message``'s channel and symbol."""
        channel = CHANNEL_OF_TYPE.get(message.get("T", ""))
        if channel is None:
            return True  # unknown types are scripted on purpose: send them
        return self.wants_symbol(channel, message.get("S"))

    def wants_symbol(self, channel: str, symbol: Any) -> bool:
        """Whether this session subscribed to ``symbol`` on ``channel``."""
        if not self.authenticated:
            return False
        symbols = self.subscriptions[channel]
        return "*" in symbols or symbol in symbols

    def reply(self) -> dict[str, Any]:
        """The full subscription reply for this session."""
        subs = self.subscriptions
        return {"T": "subscription", "trades": sorted(subs["trades"]),
                "quotes": sorted(subs["quotes"]), "bars": sorted(subs["bars"]),
                "updatedBars": sorted(subs["updatedBars"]),
                "dailyBars": sorted(subs["dailyBars"]), "statuses": sorted(subs["statuses"]),
                "lulds": sorted(subs["lulds"]), "corrections": sorted(subs["trades"]),
                "cancelErrors": sorted(subs["trades"])}


# -- server ------------------------------------------------------------------------------------


class FeedServer(abc.ABC):
    """A market-data WebSocket server without a protocol: sessions, fan-out, limits, lifecycle.

    Subclasses implement :meth:`_serve` (the conversation with one client) and :meth:`_send`
    (one frame of messages), and may override :meth:`_new_session` and
    :meth:`_disconnect_slow_session`.

    Parameters
    ----------
    host, port
        Where to listen; port 0 picks a free one (see :attr:`url`).
    auth_timeout
        Seconds a client has to authenticate.
    symbol_limit
        Maximum symbols per session across channels, ``None`` for no limit.
    connection_limit
        Authenticated sessions per key.
    max_connections
        Open connections in all; upgrades beyond are refused with HTTP 429.
    max_queued
        Data messages a client may have waiting before it is dropped as slow.
    max_message_bytes
        Largest client message accepted (the connection is closed with 1009 beyond).
    record_received
        Keep every client message in :attr:`FeedSession.received` (tests).
    ping_interval
        Seconds between server pings (a client that stops answering is closed); None: none.
    """

    server_logger = "tradecore.sim.feed.server"
    """Logger of the websockets server (its DEBUG lines show client frames, keys included)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth_timeout: float = 10.0,
        symbol_limit: int | None = None,
        connection_limit: int = 1,
        max_connections: int = 64,
        max_queued: int = 200_000,
        max_message_bytes: int = 1 << 20,
        record_received: bool = False,
        ping_interval: float | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.auth_timeout = auth_timeout
        self.symbol_limit = symbol_limit
        self.connection_limit = connection_limit
        self.max_connections = max_connections
        self.max_queued = max_queued
        self.max_message_bytes = max_message_bytes
        self.record_received = record_received
        self.ping_interval = ping_interval
        self.sessions: list[FeedSession] = []
        """Open sessions, oldest first."""
        self.history: list[FeedSession] = []
        """Every session ever opened (kept only when recording)."""
        self.stats: dict[str, int] = dict.fromkeys(
            ("connections", "refused", "slow_clients", "messages_sent", "frames_sent",
             "client_errors"), 0)
        self._server: Server | None = None
        self._numbers = itertools.count(1)
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self: _Server) -> _Server:
        """Start listening; return self."""
        self._server = await serve(self._handle, self.host, self.port,
                                   process_request=self._process_request,
                                   ping_interval=self.ping_interval,
                                   # A client with a backlog may never read our close frame.
                                   close_timeout=2.0,
                                   max_size=self.max_message_bytes,
                                   logger=logging.getLogger(self.server_logger))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening and close every session."""
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            await asyncio.shield(server.wait_closed())
        for task in list(self._tasks):
            task.cancel()

    async def __aenter__(self: _Server) -> _Server:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """``ws://host:port/`` (subclasses name the vendor's path; any path is served)."""
        return f"ws://{self.host}:{self.port}/"

    # -- sessions ------------------------------------------------------------------------

    def _start_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        return start_task(coro, name, owner=self._tasks, log=logger)

    def _process_request(self, connection: ServerConnection, request: Request
                         ) -> Response | None:
        if len(self.sessions) >= self.max_connections:
            self.stats["refused"] += 1
            return connection.respond(http.HTTPStatus.TOO_MANY_REQUESTS,
                                      "connection limit exceeded\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        assert request is not None
        session = self._new_session(next(self._numbers), connection, request)
        self.sessions.append(session)
        if self.record_received:
            self.history.append(session)
        self.stats["connections"] += 1
        writer = self._start_task(self._write(session), f"feed-writer-{session.number}")
        try:
            await self._serve(session)
        except ConnectionClosed:
            pass
        except Exception:
            logger.exception("session %d failed", session.number)
            try:
                await self._report_failure(session)
            except Exception:  # noqa: BLE001
                pass
        finally:
            writer.cancel()
            self.sessions.remove(session)
            session.authenticated = False
            session.outbox.clear()
            session.closed.set()
            await self._notify()

    def _new_session(self, number: int, connection: ServerConnection, request: Request
                     ) -> FeedSession:
        """Return the session object for a new connection (JSON unless a subclass says)."""
        return FeedSession(number=number, connection=connection, encoding="json",
                           path=request.path, headers=request.headers)

    @abc.abstractmethod
    async def _serve(self, session: FeedSession) -> None:
        """Hold the conversation with one client until it ends."""

    @abc.abstractmethod
    async def _send(self, session: FeedSession, messages: Sequence[Mapping[str, Any]]) -> None:
        """Send ``messages`` as one frame."""

    async def _report_failure(self, session: FeedSession) -> None:
        """Tell a client the server failed while serving it, and close (default: just close)."""
        await session.connection.close()

    @abc.abstractmethod
    async def _refuse_late_auth(self, session: FeedSession) -> None:
        """Tell a client it did not authenticate within ``auth_timeout``, and close."""

    async def _next_request(self, session: FeedSession, deadline: float) -> bytes | str | None:
        """The client's next frame; an unauthenticated client gets until ``deadline`` (loop
        time), after which it is refused and None is returned."""
        if session.authenticated:
            return await session.connection.recv()
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(session.connection.recv(), max(0.0, deadline - loop.time()))
        except TimeoutError:
            await self._refuse_late_auth(session)
            return None

    async def _disconnect_slow_session(self, session: FeedSession) -> None:
        """Tell a client it was too slow, and close (default: just close)."""
        await session.connection.close()

    # -- data fan-out --------------------------------------------------------------------

    def enqueue(self, session: FeedSession, count: int, encoded: bytes | str) -> None:
        """Queue ``count`` encoded data messages (see :func:`encode_batch`) for ``session``."""
        if session.dropping:
            return
        if session.queued + count > self.max_queued:
            self._drop_slow(session)
            return
        session.outbox.append((count, encoded))
        session.queued += count
        session.wake.set()

    def _drop_slow(self, session: FeedSession) -> None:
        session.dropping = True
        session.outbox.clear()
        session.queued = 0
        self.stats["slow_clients"] += 1
        logger.warning("session %d is too slow: disconnecting", session.number)
        self._start_task(self._disconnect_slow(session), f"feed-drop-{session.number}")

    async def _disconnect_slow(self, session: FeedSession) -> None:
        try:
            await asyncio.wait_for(self._disconnect_slow_session(session), 2.0)
        except (TimeoutError, ConnectionClosed, OSError):
            pass
        finally:
            if session.connection.transport is not None:
                session.connection.transport.abort()

    async def _write(self, session: FeedSession) -> None:
        """Drain the outbox: join queued encodings into frames of up to ~64 KiB."""
        msgpack_mode = session.encoding == "msgpack"
        while True:
            await session.wake.wait()
            session.wake.clear()
            while session.outbox and not session.dropping:
                count, parts, size = 0, [], 0
                while session.outbox and size < 65_536:
                    n, encoded = session.outbox.popleft()
                    count += n
                    size += len(encoded)
                    parts.append(encoded)
                session.queued -= count
                if msgpack_mode:
                    frame: bytes | str = _array_header(count) + b"".join(parts)  # type: ignore[arg-type]
                else:
                    frame = "[" + ",".join(parts) + "]"  # type: ignore[arg-type]
                await session.connection.send(frame)
                session.sent += count
                self.stats["messages_sent"] += count
                self.stats["frames_sent"] += 1

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


class AlpacaFeedServer(FeedServer):
    """An Alpaca stock-stream server (the protocol; see the module docstring).

    Parameters
    ----------
    key_id, secret_key
        The only credentials accepted; ``None`` for both accepts any keys.
    carried_channels
        Channels this feed carries; others get 410.
    timestamp_digits
        Fractional digits of JSON timestamps (Alpaca varies between 0 and 9).
    **options
        Those of :class:`FeedServer`: the auth deadline answers 404, the symbol limit 405, the
        per-key connection limit 406, a slow client is sent 407 before it is dropped.
    """

    def __init__(self, *, key_id: str | None = None, secret_key: str | None = None,
                 carried_channels: Iterable[str] = STOCK_CHANNELS, timestamp_digits: int = 9,
                 **options: Any) -> None:
        super().__init__(**options)
        self.key_id = key_id
        self.secret_key = secret_key
        self.carried_channels = frozenset(carried_channels)
        self.timestamp_digits = timestamp_digits

    @property
    def url(self) -> str:
        """``ws://host:port/v2/sip`` (any path is served)."""
        return f"ws://{self.host}:{self.port}/v2/sip"

    def _new_session(self, number: int, connection: ServerConnection, request: Request
                     ) -> FeedSession:
        content_type = request.headers.get("Content-Type", "")
        return FeedSession(number=number, connection=connection,
                           encoding="msgpack" if "msgpack" in content_type else "json",
                           path=request.path, headers=request.headers)

    async def _report_failure(self, session: FeedSession) -> None:
        await self.send_error(500, session=session, close=True)

    async def _disconnect_slow_session(self, session: FeedSession) -> None:
        await self.send_error(407, session=session, close=True)

    async def _refuse_late_auth(self, session: FeedSession) -> None:
        await self.send_error(404, session=session, close=True)

    # -- protocol ------------------------------------------------------------------------

    async def _serve(self, session: FeedSession) -> None:
        await self._send(session, [{"T": "success", "msg": "connected"}])
        headers = session.headers
        if "APCA-API-KEY-ID" in headers:
            if not await self._authenticate(session, headers["APCA-API-KEY-ID"],
                                            headers.get("APCA-API-SECRET-KEY", "")):
                return
        deadline = asyncio.get_running_loop().time() + self.auth_timeout
        while True:
            frame = await self._next_request(session, deadline)
            if frame is None:
                return
            message = self._decode(frame)
            if self.record_received:
                session.received.append(message)
            await self._notify()
            if not isinstance(message, dict) or not isinstance(message.get("action"), str):
                self.stats["client_errors"] += 1
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
                self.stats["client_errors"] += 1
                await self.send_error(400, session=session)

    def _credentials_ok(self, key: Any, secret: Any) -> bool:
        if self.key_id is None and self.secret_key is None:
            return isinstance(key, str) and bool(key) and isinstance(secret, str)
        return bool(key == self.key_id and secret == self.secret_key)

    async def _authenticate(self, session: FeedSession, key: Any, secret: Any) -> bool:
        if not self._credentials_ok(key, secret):
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

    async def _subscribe(self, session: FeedSession, action: str, message: dict[str, Any]
                         ) -> None:
        changes: dict[str, set[str]] = {}
        for key, value in message.items():
            if key == "action":
                continue
            if key not in STOCK_CHANNELS or key not in self.carried_channels:
                self.stats["client_errors"] += 1
                await self.send_error(410 if isinstance(value, list) else 400, session=session)
                return
            if not isinstance(value, list) or not all(
                    isinstance(v, str) and _SYMBOL.fullmatch(v) for v in value):
                self.stats["client_errors"] += 1
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

    async def send_error(self, code: int, *, session: FeedSession | None = None,
                         close: bool = False) -> None:
        """Send the error message for ``code``; close the session afterwards if asked."""
        for target in [session] if session is not None else list(self.sessions):
            await self._send(target, [{"T": "error", "code": code,
                                       "msg": ERROR_MESSAGES.get(code, "error")}])
            if close:
                await target.connection.close()

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

    async def _send(self, session: FeedSession, messages: Sequence[Mapping[str, Any]]) -> None:
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


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x90 | n,))
    if n < 65_536:
        return b"\xdc" + struct.pack(">H", n)
    return b"\xdd" + struct.pack(">I", n)


# -- encoding market events --------------------------------------------------------------------

_CONDITION_CODES: dict[int, list[str]] = {}
_STATUS_TEXT = {"H": "Trading Halt", "Q": "Quotation Resumption", "T": "Trading Resumption",
                "P": "Volatility Trading Pause", "2": "Trading Halt", "3": "Resume"}
_REASON_TEXT = {"LUDP": "Volatility Trading Pause", "T1": "Halt News Pending",
                "T2": "Halt News Dissemination", "M": "Limit Up-Limit Down (LULD) Trading Pause"}


def _codes(word: int) -> list[str]:
    found = _CONDITION_CODES.get(word)
    if found is None:
        found = [code for code, bit in TRADE_CONDITION_BITS.items() if word & bit]
        _CONDITION_CODES[word] = found
    return found


_CHR = [chr(i) for i in range(256)]
_QUOTE_CODES: dict[int, list[str]] = {}


def _quote_codes(word: int) -> list[str]:
    found = _QUOTE_CODES.get(word)
    if found is None:
        found = _QUOTE_CODES[word] = [chr(ord("A") + k) for k in range(26) if word >> k & 1]
    return found


class _Stamps:
    """RFC 3339 text of int ns, caching the whole-second prefix (events come in time order)."""

    def __init__(self, digits: int) -> None:
        self.digits = digits
        self.second = -1
        self.prefix = ""

    def __call__(self, ns: int) -> str:
        second, nanos = divmod(ns, _NS)
        if second != self.second:
            self.second = second
            self.prefix = datetime.fromtimestamp(second, tz=timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S")
        if self.digits:
            return f"{self.prefix}.{nanos:09d}"[: 20 + self.digits] + "Z"
        return self.prefix + "Z"


def _messages(batch: EventBatch, tape: str) -> list[dict[str, Any]]:
    """The batch's events as Alpaca messages with ``t`` as int ns (``T`` first)."""
    e = batch.events
    s = batch.symbol
    kind = batch.kind
    ts = e["ts_event"].tolist()
    # One tolist() per batch (rows as tuples in dtype field order): most batches hold a single
    # event, so per-column conversions would cost more than the messages themselves.
    if kind is EventKind.TRADE:
        # ts_event, price, size, trade_id, conditions, instrument_id, exchange, flags
        return [{"T": "t", "S": s, "i": i, "x": _CHR[x], "p": p, "s": int(z), "c": _codes(c),
                 "t": t, "z": tape}
                for t, p, z, i, c, _, x, _ in e.tolist()]
    if kind is EventKind.QUOTE:
        # ts_event, bid/ask price, bid/ask size, conditions, instrument_id, bid/ask exchange, flags
        return [{"T": "q", "S": s, "bx": _CHR[bx], "bp": bp, "bs": int(bs), "ax": _CHR[ax],
                 "ap": ap, "as": int(az), "c": _quote_codes(c), "t": t, "z": tape}
                for t, bp, ap, bs, az, c, _, bx, ax, _ in e.tolist()]
    if kind in (EventKind.BAR, EventKind.UPDATED_BAR, EventKind.DAILY_BAR):
        code = {EventKind.BAR: "b", EventKind.UPDATED_BAR: "u", EventKind.DAILY_BAR: "d"}[kind]
        return [{"T": code, "S": s, "o": o, "h": h, "l": lo, "c": c, "v": int(v), "t": t,
                 "n": n, "vw": round(vw, 6) if math.isfinite(vw) else 0.0}
                for o, h, lo, c, v, t, n, vw in zip(
                    e["open"].tolist(), e["high"].tolist(), e["low"].tolist(),
                    e["close"].tolist(), e["volume"].tolist(), ts, e["trade_count"].tolist(),
                    e["vwap"].tolist())]
    if kind is EventKind.STATUS:
        out = []
        for row, t in zip(e, ts):
            sc = row["status_code"].decode()
            rc = row["reason_code"].decode()
            out.append({"T": "s", "S": s, "sc": sc, "sm": _STATUS_TEXT.get(sc, ""), "rc": rc,
                        "rm": _REASON_TEXT.get(rc, ""), "t": t, "z": tape})
        return out
    if kind is EventKind.LULD:
        return [{"T": "l", "S": s, "u": u, "d": d, "i": chr(i), "t": t, "z": tape}
                for u, d, i, t in zip(e["limit_up"].tolist(), e["limit_down"].tolist(),
                                      e["indicator"].tolist(), ts)]
    if kind is EventKind.CORRECTION:
        return [{"T": "c", "S": s, "x": chr(int(r["exchange"])),
                 "oi": int(r["original_trade_id"]), "op": float(r["original_price"]),
                 "os": int(r["original_size"]), "oc": _codes(int(r["original_conditions"])),
                 "ci": int(r["corrected_trade_id"]), "cp": float(r["corrected_price"]),
                 "cs": int(r["corrected_size"]), "cc": _codes(int(r["corrected_conditions"])),
                 "t": t, "z": tape} for r, t in zip(e, ts)]
    if kind is EventKind.CANCEL_ERROR:
        return [{"T": "x", "S": s, "i": int(r["trade_id"]), "x": chr(int(r["exchange"])),
                 "p": float(r["price"]), "s": int(r["size"]), "a": chr(int(r["action"])),
                 "t": t, "z": tape} for r, t in zip(e, ts)]
    return []


_PACKER = msgpack.Packer()


def encode_batch(batch: EventBatch, encoding: str, *, tape: str = "C",
                 stamps: Callable[[int], str] | None = None) -> bytes | str:
    """Encode a batch's events for one encoding, without the enclosing array.

    msgpack: the packed maps back to back (``t`` a Timestamp extension); JSON: the objects
    joined by commas. :meth:`AlpacaFeedServer.enqueue` takes the result.
    """
    messages = _messages(batch, tape)
    if encoding == "msgpack":
        from_ns = msgpack.Timestamp.from_unix_nano
        for m in messages:
            m["t"] = from_ns(m["t"])
        packed: bytes = _PACKER.pack(messages)  # one C call; drop the array header
        return packed[_header_size(len(messages)):]
    stamp = stamps or _Stamps(9)
    for m in messages:
        m["t"] = stamp(m["t"])
    return _JSON(messages)[1:-1]


def _header_size(n: int) -> int:
    return 1 if n < 16 else 3 if n < 65_536 else 5


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class MarketFeed(AlpacaFeedServer):
    """Serve a :class:`~tradecore.sim.market.Market`'s events as the Alpaca stock stream.

    Keyword arguments are those of :class:`AlpacaFeedServer`; by default any keys are
    accepted, five connections per key and 64 in all, 10,000 symbols per connection, a ping
    every 20 s.
    """

    def __init__(self, market: Market, **options: Any) -> None:
        options.setdefault("connection_limit", 5)
        options.setdefault("ping_interval", 20.0)  # reap clients whose TCP died silently
        options.setdefault("symbol_limit", 10_000)
        super().__init__(**options)
        self.market = market
        self._tapes: dict[str, str] = {}
        self._stamps = _Stamps(self.timestamp_digits)
        self.published = 0
        self.muted: set[str] = set()
        """Symbols whose events are not sent (a vendor going quiet on them, for feed-health tests)."""

    async def start(self) -> MarketFeed:
        await super().start()
        self.market.add_listener(self.on_batch)
        return self

    async def close(self) -> None:
        self.market.remove_listener(self.on_batch)
        await super().close()

    def _tape(self, symbol: str) -> str:
        tape = self._tapes.get(symbol)
        if tape is None:
            asset = self.market.asset(symbol)
            exchange = asset.exchange if asset is not None else ""
            tape = self._tapes[symbol] = {"NASDAQ": "C", "NYSE": "A"}.get(exchange, "B")
        return tape

    def on_batch(self, batch: EventBatch) -> None:
        """The market listener: encode once per encoding in use, queue for subscribers."""
        channel = CHANNEL_OF_KIND.get(batch.kind)
        if channel is None or not len(batch.events) or batch.symbol in self.muted:
            return
        symbol = batch.symbol
        encoded: dict[str, bytes | str] = {}
        count = len(batch.events)
        for session in self.sessions:
            if session.dropping or not session.wants_symbol(channel, symbol):
                continue
            blob = encoded.get(session.encoding)
            if blob is None:
                blob = encoded[session.encoding] = encode_batch(
                    batch, session.encoding, tape=self._tape(symbol), stamps=self._stamps)
            self.enqueue(session, count, blob)
            self.published += count
