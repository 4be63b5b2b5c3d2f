"""What the vendor stream decoders share: one bad-input machinery and per-symbol batching.

:class:`VendorDecoder` is the base of :class:`~tradecore.streams.alpaca.AlpacaDecoder` and
:class:`~tradecore.streams.polygon.PolygonDecoder`. A decoder never raises for bad input: each
bad message becomes a :class:`Problem`, counted in ``stats[category]`` and logged at WARNING the
first time its category occurs (at DEBUG afterwards). Per-symbol state, kept across frames and
reconnects, finds what is bad only in context: a trade seen before (``duplicate_trade``,
dropped), a trade older than the symbol's newest (``out_of_order_trade``, kept and reported),
the same quote or bar again (``duplicate_quote``, ``duplicate_bar``, dropped).
:meth:`VendorDecoder.reset_symbol` forgets a symbol's state after an unsubscribe.
"""

from __future__ import annotations

import collections
import logging
import reprlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tradecore._native import _core
from tradecore.streams.base import GROUPED_KINDS, EventBatch, EventKind, GroupedBatch, Instruments

__all__ = ["BadMessage", "Problem", "VendorDecoder", "by_instrument", "excerpt", "str_or_none"]

_DUPLICATE = _core.streams.TradeCheck.DUPLICATE
_OUT_OF_ORDER = _core.streams.TradeCheck.OUT_OF_ORDER

TradeKey = tuple[int, int, int]
"""(trade id, exchange, ts_event): what identifies a trade of one symbol."""


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


class BadMessage(Exception):
    """Internal: a message is bad for a known reason (its problem ``category``)."""

    def __init__(self, category: str, detail: str) -> None:
        super().__init__(detail)
        self.category = category
        self.detail = detail


def str_or_none(value: Any) -> str | None:
    return value if type(value) is str else None


def excerpt(value: Any, limit: int = 160) -> str:
    """A short repr of a bad message for its problem report, whatever it holds: nesting a
    thousand deep (a plain repr recurses past the stack) or an integer of thousands of digits
    (which Python refuses to print)."""
    _EXCERPT.maxstring = _EXCERPT.maxother = _EXCERPT.maxlong = limit
    try:
        text = _EXCERPT.repr(value)
    except (ValueError, RecursionError):
        text = f"<{type(value).__name__} that cannot be shown>"
    return text if len(text) <= limit else text[:limit] + "..."


_EXCERPT = reprlib.Repr()
_EXCERPT.maxlevel, _EXCERPT.maxdict, _EXCERPT.maxlist = 4, 32, 16


def number(value: Any) -> float:
    """A decoded JSON or msgpack number as a float. Anything else (a bool, a string, null) and
    an integer past float's range is a ``bad_field``: caught here, with the message, rather than
    when the frame's events are built, which would lose the whole frame."""
    if type(value) is float:
        return value
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            raise BadMessage("bad_field", f"number {excerpt(value, 40)} out of range") from None
    raise BadMessage("bad_field", f"{excerpt(value, 40)} is not a number")


