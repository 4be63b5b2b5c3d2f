"""Polygon.io (now Massive) stocks stream: a sans-I/O decoder and an asyncio client.

Same two layers as :mod:`tradecore.streams.alpaca`: :class:`PolygonDecoder` turns one JSON frame
into :class:`~tradecore.streams.base.EventBatch` objects of the schema's dtypes, control messages
(:class:`~tradecore.streams.alpaca.Control`) and :class:`~tradecore.streams.vendor.Problem`
reports without I/O; :class:`PolygonStream` is a
:class:`~tradecore.streams.websocket.WebSocketStream`, so queues, reconnects with backoff,
resubscription, :class:`~tradecore.streams.websocket.Gap` reports and keepalive behave exactly as
Alpaca's. Wire facts: protocols.md section 4.

Protocol
    The server greets with ``{"ev": "status", "status": "connected"}``; the client sends
    ``{"action": "auth", "params": KEY}`` and expects ``auth_success``. Subscriptions are topics
    ``<EV>.<TICKER>`` (``T.AAPL,Q.AAPL,AM.*``) sent as one comma-separated ``params`` string;
    the server confirms with ``success`` statuses ``"subscribed to: T.AAPL"`` (one per topic, or
    one listing several: both are accepted) and ``"unsubscribed to: ..."``. A request counts as
    done when every topic it sent was confirmed.

Events (channels are the vendor's event codes, :data:`CHANNELS`)
    ``T`` trade -> :data:`~tradecore.schema.TRADE`: ``i`` (a string) becomes ``trade_id`` when
    it is a decimal number below 2**64, else a stable 63-bit hash with the top bit set.
    ``Q`` quote -> :data:`~tradecore.schema.QUOTE`; sizes are kept as sent (the vendor documents
    round lots), as the Alpaca decoder does. ``A`` (per second) and ``AM`` (per minute)
    aggregates -> :data:`~tradecore.schema.BAR` of kind ``BAR``, ``ts_event`` = window start
    ``s``, ``ts_end`` = window end ``e`` (so the period is ``ts_end - ts_event``), ``vwap`` =
    ``vw``; ``trade_count`` is 0 (not sent: ``z`` is the average trade size). Exchange ids become
    the participant letters Alpaca sends (:data:`EXCHANGE_LETTERS`, unknown ids 0); condition ids
    become the CTA/UTP codes of :data:`~tradecore.streams.alpaca.TRADE_CONDITION_BITS` and
    :data:`~tradecore.streams.alpaca.QUOTE_CONDITION_BITS` where the meaning matches
    (:data:`TRADE_CONDITION_CODES`, :data:`QUOTE_CONDITION_CODES`); ids without a match set
    :data:`~tradecore.streams.alpaca.CONDITION_OTHER`.

Timestamps
    The stream sends Unix milliseconds; nanoseconds (as the REST API) and microseconds (as the
    spec's LULD example) are recognised by magnitude: below 1e14 ms, below 1e17 us, else ns --
    unambiguous for any time after March 1973. Every value is converted exactly (integers only;
    a float or non-positive ``t`` is a ``bad_timestamp``).

Bad input
    As :mod:`tradecore.streams.alpaca` (same categories, counted in ``stats``, logged at WARNING
    once per category): ``malformed_frame``, ``unknown_type`` (``ev`` not T/Q/A/AM/status, e.g.
    LULD or NOI), ``missing_field``, ``bad_field``, ``bad_timestamp``, ``crossed_quote``,
    ``zero_quote``, ``duplicate_trade`` (same id, exchange and time), ``duplicate_quote``,
    ``duplicate_bar``, ``out_of_order_trade`` (kept). The rest of the frame is kept.

Errors
    ``auth_failed`` (or an ``error`` status about authentication) is
    :class:`PolygonAuthError`; ``max_connections`` is :class:`PolygonConnectionLimitError`; an
    ``error`` status saying ``not authorized`` (plan without stream access) is
    :class:`PolygonPermissionError`: all fatal. Any other ``error`` status answering a request
    is raised from :meth:`PolygonStream.subscribe` as :class:`PolygonRequestError` (the
    subscriptions stay as they were); unsolicited it is logged. Dropped connections, timeouts
    and HTTP 429/5xx upgrades are retried with backoff.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection

from tradecore.calendar import session_of
from tradecore.errors import ConfigError, DataError, Error
from tradecore.latency import LatencyStats
from tradecore.streams.alpaca import (
    QUOTE_CONDITION_BITS,
    Control,
    DecodedFrame,
    condition_word,
)
from tradecore.streams.base import EVENT_DTYPES, EventBatch, EventKind, GroupedBatch, Instruments
from tradecore.streams.vendor import BadMessage, Problem, VendorDecoder, excerpt, number, str_or_none
from tradecore.streams.websocket import Backoff, Gap, WebSocketStream

__all__ = [
    "CHANNELS",
    "DEFAULT_URL",
    "EXCHANGE_LETTERS",
    "QUOTE_CONDITION_CODES",
    "TRADE_CONDITION_CODES",
    "PolygonAuthError",
    "PolygonConnectionLimitError",
    "PolygonDataError",
    "PolygonDecoder",
    "PolygonError",
    "PolygonPermissionError",
    "PolygonProtocolError",
    "PolygonRequestError",
    "PolygonStream",
    "environment_key",
    "timestamp_ns",
]

logger = logging.getLogger("tradecore.streams.polygon")

DEFAULT_URL = "wss://socket.massive.com/stocks"
"""Real-time stocks cluster (was ``socket.polygon.io``); ``wss://delayed.massive.com/stocks`` is
the 15-minute delayed one."""

CHANNELS = ("T", "Q", "A", "AM")
"""Event codes a client can subscribe to: trades, quotes, second and minute aggregates."""

API_KEY_VARIABLES = ("MASSIVE_API_KEY", "POLYGON_API_KEY")
"""Environment variables read for the API key, in this order (the vendor's client reads the
first since the rebrand, the second before it)."""

# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class PolygonError(Error):
    """Base of the errors the Polygon stream raises."""

    fatal: bool = False


class PolygonAuthError(PolygonError):
    """The server refused the API key — fatal."""

    fatal = True


class PolygonConnectionLimitError(PolygonError):
    """Another connection with this key holds the cluster's slot (``max_connections``) — fatal."""

    fatal = True


