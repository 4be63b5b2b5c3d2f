"""The event schema as NumPy structured dtypes.

Every event is a row of one of these dtypes; timestamps are ``int64`` nanoseconds since the
Unix epoch, UTC. The layouts are written out here (so they are readable and stable) and checked
against the C++ structs at import: if they ever disagree, importing this module fails.
"""

from __future__ import annotations

import enum
from typing import cast

import numpy as np

from tradecore._native import _core

__all__ = [
    "BAR",
    "CANCEL_ERROR",
    "CORRECTION",
    "FILL",
    "LULD",
    "ORDER",
    "ORDER_UPDATE",
    "QUOTE",
    "QUOTE_BAR",
    "STATUS",
    "TRADE",
    "TRADE_INTENT",
    "TRANSITION",
    "BarFlag",
    "OrderReason",
    "OrderStatus",
    "OrderType",
    "Session",
    "Side",
    "Sizing",
    "TimeInForce",
    "TradeFlag",
    "TradingState",
    "concatenate",
    "crossed",
    "empty",
]


def _dtype(fields: list[tuple[str, str]], itemsize: int) -> np.dtype[np.void]:
    """Build an aligned structured dtype with the C struct's trailing padding."""
    names = [name for name, _ in fields]
    formats = [fmt for _, fmt in fields]
    natural = np.dtype({"names": names, "formats": formats}, align=True)
    assert natural.fields is not None
    offsets = [natural.fields[n][1] for n in names]
    spec = {"names": names, "formats": formats, "offsets": offsets, "itemsize": itemsize}
    return cast("np.dtype[np.void]", np.dtype(spec))  # type: ignore[call-overload]


TRADE = _dtype(
    [
        ("ts_event", "<i8"),
        ("price", "<f8"),
        ("size", "<f8"),
        ("trade_id", "<u8"),
        ("conditions", "<u4"),
        ("instrument_id", "<u4"),
        ("exchange", "u1"),
        ("flags", "u1"),
    ],
    48,
)
"""One print: ``ts_event`` ns UTC, ``price`` $/share, ``size`` shares, ``trade_id`` the venue's
id (0 if unknown), ``conditions`` the vendor's sale-condition flag word, ``exchange`` an ASCII
venue letter, ``flags`` TradeFlag bits."""

QUOTE = _dtype(
    [
        ("ts_event", "<i8"),
        ("bid_price", "<f8"),
        ("ask_price", "<f8"),
        ("bid_size", "<f8"),
        ("ask_size", "<f8"),
        ("conditions", "<u4"),
        ("instrument_id", "<u4"),
        ("bid_exchange", "u1"),
        ("ask_exchange", "u1"),
        ("flags", "u1"),
    ],
    56,
)
"""Top of book. A price of 0 means that side is absent."""

BAR = _dtype(
    [
        ("ts_event", "<i8"),
        ("ts_end", "<i8"),
        ("open", "<f8"),
        ("high", "<f8"),
        ("low", "<f8"),
        ("close", "<f8"),
        ("volume", "<f8"),
        ("vwap", "<f8"),
        ("trade_count", "<u4"),
        ("instrument_id", "<u4"),
        ("session", "u1"),
        ("flags", "u1"),
    ],
    80,
)
"""OHLCV bar; ``ts_event`` is the open time, ``ts_end`` the exclusive end (time bars) or the
last trade's time (tick, volume, value and range bars)."""

QUOTE_BAR = _dtype(
    [
        ("ts_event", "<i8"),
        ("ts_end", "<i8"),
        ("bid_open", "<f8"),
        ("bid_high", "<f8"),
        ("bid_low", "<f8"),
        ("bid_close", "<f8"),
        ("ask_open", "<f8"),
        ("ask_high", "<f8"),
        ("ask_low", "<f8"),
        ("ask_close", "<f8"),
        ("bid_size", "<f8"),
        ("ask_size", "<f8"),
        ("spread_twa", "<f8"),
        ("quote_count", "<u4"),
        ("instrument_id", "<u4"),
        ("session", "u1"),
        ("flags", "u1"),
    ],
    120,
)
"""Bid and ask OHLC, last sizes and the time-weighted average spread over the period."""


