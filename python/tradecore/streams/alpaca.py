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

import asyncio
import calendar
import collections
import contextlib
import json
import logging
import math
import os
import random
import re
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

import msgpack
import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from tradecore import schema
from tradecore._version import __version__
from tradecore.errors import ConfigError, DataError, Error
from tradecore.streams.base import (
    EVENT_DTYPES,
    EventBatch,
    EventKind,
    Instruments,
    MarketDataStream,
)
from tradecore.tasks import start_task

__all__ = [
    "CHANNELS",
    "DEFAULT_URL",
    "ERROR_CODES",
    "QUOTE_CONDITION_BITS",
    "TRADE_CONDITION_BITS",
    "CONDITION_OTHER",
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
_SECOND_CACHE_LIMIT = 200_000
_FRACTION_SCALE = tuple(10 ** (9 - n) for n in range(10))
_NS = 1_000_000_000


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
    elif len(_SECOND_CACHE) < _SECOND_CACHE_LIMIT:
        _SECOND_CACHE[text[:19]] = seconds
    nanos = int(fraction) * _FRACTION_SCALE[len(fraction)] if fraction else 0
    return seconds * _NS + nanos


def _timestamp_ns(text: Any) -> int:
    """Hot path of :func:`parse_timestamp` for the ``...Z`` form, with a per-second cache.

    Also accepts the int ns that msgpack Timestamps unpack to (``timestamp=2``). Raises
    ``_Timestamp`` for anything else.
    """
    if type(text) is int:
        return text
    try:
        # A cached prefix was validated by parse_timestamp; only the rest needs checking.
        seconds = _SECOND_CACHE.get(text[:19])
        if seconds is not None and text[-1] == "Z":
            fraction = text[20:-1]
            if text[19] == "." and fraction.isdigit() and fraction.isascii():
                digits = len(fraction)
                if digits <= 9:
                    return seconds * _NS + int(fraction) * _FRACTION_SCALE[digits]
            elif len(text) == 20:
                return seconds * _NS
        return parse_timestamp(text)
    except (TypeError, ValueError, IndexError) as exc:
        raise _Timestamp(f"bad timestamp {text!r:.40}") from exc


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


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad input: its category, where it was, and what was wrong."""

    category: str
    frame: int  # 1-based frame number on this decoder
    index: int  # message index within the frame, -1 for the whole frame
    symbol: str | None
    detail: str

    @property
    def where(self) -> str:
        """Human-readable location."""
        place = f"frame {self.frame}" + (f" message {self.index}" if self.index >= 0 else "")
        return place + (f" ({self.symbol})" if self.symbol else "")


@dataclass(slots=True)
class DecodedFrame:
    """What one frame held: event batches (one per kind and symbol), controls, problems."""

    batches: list[EventBatch]
    controls: list[Control]
    problems: list[Problem]

    def raise_for_problems(self) -> None:
        """Raise :class:`AlpacaDataError` for the first problem, if any is raisable."""
        for problem in self.problems:
            if problem.category not in _NEVER_RAISED:
                raise AlpacaDataError(problem)


_NEVER_RAISED = frozenset({"out_of_order_trade", "truncated_code"})
_INF = math.inf
_U64 = 1 << 64
_MINUTE = 60 * _NS
_DAY = 86_400 * _NS
_NEW_YORK = ZoneInfo("America/New_York")
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


def _session_of(ts: int) -> int:
    local = datetime.fromtimestamp(ts // _NS, tz=_NEW_YORK)
    minute = local.hour * 60 + local.minute
    if 240 <= minute < 570:
        return schema.Session.PREMARKET
    if 570 <= minute < 960:
        return schema.Session.REGULAR
    if 960 <= minute < 1200:
        return schema.Session.AFTER_HOURS
    return schema.Session.OVERNIGHT


class _Seen:
    """Recent trade keys of one symbol: two generations, so memory stays bounded."""

    __slots__ = ("current", "previous")

    def __init__(self) -> None:
        self.current: set[tuple[int, int, int]] = set()
        self.previous: set[tuple[int, int, int]] = set()


class AlpacaDecoder:
    """Turn Alpaca stock-stream frames into event batches; no I/O, no clock unless asked.

    Parameters
    ----------
    encoding
        ``"json"`` (text frames) or ``"msgpack"`` (binary frames). A text frame is always
        decoded as JSON.
    instruments
        Registry assigning ``instrument_id``; a private one by default.
    dedup_window
        About how many recent trades per symbol are remembered to drop duplicates.

    The decoder keeps per-symbol state (last trade time, recent trade keys, last quote) so
    duplicates and out-of-order trades are detected across frames and reconnects. ``stats``
    counts frames, messages, events and each problem category (see the module docstring).
    """

    def __init__(
        self,
        *,
        encoding: Literal["json", "msgpack"] = "msgpack",
        instruments: Instruments | None = None,
        dedup_window: int = 4096,
    ) -> None:
        if encoding not in ("json", "msgpack"):
            raise ConfigError(f"encoding must be 'json' or 'msgpack', not {encoding!r}")
        self.encoding = encoding
        self.instruments = instruments if instruments is not None else Instruments()
        self._dedup_half = max(1, dedup_window // 2)
        self._ids: dict[str, int] = {}
        self._seen: dict[str, _Seen] = {}
        self._last_trade_ts: dict[str, int] = {}
        self._last_quote: dict[str, tuple[Any, ...]] = {}
        self._last_bar: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._logged: set[str] = set()
        self._frames = 0
        self.stats: collections.Counter[str] = collections.Counter()

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
        frame_no = self._frames
        problems: list[Problem] = []
        try:
            if type(frame) is str or self.encoding == "json":
                messages = json.loads(frame)
            else:
                messages = msgpack.unpackb(frame, timestamp=2)
        except Exception as exc:  # noqa: BLE001 - any decoder failure means a malformed frame
            self._problem(problems, "malformed_frame", frame_no, -1, None,
                          f"{type(exc).__name__}: {exc}; frame starts {_excerpt(frame)}")
            return DecodedFrame([], [], problems)
        if type(messages) is not list:
            self._problem(problems, "malformed_frame", frame_no, -1, None,
                          f"not an array: {_excerpt(messages)}")
            return DecodedFrame([], [], problems)
        self.stats["frames"] += 1
        self.stats["messages"] += len(messages)

        controls: list[Control] = []
        # Rows per kind in arrival order; split by symbol once per frame, in NumPy.
        groups: dict[EventKind, list[tuple[Any, ...]]] = {}
        trades: list[tuple[Any, ...]] = []
        quotes: list[tuple[Any, ...]] = []
        ids = self._ids
        seen_by_symbol = self._seen
        last_trade_ts = self._last_trade_ts
        last_quote = self._last_quote
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
                    price = message["p"]
                    size = message["s"]
                    trade_id = message.get("i", 0)
                    x = message.get("x")
                    exchange = ord(x) if x else 0
                    if not (0.0 < price < _INF and 0.0 < size < _INF and 0 <= trade_id < _U64):
                        raise _Bad("bad_field", f"price {price!r}, size {size!r}, id {trade_id!r}")
                    word = 0
                    codes = message.get("c")
                    if codes:
                        for code in codes:
                            word |= trade_bits.get(code, other)
                    iid = ids.get(symbol)
                    if iid is None:
                        iid = self._register(symbol)
                    seen = seen_by_symbol.get(symbol)
                    if seen is None:
                        seen = seen_by_symbol[symbol] = _Seen()
                    key = (trade_id, exchange, ts)
                    if key in seen.current or key in seen.previous:
                        raise _Bad("duplicate_trade", f"trade id {trade_id} at {ts} seen before")
                    seen.current.add(key)
                    if len(seen.current) > self._dedup_half:
                        seen.previous = seen.current
                        seen.current = set()
                    last = last_trade_ts.get(symbol)
                    if last is not None and ts < last:
                        self._problem(problems, "out_of_order_trade", frame_no, index, symbol,
                                      f"trade at {ts} after one at {last}; kept")
                    else:
                        last_trade_ts[symbol] = ts
                    trades.append((ts, price, size, trade_id, word, iid, exchange, 0))
                elif kind_code == "q":
                    ts = stamp(message["t"])
                    bid = message["bp"]
                    ask = message["ap"]
                    bid_size = message["bs"]
                    ask_size = message["as"]
                    if not (0.0 <= bid < _INF and 0.0 <= ask < _INF and 0.0 <= bid_size < _INF
                            and 0.0 <= ask_size < _INF):
                        raise _Bad("bad_field", f"bid {bid!r} x {bid_size!r}, ask {ask!r} x "
                                   f"{ask_size!r}")
                    if bid > ask and ask > 0.0:
                        raise _Bad("crossed_quote", f"bid {bid} > ask {ask}")
                    if bid == 0.0 and ask == 0.0:
                        raise _Bad("zero_quote", "bid and ask are both 0")
                    bx = message.get("bx")
                    ax = message.get("ax")
                    word = 0
                    codes = message.get("c")
                    if codes:
                        for code in codes:
                            word |= quote_bits.get(code, other)
                    iid = ids.get(symbol)
                    if iid is None:
                        iid = self._register(symbol)
                    row = (ts, bid, ask, bid_size, ask_size, word, iid,
                           ord(bx) if bx else 0, ord(ax) if ax else 0, 0)
                    if last_quote.get(symbol) == row:
                        raise _Bad("duplicate_quote", f"same quote again at {ts}")
                    last_quote[symbol] = row
                    quotes.append(row)
                elif kind_code in _CONTROL_TYPES:
                    controls.append(self._control(kind_code, message))
                else:
                    parse = _SLOW_PARSERS.get(kind_code)
                    if parse is None:
                        raise _Bad("unknown_type", f"message type {kind_code!r}")
                    kind, row = parse(self, message, symbol)
                    bucket = groups.get(kind)
                    if bucket is None:
                        bucket = groups[kind] = []
                    bucket.append(row)
            except _Bad as bad:
                self._problem(problems, bad.category, frame_no, index, _str_or_none(symbol),
                              f"{bad.detail}: {_excerpt(message)}")
            except KeyError as exc:
                self._problem(problems, "missing_field", frame_no, index, _str_or_none(symbol),
                              f"no field {exc}: {_excerpt(message)}")
            except _Timestamp as exc:
                self._problem(problems, "bad_timestamp", frame_no, index, _str_or_none(symbol),
                              f"{exc}: {_excerpt(message)}")
            except (TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
                category = "bad_field" if type(message) is dict else "malformed_frame"
                self._problem(problems, category, frame_no, index, _str_or_none(symbol),
                              f"{type(exc).__name__}: {exc}: {_excerpt(message)}")

        batches: list[EventBatch] = []
        received = None
        if ts_received is not None:
            # One array per frame; every batch gets a read-only view of it.
            received = np.full(len(messages), ts_received, np.int64)
            received.flags.writeable = False
        if trades:
            self._emit(batches, EventKind.TRADE, schema.TRADE, trades, received)
        if quotes:
            self._emit(batches, EventKind.QUOTE, schema.QUOTE, quotes, received)
        for kind, bucket in groups.items():
            self._emit(batches, kind, EVENT_DTYPES[kind], bucket, received)
        return DecodedFrame(batches, controls, problems)

    def reset_symbol(self, symbol: str) -> None:
        """Forget the dedup and ordering state of ``symbol`` (after an unsubscribe)."""
        self._seen.pop(symbol, None)
        self._last_trade_ts.pop(symbol, None)
        self._last_quote.pop(symbol, None)
        for key in [k for k in self._last_bar if k[1] == symbol]:
            del self._last_bar[key]

    # -- internals ------------------------------------------------------------------------

    def _register(self, symbol: Any) -> int:
        if type(symbol) is not str or not symbol:
            raise _Bad("missing_field" if symbol is None else "bad_field",
                       f"symbol {symbol!r}")
        iid = self._ids[symbol] = self.instruments.id_of(symbol)
        return iid

    def _emit(self, out: list[EventBatch], kind: EventKind, dtype: np.dtype,
              rows: list[tuple[Any, ...]], received: np.ndarray | None) -> None:
        """Append one batch per symbol of ``rows`` (arrival order kept within a symbol)."""
        events = np.array(rows, dtype=dtype)
        n = len(rows)
        self.stats["events"] += n
        ids = events["instrument_id"]
        symbol_of = self.instruments.symbol_of
        if n == 1 or (ids == ids[0]).all():
            out.append(EventBatch(kind, symbol_of(int(ids[0])), events,
                                  None if received is None else received[:n]))
            return
        order = np.argsort(ids, kind="stable")
        events = events[order]
        ids = ids[order]
        cuts = [0, *(np.flatnonzero(ids[1:] != ids[:-1]) + 1).tolist(), n]
        for start, end in zip(cuts[:-1], cuts[1:]):
            out.append(EventBatch(kind, symbol_of(int(ids[start])), events[start:end],
                                  None if received is None else received[: end - start]))

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

    def _problem(self, out: list[Problem], category: str, frame: int, index: int,
                 symbol: str | None, detail: str) -> None:
        problem = Problem(category, frame, index, symbol, detail[:300])
        out.append(problem)
        self.stats[category] += 1
        if category not in self._logged:
            self._logged.add(category)
            logger.warning("%s at %s: %s (further ones are counted in stats['%s'] and logged at "
                           "DEBUG)", category, problem.where, problem.detail, category)
        else:
            logger.debug("%s at %s: %s", category, problem.where, problem.detail)

    # Slow-path parsers: message kinds that arrive a few times a minute per symbol.

    def _bar(self, message: dict[str, Any], symbol: Any) -> tuple[EventKind | None, tuple]:
        kind_code = message["T"]
        kind = _BAR_KINDS[kind_code]
        ts = _checked_ts(message["t"])
        o, h, low, c, v = message["o"], message["h"], message["l"], message["c"], message["v"]
        n = message.get("n", 0)
        vwap = message.get("vw", 0.0)
        if not (0.0 < low <= o <= h < _INF and low <= c <= h and 0 <= v < _INF
                and 0 <= n < 2**32 and 0.0 <= vwap < _INF):
            raise _Bad("bad_field", f"bar o={o!r} h={h!r} l={low!r} c={c!r} v={v!r} n={n!r}")
        iid = self._id(symbol)
        if kind is EventKind.DAILY_BAR:
            end, session = ts + _DAY, schema.Session.NONE
        else:
            end, session = ts + _MINUTE, _session_of(ts)
        flags = schema.BarFlag.AMENDED if kind is EventKind.UPDATED_BAR else 0
        row = (ts, end, o, h, low, c, v, vwap, n, iid, session, flags)
        key = (kind_code, symbol)
        if self._last_bar.get(key) == row:
            raise _Bad("duplicate_bar", f"same bar again at {ts}")
        self._last_bar[key] = row
        return kind, row

    def _status(self, message: dict[str, Any], symbol: Any) -> tuple[EventKind | None, tuple]:
        ts = _checked_ts(message["t"])
        status, reason = message["sc"], message.get("rc", "")
        if type(status) is not str or type(reason) is not str:
            raise _Bad("bad_field", f"status code {status!r}, reason code {reason!r}")
        sc, rc = status.encode("ascii"), reason.encode("ascii")
        if len(sc) > 4 or len(rc) > 4:
            self.stats["truncated_code"] += 1
        state = _STATES.get(status, schema.TradingState.UNKNOWN)
        return EventKind.STATUS, (ts, self._id(symbol), state, sc[:4], rc[:4])

    def _luld(self, message: dict[str, Any], symbol: Any) -> tuple[EventKind | None, tuple]:
        ts = _checked_ts(message["t"])
        up, down, indicator = message["u"], message["d"], message.get("i")
        if not (0.0 <= down < _INF and 0.0 <= up < _INF):
            raise _Bad("bad_field", f"limit up {up!r}, limit down {down!r}")
        return EventKind.LULD, (ts, up, down, self._id(symbol), ord(indicator) if indicator else 0)

    def _correction(self, message: dict[str, Any], symbol: Any) -> tuple[EventKind | None, tuple]:
        ts = _checked_ts(message["t"])
        oi, op, os_, ci, cp, cs = (message[k] for k in ("oi", "op", "os", "ci", "cp", "cs"))
        if not (0 <= oi < _U64 and 0 <= ci < _U64 and 0.0 <= op < _INF and 0.0 <= cp < _INF
                and 0.0 <= os_ < _INF and 0.0 <= cs < _INF):
            raise _Bad("bad_field", "correction ids, prices or sizes out of range")
        x = message.get("x")
        return EventKind.CORRECTION, (
            ts, oi, op, os_, ci, cp, cs, condition_word(message.get("oc")),
            condition_word(message.get("cc")), self._id(symbol), ord(x) if x else 0)

    def _cancel(self, message: dict[str, Any], symbol: Any) -> tuple[EventKind | None, tuple]:
        ts = _checked_ts(message["t"])
        trade_id, price, size, action = message["i"], message["p"], message["s"], message["a"]
        if action not in ("C", "E") or not (0 <= trade_id < _U64 and 0.0 <= price < _INF
                                            and 0.0 <= size < _INF):
            raise _Bad("bad_field", f"cancel/error action {action!r}, id {trade_id!r}")
        x = message.get("x")
        return EventKind.CANCEL_ERROR, (ts, trade_id, price, size, self._id(symbol),
                                        ord(x) if x else 0, ord(action))

    def _id(self, symbol: Any) -> int:
        iid = self._ids.get(symbol)
        return self._register(symbol) if iid is None else iid


class _Bad(Exception):
    """Internal: a message is bad for a known reason."""

    def __init__(self, category: str, detail: str) -> None:
        super().__init__(detail)
        self.category = category
        self.detail = detail


class _Timestamp(Exception):
    """Internal: a message's timestamp is bad."""


_checked_ts = _timestamp_ns


def _str_or_none(value: Any) -> str | None:
    return value if type(value) is str else None


def _excerpt(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


_BAR_KINDS = {"b": EventKind.BAR, "u": EventKind.UPDATED_BAR, "d": EventKind.DAILY_BAR}
_SLOW_PARSERS: dict[str, Callable[[AlpacaDecoder, dict[str, Any], Any], tuple[Any, tuple]]] = {
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


@dataclass(frozen=True, kw_only=True, slots=True)
class Backoff:
    """Reconnect delays: exponential with jitter, reset after every session that got live.

    The n-th consecutive failed attempt (from 0) waits
    ``min(maximum, initial * factor**n) * (1 - jitter * U[0, 1))`` seconds.
    ``max_attempts`` (``None`` = forever) bounds consecutive failures before the stream gives up
    with the last error.
    """

    initial: float = 1.0
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if not (0 <= self.initial <= self.maximum and self.factor >= 1 and 0 <= self.jitter <= 1):
            raise ConfigError(f"invalid backoff {self}: need 0 <= initial <= maximum, "
                              "factor >= 1, 0 <= jitter <= 1")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Return the delay in seconds before reconnect attempt ``attempt`` (0-based)."""
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return base * (1.0 - self.jitter * (rng or random).random())


@dataclass(frozen=True, slots=True)
class Gap:
    """Events may have been missed between a dropped session and the next one.

    Attributes
    ----------
    symbols
        Symbols subscribed across the drop (all of them may have missed events).
    last_seen_ts
        Per symbol, ``ts_event`` (vendor time, ns UTC) of the last event received before the
        drop; a symbol without any event before the drop is absent.
    disconnected_at
        Local time (ns UTC) the drop was noticed.
    reconnected_at
        Local time (ns UTC) the new session authenticated, just before resubscribing.
    reason
        Why the session ended (exception text; never credentials).
    """

    symbols: frozenset[str]
    last_seen_ts: Mapping[str, int]
    disconnected_at: int
    reconnected_at: int
    reason: str

    def first_missed_ts_estimate(self, symbol: str) -> int:
        """Return the earliest vendor time (ns) that may be missing for ``symbol``.

        One nanosecond after its last seen event; ``disconnected_at`` if none was seen.
        """
        last = self.last_seen_ts.get(symbol)
        return self.disconnected_at if last is None else last + 1


class _SymbolQueue:
    __slots__ = ("batches", "pending", "scheduled")

    def __init__(self) -> None:
        self.batches: collections.deque[EventBatch] = collections.deque()
        self.pending = 0  # events queued
        self.scheduled = False  # the symbol is in the ready order


class _SessionEnded(Exception):
    """Internal: a request's session ended before the reply; the request is replayed later."""


class AlpacaStream(MarketDataStream):
    """Live Alpaca v2 stock stream (trades, quotes, bars, statuses, LULD, corrections, ...).

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
    queue_capacity
        Events per symbol above which quotes are conflated.
    max_backlog
        Events per symbol above which the receive loop waits for the consumer.
    backoff
        Reconnect policy.
    ping_interval, ping_timeout
        Keepalive in seconds: a ping every ``ping_interval``; no pong within ``ping_timeout``
        drops the session (then it reconnects).
    reply_timeout
        Seconds to wait for the welcome, the auth reply and each subscription reply.
    on_gap
        Called with each :class:`Gap` (from the stream's task; must not block).
    latency
        Where to record ``receive_to_decoded`` per frame (a :class:`tradecore.latency.LatencyStats`).

    Notes
    -----
    ``async with AlpacaStream(...) as stream`` connects and authenticates (fatal errors raise
    there); :meth:`subscribe` waits for the server's subscription reply and checks it. While
    the stream is reconnecting, (un)subscribe only updates the wanted set, which the next
    session sends in full.
    """

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
        latency: Any = None,
    ) -> None:
        self.latency = latency
        key_id = key_id if key_id is not None else os.environ.get("APCA_API_KEY_ID")
        secret_key = secret_key if secret_key is not None else os.environ.get("APCA_API_SECRET_KEY")
        if not key_id or not secret_key:
            raise ConfigError("Alpaca credentials missing: set APCA_API_KEY_ID and "
                              "APCA_API_SECRET_KEY, or pass key_id= and secret_key=")
        if not url.startswith(("ws://", "wss://")):
            raise ConfigError(f"url must start with ws:// or wss://, not {url[:40]!r}")
        if auth not in ("message", "headers"):
            raise ConfigError(f"auth must be 'message' or 'headers', not {auth!r}")
        if bad_input not in ("skip", "raise"):
            raise ConfigError(f"bad_input must be 'skip' or 'raise', not {bad_input!r}")
        if not 1 <= queue_capacity <= max_backlog:
            raise ConfigError("need 1 <= queue_capacity <= max_backlog")
        self._channels = self._check_channels(channels)
        self.url = url
        self.encoding = encoding
        self._key_id = key_id
        self._secret_key = secret_key
        self._auth = auth
        self._decoder = AlpacaDecoder(encoding=encoding, instruments=instruments)
        self._bad_input = bad_input
        self._capacity = queue_capacity
        self._max_backlog = max_backlog
        self._backoff = backoff
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._reply_timeout = reply_timeout
        self._on_gap = on_gap
        self._log = _Redacting(logger, (key_id, secret_key))
        self._ws_log = _Redacting(logging.getLogger("tradecore.streams.alpaca.websocket"),
                                  (key_id, secret_key), frames=True)

        self._wanted: dict[str, set[str]] = {c: set() for c in CHANNELS}
        self._confirmed: dict[str, frozenset[str]] = {}
        self._queues: dict[str, _SymbolQueue] = {}
        self._ready: collections.deque[str | BaseException] = collections.deque()
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._live = asyncio.Event()  # a session is authenticated and subscribed
        self._request_lock = asyncio.Lock()
        self._reply: asyncio.Future[Control] | None = None
        self._ws: ClientConnection | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._started: asyncio.Future[None] | None = None
        self._fatal: BaseException | None = None
        self._closing = False
        self._close_task: asyncio.Task[None] | None = None
        self._last_seen: dict[str, int] = {}
        self._stats: collections.Counter[str] = collections.Counter()
        self.gaps: list[Gap] = []
        """Every :class:`Gap` reported so far, oldest first."""

    def __repr__(self) -> str:
        return f"AlpacaStream(url={self.url!r}, encoding={self.encoding!r})"

    # -- MarketDataStream -------------------------------------------------------------------

    @property
    def subscribed(self) -> frozenset[str]:
        return frozenset().union(*self._wanted.values())

    @property
    def stats(self) -> dict[str, int]:
        """Counters: decoder (frames, messages, events, problem categories) and stream ones
        (``batches_delivered``, ``events_delivered``, ``quotes_conflated``,
        ``backpressure_waits``, ``sessions``, ``reconnects``, ``gaps``, ``dropped_unsubscribed``,
        ``unsolicited_errors``)."""
        merged = collections.Counter(self._decoder.stats)
        merged.update(self._stats)
        return dict(merged)

    @property
    def instruments(self) -> Instruments:
        """The registry assigning ``instrument_id``."""
        return self._decoder.instruments

    async def __aenter__(self) -> AlpacaStream:
        await self.connect()
        return self

    async def connect(self) -> None:
        """Connect and authenticate; return once live (idempotent).

        Raises
        ------
        AlpacaError
            A fatal error (bad credentials, connection limit, plan), or the last error once
            ``backoff.max_attempts`` consecutive attempts failed.
        """
        if self._closing:
            raise AlpacaProtocolError("the stream is closed")
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            self._supervisor = self._start_task(self._run(), "alpaca-stream-supervisor")
        await asyncio.shield(self._started)

    async def subscribe(self, symbols: Iterable[str], *, channels: Iterable[str] | None = None
                        ) -> None:
        """Subscribe ``symbols`` on ``channels`` (the stream's default channels if ``None``).

        Waits for the server's subscription reply and checks that it lists the symbols.

        Raises
        ------
        AlpacaSymbolLimitError, AlpacaRequestError
            The server refused; the subscriptions are as before the call.
        """
        await self._change("subscribe", symbols, channels)

    async def unsubscribe(self, symbols: Iterable[str], *, channels: Iterable[str] | None = None
                          ) -> None:
        """Unsubscribe ``symbols`` from ``channels`` (all channels if ``None``).

        Events of a symbol unsubscribed from every channel that are still queued are dropped
        when this returns, and later ones are not delivered.
        """
        await self._change("unsubscribe", symbols, channels)

    def __aiter__(self) -> AsyncIterator[EventBatch]:
        return self

    async def __anext__(self) -> EventBatch:
        if self._started is None and not self._closing:
            await self.connect()
        while True:
            while self._ready:
                item = self._ready.popleft()
                if isinstance(item, BaseException):
                    raise item
                queue = self._queues.get(item)
                if queue is None or not queue.batches:
                    if queue is not None:
                        queue.scheduled = False
                    continue
                batch = queue.batches.popleft()
                queue.pending -= len(batch)
                if queue.batches:
                    self._ready.append(item)
                else:
                    queue.scheduled = False
                self._drained.set()
                self._stats["batches_delivered"] += 1
                self._stats["events_delivered"] += len(batch)
                return batch
            if self._fatal is not None:
                raise self._fatal
            if self._closing:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    async def close(self) -> None:
        """Close the connection and end iteration; queued events are dropped. Idempotent."""
        self._closing = True
        if self._close_task is None:
            self._close_task = asyncio.get_running_loop().create_task(
                self._close(), name="alpaca-stream-close")
        await asyncio.shield(self._close_task)

    async def wait_live(self, timeout: float | None = None) -> None:
        """Wait until a session is authenticated and subscribed (e.g. after a reconnect)."""
        await asyncio.wait_for(self._live.wait(), timeout)

    # -- task helper ------------------------------------------------------------------------

    def _start_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        return start_task(coro, name, owner=self._tasks, log=self._log)

    # -- supervisor: connect, authenticate, subscribe, receive, reconnect --------------------

    async def _run(self) -> None:
        attempt = 0
        pending_gap: tuple[dict[str, int], int, str] | None = None
        rng = random.Random()
        while not self._closing:
            was_live = False
            delay = 0.0
            try:
                async with connect(
                    self.url,
                    additional_headers=self._headers(),
                    user_agent_header=f"tradecore/{__version__}",
                    ping_interval=self._ping_interval,
                    ping_timeout=self._ping_timeout,
                    open_timeout=self._reply_timeout,
                    close_timeout=2.0,
                    max_size=2**24,
                    logger=self._ws_log,
                ) as ws:
                    self._stats["sessions"] += 1
                    await self._handshake(ws)
                    if pending_gap is not None:
                        self._report_gap(*pending_gap)
                        pending_gap = None
                    await self._resubscribe(ws)
                    self._ws = ws
                    was_live = True
                    attempt = 0
                    self._live.set()
                    if self._started is not None and not self._started.done():
                        self._started.set_result(None)
                    await self._receive(ws)
                    raise AlpacaProtocolError("the server closed the stream")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below
                error = self._classify(exc)
                if error.fatal:
                    self._fail(error)
                    return
                reason = f"{type(exc).__name__}: {exc}"
                if was_live:
                    self._stats["reconnects"] += 1
                    pending_gap = (dict(self._last_seen), time.time_ns(), reason)
                attempt += 1
                if self._backoff.max_attempts is not None and attempt > self._backoff.max_attempts:
                    self._fail(error)
                    return
                delay = self._backoff.delay(attempt - 1, rng)
                self._log.warning("Alpaca stream session %s (%s); reconnecting in %.2f s",
                                  "lost" if was_live else "failed", reason, delay)
            finally:
                self._ws = None
                self._live.clear()
                if self._reply is not None and not self._reply.done():
                    self._reply.set_exception(_SessionEnded())
                    self._reply.exception()  # retrieved: the requester may be gone
            await asyncio.sleep(delay)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": f"application/{self.encoding}"}
        if self._auth == "headers":
            headers["APCA-API-KEY-ID"] = self._key_id
            headers["APCA-API-SECRET-KEY"] = self._secret_key
        return headers

    def _classify(self, exc: Exception) -> AlpacaError:
        if isinstance(exc, AlpacaError):
            return exc
        if isinstance(exc, InvalidStatus):
            status = exc.response.status_code
            if status == 429 or status >= 500:
                return AlpacaProtocolError(f"the upgrade was refused with HTTP {status}")
            return AlpacaPermissionError(
                f"the upgrade was refused with HTTP {status}: check the URL {self.url!r}")
        if isinstance(exc, InvalidURI):
            return AlpacaPermissionError(f"invalid stream URL {self.url!r}")
        if isinstance(exc, (ConnectionClosed, OSError, InvalidHandshake, TimeoutError,
                            _SessionEnded)):
            return AlpacaProtocolError(f"{type(exc).__name__}: {exc}")
        return AlpacaProtocolError(f"unexpected {type(exc).__name__}: {exc}")

    def _fail(self, error: BaseException) -> None:
        """End the stream with a fatal error: raised by connect() and after queued events."""
        self._log.error("Alpaca stream stopped: %s", error)
        self._fatal = error
        if self._started is not None and not self._started.done():
            self._started.set_exception(error)
            self._started.exception()
        self._wakeup.set()

    async def _handshake(self, ws: ClientConnection) -> None:
        welcome = await self._await_control(ws, None)
        if welcome.type != "success" or welcome.message != "connected":
            raise AlpacaProtocolError(f"expected the welcome, got {welcome.type} "
                                      f"{welcome.message!r}")
        if self._auth == "message":
            reply = await self._await_control(
                ws, {"action": "auth", "key": self._key_id, "secret": self._secret_key})
        else:
            reply = await self._await_control(ws, None)
        if reply.type != "success" or reply.message != "authenticated":
            raise AlpacaProtocolError(f"expected 'authenticated', got {reply.type} "
                                      f"{reply.message!r}")

    async def _resubscribe(self, ws: ClientConnection) -> None:
        request = {c: sorted(s) for c, s in self._wanted.items() if s}
        if not request:
            return
        async with self._request_lock:
            reply = await self._await_control(ws, {"action": "subscribe", **request})
            self._check_reply(reply, "subscribe", request)

    async def _await_control(self, ws: ClientConnection, message: dict[str, Any] | None
                             ) -> Control:
        """Send ``message`` (if any) and read frames until the reply; deliver data meanwhile."""
        reply = asyncio.get_running_loop().create_future()
        self._reply = reply
        try:
            if message is not None:
                await ws.send(self._encode(message))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._reply_timeout
            while not reply.done():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise AlpacaProtocolError(
                        f"no reply from the server in {self._reply_timeout} s")
                # Cancelling recv() loses no data (websockets guarantees it).
                frame = await asyncio.wait_for(ws.recv(), remaining)
                await self._handle_frame(frame)
        except TimeoutError:
            raise AlpacaProtocolError(f"no reply from the server in {self._reply_timeout} s"
                                      ) from None
        finally:
            self._reply = None
            if reply.done() and not reply.cancelled():
                reply.exception()  # mark retrieved; result() below re-raises it
        return reply.result()

    async def _receive(self, ws: ClientConnection) -> None:
        # Cancel-safe: websockets' recv() loses nothing when cancelled, and a frame is handled
        # completely before the next await on the socket.
        while True:
            await self._handle_frame(await ws.recv())

    async def _handle_frame(self, frame: bytes | str) -> None:
        received = time.time_ns()
        decoded = self._decoder.decode(frame, received)
        if self.latency is not None:
            self.latency.add("receive_to_decoded", time.time_ns() - received)
        for control in decoded.controls:
            self._on_control(control)
        if decoded.batches:
            await self._enqueue(decoded.batches)
        if self._bad_input == "raise" and decoded.problems:
            try:
                decoded.raise_for_problems()
            except AlpacaDataError as exc:
                self._ready.append(exc)
                self._wakeup.set()

    def _on_control(self, control: Control) -> None:
        reply = self._reply
        if control.type == "subscription":
            self._confirmed = dict(control.channels)
        if control.type == "error":
            error = error_from_code(control.code, control.message)
            if reply is not None and not reply.done():
                reply.set_exception(error)
                if error.fatal:
                    raise error
                return
            self._stats["unsolicited_errors"] += 1
            if error.fatal or isinstance(error, AlpacaProtocolError):
                raise error
            self._log.warning("Alpaca stream: unsolicited %s", error)
            return
        if reply is not None and not reply.done():
            reply.set_result(control)
        elif control.type == "success":
            self._log.debug("Alpaca stream: unsolicited success %r", control.message)

    async def _enqueue(self, batches: list[EventBatch]) -> None:
        wanted_all = self._wanted_symbols()
        for batch in batches:
            symbol = batch.symbol
            if symbol not in wanted_all and "*" not in wanted_all:
                self._stats["dropped_unsubscribed"] += len(batch)
                continue
            last = int(batch.events["ts_event"].max())  # late trades may come last
            if last > self._last_seen.get(symbol, -(2**63)):
                self._last_seen[symbol] = last
            queue = self._queues.get(symbol)
            if queue is None:
                queue = self._queues[symbol] = _SymbolQueue()
            if batch.kind is EventKind.QUOTE and queue.pending + len(batch) > self._capacity:
                batch = self._conflate(queue, batch)
            queue.batches.append(batch)
            queue.pending += len(batch)
            if not queue.scheduled:
                queue.scheduled = True
                self._ready.append(symbol)
            self._wakeup.set()
            while queue.pending > self._max_backlog and not self._closing:
                self._stats["backpressure_waits"] += 1
                self._drained.clear()
                await self._drained.wait()

    def _conflate(self, queue: _SymbolQueue, batch: EventBatch) -> EventBatch:
        kept: collections.deque[EventBatch] = collections.deque()
        dropped = 0
        for queued in queue.batches:
            if queued.kind is EventKind.QUOTE:
                dropped += len(queued)
            else:
                kept.append(queued)
        queue.batches = kept
        queue.pending -= dropped
        dropped += len(batch) - 1
        self._stats["quotes_conflated"] += dropped
        received = None if batch.ts_received is None else batch.ts_received[-1:]
        return EventBatch(batch.kind, batch.symbol, batch.events[-1:].copy(), received)

    def _wanted_symbols(self) -> set[str]:
        return set().union(*self._wanted.values())

    # -- subscriptions ----------------------------------------------------------------------

    @staticmethod
    def _check_channels(channels: Iterable[str]) -> tuple[str, ...]:
        result = tuple(channels)
        unknown = [c for c in result if c not in CHANNELS]
        if unknown or not result:
            raise ConfigError(f"unknown or no channels {unknown}; choose from {CHANNELS}")
        return result

    async def _change(self, action: str, symbols: Iterable[str], channels: Iterable[str] | None
                      ) -> None:
        if isinstance(symbols, str):
            symbols = [symbols]
        wanted = set()
        for symbol in symbols:
            if not isinstance(symbol, str) or not symbol.strip():
                raise ConfigError(f"symbols must be non-empty strings, not {symbol!r}")
            wanted.add(symbol.strip().upper())
        if action == "subscribe":
            chosen = self._channels if channels is None else self._check_channels(channels)
        else:
            chosen = CHANNELS if channels is None else self._check_channels(channels)
        await self.connect()
        async with self._request_lock:
            if action == "subscribe":
                delta = {c: sorted(wanted - self._wanted[c]) for c in chosen}
            else:
                delta = {c: sorted(wanted & self._wanted[c]) for c in chosen}
            delta = {c: s for c, s in delta.items() if s}
            if not delta:
                return
            for c, s in delta.items():
                if action == "subscribe":
                    self._wanted[c].update(s)
                else:
                    self._wanted[c].difference_update(s)
            try:
                await self._request(action, delta)
            except AlpacaRequestError:
                for c, s in delta.items():  # the server keeps the old set, and so do we
                    if action == "subscribe":
                        self._wanted[c].difference_update(s)
                    else:
                        self._wanted[c].update(s)
                raise
            finally:
                if action == "unsubscribe":
                    self._purge(set().union(*delta.values()))

    async def _request(self, action: str, delta: dict[str, list[str]]) -> None:
        ws = self._ws
        if ws is None:  # reconnecting: the next session sends the whole wanted set
            return
        reply = asyncio.get_running_loop().create_future()
        self._reply = reply
        try:
            await ws.send(self._encode({"action": action, **delta}))
            control = await asyncio.wait_for(asyncio.shield(reply), self._reply_timeout)
        except (_SessionEnded, ConnectionClosed):
            return  # resent in full by the next session
        except TimeoutError:
            raise AlpacaProtocolError(f"no {action} reply in {self._reply_timeout} s") from None
        finally:
            if self._reply is reply:
                self._reply = None
            if reply.done() and not reply.cancelled():
                reply.exception()
        self._check_reply(control, action, delta)

    def _check_reply(self, control: Control, action: str, delta: Mapping[str, Iterable[str]]
                     ) -> None:
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

    def _purge(self, symbols: set[str]) -> None:
        still = self._wanted_symbols()
        for symbol in symbols - still:
            queue = self._queues.pop(symbol, None)
            if queue is not None:
                self._stats["dropped_unsubscribed"] += queue.pending
            self._decoder.reset_symbol(symbol)
            self._last_seen.pop(symbol, None)
        self._drained.set()

    def _encode(self, message: dict[str, Any]) -> bytes | str:
        if self.encoding == "msgpack":
            return msgpack.packb(message)
        return json.dumps(message)

    def _report_gap(self, last_seen: dict[str, int], disconnected_at: int, reason: str) -> None:
        symbols = frozenset(self._wanted_symbols())
        gap = Gap(symbols, {s: last_seen[s] for s in symbols if s in last_seen},
                  disconnected_at, time.time_ns(), reason)
        self.gaps.append(gap)
        self._stats["gaps"] += 1
        self._log.warning("Alpaca stream reconnected after %.3f s; %d symbols may have missed "
                          "events (see stream.gaps)",
                          (gap.reconnected_at - disconnected_at) / 1e9, len(symbols))
        if self._on_gap is not None:
            try:
                self._on_gap(gap)
            except Exception:  # noqa: BLE001 - a callback bug must not kill the stream
                self._log.exception("on_gap callback failed")

    # -- close ------------------------------------------------------------------------------

    async def _close(self) -> None:
        supervisor = self._supervisor
        if supervisor is not None and not supervisor.done():
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        if self._started is not None and not self._started.done():
            self._started.set_exception(AlpacaProtocolError("the stream was closed"))
            self._started.exception()
        self._queues.clear()
        self._ready.clear()
        self._drained.set()
        self._wakeup.set()


class _Redacting(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Pass records on with the credentials (and frames carrying them) blanked out.

    ``websockets`` logs handshake headers and frame excerpts at DEBUG; an excerpt may hold a
    prefix of the secret, so any record mentioning an auth message or header is reduced.
    """

    def __init__(self, target: logging.Logger, secrets: tuple[str, ...], *,
                 frames: bool = False) -> None:
        super().__init__(target, {})
        self._secrets = tuple(s for s in secrets if s)
        # Frame and header excerpts may be cut inside a credential: drop any that could hold
        # one, recognised by the auth message's and headers' own words.
        self._markers = ("secret", "SECRET", "APCA-API", "auth", "Authorization") if frames else ()

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        if self._markers and text.startswith(("> TEXT", "> BINARY", "> CONT")):
            # Frames the client sends are auth and (un)subscribe requests: log their size only.
            text = text.split(" ", 2)[1] + " frame sent " + text.rsplit(" ", 2)[-2].lstrip("[")
            text += " bytes" if text[-1].isdigit() else ""
        elif any(m in text for m in self._markers) or any(s[:6] in text for s in self._secrets):
            text = text.split(" ", 1)[0] + " <redacted: may carry credentials>"
        self.logger.log(level, "%s", text, **kwargs)
