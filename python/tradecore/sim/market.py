"""The interface between a simulated market and everything that serves or trades on it.

A :class:`Market` owns the simulated session: its clock, its reference data, the book and tape
of every symbol, and the events it publishes. The WebSocket data feed, the REST endpoints
(snapshots, screeners, history, assets), the paper-trading endpoints and the tests all read
from it through this interface only, so the generated market and the replayed one are
interchangeable.
"""

from __future__ import annotations

import abc
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tradecore.streams.base import EventBatch

_log = logging.getLogger("tradecore.sim")

__all__ = ["Asset", "AssetType", "Market", "MarketListener"]


class AssetType(enum.Enum):
    """What a premarket scanner needs to exclude."""

    COMMON = "common"
    ETF = "etf"
    WARRANT = "warrant"
    UNIT = "unit"
    RIGHT = "right"
    PREFERRED = "preferred"


@dataclass(frozen=True, slots=True)
class Asset:
    """Reference data of one listed symbol (shares in shares, prices in dollars)."""

    symbol: str
    name: str
    exchange: str  # "NASDAQ", "NYSE", "ARCA", "AMEX", ...
    asset_type: AssetType
    shares_outstanding: int
    float_shares: int
    prior_close: float  # previous regular-session close
    tradable: bool = True
    shortable: bool = False
    easy_to_borrow: bool = False


MarketListener = Callable[[EventBatch], None]
"""Called synchronously for every batch the market publishes (trades, quotes, bars, statuses,
LULD bands, corrections), in publication order. Must not block: hand off to a queue."""


class Market(abc.ABC):
    """A simulated session (see the module docstring). All times are int64 ns UTC.

    Listeners are kept here: a market calls :meth:`_publish` for every batch it makes.
    """

    def __init__(self) -> None:
        self._listeners: list[MarketListener] = []

    @abc.abstractmethod
    def now(self) -> int:
        """The simulated clock (the session's own date and time, not the wall clock's)."""

    @abc.abstractmethod
    def assets(self) -> list[Asset]:
        """Every listed symbol's reference data."""

    @abc.abstractmethod
    def asset(self, symbol: str) -> Asset | None:
        """One symbol's reference data, or None if not listed."""

    @abc.abstractmethod
    def last_trade(self, symbol: str) -> np.void | None:
        """The latest TRADE row of ``symbol`` (None before its first print)."""

    @abc.abstractmethod
    def last_quote(self, symbol: str) -> np.void | None:
        """The current QUOTE row (NBBO) of ``symbol`` (None before its first quote)."""

    @abc.abstractmethod
    def status(self, symbol: str) -> int:
        """The symbol's :class:`tradecore.schema.TradingState`."""

    @abc.abstractmethod
    def bars(self, symbol: str, start: int, end: int, period_ns: int = 60_000_000_000) -> np.ndarray:
        """BAR rows of ``period_ns`` (1 min or 1 day at least) with ``start <= ts_event < end``,
        up to now; daily bars include the prior sessions the market was seeded with."""

    @abc.abstractmethod
    def trades(self, symbol: str, start: int, end: int) -> np.ndarray:
        """TRADE rows with ``start <= ts_event < end``, up to now."""

    def add_listener(self, listener: MarketListener) -> None:
        """Receive every batch published from now on (once, however often it is added)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove_listener(self, listener: MarketListener) -> None:
        """Stop receiving batches (idempotent)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _publish(self, batch: EventBatch) -> None:
        """Hand ``batch`` to every listener; a broken listener is logged, the market goes on."""
        for listener in tuple(self._listeners):
            try:
                listener(batch)
            except Exception:  # noqa: BLE001 - one listener must not stop the market
                _log.exception("market listener %r failed", listener)

    @abc.abstractmethod
    async def run(self) -> None:
        """Advance the session (generate or replay) until it ends or the task is cancelled."""