class PolygonPermissionError(PolygonError):
    """The plan does not include this stream, or the URL is refused — fatal."""

    fatal = True


class PolygonRequestError(PolygonError):
    """A subscribe or unsubscribe request was refused; subscriptions unchanged."""


class PolygonProtocolError(PolygonError):
    """The session broke the protocol (unexpected replies, timeouts, drops) — retried."""


class PolygonDataError(PolygonError, DataError):
    """Bad market data under ``bad_input="raise"``; ``problem`` says what and where."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"bad Polygon data ({problem.category}) at {problem.where}: "
                         f"{problem.detail}")
        self.problem = problem


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

EXCHANGE_LETTERS: dict[int, str] = {
    1: "A",  # NYSE American
    2: "B",  # Nasdaq BX
    3: "C",  # NYSE National
    4: "D",  # FINRA ADF / TRFs
    5: "E",  # consolidated quote system (market independent)
    6: "I",  # Nasdaq ISE
    7: "J",  # Cboe EDGA
    8: "K",  # Cboe EDGX
    9: "M",  # NYSE Chicago
    10: "N",  # NYSE
    11: "P",  # NYSE Arca
    12: "Q",  # Nasdaq (Alpaca sends Q)
    13: "S",  # consolidated tape system
    14: "L",  # Long-Term Stock Exchange
    15: "V",  # IEX
    16: "W",  # Cboe (CBSX)
    17: "X",  # Nasdaq PSX
    18: "Y",  # Cboe BYX
    19: "Z",  # Cboe BZX
    20: "H",  # MIAX Pearl
    21: "U",  # MEMX
}
"""Polygon exchange id -> the participant letter stored in ``exchange`` (as Alpaca sends it).
Ids outside the table store 0 ("unknown")."""

TRADE_CONDITION_CODES: dict[int, str] = {
    0: "@",  # regular sale
    1: "A",  # acquisition
    2: "W",  # average price trade
    4: "B",  # bunched trade
    5: "G",  # bunched sold trade
    7: "C",  # cash sale
    8: "6",  # closing prints
    9: "X",  # cross trade
    10: "4",  # derivatively priced
    11: "D",  # distribution
    12: "T",  # form T / extended hours
    13: "U",  # extended hours, sold out of sequence
    14: "F",  # intermarket sweep
    15: "M",  # market center official close
    16: "Q",  # market center official open
    17: "O",  # market center opening trade
    18: "5",  # market center reopening trade
    19: "6",  # market center closing trade
    20: "N",  # next day
    21: "H",  # price variation trade
    22: "P",  # prior reference price
    23: "K",  # rule 155 trade (AMEX)
    24: "K",  # rule 127 (NYSE)
    25: "O",  # opening prints
    27: "1",  # stopped stock, regular trade
    28: "5",  # re-opening prints
    29: "R",  # seller
    30: "L",  # sold last
    32: "Z",  # sold (out of sequence)
    34: "S",  # split trade
    36: "Y",  # yellow flag regular trade
    37: "I",  # odd lot trade
    38: "9",  # corrected consolidated close
    52: "V",  # contingent trade
    53: "7",  # qualified contingent trade
}
"""Polygon sale-condition id -> the CTA/UTP code of :data:`TRADE_CONDITION_BITS` with the same
meaning (Polygon's conditions glossary and its ``sip_mapping``). Ids without a one-letter
equivalent (3 automatic execution, 6 CAP election, 26, 31, 33, 35, 39-51 corrections, cancels
and indicators, 41 trade-through exempt, ...) set ``CONDITION_OTHER``."""

QUOTE_CONDITION_CODES: dict[int, str] = {
    0: "R",  # regular
    1: "R",  # regular, two-sided open
    3: "A",  # slow on the ask
    4: "B",  # slow on the bid
    5: "H",  # slow on bid and ask
    6: "E",  # slow on the bid, LRP or gap quote
    7: "F",  # slow on the ask, LRP or gap quote
    9: "W",  # slow, set slow list, bid and ask
    13: "O",  # opening
    14: "C",  # closing
    16: "T",  # resume
    18: "G",  # trading range indication
    19: "L",  # market maker quotes closed
    20: "N",  # non-firm
    21: "D",  # news dissemination
}
"""Polygon quote-condition id -> CQS/UTP quote condition letter of :data:`QUOTE_CONDITION_BITS`;
other ids set ``CONDITION_OTHER``."""

_NS_PER_MS = 1_000_000
_U63 = 1 << 63
_U64 = 1 << 64
_INF = math.inf


def timestamp_ns(value: Any) -> int:
    """Return a Polygon ``t``/``s``/``e`` value (Unix ms, us or ns by magnitude) as int ns.

    Raises
    ------
    ValueError
        If ``value`` is not a positive integer below 2**63 ns, or is before 2000 (a time in
        seconds would read as milliseconds of 1970).
    """
    if type(value) is not int or value <= 0:
        raise ValueError(f"timestamp must be a positive integer, not {value!r:.40}")
    ns: int = value * _NS_PER_MS if value < 10**14 else value * 1_000 if value < 10**17 else value
    if ns >= _U63:
        raise ValueError(f"timestamp out of range: {value}")
    if ns < _EARLIEST:  # read by magnitude, Unix seconds pass for milliseconds of 1970
        raise ValueError(f"timestamp {value} is before 2000 (seconds, not milliseconds?)")
    return ns


_EARLIEST = 946_684_800 * 10**9  # 2000-01-01 UTC: no stock data this stream carries is older


def _trade_id(value: Any) -> int:
    if type(value) is int and 0 <= value < _U64:
        return value
    if type(value) is not str or not value:
        raise BadMessage("bad_field", f"trade id {value!r}")
    if value.isascii() and value.isdigit() and int(value) < _U64:
        return int(value)
    digest = hashlib.blake2b(value.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") | _U63


def _letter(table: Mapping[int, str], value: Any) -> int:
    letter = table.get(value) if type(value) is int else None
    return ord(letter) if letter else 0


# --------------------------------------------------------------------------------------------
# Decoder
# --------------------------------------------------------------------------------------------


class _PolygonFrame(DecodedFrame):
    """A decoded frame whose problems raise :class:`PolygonDataError`."""

    __slots__ = ()

    def raise_for_problems(self) -> None:
        for problem in self.problems:
            if problem.category != "out_of_order_trade":
                raise PolygonDataError(problem)


class PolygonDecoder(VendorDecoder):
    """Turn Polygon stocks-stream frames into event batches; no I/O.

    Parameters
    ----------
    instruments
        Registry assigning ``instrument_id``; a private one by default.
    dedup_window
        How many recent trades per symbol are remembered to drop duplicates.

    Per-symbol state (recent trade keys, last trade time, last quote and bar) detects
    duplicates and late trades across frames and reconnects
    (:class:`~tradecore.streams.vendor.VendorDecoder`, shared with the Alpaca decoder).
    ``stats`` counts frames, messages, events and each problem category (see the module
    docstring).
    """

    logger = logger

    def decode(self, frame: bytes | str, ts_received: int | None = None) -> DecodedFrame:
        """Decode one frame (JSON text, or JSON in a binary frame).

        Parameters
        ----------
        frame
            The WebSocket message.
        ts_received
            Local receive time (int ns UTC) stamped on every event of the frame, or ``None``.

        Returns
        -------
        DecodedFrame
            One batch per (kind, symbol) in order of first appearance, arrival order within it;
            the status messages as controls; the problems found (already counted and logged).
            Never raises for bad input.
        """
        self._frames += 1
        frame_no = self._frames
        problems: list[Problem] = []
        try:
            messages = json.loads(frame)
        except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: nested too deep
            self._problem(problems, "malformed_frame", frame_no, -1, None,
                          f"{type(exc).__name__}: {exc}; frame starts {excerpt(frame)}")
            return _PolygonFrame([], [], problems)
        if type(messages) is not list:
            self._problem(problems, "malformed_frame", frame_no, -1, None,
                          f"not an array: {excerpt(messages)}")
            return _PolygonFrame([], [], problems)
        self.stats["frames"] += 1
        self.stats["messages"] += len(messages)

        controls: list[Control] = []
        rows: dict[EventKind, list[tuple[Any, ...]]] = {}
        for index, message in enumerate(messages):
            symbol = message.get("sym") if type(message) is dict else None
            try:
                if type(message) is not dict:
                    raise BadMessage("malformed_frame", "not an object")
                ev = message["ev"]
                if ev == "status":
                    controls.append(Control(str(message.get("status", "")),
                                            str(message.get("message", ""))))
                    continue
                parse = _PARSERS.get(ev) if type(ev) is str else None
                if parse is None:
                    raise BadMessage("unknown_type", f"event type {ev!r}")
                kind, row = parse(self, message, symbol, problems, frame_no, index)
                bucket = rows.get(kind)
                if bucket is None:
                    bucket = rows[kind] = []
                bucket.append(row)
            except BadMessage as bad:
                self._problem(problems, bad.category, frame_no, index, str_or_none(symbol),
                              f"{bad.detail}: {excerpt(message)}")
            except KeyError as exc:
                self._problem(problems, "missing_field", frame_no, index, str_or_none(symbol),
                              f"no field {exc}: {excerpt(message)}")
            except (TypeError, ValueError, AttributeError, OverflowError) as exc:
                self._problem(problems, "bad_field", frame_no, index, str_or_none(symbol),
                              f"{type(exc).__name__}: {exc}: {excerpt(message)}")

        parts: list[EventBatch | GroupedBatch] = []
        received = self._received(len(messages), ts_received) if rows else None
        for kind, bucket in rows.items():
            self._emit(parts, kind, EVENT_DTYPES[kind], bucket, received)
        return _PolygonFrame(parts, controls, problems)

    def _id(self, symbol: Any) -> int:
        iid = self._ids.get(symbol)
        if iid is None:
            if type(symbol) is not str or not symbol:
                raise BadMessage("missing_field" if symbol is None else "bad_field",
                           f"symbol {symbol!r}")
            iid = self._ids[symbol] = self.instruments.id_of(symbol)
        return iid

    # -- per event type -------------------------------------------------------------------

    def _trade(self, message: dict[str, Any], symbol: Any, problems: list[Problem],
               frame_no: int, index: int) -> tuple[EventKind, tuple[Any, ...]]:
        iid = self._id(symbol)
        ts = _stamp(message["t"])
        price, size = number(message["p"]), number(message["s"])
        trade_id = _trade_id(message.get("i", "0"))
        if not (0.0 < price < _INF and 0.0 < size < _INF):
            raise BadMessage("bad_field", f"price {price!r}, size {size!r}")
        codes = message.get("c")  # optional: a regular trade often comes without conditions
        if codes is None:
            codes = []
        elif type(codes) is not list:
            raise BadMessage("bad_field", f"conditions {excerpt(codes, 40)}")
        word = condition_word([_condition_code(TRADE_CONDITION_CODES, c) for c in codes])
        exchange = _letter(EXCHANGE_LETTERS, message.get("x"))
        self._check_trade(symbol, (trade_id, exchange, ts), repr(message.get("i")), problems,
                          frame_no, index)
        return EventKind.TRADE, (ts, price, size, trade_id, word, iid, exchange, 0)

    def _quote(self, message: dict[str, Any], symbol: Any, problems: list[Problem],
               frame_no: int, index: int) -> tuple[EventKind, tuple[Any, ...]]:
        iid = self._id(symbol)
        ts = _stamp(message["t"])
        bid, ask = number(message["bp"]), number(message["ap"])
        bid_size, ask_size = number(message["bs"]), number(message["as"])
        if not (0.0 <= bid < _INF and 0.0 <= ask < _INF and 0.0 <= bid_size < _INF
                and 0.0 <= ask_size < _INF):
            raise BadMessage("bad_field", f"bid {bid!r} x {bid_size!r}, ask {ask!r} x {ask_size!r}")
        if bid > ask > 0.0:
            raise BadMessage("crossed_quote", f"bid {bid} > ask {ask}")
        if bid == 0.0 and ask == 0.0:
            raise BadMessage("zero_quote", "bid and ask are both 0")
        condition = message.get("c")
        word = 0 if condition is None else condition_word(
            [_condition_code(QUOTE_CONDITION_CODES, condition)], QUOTE_CONDITION_BITS)
        row = (ts, bid, ask, bid_size, ask_size, word, iid,
               _letter(EXCHANGE_LETTERS, message.get("bx")),
               _letter(EXCHANGE_LETTERS, message.get("ax")), 0)
        self._check_quote(symbol, row)
        return EventKind.QUOTE, row

    def _aggregate(self, message: dict[str, Any], symbol: Any, problems: list[Problem],
                   frame_no: int, index: int) -> tuple[EventKind, tuple[Any, ...]]:
        iid = self._id(symbol)
        start, end = _stamp(message["s"]), _stamp(message["e"])
        o, h, low, c, v = (number(message[k]) for k in ("o", "h", "l", "c", "v"))
        vwap = number(message.get("vw", 0.0))
        if not (0.0 < low <= o <= h < _INF and low <= c <= h and 0 <= v < _INF
                and 0.0 <= vwap < _INF and start < end):
            raise BadMessage("bad_field", f"aggregate o={o!r} h={h!r} l={low!r} c={c!r} v={v!r} "
                       f"s={start} e={end}")
        row = (start, end, o, h, low, c, v, vwap, 0, iid,
               session_of(start), 0)
        self._check_bar((message["ev"], symbol), row, "aggregate")
        return EventKind.BAR, row

def _stamp(value: Any) -> int:
    try:
        return timestamp_ns(value)
    except ValueError as exc:
        raise BadMessage("bad_timestamp", str(exc)) from None


def _condition_code(table: Mapping[int, str], value: Any) -> str:
    if type(value) is not int:
        raise BadMessage("bad_field", f"condition {value!r}")
    return table.get(value, "")  # "" is in no bit table: CONDITION_OTHER


_Parser = Callable[[PolygonDecoder, dict[str, Any], Any, list[Problem], int, int],
                   tuple[EventKind, tuple[Any, ...]]]
_PARSERS: dict[str, _Parser] = {
    "T": PolygonDecoder._trade,
    "Q": PolygonDecoder._quote,
    "A": PolygonDecoder._aggregate,
    "AM": PolygonDecoder._aggregate,
}


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


def environment_key() -> str:
    """The API key from the environment (:data:`API_KEY_VARIABLES`); a :class:`ConfigError`
    naming the variables when none is set."""
    key = next((os.environ[v] for v in API_KEY_VARIABLES if os.environ.get(v)), None)
    if not key:
        raise ConfigError("Polygon API key missing: set MASSIVE_API_KEY (or POLYGON_API_KEY), "
                          "or pass api_key=")
    return key


class PolygonStream(WebSocketStream):
    """Live Polygon/Massive stocks stream: trades, quotes, second and minute aggregates.

    Parameters
    ----------
    url
        Cluster URL, ``ws://`` or ``wss://``; default :data:`DEFAULT_URL`.
    api_key
        The API key; default from ``MASSIVE_API_KEY``, else ``POLYGON_API_KEY``. Never logged.
    channels
        Event codes :meth:`subscribe` uses when none are given, from :data:`CHANNELS`.
    instruments
        Registry for ``instrument_id``; a private one by default.
    bad_input, queue_capacity, max_backlog, backoff, ping_interval, ping_timeout, reply_timeout, on_gap,
    latency, native_receive
        As for :class:`~tradecore.streams.websocket.WebSocketStream`.
    """

    CHANNELS = CHANNELS
    provider = "Polygon"
    provider_error = PolygonError
    protocol_error = PolygonProtocolError
    permission_error = PolygonPermissionError
    request_error = PolygonRequestError

    def __init__(
        self,
        *,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        channels: Iterable[str] = ("T", "Q"),
        instruments: Instruments | None = None,
        bad_input: Literal["skip", "raise"] = "skip",
        queue_capacity: int = 1_000,
        max_backlog: int = 100_000,
        backoff: Backoff = Backoff(),
        ping_interval: float | None = 10.0,
        ping_timeout: float | None = 20.0,
        reply_timeout: float = 10.0,
        on_gap: Callable[[Gap], None] | None = None,
        latency: LatencyStats | None = None,
        native_receive: bool = True,
    ) -> None:
        api_key = api_key or environment_key()
        super().__init__(
            url=url, decoder=PolygonDecoder(instruments=instruments), secrets=(api_key,),
            logger=logger, channels=channels, bad_input=bad_input,
            queue_capacity=queue_capacity, max_backlog=max_backlog, backoff=backoff,
            ping_interval=ping_interval, ping_timeout=ping_timeout,
            reply_timeout=reply_timeout, on_gap=on_gap, latency=latency,
            native_receive=native_receive)
        self._api_key = api_key

    # -- WebSocketStream hooks --------------------------------------------------------------

    async def _handshake(self, ws: ClientConnection) -> None:
        welcome = await self._await_control(ws, None)
        if welcome.type != "connected":
            raise PolygonProtocolError(f"expected the 'connected' status, got {welcome.type!r} "
                                       f"{welcome.message!r}")
        reply = await self._await_control(
            ws, json.dumps({"action": "auth", "params": self._api_key}))
        if reply.type != "auth_success":
            raise PolygonProtocolError(f"expected 'auth_success', got {reply.type!r} "
                                       f"{reply.message!r}")

    def _encode_request(self, action: str, delta: Mapping[str, list[str]]) -> str:
        return json.dumps({"action": action, "params": ",".join(_topics(delta))})

    def _reply_acceptor(self, action: str, delta: Mapping[str, list[str]]
                        ) -> Callable[[Control], bool]:
        remaining = set(_topics(delta))
        prefixes = (("subscribed to:",) if action == "subscribe"
                    else ("unsubscribed to:", "unsubscribed from:"))

        def accept(control: Control) -> bool:
            text = control.message
            if control.type != "success" or not text.startswith(prefixes):
                return False  # other statuses may come and go while the request waits
            remaining.difference_update(t.strip() for t in text.split(":", 1)[1].split(","))
            return not remaining

        return accept

    def _error_of(self, control: Control) -> PolygonError | None:
        status, text = control.type, control.message
        if status == "auth_failed":
            return PolygonAuthError(f"Polygon stream refused the API key ({text!r}): check "
                                    "MASSIVE_API_KEY / POLYGON_API_KEY")
        if status == "max_connections":
            return PolygonConnectionLimitError(
                f"Polygon stream connection limit ({text!r}): another connection with this key "
                "is open to this cluster; close it or upgrade the plan")
        if status != "error":
            return None
        lowered = text.lower()
        if "auth" in lowered and "fail" in lowered:
            return PolygonAuthError(f"Polygon stream refused the API key ({text!r}): check "
                                    "MASSIVE_API_KEY / POLYGON_API_KEY")
        if "not authorized" in lowered:
            return PolygonPermissionError(
                f"Polygon stream: {text!r}: the plan does not include this stream")
        return PolygonRequestError(f"Polygon stream error {text!r}")


def _topics(delta: Mapping[str, Iterable[str]]) -> list[str]:
    return [f"{channel}.{symbol}" for channel, symbols in delta.items() for symbol in symbols]