def by_instrument(events: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Return ``events`` stably sorted by instrument and the cuts between instruments.

    ``cuts`` starts with 0 and ends with ``len(events)``; each instrument's events keep their
    arrival order.
    """
    n = len(events)
    ids = events["instrument_id"]
    if n == 1 or (ids == ids[0]).all():
        return events, [0, n]
    events = events[np.argsort(ids, kind="stable")]
    ids = events["instrument_id"]
    return events, [0, *(np.flatnonzero(ids[1:] != ids[:-1]) + 1).tolist(), n]


class VendorDecoder:
    """Per-symbol bad-input state, problem reports and batching of a vendor's decoder.

    Parameters
    ----------
    instruments
        Registry assigning ``instrument_id``; a private one by default.
    dedup_window
        How many recent trades per symbol are remembered to drop duplicates.
    """

    logger: ClassVar[logging.Logger]
    """Where the subclass's problems are logged."""

    def __init__(self, *, instruments: Instruments | None = None, dedup_window: int = 4096) -> None:
        self.instruments = instruments if instruments is not None else Instruments()
        self._ids: dict[str, int] = {}
        # Recent trade keys, newest trade time and last quote per symbol, native so that a
        # clean frame is checked and remembered in one pass (AlpacaDecoder).
        self._checks = _core.streams.FeedChecks(dedup_window)
        self._last_bar: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._logged: set[str] = set()
        self._frames = 0
        self.stats: collections.Counter[str] = collections.Counter()

    def newest_ts(self, symbol: str) -> int | None:
        """The newest trade time decoded for ``symbol``, or its last quote's if later (None:
        neither). A quote older than one before it is not newest, but a gap's estimate
        starting earlier only fetches more than it must (the duplicates are dropped)."""
        newest: int | None = self._checks.newest_ts(symbol)
        return newest

    def reset_symbol(self, symbol: str) -> None:
        """Forget the dedup and ordering state of ``symbol`` (after an unsubscribe)."""
        self._checks.reset(symbol)
        for key in [k for k in self._last_bar if k[1] == symbol]:
            del self._last_bar[key]

    # -- per-symbol checks ------------------------------------------------------------------

    def _check_trade(self, symbol: str, key: TradeKey, shown_id: object, problems: list[Problem],
                     frame: int, index: int) -> None:
        """Raise ``duplicate_trade`` for a trade seen before; remember the trade; report one
        older than the symbol's newest as ``out_of_order_trade`` (it is kept)."""
        trade_id, exchange, ts = key
        result = self._checks.check_trade(symbol, trade_id, exchange, ts)
        if result == _DUPLICATE:
            raise BadMessage("duplicate_trade", f"trade id {shown_id} at {ts} seen before")
        if result == _OUT_OF_ORDER:
            self._problem(problems, "out_of_order_trade", frame, index, symbol,
                          f"trade at {ts} after one at {self._checks.last_trade_ts(symbol)}; kept")

    def _check_quote(self, symbol: str, row: tuple[Any, ...]) -> None:
        """Raise ``duplicate_quote`` if ``row`` repeats the symbol's last quote; else keep it."""
        if not self._checks.check_quote(symbol, row):
            raise BadMessage("duplicate_quote", f"same quote again at {row[0]}")

    def _check_bar(self, key: tuple[str, str], row: tuple[Any, ...], what: str = "bar") -> None:
        """Raise ``duplicate_bar`` if ``row`` repeats the last bar of ``key`` (vendor kind,
        symbol); else keep it."""
        if self._last_bar.get(key) == row:
            raise BadMessage("duplicate_bar", f"same {what} again at {row[0]}")
        self._last_bar[key] = row

    def _problem(self, out: list[Problem], category: str, frame: int, index: int,
                 symbol: str | None, detail: str) -> None:
        problem = Problem(category, frame, index, symbol, detail[:300])
        out.append(problem)
        self.stats[category] += 1
        if category not in self._logged:
            self._logged.add(category)
            self.logger.warning("%s at %s: %s (further ones are counted in stats['%s'] and "
                                "logged at DEBUG)", category, problem.where, problem.detail,
                                category)
        else:
            self.logger.debug("%s at %s: %s", category, problem.where, problem.detail)

    # -- batches ----------------------------------------------------------------------------

    @staticmethod
    def _received(messages: int, ts_received: int | None) -> np.ndarray | None:
        """One receive-time array per frame; every batch gets a read-only view of it."""
        if ts_received is None:
            return None
        received = np.full(messages, ts_received, np.int64)
        received.flags.writeable = False
        return received

    def _emit(self, out: list[EventBatch | GroupedBatch], kind: EventKind, dtype: np.dtype,
              rows: list[tuple[Any, ...]], received: np.ndarray | None) -> None:
        """Append ``rows`` grouped by symbol (arrival order kept within a symbol): trades and
        quotes as one :class:`GroupedBatch` (what the pipeline runs natively, as a clean frame's),
        other kinds as one batch per symbol."""
        events, cuts = by_instrument(np.array(rows, dtype=dtype))
        self.stats["events"] += len(events)
        symbol_of = self.instruments.symbol_of
        symbols = [symbol_of(iid) for iid in events["instrument_id"][cuts[:-1]].tolist()]
        if kind in GROUPED_KINDS:
            out.append(GroupedBatch(kind, events, np.array(cuts, np.int64), symbols,
                                    None if received is None else int(received[0]), self.instruments))
            return
        for symbol, start, end in zip(symbols, cuts, cuts[1:]):
            out.append(EventBatch(kind, symbol, events[start:end],
                                  None if received is None else received[: end - start]))