STATUS = _dtype(
    [
        ("ts_event", "<i8"),
        ("instrument_id", "<u4"),
        ("state", "u1"),
        ("status_code", "S4"),
        ("reason_code", "S4"),
    ],
    24,
)
"""A trading-status change (halt, resumption): ``state`` is a :class:`TradingState`; the
vendor's status and reason codes are kept as ASCII bytes."""

LULD = _dtype(
    [
        ("ts_event", "<i8"),
        ("limit_up", "<f8"),
        ("limit_down", "<f8"),
        ("instrument_id", "<u4"),
        ("indicator", "u1"),
    ],
    32,
)
"""Limit-up/limit-down price bands."""


CORRECTION = np.dtype(
    [
        ("ts_event", "<i8"),
        ("original_trade_id", "<u8"),
        ("original_price", "<f8"),
        ("original_size", "<f8"),
        ("corrected_trade_id", "<u8"),
        ("corrected_price", "<f8"),
        ("corrected_size", "<f8"),
        ("original_conditions", "<u4"),
        ("corrected_conditions", "<u4"),
        ("instrument_id", "<u4"),
        ("exchange", "u1"),
    ],
    align=True,
)
"""A trade correction (Python-side only until the core consumes corrections)."""

CANCEL_ERROR = np.dtype(
    [
        ("ts_event", "<i8"),
        ("trade_id", "<u8"),
        ("price", "<f8"),
        ("size", "<f8"),
        ("instrument_id", "<u4"),
        ("exchange", "u1"),
        ("action", "u1"),
    ],
    align=True,
)
"""A trade cancel (``action`` = ord('C')) or error (ord('E')); Python-side only for now."""


ORDER = _dtype(
    [
        ("order_id", "<u8"),
        ("ts_submit", "<i8"),
        ("quantity", "<f8"),
        ("limit_price", "<f8"),
        ("stop_price", "<f8"),
        ("instrument_id", "<u4"),
        ("side", "u1"),
        ("type", "u1"),
        ("time_in_force", "u1"),
    ],
    48,
)
"""An order for the fill simulator: ``side`` a :class:`Side`, ``type`` an :class:`OrderType`."""

FILL = _dtype(
    [
        ("ts_event", "<i8"),
        ("order_id", "<u8"),
        ("price", "<f8"),
        ("quantity", "<f8"),
        ("commission", "<f8"),
        ("leaves_quantity", "<f8"),
        ("instrument_id", "<u4"),
        ("side", "u1"),
        ("liquidity", "u1"),
    ],
    56,
)
"""One execution; ``liquidity`` 1 = took, 2 = added; ``commission`` in dollars."""

ORDER_UPDATE = _dtype(
    [
        ("ts_event", "<i8"),
        ("order_id", "<u8"),
        ("filled_quantity", "<f8"),
        ("leaves_quantity", "<f8"),
        ("instrument_id", "<u4"),
        ("status", "u1"),
        ("reason", "u1"),
    ],
    40,
)
"""An order's status change (:class:`OrderStatus`) with its reason code."""

TRADE_INTENT = _dtype(
    [
        ("ts_event", "<i8"),
        ("quantity", "<f8"),
        ("limit_price", "<f8"),
        ("stop_price", "<f8"),
        ("reference_price", "<f8"),
        ("instrument_id", "<u4"),
        ("transition", "<u4"),
        ("strategy_id", "<u2"),
        ("rule", "<u2"),
        ("side", "u1"),
        ("order_type", "u1"),
        ("sizing", "u1"),
    ],
    56,
)
"""What a strategy wants done, with the rule that fired (``rule``) and the index of the
transition record holding the values it saw (``transition``)."""

TRANSITION = _dtype(
    [
        ("ts_event", "<i8"),
        ("values", "(6,)<f8"),
        ("instrument_id", "<u4"),
        ("strategy_id", "<u2"),
        ("rule", "<u2"),
        ("value_names", "(6,)<u2"),
        ("from_state", "u1"),
        ("to_state", "u1"),
        ("value_count", "u1"),
    ],
    80,
)
"""A strategy state change: the rule, from/to states and up to six named values its guard saw."""


class Side(enum.IntEnum):
    """Order and intent side."""

    BUY = 1
    SELL = 2


class OrderType(enum.IntEnum):
    MARKET = 0
    LIMIT = 1
    STOP = 2
    STOP_LIMIT = 3


