"""Alpaca market data v2 stock stream: a sans-I/O decoder and an asyncio client.

Two layers, as in ``websockets``: :class:`AlpacaDecoder` turns one WebSocket frame (JSON text or
msgpack bytes) into normalised :class:`~tradecore.streams.base.EventBatch` objects and control
messages without doing any I/O, and :class:`AlpacaStream` is the client that owns the
connection, handshake, subscriptions, reconnects and per-symbol queues.

Policies (the documentation of record; tests check each one)
-------------------------------------------------------------
Bad input
    Every problem is counted in ``stats`` under its category, logged at WARNING the first time
    its category occurs (with the frame number, message index, symbol and an excerpt), and at
    DEBUG afterwards. The rest of the frame is kept: nothing valid is lost. Categories:

    ``malformed_frame``  frame is not JSON/msgpack, or not an array of objects: frame skipped.
    ``unknown_type``     ``T`` not a stock message type this client knows (e.g. imbalances):
                         skipped.
    ``missing_field``    a required field is absent: message skipped.
    ``bad_field``        a field has the wrong type or an impossible value (price <= 0, NaN,
                         negative size, an exchange code longer than one letter, low > high, ...):
                         message skipped.
    ``bad_timestamp``    ``t`` is not RFC 3339 (JSON) or a msgpack Timestamp / int ns: skipped.
    ``crossed_quote``    bid > ask with both sides present: skipped (locked quotes are kept).
    ``zero_quote``       both prices 0 (no side present): skipped. One side 0 is a one-sided
                         quote and is kept, as the schema says 0 means "side absent".
    ``duplicate_trade``  same (trade id, exchange, ts) as a trade already seen for the symbol
                         (the last ~``dedup_window`` trades per symbol are remembered): skipped.
    ``duplicate_quote``  identical to the previous quote of the symbol (same ts and values):
                         skipped. Same for bars (``duplicate_bar``).
    ``out_of_order_trade`` older than the newest trade of the symbol: **kept** (late prints are
                         real prints that downstream bar building amends with), only counted.
    ``truncated_code``   a status/reason code longer than 4 bytes: kept, truncated to 4.

    With ``bad_input="raise"`` the stream still delivers every valid event of the frame first,
    then raises :class:`AlpacaDataError` (a :class:`~tradecore.errors.DataError`) from the
    iterator at that point in the stream; iterating again continues with the next events.
    ``out_of_order_trade`` and ``truncated_code`` are never raised (the data is kept).

Batches
    One frame gives one batch per (kind, symbol), in arrival order within it; a frame's trades
    and quotes of one symbol are separate batches, so order *across kinds* is by ``ts_event``,
    not by position in the frame.

Decoding speed
    A frame of nothing but well-formed trades, quotes and bars of symbols already seen (nearly
    every frame) is decoded natively, a column at a time
    (``tradecore._core.streams.CleanFrameDecoder``). Any other frame (a problem above, a
    control message, a status, a timestamp in an unusual form, a new symbol) is decoded message
    by message, the only place these rules live; the result is the same either way.

Queues (slow consumer)
    Each symbol has its own queue; the iterator serves symbols round-robin, so per-symbol order
    is arrival order. ``queue_capacity`` events per symbol is the conflation threshold: once a
    symbol holds that many, a new quote replaces every quote still queued for it and only the
    newest quote of the batch is kept (``quotes_conflated`` counts the quotes dropped). Trades
    and every other kind are never dropped: they queue past the capacity up to
    ``max_backlog`` events per symbol, and beyond that the receive loop stops reading the socket
    until the consumer has caught up (``backpressure_waits``). If that lasts, Alpaca
    disconnects the client with 407 ``slow client``; the client reconnects and reports the
    :class:`Gap`, so even then no loss is silent.

Gaps
    When a session that was live ends, the client reconnects, and as soon as it is
    authenticated again (before resubscribing, so before any event of the new session) it
    appends a :class:`Gap` to :attr:`AlpacaStream.gaps` and calls ``on_gap(gap)`` if given. The
    events missed for a symbol lie after ``gap.last_seen_ts[symbol]`` (vendor time of the last
    event received for it, any kind; absent if none was) and before the first event of that
    symbol the iterator yields after the gap; ``disconnected_at`` and ``reconnected_at`` are
    the local clock (ns UTC) and bound the window from outside. Backfill from a history source
    over ``(last_seen_ts, reconnected_at]``; trades are deduplicated by id on the live side.

Errors
    Server error codes map to exceptions in :data:`ERROR_CODES`: 402 ``auth failed``,
    406 ``connection limit exceeded``, 409 ``insufficient subscription`` and 411 ``insufficient
    scope`` are fatal (no retry: the stream ends and the iterator raises the error after the
    queued events). 400, 405 and 410 answer a (un)subscribe request and are raised from
    :meth:`AlpacaStream.subscribe`; the session goes on. Everything else (401, 403, 404, 407,
    500, unknown codes, dropped connections, missed pongs, HTTP 429/5xx on the upgrade) is
    retried with exponential backoff and jitter, reset after each session that got live.
"""

from __future__ import annotations

import calendar
import json
import logging
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

import msgpack
from websockets.asyncio.client import ClientConnection

