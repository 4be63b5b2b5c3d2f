"""The stream interface every market-data source implements.

A stream is an async iterator of :class:`EventBatch` objects: events of one kind for one symbol,
as a NumPy structured array of the kind's dtype (:data:`EVENT_DTYPES`), in timestamp order per
symbol. A single live event is a batch of one; replay hands out large batches. Consumers that
want single events iterate the array.
"""

from __future__ import annotations

import abc
import enum
import operator
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType

import numpy as np

from tradecore import schema

__all__ = ["EVENT_DTYPES", "DispatchedStream", "EventBatch", "EventKind", "GroupedBatch", "Instruments",
           "MarketDataStream"]


class EventKind(enum.Enum):
    """What a batch holds."""

    TRADE = "trade"
    QUOTE = "quote"
    BAR = "bar"  # a minute (or other period) bar as the vendor closed it
    UPDATED_BAR = "updated_bar"  # a vendor's late correction of a bar already sent
    DAILY_BAR = "daily_bar"
    STATUS = "status"  # trading status: halts and resumptions
    LULD = "luld"
    CORRECTION = "correction"  # a trade correction
    CANCEL_ERROR = "cancel_error"  # a trade cancel or error


EVENT_DTYPES: dict[EventKind, np.dtype] = {
    EventKind.TRADE: schema.TRADE,
    EventKind.QUOTE: schema.QUOTE,
    EventKind.BAR: schema.BAR,
    EventKind.UPDATED_BAR: schema.BAR,
    EventKind.DAILY_BAR: schema.BAR,
    EventKind.STATUS: schema.STATUS,
    EventKind.LULD: schema.LULD,
    EventKind.CORRECTION: schema.CORRECTION,
    EventKind.CANCEL_ERROR: schema.CANCEL_ERROR,
}


@dataclass(frozen=True, slots=True)
class EventBatch:
    """Events of one kind for one symbol, oldest first.

    Attributes
    ----------
    kind
        What the events are; ``events.dtype`` is ``EVENT_DTYPES[kind]``.
    symbol
        Ticker, upper case.
    events
        Structured array of the kind's dtype.
    ts_received
        Local receive time per event (int64 ns UTC) for live streams; ``None`` for replay.
    """

    kind: EventKind
    symbol: str
    events: np.ndarray
    ts_received: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.events)

    def slice(self, start: int, stop: int) -> EventBatch:
        """Events ``start:stop`` (with their receive times) as a batch; the batch itself if whole."""
        if (start, stop) == (0, len(self.events)):
            return self
        received = None if self.ts_received is None else self.ts_received[start:stop]
        return EventBatch(self.kind, self.symbol, self.events[start:stop], received)


GROUPED_KINDS = frozenset({EventKind.TRADE, EventKind.QUOTE})
"""The kinds a stream hands the pipeline as :class:`GroupedBatch` (a frame's symbols run in one
native call); other kinds go as one :class:`EventBatch` per symbol."""

NATIVE_FRAME_KIND = {EventKind.TRADE: 0, EventKind.QUOTE: 1, EventKind.STATUS: 3}
"""The native core's code of each kind its functions over a frame's groups take
(``_core.engine.run_groups``, ``_core.book.fold_frame``)."""


@dataclass(frozen=True, slots=True, eq=False)
class GroupedBatch:
    """One live frame's events of one kind for several symbols, grouped by symbol.

    Symbol ``symbols[i]`` has ``events[cuts[i]:cuts[i + 1]]`` (arrival order within a symbol),
    every event received at ``ts_received``. ``instruments``, when given, is the registry whose
    ids the events carry (every event of group i holds ``symbols[i]``'s id there): a decoder's
    frames, which the pipeline then dispatches by id. A live stream hands the pipeline these instead of
    one :class:`EventBatch` per symbol, so a frame costs no per-symbol Python objects (see
    :meth:`tradecore.pipeline.StrategyManager.dispatch_grouped`); :meth:`batches` gives the
    per-symbol view, the same batches the frame would otherwise have been.
    """

    kind: EventKind
    events: np.ndarray
    cuts: np.ndarray  # int64, len(symbols) + 1 entries, ascending, cuts[0] == 0
    symbols: list[str]
    ts_received: int | None = None
    instruments: Instruments | None = None
    _ids: np.ndarray | None = field(default=None, init=False, repr=False)  # ids(), once asked

    def __post_init__(self) -> None:
        cuts = self.cuts.tolist()  # plain ints: a frame's few dozen compare faster than in NumPy
        if len(cuts) != len(self.symbols) + 1 or (cuts and (
                cuts[0] != 0 or cuts[-1] != len(self.events) or not all(map(operator.lt, cuts, cuts[1:])))):
            raise ValueError("GroupedBatch: cuts must run from 0 to len(events), one non-empty group per symbol")

    def with_received(self, ts_received: int | None) -> GroupedBatch:
        """The same groups stamped with another receive time (a recorder's or benchmark's clock)."""
        other = object.__new__(GroupedBatch)
        for name in ("kind", "events", "cuts", "symbols", "instruments", "_ids"):
            object.__setattr__(other, name, getattr(self, name))
        object.__setattr__(other, "ts_received", ts_received)
        return other

    def __len__(self) -> int:
        return len(self.events)

    def batch(self, index: int) -> EventBatch:
        """The events of ``symbols[index]`` as a batch."""
        start, end = int(self.cuts[index]), int(self.cuts[index + 1])
        return EventBatch(self.kind, self.symbols[index], self.events[start:end], self._received(end - start))

    def batches(self) -> list[EventBatch]:
        """Every symbol's batch (their receive times: views of one array)."""
        cuts = self.cuts.tolist()
        received = self._received(len(self.events))
        return [EventBatch(self.kind, symbol, self.events[start:end],
                           None if received is None else received[:end - start])
                for symbol, start, end in zip(self.symbols, cuts, cuts[1:])]

    def _received(self, count: int) -> np.ndarray | None:
        """``count`` receive times, read-only as a decoder's (one time, not to be edited)."""
        if self.ts_received is None:
            return None
        received = np.full(count, self.ts_received, np.int64)
        received.flags.writeable = False
        return received

    def ids(self) -> np.ndarray:
        """Each group's instrument id (int64; in ``instruments`` when that is given)."""
        ids = self._ids
        if ids is None:
            ids = self.events["instrument_id"][self.cuts[:-1]].astype(np.int64)
            object.__setattr__(self, "_ids", ids)
        return ids