class TimeInForce(enum.IntEnum):
    DAY = 0
    GTC = 1
    IOC = 2


class OrderStatus(enum.IntEnum):
    SUBMITTED = 0
    LIVE = 1
    PARTIALLY_FILLED = 2
    FILLED = 3
    CANCELED = 4
    REJECTED = 5
    TRIGGERED = 6


class OrderReason(enum.IntEnum):
    """Why an order update happened (``ORDER_UPDATE['reason']``)."""

    NONE = 0
    USER_CANCEL = 1
    IOC_REMAINDER = 2  # IOC: what the book did not fill
    INVALID_ORDER = 3  # non-positive quantity, missing or bad price
    UNKNOWN_ORDER = 4  # a cancel for an order the simulator does not hold
    DUPLICATE_ID = 5
    REFUSED = 6  # never became an order: the router or a risk check refused the intent


class Sizing(enum.IntEnum):
    """How an intent's quantity is meant."""

    SHARES = 0
    NOTIONAL = 1  # dollars
    PERCENT_EQUITY = 2  # fraction of equity
    RISK_PER_TRADE = 3  # dollars at risk to stop_price
    CLOSE_POSITION = 4


class TradingState(enum.IntEnum):
    """Trading status of an instrument (``STATUS['state']``)."""

    UNKNOWN = 0
    TRADING = 1
    HALTED = 2
    QUOTE_ONLY = 3
    PAUSED = 4  # LULD pause


class Session(enum.IntEnum):
    """Session of a US-equity bar, in America/New_York local time (early closes: 13:00 / 17:00,
    see :mod:`tradecore.calendar`)."""

    NONE = 0
    PREMARKET = 1  # 04:00-09:30
    REGULAR = 2  # 09:30-16:00
    AFTER_HOURS = 3  # 16:00-20:00
    OVERNIGHT = 4  # 20:00-04:00


class TradeFlag(enum.IntFlag):
    """Bits of ``TRADE['flags']``."""

    SUSPICIOUS = 1


class BarFlag(enum.IntFlag):
    """Bits of ``BAR['flags']``."""

    FLAT = 1  # no trades in the period: O=H=L=C = previous close, volume 0
    AMENDED = 2  # late trades were folded into this bar
    PARTIAL = 4  # closed by flush() before its period ended


def empty(dtype: np.dtype, n: int = 0) -> np.ndarray:
    """Return a zero-filled array of ``n`` events of ``dtype``."""
    return np.zeros(n, dtype=dtype)


def concatenate(arrays: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
    """Join event arrays, keeping ``dtype`` exactly.

    ``np.concatenate`` promotes padded structured dtypes to packed ones (NumPy 2), which the
    native batch calls then reject; this keeps the C layout.
    """
    raw = np.dtype((np.void, dtype.itemsize))  # join as opaque records, then view back
    parts = [np.ascontiguousarray(a, dtype=dtype).view(raw) for a in arrays]
    joined = np.concatenate(parts) if parts else np.empty(0, raw)
    return joined.view(dtype)


def crossed(quotes: np.ndarray) -> np.ndarray:
    """Which QUOTE rows are crossed: both sides present and the bid above the ask. A side of 0
    is absent (a one-sided quote), and a locked quote (bid equal to ask) is a quote."""
    bid, ask = quotes["bid_price"], quotes["ask_price"]
    crossing: np.ndarray = (bid > ask) & (ask > 0)
    return crossing


def _check_against_native() -> None:
    native = _core.native_dtypes
    for name, ours in (
        ("Trade", TRADE),
        ("Quote", QUOTE),
        ("Bar", BAR),
        ("QuoteBar", QUOTE_BAR),
        ("Status", STATUS),
        ("Luld", LULD),
        ("Order", ORDER),
        ("Fill", FILL),
        ("OrderUpdate", ORDER_UPDATE),
        ("TradeIntent", TRADE_INTENT),
        ("TransitionRecord", TRANSITION),
    ):
        theirs = np.dtype(native[name])
        if ours != theirs:
            raise ImportError(
                f"tradecore.schema.{name} does not match the C++ layout: {ours} != {theirs}. "
                "Rebuild the native module (`pip install .`)."
            )


_check_against_native()