from tradecore import schema
from tradecore._native import _core
from tradecore.calendar import session_of
from tradecore.errors import ConfigError, DataError, Error
from tradecore.latency import LatencyStats
from tradecore.streams.base import (
    EVENT_DTYPES,
    EventBatch,
    EventKind,
    GroupedBatch,
    Instruments,
)
from tradecore.streams.vendor import (
    BadMessage,
    Problem,
    VendorDecoder,
    excerpt,
    number,
    str_or_none,
)
from tradecore.streams.websocket import Backoff, Gap, WebSocketStream

__all__ = [
    "CHANNELS",
    "CONDITION_OTHER",
    "DEFAULT_URL",
    "ERROR_CODES",
    "QUOTE_CONDITION_BITS",
    "TRADE_CONDITION_BITS",
    "AlpacaAuthError",
    "AlpacaConnectionLimitError",
    "AlpacaDataError",
    "AlpacaDecoder",
    "AlpacaError",
    "AlpacaPermissionError",
    "AlpacaProtocolError",
    "AlpacaRequestError",
    "AlpacaServerError",
    "AlpacaSlowClientError",
    "AlpacaStream",
    "AlpacaSymbolLimitError",
    "Backoff",
    "Control",
    "DecodedFrame",
    "Gap",
    "Problem",
    "condition_word",
    "error_from_code",
    "format_timestamp",
    "parse_timestamp",
]

logger = logging.getLogger("tradecore.streams.alpaca")

DEFAULT_URL = "wss://stream.data.alpaca.markets/v2/iex"
"""The IEX feed (free plan). ``.../v2/sip`` is the consolidated feed, ``.../v2/test`` the test
stream (symbol ``FAKEPACA``)."""

CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds")
"""Channels a client can subscribe to. ``corrections`` and ``cancelErrors`` follow ``trades``
on the server's side (they cannot be requested on their own)."""

# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class AlpacaError(Error):
    """Base of the errors the Alpaca stream raises; ``code`` is the server's code, if any."""

    fatal: bool = False

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class AlpacaAuthError(AlpacaError):
    """The server refused the credentials (402) — fatal."""

    fatal = True


class AlpacaConnectionLimitError(AlpacaError):
    """Another connection with these keys already holds the plan's slot (406) — fatal."""

    fatal = True


class AlpacaPermissionError(AlpacaError):
    """The plan or token does not cover this feed (409, 411), or the URL is refused — fatal."""

    fatal = True


class AlpacaRequestError(AlpacaError):
    """A subscribe or unsubscribe request was refused (400, 410); subscriptions unchanged."""


class AlpacaSymbolLimitError(AlpacaRequestError):
    """More symbols than the plan allows (405); subscriptions unchanged."""


class AlpacaProtocolError(AlpacaError):
    """The session broke the protocol (401, 403, 404, unexpected replies, timeouts) — retried."""


class AlpacaSlowClientError(AlpacaProtocolError):
    """The server is dropping the client for reading too slowly (407) — retried."""


class AlpacaServerError(AlpacaProtocolError):
    """The server failed (500) — retried."""