class Instruments:
    """Maps symbols to the ``instrument_id`` stored in events, assigning ids on first sight.

    One registry per process keeps ids stable across streams, recordings and engines.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._symbols: list[str] = []

    def id_of(self, symbol: str) -> int:
        """Return the id of ``symbol`` (upper-cased), assigning the next one if new."""
        key = symbol.upper()
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self._symbols)
            self._symbols.append(key)
        return found

    def symbol_of(self, instrument_id: int) -> str:
        """Return the symbol of an id assigned by this registry."""
        return self._symbols[instrument_id]

    def __len__(self) -> int:
        return len(self._symbols)


class MarketDataStream(abc.ABC):
    """An async source of normalised market events.

    Use as ``async with stream: await stream.subscribe([...]); async for batch in stream: ...``.
    ``subscribe``/``unsubscribe`` may be called at any time, also while iterating; events of a
    symbol stop after its unsubscribe returns.
    """

    @abc.abstractmethod
    async def subscribe(self, symbols: Iterable[str]) -> None:
        """Start delivering events for ``symbols`` (idempotent)."""

    @abc.abstractmethod
    async def unsubscribe(self, symbols: Iterable[str]) -> None:
        """Stop delivering events for ``symbols`` (idempotent)."""

    @property
    @abc.abstractmethod
    def subscribed(self) -> frozenset[str]:
        """Symbols currently subscribed."""

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[EventBatch]:
        """Iterate the events, in timestamp order per symbol."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and files; iteration ends. Safe to call twice."""

    async def parts(self) -> AsyncIterator[EventBatch | GroupedBatch]:
        """Iterate the events as batches or, where the stream has them, whole frames' groups
        (:class:`GroupedBatch`); per-symbol order as in iteration. By default: the batches."""
        async for batch in self:
            yield batch

    def push_parts(self, sink: Callable[[EventBatch | GroupedBatch], None] | None) -> bool:
        """Offer to hand parts to ``sink`` from the receive path itself, as they arrive, while
        the :meth:`parts` consumer waits with nothing queued: a frame then skips the hop to the
        consumer's task (the same parts in the same order as :meth:`parts` would yield them).
        What ``sink`` raises ends that iteration, raised in the consumer. None withdraws the
        sink. False: the stream has no such path, and everything comes through :meth:`parts`."""
        return False

    @property
    def stats(self) -> dict[str, int]:
        """Counters of what the stream received, skipped and why (empty by default)."""
        return {}

    async def __aenter__(self) -> MarketDataStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class DispatchedStream(MarketDataStream):
    """Subscriptions only: whoever holds it hands events to the strategy manager itself
    (:meth:`tradecore.pipeline.StrategyManager.dispatch`), e.g. a benchmark's load generator or
    a test. Iterating it is an error: it has no events of its own."""

    def __init__(self) -> None:
        self._symbols: set[str] = set()

    async def subscribe(self, symbols: Iterable[str]) -> None:
        self._symbols |= set(symbols)

    async def unsubscribe(self, symbols: Iterable[str]) -> None:
        self._symbols -= set(symbols)

    @property
    def subscribed(self) -> frozenset[str]:
        return frozenset(self._symbols)

    def __aiter__(self) -> AsyncIterator[EventBatch]:
        raise TypeError("a DispatchedStream has no events: dispatch them to the manager")

    async def close(self) -> None:
        return None