class AlpacaDataError(AlpacaError, DataError):
    """Bad market data under ``bad_input="raise"``; ``problem`` says what and where."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"bad Alpaca data ({problem.category}) at {problem.where}: {problem.detail}")
        self.problem = problem


ERROR_CODES: dict[int, tuple[type[AlpacaError], str]] = {
    400: (AlpacaRequestError, "the request did not follow the protocol, or a symbol is malformed"),
    401: (AlpacaProtocolError, "a request was sent before authentication"),
    402: (AlpacaAuthError, "check APCA_API_KEY_ID and APCA_API_SECRET_KEY"),
    403: (AlpacaProtocolError, "the session authenticated twice"),
    404: (AlpacaProtocolError, "authentication did not arrive in time"),
    405: (AlpacaSymbolLimitError, "the plan allows fewer symbols; subscriptions are unchanged"),
    406: (
        AlpacaConnectionLimitError,
        "another connection with these keys is open to this feed; close it or use other keys",
    ),
    407: (AlpacaSlowClientError, "the client read too slowly"),
    409: (AlpacaPermissionError, "the account's plan does not include this feed"),
    410: (AlpacaRequestError, "this feed does not carry the requested channel"),
    411: (AlpacaPermissionError, "the token lacks the scope for market data"),
    500: (AlpacaServerError, "Alpaca's server failed"),
}
"""Server error code -> (exception class, explanation). Fatal classes have ``fatal = True``."""


def error_from_code(code: int, message: str) -> AlpacaError:
    """Return the exception for a server ``{"T": "error"}`` message (never raises it)."""
    cls, hint = ERROR_CODES.get(code, (AlpacaProtocolError, "unknown error code"))
    return cls(f"Alpaca stream error {code} {message!r}: {hint}", code=code)


# --------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)
_SECOND_CACHE: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM:SS" -> epoch seconds
_SECOND_CACHE_LIMIT = 4_096  # stamps are nearly monotonic: recent seconds are all that hit
_FRACTION_SCALE = tuple(10 ** (9 - n) for n in range(10))
_NS = 1_000_000_000
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def parse_timestamp(text: str) -> int:
    """Return an RFC 3339 timestamp as int64 nanoseconds UTC, exactly.

    Accepts 0 to 9 fractional digits and ``Z`` or a ``±HH:MM`` offset. Never goes through float
    or ``datetime`` (which keeps only microseconds).

    Raises
    ------
    ValueError
        If ``text`` is not such a timestamp (including impossible dates and leap seconds).
    """
    match = _RFC3339.fullmatch(text) if type(text) is str else None
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {str(text)[:40]!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    y, mo, d, h, mi, s = int(year), int(month), int(day), int(hour), int(minute), int(second)
    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and h < 24 and mi < 60
            and s < 60):
        raise ValueError(f"impossible date or time in timestamp: {text[:40]!r}")
    seconds = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    if zone not in ("Z", "z"):
        offset = int(zone[1:3]) * 3600 + int(zone[4:6]) * 60
        seconds -= offset if zone[0] == "+" else -offset
    else:
        if len(_SECOND_CACHE) >= _SECOND_CACHE_LIMIT:
            _SECOND_CACHE.clear()  # start over rather than stop caching after a long session
        _SECOND_CACHE[text[:19]] = seconds
    nanos = int(fraction) * _FRACTION_SCALE[len(fraction)] if fraction else 0
    return seconds * _NS + nanos


def _code(value: Any, what: str) -> int:
    """A one-letter code (exchange, LULD indicator) as its byte; 0 when absent."""
    if not value:
        return 0
    if type(value) is not str or len(value) != 1 or not value.isascii():
        raise BadMessage("bad_field", f"{what} {value!r} is not one ASCII letter")
    return ord(value)


def _timestamp_ns(text: Any) -> int:
    """Hot path of :func:`parse_timestamp` for the ``...Z`` form, with a per-second cache.

    Also accepts the int ns that msgpack Timestamps unpack to (``timestamp=2``). Raises
    ``_Timestamp`` for anything else, for times an int64 ns cannot hold, and for times not
    after 1970 (no market data is).
    """
    ns: int | None
    if type(text) is int:
        ns = text
    else:
        try:
            # A cached prefix was validated by parse_timestamp; only the rest needs checking.
            ns = None
            seconds = _SECOND_CACHE.get(text[:19])
            if seconds is not None and text[-1] == "Z":
                fraction = text[20:-1]
                if text[19] == "." and fraction.isdigit() and fraction.isascii():
                    digits = len(fraction)
                    if digits <= 9:
                        ns = seconds * _NS + int(fraction) * _FRACTION_SCALE[digits]
                elif len(text) == 20:
                    ns = seconds * _NS
            if ns is None:
                ns = parse_timestamp(text)
        except (TypeError, ValueError, IndexError) as exc:
            raise _Timestamp(f"bad timestamp {text!r:.40}") from exc
    assert ns is not None
    if not _INT64_MIN <= ns <= _INT64_MAX:
        raise _Timestamp(f"timestamp {text!r:.40} is outside int64 ns (years 1677 to 2262)")
    if ns <= 0:
        raise _Timestamp(f"timestamp {text!r:.40} is not after 1970")
    return ns


def format_timestamp(ns: int, digits: int = 9) -> str:
    """Return int ns UTC as RFC 3339 with ``digits`` (0-9) fractional digits, ``Z`` suffixed.

    Digits beyond ``digits`` are truncated, as the vendor's variable-length stamps are.
    """
    seconds, nanos = divmod(int(ns), _NS)
    text = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{nanos:09d}"[:digits]
    return text + "Z"


# --------------------------------------------------------------------------------------------
# Condition codes
# --------------------------------------------------------------------------------------------

# Trade (sale) condition codes of the CTA and UTP plans as Alpaca sends them, one bit each.
# Letters mean the same on both tapes except where noted. Codes not listed set CONDITION_OTHER.
TRADE_CONDITION_BITS: dict[str, int] = {
    code: 1 << bit
    for bit, code in enumerate(
        [
            "@",  # regular sale
            "A",  # acquisition (UTP)
            "B",  # average price trade (CTA) / bunched trade (UTP)
            "C",  # cash sale
            "D",  # distribution (UTP)
            "F",  # intermarket sweep
            "G",  # bunched sold trade (UTP)
            "H",  # price variation trade
            "I",  # odd lot trade
            "K",  # rule 127 (NYSE) / rule 155 (AMEX)
            "L",  # sold last
            "M",  # market center official close
            "N",  # next day
            "O",  # market center opening trade / opening prints
            "P",  # prior reference price
            "Q",  # market center official open
            "R",  # seller
            "S",  # split trade (UTP)
            "T",  # extended hours (form T)
            "U",  # extended hours sold, out of sequence
            "V",  # contingent trade
            "W",  # average price trade (UTP)
            "X",  # cross trade
            "Y",  # yellow flag regular trade
            "Z",  # sold, out of sequence
            "1",  # stopped stock, regular trade
            "4",  # derivatively priced
            "5",  # market center reopening trade / re-opening prints
            "6",  # market center closing trade / closing prints
            "7",  # qualified contingent trade
            "9",  # corrected consolidated close
        ]
    )
}
"""Sale condition -> bit of ``TRADE['conditions']``; ``E`` and ``8`` (placeholders) and any
unlisted code set :data:`CONDITION_OTHER`."""

QUOTE_CONDITION_BITS: dict[str, int] = {chr(ord("A") + k): 1 << k for k in range(26)}
"""Quote condition letter ``A``..``Z`` -> bit ``0``..``25`` of ``QUOTE['conditions']`` (``R``
regular two-sided, ``O`` opening, ``C`` closing, ...); other codes set :data:`CONDITION_OTHER`."""

CONDITION_OTHER = 1 << 31
"""Set when a message carried a condition code outside the table."""


def condition_word(codes: Iterable[str] | None, table: Mapping[str, int] = TRADE_CONDITION_BITS
                   ) -> int:
    """Return the uint32 flag word for a list of condition codes (0 for none)."""
    word = 0
    if codes:
        for code in codes:
            word |= table.get(code, CONDITION_OTHER)
    return word


# --------------------------------------------------------------------------------------------
# Decoder
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Control:
    """A control message: ``type`` is ``"success"``, ``"subscription"`` or ``"error"``.

    ``message`` holds ``msg`` (``"connected"``, ``"authenticated"``, or the error text),
    ``code`` the error code, ``channels`` the full subscription set of a subscription reply.
    """

    type: str
    message: str = ""
    code: int = 0
    channels: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(slots=True)
class DecodedFrame:
    """What one frame held: its events (per kind, grouped by symbol or one batch per symbol),
    controls, problems."""

    parts: Sequence[EventBatch | GroupedBatch]
    controls: list[Control]
    problems: list[Problem]

    @property
    def batches(self) -> list[EventBatch]:
        """The events as one batch per kind and symbol, in order."""
        out: list[EventBatch] = []
        for part in self.parts:
            if isinstance(part, GroupedBatch):
                out.extend(part.batches())
            else:
                out.append(part)
        return out

    def raise_for_problems(self) -> None:
        """Raise :class:`AlpacaDataError` for the first problem, if any is raisable."""
        for problem in self.problems:
            if problem.category not in _NEVER_RAISED:
                raise AlpacaDataError(problem)


_NEVER_RAISED = frozenset({"out_of_order_trade", "truncated_code"})
_INF = math.inf
_U64 = 1 << 64
_EXACT = 2.0**53  # below this, ints and floats of equal value are the same float64
_MINUTE = 60 * _NS
_DAY = 86_400 * _NS
_STATES = {
    "2": schema.TradingState.HALTED,  # CTA trading halt
    "3": schema.TradingState.TRADING,  # CTA resume
    "H": schema.TradingState.HALTED,  # UTP trading halt
    "Q": schema.TradingState.QUOTE_ONLY,  # UTP quotation resumption
    "T": schema.TradingState.TRADING,  # UTP trading resumption
    "P": schema.TradingState.PAUSED,  # UTP volatility trading pause
}
"""Status code -> TradingState. Other codes (indications, imbalances, SSR, LULD) are
informational and map to UNKNOWN: "no change of state"."""

_CONTROL_TYPES = frozenset({"success", "subscription", "error"})
_SUBSCRIPTION_KEYS = (*CHANNELS, "corrections", "cancelErrors", "imbalances")


class AlpacaDecoder(VendorDecoder):
    """Turn Alpaca stock-stream frames into event batches; no I/O, no clock unless asked.

    Parameters
    ----------
    encoding
        ``"json"`` (text frames) or ``"msgpack"`` (binary frames). A text frame is always
        decoded as JSON.
    instruments
        Registry assigning ``instrument_id``; a private one by default.
    dedup_window
        How many recent trades per symbol are remembered to drop duplicates.

    The decoder keeps per-symbol state (last trade time, recent trade keys, last quote) so
    duplicates and out-of-order trades are detected across frames and reconnects
    (:class:`~tradecore.streams.vendor.VendorDecoder`). ``stats`` counts frames, messages,
    events and each problem category (see the module docstring).
    """

    logger = logger

    def __init__(
        self,
        *,
        encoding: Literal["json", "msgpack"] = "msgpack",
        instruments: Instruments | None = None,
        dedup_window: int = 4096,
    ) -> None:
        if encoding not in ("json", "msgpack"):
            raise ConfigError(f"encoding must be 'json' or 'msgpack', not {encoding!r}")
        super().__init__(instruments=instruments, dedup_window=dedup_window)
        self.encoding = encoding
        self._clean = _core.streams.CleanFrameDecoder()
        self._clean.set_condition_bits(list(TRADE_CONDITION_BITS.items()),
                                       list(QUOTE_CONDITION_BITS.items()), CONDITION_OTHER)

    # -- public ---------------------------------------------------------------------------

    def decode(self, frame: bytes | str, ts_received: int | None = None) -> DecodedFrame:
        """Decode one frame.

        Parameters
        ----------
        frame
            The WebSocket message, ``str`` for text frames, ``bytes`` for binary ones.
        ts_received
            Local receive time (int ns UTC) stamped on every event of the frame, or ``None``.

        Returns
        -------
        DecodedFrame
            Batches in order of each (kind, symbol)'s first appearance, controls, and the
            problems found (already counted and logged). Never raises for bad input.
        """
        self._frames += 1
        clean = self._decode_clean(frame, ts_received)
        if clean is not None:
            return clean
        frame_no = self._frames
        problems: list[Problem] = []
        try:
            if type(frame) is str or self.encoding == "json":
                messages = json.loads(frame)
            else:
                messages = msgpack.unpackb(frame, timestamp=2)
        except Exception as exc:  # noqa: BLE001 - any decoder failure means a malformed frame
            self._problem(problems, "malformed_frame", frame_no, -1, None,
                          f"{type(exc).__name__}: {exc}; frame starts {excerpt(frame)}")
            return DecodedFrame([], [], problems)
        if type(messages) is not list:
            self._problem(problems, "malformed_frame", frame_no, -1, None,
                          f"not an array: {excerpt(messages)}")
            return DecodedFrame([], [], problems)
        self.stats["frames"] += 1
        self.stats["messages"] += len(messages)

        controls: list[Control] = []
        # Rows per kind in arrival order; split by symbol once per frame, in NumPy.
        groups: dict[EventKind, list[tuple[Any, ...]]] = {}
        trades: list[tuple[Any, ...]] = []
        quotes: list[tuple[Any, ...]] = []
        ids = self._ids
        check_trade = self._check_trade
        check_quote = self._check_quote
        trade_bits = TRADE_CONDITION_BITS
        quote_bits = QUOTE_CONDITION_BITS
        other = CONDITION_OTHER
        stamp = _timestamp_ns

        for index, message in enumerate(messages):
            symbol = None
            try:
                kind_code = message["T"]
                symbol = message.get("S")
                if kind_code == "t":
                    ts = stamp(message["t"])
                    price = number(message["p"])
                    size = number(message["s"])
                    trade_id = message.get("i", 0)
                    exchange = _code(message.get("x"), "exchange")
                    if not (0.0 < price < _INF and 0.0 < size < _INF and type(trade_id) is int
                            and 0 <= trade_id < _U64):
                        raise BadMessage("bad_field",
                                         f"price {price!r}, size {size!r}, id {trade_id!r}")
                    word = 0
                    codes = message.get("c")
                    if codes:
                        for code in codes:
                            word |= trade_bits.get(code, other)
                    iid = ids.get(symbol)
                    if iid is None:
                        iid = self._register(symbol)
                    check_trade(symbol, (trade_id, exchange, ts), trade_id, problems, frame_no,
                                index)
                    trades.append((ts, price, size, trade_id, word, iid, exchange, 0))
                elif kind_code == "q":
                    ts = stamp(message["t"])
                    bid = number(message["bp"])
                    ask = number(message["ap"])
                    bid_size = number(message["bs"])
                    ask_size = number(message["as"])
                    if not (0.0 <= bid < _INF and 0.0 <= ask < _INF and 0.0 <= bid_size < _INF
                            and 0.0 <= ask_size < _INF):
                        raise BadMessage("bad_field", f"bid {bid!r} x {bid_size!r}, ask "
                                         f"{ask!r} x {ask_size!r}")
                    if bid > ask and ask > 0.0:
                        raise BadMessage("crossed_quote", f"bid {bid} > ask {ask}")
                    if bid == 0.0 and ask == 0.0:
                        raise BadMessage("zero_quote", "bid and ask are both 0")
                    word = 0
                    codes = message.get("c")
                    if codes:
                        for code in codes:
                            word |= quote_bits.get(code, other)
                    iid = ids.get(symbol)
                    if iid is None:
                        iid = self._register(symbol)
                    row = (ts, bid, ask, bid_size, ask_size, word, iid,
                           _code(message.get("bx"), "bid exchange"),
                           _code(message.get("ax"), "ask exchange"), 0)
                    check_quote(symbol, row)
                    quotes.append(row)
                elif kind_code in _CONTROL_TYPES:
                    controls.append(self._control(kind_code, message))
                else:
                    parse = _SLOW_PARSERS.get(kind_code)
                    if parse is None:
                        raise BadMessage("unknown_type", f"message type {kind_code!r}")
                    kind, row = parse(self, message, symbol)
                    bucket = groups.get(kind)
                    if bucket is None:
                        bucket = groups[kind] = []
                    bucket.append(row)
            except BadMessage as bad:
                self._problem(problems, bad.category, frame_no, index, str_or_none(symbol),
                              f"{bad.detail}: {excerpt(message)}")
            except KeyError as exc:
                self._problem(problems, "missing_field", frame_no, index, str_or_none(symbol),
                              f"no field {exc}: {excerpt(message)}")
            except _Timestamp as exc:
                self._problem(problems, "bad_timestamp", frame_no, index, str_or_none(symbol),
                              f"{exc}: {excerpt(message)}")
            except (TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
                category = "bad_field" if type(message) is dict else "malformed_frame"
                self._problem(problems, category, frame_no, index, str_or_none(symbol),
                              f"{type(exc).__name__}: {exc}: {excerpt(message)}")

        batches: list[EventBatch | GroupedBatch] = []
        received = self._received(len(messages), ts_received)
        if trades:
            self._emit(batches, EventKind.TRADE, schema.TRADE, trades, received)
        if quotes:
            self._emit(batches, EventKind.QUOTE, schema.QUOTE, quotes, received)
        for kind, bucket in groups.items():
            self._emit(batches, kind, EVENT_DTYPES[kind], bucket, received)
        return DecodedFrame(batches, controls, problems)

    def _decode_clean(self, frame: bytes | str, ts_received: int | None) -> DecodedFrame | None:
        """Decode a frame that holds only clean trades, quotes and bars, natively.

        Returns ``None``, having changed no state, as soon as anything is unusual: another
        message type, a missing or mistyped field, a timestamp outside the vendor's usual form,
        a new symbol, any value the exact path would report (or, for out-of-order trades, keep
        and report). :meth:`decode` then runs the exact per-message path, which stays the only
        place that decides what a problem is.
        """
        # Trades and quotes are checked against the per-symbol state natively (and staged).
        decoded = self._clean.decode(frame, type(frame) is str or self.encoding == "json",
                                     self._checks)
        if decoded is None:
            return None
        messages, (trades, trade_cuts, trade_symbols), (quotes, quote_cuts, quote_symbols), bars = decoded
        # The native decoder knows only symbols that are their instrument's own name.
        symbol_of = self.instruments.symbol_of
        bar_rows: dict[EventKind, list[tuple[Any, ...]]] = {}
        new_bars: dict[tuple[str, str], tuple[Any, ...]] = {}
        for kind_code, iid, ts, o, h, low, c, v, n, vwap in bars:
            # Below 2**53 int and float inputs store alike (the exact path keeps ints).
            if not (h < _EXACT and v < _EXACT and vwap < _EXACT):
                return None
            try:
                _check_bar(o, h, low, c, v, n, vwap)
            except BadMessage:
                return None
            kind = _BAR_KINDS[kind_code]
            row = _bar_row(kind, ts, o, h, low, c, v, vwap, n, iid)
            key = (kind_code, symbol_of(iid))
            if new_bars.get(key, self._last_bar.get(key)) == row:
                return None  # duplicate_bar
            new_bars[key] = row
            bar_rows.setdefault(kind, []).append(row)

        # Clean: remember the per-symbol state exactly as the per-message path would have.
        self._checks.commit()
        self.stats["frames"] += 1
        self.stats["messages"] += messages
        self._last_bar.update(new_bars)

        parts: list[EventBatch | GroupedBatch] = []
        if trade_symbols:
            self.stats["events"] += len(trades)
            parts.append(GroupedBatch(EventKind.TRADE, trades, trade_cuts, trade_symbols, ts_received, self.instruments))
        if quote_symbols:
            self.stats["events"] += len(quotes)
            parts.append(GroupedBatch(EventKind.QUOTE, quotes, quote_cuts, quote_symbols, ts_received, self.instruments))
        if bar_rows:
            received = self._received(messages, ts_received)
            batches: list[EventBatch | GroupedBatch] = []
            for kind, rows in bar_rows.items():
                self._emit(batches, kind, EVENT_DTYPES[kind], rows, received)
            parts.extend(batches)
        return DecodedFrame(parts, [], [])

    # -- internals ------------------------------------------------------------------------

    def _register(self, symbol: Any) -> int:
        if type(symbol) is not str or not symbol:
            raise BadMessage("missing_field" if symbol is None else "bad_field",
                       f"symbol {symbol!r}")
        iid = self._ids[symbol] = self.instruments.id_of(symbol)
        if self.instruments.symbol_of(iid) == symbol:
            # Only a symbol that is its instrument's name ("AAPL", not "aapl"): the fast path
            # keys per-symbol state by instrument.
            self._clean.add_symbol(symbol, iid)
            self._checks.bind(symbol, iid)
        return iid

    def _control(self, kind_code: str, message: dict[str, Any]) -> Control:
        if kind_code == "subscription":
            channels = {}
            for key in _SUBSCRIPTION_KEYS:
                value = message.get(key)
                if value is not None:
                    channels[key] = frozenset(value)
            return Control("subscription", channels=channels)
        if kind_code == "error":
            return Control("error", str(message.get("msg", "")), int(message.get("code", 0)))
        return Control("success", str(message.get("msg", "")))

    # Slow-path parsers: message kinds that arrive a few times a minute per symbol.

    def _bar(self, message: dict[str, Any], symbol: Any) -> tuple[EventKind | None, tuple[Any, ...]]:
        kind_code = message["T"]
        kind = _BAR_KINDS[kind_code]
        ts = _timestamp_ns(message["t"])
        o, h, low, c, v = (number(message[k]) for k in ("o", "h", "l", "c", "v"))
        n, vwap = message.get("n", 0), number(message.get("vw", 0.0))
        if type(n) is not int:
            raise BadMessage("bad_field", f"trade count {excerpt(n, 40)}")
        _check_bar(o, h, low, c, v, n, vwap)
        row = _bar_row(kind, ts, o, h, low, c, v, vwap, n, self._id(symbol))
        self._check_bar((kind_code, symbol), row)
        return kind, row

    def _status(self, message: dict[str, Any], symbol: Any) -> tuple[EventKind | None, tuple[Any, ...]]:
        ts = _timestamp_ns(message["t"])
        status, reason = message["sc"], message.get("rc", "")
        if type(status) is not str or type(reason) is not str:
            raise BadMessage("bad_field", f"status code {status!r}, reason code {reason!r}")
        sc, rc = status.encode("ascii"), reason.encode("ascii")
        if len(sc) > 4 or len(rc) > 4:
            self.stats["truncated_code"] += 1
        state = _STATES.get(status, schema.TradingState.UNKNOWN)
        return EventKind.STATUS, (ts, self._id(symbol), state, sc[:4], rc[:4])

    def _luld(self, message: dict[str, Any], symbol: Any) -> tuple[EventKind | None, tuple[Any, ...]]:
        ts = _timestamp_ns(message["t"])
        up, down, indicator = number(message["u"]), number(message["d"]), message.get("i")
        if not (0.0 <= down < _INF and 0.0 <= up < _INF):
            raise BadMessage("bad_field", f"limit up {up!r}, limit down {down!r}")
        return EventKind.LULD, (ts, up, down, self._id(symbol), _code(indicator, "indicator"))

    def _correction(self, message: dict[str, Any], symbol: Any) -> tuple[EventKind | None, tuple[Any, ...]]:
        ts = _timestamp_ns(message["t"])
        oi, ci = message["oi"], message["ci"]
        op, os_, cp, cs = (number(message[k]) for k in ("op", "os", "cp", "cs"))
        if not (type(oi) is int and type(ci) is int and 0 <= oi < _U64 and 0 <= ci < _U64 and 0.0 <= op < _INF and 0.0 <= cp < _INF
                and 0.0 <= os_ < _INF and 0.0 <= cs < _INF):
            raise BadMessage("bad_field", "correction ids, prices or sizes out of range")
        return EventKind.CORRECTION, (
            ts, oi, op, os_, ci, cp, cs, condition_word(message.get("oc")),
            condition_word(message.get("cc")), self._id(symbol), _code(message.get("x"), "exchange"))

    def _cancel(self, message: dict[str, Any], symbol: Any) -> tuple[EventKind | None, tuple[Any, ...]]:
        ts = _timestamp_ns(message["t"])
        trade_id, price, size, action = message["i"], number(message["p"]), number(message["s"]), message["a"]
        if action not in ("C", "E") or type(trade_id) is not int or not (0 <= trade_id < _U64 and 0.0 <= price < _INF
                                            and 0.0 <= size < _INF):
            raise BadMessage("bad_field", f"cancel/error action {action!r}, id {trade_id!r}")
        return EventKind.CANCEL_ERROR, (ts, trade_id, price, size, self._id(symbol),
                                        _code(message.get("x"), "exchange"), ord(action))

    def _id(self, symbol: Any) -> int:
        iid = self._ids.get(symbol)
        return self._register(symbol) if iid is None else iid


class _Timestamp(Exception):
    """Internal: a message's timestamp is bad."""




def _check_bar(o: Any, h: Any, low: Any, c: Any, v: Any, n: Any, vwap: Any) -> None:
    if not (0.0 < low <= o <= h < _INF and low <= c <= h and 0 <= v < _INF
            and 0 <= n < 2**32 and 0.0 <= vwap < _INF):
        raise BadMessage("bad_field", f"bar o={o!r} h={h!r} l={low!r} c={c!r} v={v!r} n={n!r}")


def _bar_row(kind: EventKind, ts: int, o: Any, h: Any, low: Any, c: Any, v: Any, vwap: Any,
             n: Any, iid: int) -> tuple[Any, ...]:
    if kind is EventKind.DAILY_BAR:
        end, session = ts + _DAY, schema.Session.NONE
    else:
        end, session = ts + _MINUTE, session_of(ts)
    flags = schema.BarFlag.AMENDED if kind is EventKind.UPDATED_BAR else 0
    return (ts, end, o, h, low, c, v, vwap, n, iid, session, flags)


_BAR_KINDS = {"b": EventKind.BAR, "u": EventKind.UPDATED_BAR, "d": EventKind.DAILY_BAR}
_SLOW_PARSERS: dict[str, Callable[[AlpacaDecoder, dict[str, Any], Any], tuple[Any, tuple[Any, ...]]]] = {
    "b": AlpacaDecoder._bar,
    "u": AlpacaDecoder._bar,
    "d": AlpacaDecoder._bar,
    "s": AlpacaDecoder._status,
    "l": AlpacaDecoder._luld,
    "c": AlpacaDecoder._correction,
    "x": AlpacaDecoder._cancel,
}


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------




class AlpacaStream(WebSocketStream):
    """Live Alpaca v2 stock stream (trades, quotes, bars, statuses, LULD, corrections, ...).

    The connection loop, queues, reconnects and gaps are :class:`WebSocketStream`'s; this class
    speaks Alpaca's handshake, subscription messages and error codes (:data:`ERROR_CODES`).

    Parameters
    ----------
    url
        Stream URL, ``ws://`` or ``wss://``; default :data:`DEFAULT_URL` (IEX feed).
    key_id, secret_key
        Credentials; default from ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY``. Never logged.
    encoding
        ``"msgpack"`` (default, what the vendor's SDKs use) or ``"json"``; asked for with the
        upgrade's ``Content-Type``.
    channels
        Channels :meth:`subscribe` uses when none are given, from :data:`CHANNELS`.
    auth
        ``"message"`` (an auth message after the welcome) or ``"headers"`` (upgrade headers).
    instruments
        Registry for ``instrument_id``; a private one by default.
    bad_input
        ``"skip"`` (count, log once, go on) or ``"raise"`` (also raise
        :class:`AlpacaDataError` from the iterator). See the module docstring.
    queue_capacity, max_backlog, backoff, ping_interval, ping_timeout, reply_timeout, on_gap, latency,
    native_receive
        As for :class:`WebSocketStream`.

    Notes
    -----
    ``async with AlpacaStream(...) as stream`` connects and authenticates (fatal errors raise
    there); :meth:`subscribe` waits for the server's subscription reply and checks it. While
    the stream is reconnecting, (un)subscribe only updates the wanted set, which the next
    session sends in full.
    """

    CHANNELS = CHANNELS
    provider = "Alpaca"
    provider_error = AlpacaError
    protocol_error = AlpacaProtocolError
    permission_error = AlpacaPermissionError
    request_error = AlpacaRequestError

    def __init__(
        self,
        *,
        url: str = DEFAULT_URL,
        key_id: str | None = None,
        secret_key: str | None = None,
        encoding: Literal["msgpack", "json"] = "msgpack",
        channels: Iterable[str] = ("trades", "quotes"),
        auth: Literal["message", "headers"] = "message",
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
        key_id = key_id if key_id is not None else os.environ.get("APCA_API_KEY_ID")
        secret_key = secret_key if secret_key is not None else os.environ.get("APCA_API_SECRET_KEY")
        if not key_id or not secret_key:
            raise ConfigError("Alpaca credentials missing: set APCA_API_KEY_ID and "
                              "APCA_API_SECRET_KEY, or pass key_id= and secret_key=")
        if auth not in ("message", "headers"):
            raise ConfigError(f"auth must be 'message' or 'headers', not {auth!r}")
        super().__init__(
            url=url, decoder=AlpacaDecoder(encoding=encoding, instruments=instruments),
            secrets=(key_id, secret_key), logger=logger, channels=channels,
            bad_input=bad_input, queue_capacity=queue_capacity, max_backlog=max_backlog,
            backoff=backoff, ping_interval=ping_interval, ping_timeout=ping_timeout,
            reply_timeout=reply_timeout, on_gap=on_gap, latency=latency,
            native_receive=native_receive)
        self.encoding = encoding
        self._key_id = key_id
        self._secret_key = secret_key
        self._auth = auth

    def __repr__(self) -> str:
        return f"AlpacaStream(url={self.url!r}, encoding={self.encoding!r})"

    # -- WebSocketStream hooks --------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": f"application/{self.encoding}"}
        if self._auth == "headers":
            headers["APCA-API-KEY-ID"] = self._key_id
            headers["APCA-API-SECRET-KEY"] = self._secret_key
        return headers

    async def _handshake(self, ws: ClientConnection) -> None:
        welcome = await self._await_control(ws, None)
        if welcome.type != "success" or welcome.message != "connected":
            raise AlpacaProtocolError(f"expected the welcome, got {welcome.type} "
                                      f"{welcome.message!r}")
        if self._auth == "message":
            reply = await self._await_control(ws, self._encode(
                {"action": "auth", "key": self._key_id, "secret": self._secret_key}))
        else:
            reply = await self._await_control(ws, None)
        if reply.type != "success" or reply.message != "authenticated":
            raise AlpacaProtocolError(f"expected 'authenticated', got {reply.type} "
                                      f"{reply.message!r}")

    def _encode_request(self, action: str, delta: Mapping[str, list[str]]) -> bytes | str:
        return self._encode({"action": action, **delta})

    def _reply_acceptor(self, action: str, delta: Mapping[str, list[str]]
                        ) -> Callable[[Control], bool]:
        def accept(control: Control) -> bool:
            self._check_reply(control, action, delta)
            return True  # the server answers every request with one full subscription set

        return accept

    def _error_of(self, control: Control) -> AlpacaError | None:
        return error_from_code(control.code, control.message) if control.type == "error" else None

    # -- internals --------------------------------------------------------------------------

    @staticmethod
    def _check_reply(control: Control, action: str, delta: Mapping[str, Iterable[str]]) -> None:
        if control.type != "subscription":
            raise AlpacaProtocolError(f"expected a subscription reply to {action}, got "
                                      f"{control.type} {control.message!r}")
        for channel, symbols in delta.items():
            confirmed = control.channels.get(channel, frozenset())
            if action == "subscribe":
                missing = set(symbols) - confirmed if "*" not in confirmed else set()
                if missing:
                    raise AlpacaProtocolError(
                        f"the server did not confirm {channel} for {sorted(missing)}")
            else:
                left = set(symbols) & confirmed
                if left:
                    raise AlpacaProtocolError(
                        f"the server still lists {channel} for {sorted(left)}")

    def _encode(self, message: dict[str, Any]) -> bytes | str:
        if self.encoding == "msgpack":
            packed: bytes = msgpack.packb(message)
            return packed
        return json.dumps(message)
