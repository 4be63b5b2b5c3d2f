"""Per-symbol feed health: staleness, journaling, and backfill before a symbol trades again.

A live feed can fail quietly: the vendor stops sending one symbol, the connection stays open but
mute, or it drops and reconnects (:class:`~tradecore.streams.alpaca.Gap`). :class:`FeedMonitor`
watches every active symbol on the wall clock and moves each through these states:

``healthy``      data arrives about as often as usual (or the symbol is halted or LULD-paused:
                 a status message announced that silence, so it is not flagged)
``stale``        nothing for ``stale_multiple`` x the symbol's usual interval (clamped to
                 ``[min_stale_seconds, max_stale_seconds]``), or the whole connection has been
                 silent for ``connection_silence_seconds`` while a symbol is watched (with none
                 subscribed there is nothing to send): new entries are blocked
``gap``          the stream reconnected and may have lost events: new entries are blocked
``recovered``    data is back, the backfill has not run yet: still blocked
``backfilled``   the missed interval came from the history endpoint: healthy again
``failed``       the history endpoint failed three times: the symbol's indicators have a hole,
                 so entries stay blocked for the rest of the run (exits still pass)

Each change is published on the bus (topic ``"feed"``) and journaled (kind ``"feed"``) with the
symbol, since when (vendor time of the last data before the silence), how long (wall seconds)
and why.

The usual interval
    :class:`IntervalLearner` keeps the last ``interval_window`` gaps between a symbol's arrivals
    (wall clock, which is what the check runs on; in the simulator it already includes the
    speed-up) and takes their ``interval_quantile`` quantile: a high quantile of many gaps, not
    a mean or median, because data is bursty. On the LEAN ticks (SPY, BAC, IBM, AIG, 20
    symbol-days of October 2013, trades and quotes) the median premarket gap is 0.5 s, the 90th
    percentile 24 s and the 99th 232 s. A median learner flags a healthy symbol 50 times per
    hour of premarket; the defaults (4 x the p95 of the last 512 gaps, at least 10 s) about 1.3
    times per hour of premarket and 2.5 per hour of regular session, with a median premarket
    threshold of about 2 minutes (``benchmarks/feed_gaps.py`` prints these and other settings).
    A false alarm is cheap: entries are blocked only while the symbol is silent (its strategy
    has nothing new to act on then) and its next event unblocks it, backfilling only if a whole
    bar was missed. A whole-feed outage is caught sooner, by the connection check and by the
    stream's own reconnect (its ``Gap``). Until ``min_samples`` gaps are known the threshold is
    ``max_stale_seconds``. The gap that ends a silence is not learned.

Per-frame cost
    A frame of a healthy, running feed changes nothing anyone reads until the next check: its
    arrivals are only remembered (:meth:`FeedMonitor.observe_grouped` appends the frame to a
    list), and :meth:`FeedMonitor.check` folds them into each symbol's last arrival and learner
    in a few vectorised steps (a radix sort of the arrivals by symbol). Only a symbol that is
    not healthy or is halted (rare) takes the per-symbol path at once: its data ends a silence
    or a halt then and there. Anything that reads or changes a symbol's arrivals folds first,
    so what it sees is exactly what a per-symbol update of every frame would have left.

Blocking
    While a symbol is not healthy, the router's :class:`~tradecore.execution.router.EntryGate` rejects its
    entry intents with rule ``"feed_health"`` and the reason; intents that reduce or close a
    position pass (exits and stops are never blocked: getting flat must not wait for data).

Backfill
    Runs in the symbol's own task just before the first batch newer than the last event seen
    before the silence (:meth:`FeedMonitor.before_batch`), so nothing live is processed between
    the gap and its backfill. It fetches the 1-minute bars that lie wholly between the engine's
    open bar and the minute of that first new event from the REST bars endpoint, decodes them
    with the stream's validated decoder (the warm-up's path, :func:`rest_bars`), closes the
    engine's open bar with a clock tick (through the live path, so its bar reaches the
    strategies in order) and feeds the missed bars to :meth:`SymbolEngine.warm_up` (indicators
    only: no transitions, intents or orders for history). No live event can lie in that window
    (it is the silence), so nothing is fed twice. Bars need ``EmptyPolicy.Skip`` aggregation
    (the live default): a ``"flat"`` aggregator would also emit flat bars for the missed minutes.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

from tradecore import schema
from tradecore.bus import EventBus
from tradecore.config import HealthConfig
from tradecore.journal.journal import Journal
from tradecore.schema import TradingState
from tradecore.streams.base import EventBatch, EventKind, GroupedBatch

__all__ = ["ENTRY_RULE", "FeedHealth", "FeedMonitor", "FeedState", "ImmediateFeedMonitor", "IntervalLearner", "rest_bars"]

_log = logging.getLogger("tradecore.health")
_NS = 1_000_000_000
_SAME_ARRIVAL_SECONDS = 1e-3  # one frame's batches of a symbol arrive together: not a gap
_HALTED = frozenset({int(TradingState.HALTED), int(TradingState.PAUSED)})
_RETRY_DELAYS = (0.5, 1.0, None)  # seconds before the 2nd and 3rd history request
_FOLD_FRAMES = 2048  # deferred frames folded at once when no check comes (bounds memory)
_FOLD_SLICE = 16  # deferred frames run() folds per turn of the event loop before a check


class FeedState(enum.Enum):
    """A symbol's feed state (module docstring); every state but HEALTHY blocks entries."""

    HEALTHY = "healthy"
    STALE = "stale"
    GAP = "gap"
    RECOVERED = "recovered"
    FAILED = "failed"


class IntervalLearner:
    """A symbol's usual gap between arrivals: a quantile of the last ``window`` gaps (seconds)."""

    def __init__(self, *, window: int = 512, quantile: float = 0.95, min_samples: int = 16) -> None:
        self.quantile = quantile
        self.min_samples = min_samples
        self._gaps: deque[float] = deque(maxlen=window)
        self._interval: float | None = None  # the quantile of _gaps when last asked for
        self._fresh = False  # _interval is of the current _gaps

    def add(self, gap: float) -> None:
        """Learn one gap (seconds); gaps within one frame are not gaps and are ignored. Cheap:
        it runs for every symbol of every frame; the quantile is computed when asked for."""
        if gap < _SAME_ARRIVAL_SECONDS:
            return
        self._gaps.append(gap)
        self._fresh = False

    def add_many(self, gaps: Sequence[float]) -> None:
        """Learn gaps, oldest first, that :meth:`add` would keep (the monitor filters a whole
        fold's gaps at once)."""
        if gaps:
            self._gaps.extend(gaps)
            self._fresh = False

    @property
    def samples(self) -> int:
        return len(self._gaps)

    @property
    def interval(self) -> float | None:
        """The learned interval in seconds, or None until ``min_samples`` gaps are known."""
        if not self._fresh:
            self._fresh = True
            gaps = sorted(self._gaps)
            if len(gaps) < self.min_samples:
                self._interval = None
            else:
                rank = self.quantile * (len(gaps) - 1)
                low = int(rank)
                high = min(low + 1, len(gaps) - 1)
                self._interval = gaps[low] + (gaps[high] - gaps[low]) * (rank - low)
        return self._interval


@dataclass
class FeedHealth:
    """One symbol's feed health (see the module docstring).

    Read it through :attr:`FeedMonitor.symbols`: the arrival fields (``last_arrival``,
    ``last_batch``, the learner) of a healthy symbol are brought up to date there.
    """

    symbol: str
    learner: IntervalLearner
    tracked_at: float  # wall (monotonic seconds) when the symbol started
    last_arrival: float | None = None  # wall (monotonic seconds) of the last batch
    last_batch: EventBatch | tuple[GroupedBatch, int] | None = None  # the newest batch, or a frame's group
    state: FeedState = FeedState.HEALTHY
    reason: str = ""
    halted: bool = False  # a halt or LULD pause: an announced silence, not a stale feed
    silent_since: float | None = None  # wall time the silence began (stale / gap)
    backfill_after: int | None = None  # vendor ns: the first batch newer than this triggers it

    @property
    def last_event_ts(self) -> int | None:
        """Vendor time (ns) of the newest event seen (read only when needed: observe stays cheap)."""
        last = self.last_batch
        if last is None:
            return None
        batch = last if isinstance(last, EventBatch) else last[0].batch(last[1])
        return int(batch.events["ts_event"].max()) if len(batch.events) else None

    @property
    def blocked(self) -> bool:
        return self.state is not FeedState.HEALTHY

    def threshold(self, settings: HealthConfig) -> float:
        """Seconds of silence after which the symbol is stale."""
        interval = self.learner.interval
        if interval is None:
            return settings.max_stale_seconds
        return min(max(settings.stale_multiple * interval, settings.min_stale_seconds),
                   settings.max_stale_seconds)


History = Callable[[str, int, int], Awaitable[np.ndarray]]
"""``history(symbol, start_ns, end_ns)``: validated 1-minute BAR rows with start in [start, end)."""

ENTRY_RULE = "feed_health"
"""Rule name of the entries feed health refuses (on the execution.router.EntryGate)."""


class FeedMonitor:
    """Watch every active symbol's feed; block, journal, publish and backfill (module docstring).

    Parameters
    ----------
    settings
        Thresholds: the run configuration's ``[health]`` section (:class:`~tradecore.config.HealthConfig`).
    bus, journal
        Where transitions go (``journal`` may be None).
    clock
        The market clock (ns UTC) used to time-stamp records; the simulator's clock in sim runs.
    history
        Fetches missed bars (:data:`History`); None disables backfill (symbols unblock when data
        returns).
    bar_period_ns
        The engines' bar period: bars of the open period are built live, not backfilled.
    wall
        Monotonic seconds (tests may pass their own).
    """

    def __init__(self, settings: HealthConfig, *, bus: EventBus, journal: Journal | None,
                 clock: Callable[[], int], history: History | None = None,
                 bar_period_ns: int = 60 * _NS, wall: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.bus = bus
        self.journal = journal
        self.clock = clock
        self.history = history
        self.bar_period_ns = bar_period_ns
        self.wall = wall
        self._symbols: dict[str, FeedHealth] = {}
        # Arrivals not folded yet: (wall time, frame's group or batch, positions of the
        # group's symbols to fold, None: all) of symbols that were healthy and not halted.
        self._deferred: list[tuple[float, GroupedBatch | EventBatch, list[int] | None]] = []
        self._attention: set[str] = set()  # tracked symbols not healthy or halted: per-symbol path
        # The fold's slot of each watched symbol (rebuilt after track/untrack, not every fold).
        self._slots: tuple[list[FeedHealth], dict[str, int]] | None = None
        self.connection_suspect = False
        self._uncommitted = False
        self._last_frame = wall()
        self._frames = -1
        self.backfills: deque[dict[str, Any]] = deque(maxlen=1000)  # recent: asked for, got
        self._awaiting_backfill: set[str] = set()  # symbols whose backfill_after is set

    # -- what the live loop calls --------------------------------------------------------

    @property
    def symbols(self) -> dict[str, FeedHealth]:
        """Every watched symbol's health, its arrivals up to date (do not edit the dict)."""
        self._fold()
        return self._symbols

    def track(self, symbol: str) -> None:
        """Start watching ``symbol`` (its runner was just started and warmed up)."""
        self._fold()  # arrivals deferred before now belong to the previous watch, if any
        if not self._symbols:  # the connection had nothing to send until now
            self._last_frame = max(self._last_frame, self.wall())
        learner = IntervalLearner(window=self.settings.interval_window,
                                  quantile=self.settings.interval_quantile,
                                  min_samples=self.settings.min_samples)
        self._symbols[symbol] = FeedHealth(symbol, learner, self.wall())
        self._slots = None
        self._attention.discard(symbol)
        self._awaiting_backfill.discard(symbol)

    def untrack(self, symbol: str) -> None:
        self._fold()
        self._symbols.pop(symbol, None)
        self._slots = None
        self._attention.discard(symbol)
        self._awaiting_backfill.discard(symbol)

    def observe(self, batch: EventBatch) -> None:
        """See a batch as the stream delivers it (cheap: called for every batch)."""
        now = self._frame_arrived()
        if batch.kind is not EventKind.STATUS and batch.symbol not in self._attention:
            self._defer(now, batch, None)
            return
        self._observe_now(batch, now)

    def _observe_now(self, batch: EventBatch, now: float) -> None:
        """The per-symbol path of a batch that arrived at ``now``."""
        health = self._symbols.get(batch.symbol)
        if health is not None:
            halted = None
            if batch.kind is EventKind.STATUS and len(batch.events):
                halted = int(batch.events["state"][-1]) in _HALTED
            self._arrived(health, now, batch, halted)

    def observe_grouped(self, group: GroupedBatch) -> None:
        """:meth:`observe` for every symbol of a frame's group (a few hundred ns while every
        symbol in it is healthy: the arrivals are folded later, see the module docstring)."""
        if group.kind is EventKind.STATUS:
            for batch in group.batches():
                self.observe(batch)
            return
        now = self._frame_arrived()
        attention = self._attention
        if not attention or attention.isdisjoint(group.symbols):
            self._defer(now, group, None)
            return
        healthy = []
        for index, symbol in enumerate(group.symbols):
            if symbol in attention:
                self._arrived(self._symbols[symbol], now, (group, index), None)
            else:
                healthy.append(index)
        if healthy:
            self._defer(now, group, healthy)

    def _defer(self, now: float, part: GroupedBatch | EventBatch,
               positions: list[int] | None) -> None:
        self._deferred.append((now, part, positions))
        if len(self._deferred) >= _FOLD_FRAMES:
            self._fold()

    def _frame_arrived(self) -> float:
        now = self.wall()
        self._last_frame = now
        if self.connection_suspect:
            self.connection_suspect = False
            self._publish_connection(False, "data again")
            self._commit()
        return now

    def _arrived(self, health: FeedHealth, now: float, batch: EventBatch | tuple[GroupedBatch, int],
                 halted: bool | None) -> None:
        """One arrival of one symbol, at once (the per-symbol path)."""
        if health.symbol not in self._attention:
            # Its deferred arrivals come first (a healthy symbol's status). A symbol needing
            # attention has none: every way into attention folds first, so a frame holding one
            # does not fold the whole backlog here (run() folds it in slices).
            self._fold()
        health.last_batch = batch
        was_halted = health.halted
        if halted is not None:
            health.halted = halted
        if health.state is FeedState.HEALTHY:
            # Neither the gap that ends a silence nor a halt is a usual interval.
            if health.last_arrival is not None and not was_halted:
                health.learner.add(now - health.last_arrival)
        elif health.state in (FeedState.STALE, FeedState.GAP):
            self._transition(health, FeedState.RECOVERED, f"data again after: {health.reason}",
                             duration=now - (health.silent_since or now))
            self._commit()
        health.last_arrival = now
        self._attend(health)

    def _attend(self, health: FeedHealth) -> None:
        """Keep ``health`` on the per-symbol path while it is not healthy or is halted."""
        if health.state is FeedState.HEALTHY and not health.halted:
            self._attention.discard(health.symbol)
        else:
            self._attention.add(health.symbol)

    def _fold(self, frames: int | None = None) -> None:
        """Apply the deferred arrivals of healthy symbols (of the oldest ``frames`` frames; None:
        all): each one's last arrival and batch, and the gaps its learner learns, exactly as
        :meth:`_arrived` would have one by one."""
        deferred = self._deferred
        if not deferred:
            return
        if frames is None or frames >= len(deferred):
            self._deferred = []
        else:
            deferred, self._deferred = deferred[:frames], deferred[frames:]
        if self._slots is None:
            healths = list(self._symbols.values())
            self._slots = healths, {health.symbol: slot for slot, health in enumerate(healths)}
        healths, slot_of = self._slots
        names: list[str] = []
        counts: list[int] = []
        times: list[float] = []
        for now, part, positions in deferred:
            symbols = part.symbols if isinstance(part, GroupedBatch) else [part.symbol]
            if positions is not None:
                symbols = [symbols[i] for i in positions]
            names += symbols
            counts.append(len(symbols))
            times.append(now)
        # Untracked symbols get slot -1; a 16-bit key is radix-sorted (linear time).
        key = np.int16 if len(healths) < 2**15 else np.int64
        slots = np.fromiter(map(slot_of.get, names, repeat(-1)), key, len(names))
        frame_of = np.repeat(np.arange(len(counts)), counts)
        order = np.argsort(slots, kind="stable")  # by symbol, each symbol's arrivals in order
        order = order[np.searchsorted(slots[order], 0):]
        if not len(order):
            return
        slots = slots[order]
        arrived = np.asarray(times)[frame_of[order]]
        first = np.empty(len(order), bool)  # a symbol's first arrival of this fold
        first[0] = True
        np.not_equal(slots[1:], slots[:-1], out=first[1:])
        gaps = np.zeros(len(order))
        np.subtract(arrived[1:], arrived[:-1], out=gaps[1:])
        learned = ~first & (gaps >= _SAME_ARRIVAL_SECONDS)
        learned_before = np.cumsum(learned)  # learned gaps up to each arrival
        learned_gaps = gaps[learned].tolist()
        starts = np.flatnonzero(first)
        lasts = np.append(starts[1:], len(order)) - 1
        last_entries = order[lasts]
        last_frames = frame_of[last_entries]
        offsets = np.cumsum(counts) - counts  # each frame's first entry
        for slot, first_at, last_at, frame, entry, low, high in zip(
                slots[starts].tolist(), arrived[starts].tolist(), arrived[lasts].tolist(),
                last_frames.tolist(), (last_entries - offsets[last_frames]).tolist(),
                learned_before[starts].tolist(), learned_before[lasts].tolist()):
            health = healths[slot]
            if health.last_arrival is not None:
                health.learner.add(first_at - health.last_arrival)  # from the arrival before
            health.learner.add_many(learned_gaps[low:high])
            health.last_arrival = last_at
            _, part, positions = deferred[frame]
            if isinstance(part, GroupedBatch):
                health.last_batch = (part, entry if positions is None else positions[entry])
            else:
                health.last_batch = part

    def on_gap(self, gap: Any) -> None:
        """The stream reconnected (a :class:`~tradecore.streams.alpaca.Gap`): block and backfill."""
        now = self.wall()
        lost = (gap.reconnected_at - gap.disconnected_at) / _NS
        self._fold()
        for symbol in sorted(gap.symbols):
            health = self._symbols.get(symbol)
            if health is None or health.state is FeedState.FAILED:
                continue
            seen = gap.last_seen_ts.get(symbol, health.last_event_ts)
            if health.state is FeedState.HEALTHY:
                health.silent_since = now - lost
            health.backfill_after = seen if seen is not None else self.clock()
            self._awaiting_backfill.add(symbol)
            self._transition(health, FeedState.GAP, f"stream reconnected ({gap.reason})", duration=lost)
        self._commit()

    def check(self) -> None:
        """Flag symbols silent for longer than their threshold, and a silent connection."""
        now = self.wall()
        settings = self.settings
        self._fold()
        silent = self._symbols and now - self._last_frame > settings.connection_silence_seconds
        if silent and not self.connection_suspect:
            self.connection_suspect = True
            silence = now - self._last_frame
            self._publish_connection(True, f"no frames for {silence:.1f} s")
            for health in self._symbols.values():
                if health.state is FeedState.HEALTHY:
                    self._go_stale(health, now, f"connection silent for {silence:.1f} s")
        for health in self._symbols.values():
            if health.state is not FeedState.HEALTHY or health.halted:
                continue
            since = health.last_arrival if health.last_arrival is not None else health.tracked_at
            if now - since <= settings.min_stale_seconds:
                continue  # below any threshold: no need to know the symbol's (a sort of its gaps)
            threshold = health.threshold(settings)
            if now - since > threshold:
                interval = health.learner.interval
                usual = f"usual {interval:.2f} s" if interval is not None else "interval not learned yet"
                self._go_stale(health, now, f"no data for {now - since:.1f} s "
                               f"(threshold {threshold:.1f} s, {usual})")
        self._commit()

    def note_frames(self, frames: int) -> None:
        """Tell the monitor the stream's frame counter: any frame (control too) means alive."""
        if frames != self._frames:
            self._frames = frames
            self._last_frame = self.wall()

    async def run(self, stop: asyncio.Event, frames: Callable[[], int] | None = None,
                  active: Callable[[], Collection[str]] | None = None) -> None:
        """Check every ``check_interval_seconds`` until ``stop``; ``active`` names the running symbols."""
        while not stop.is_set():
            # Catch up a slice of the deferred frames per turn of the loop: frames that arrive
            # meanwhile wait for one slice (a fraction of a millisecond), not for all of them
            # (milliseconds every check: it set the live p99).
            while len(self._deferred) > _FOLD_SLICE:
                self._fold(_FOLD_SLICE)
                await asyncio.sleep(0)
            if frames is not None:
                self.note_frames(frames())
            if active is not None:  # symbols stopped or quarantined by the manager
                running = set(active())
                for symbol in [s for s in self._symbols if s not in running]:
                    self.untrack(symbol)
            self.check()
            try:
                await asyncio.wait_for(stop.wait(), self.settings.check_interval_seconds)
            except asyncio.TimeoutError:
                pass

    def blocked(self, symbol: str) -> str | None:
        """Why ``symbol`` may not enter now, or None."""
        health = self._symbols.get(symbol)
        if health is None or not health.blocked:
            return None
        return f"feed {health.state.value}: {health.reason}"

    def entry_block(self, symbol: str) -> str | None:
        """The :class:`~tradecore.execution.router.EntryGate` rule (:data:`ENTRY_RULE`)."""
        reason = self.blocked(symbol)
        return None if reason is None else f"new entries blocked until the feed is backfilled ({reason})"

    def has_work(self, symbol: str) -> bool:
        """Whether ``symbol`` waits for a backfill before its next batch (the runner's hook)."""
        health = self._symbols.get(symbol)
        return health is not None and health.backfill_after is not None

    def idle(self) -> bool:
        """True when no symbol waits for a backfill (asked once a frame)."""
        return not self._awaiting_backfill

    def before_batch(self, runner: Any, batch: EventBatch) -> Coroutine[Any, Any, None] | None:
        """The runner's hook: the backfill to await before the first batch after a silence
        (which then unblocks the symbol), else None: a healthy batch costs no await."""
        health = self._symbols.get(runner.symbol)
        if health is None or health.backfill_after is None or not len(batch.events):
            return None
        times = batch.events["ts_event"]
        newer = times[times > health.backfill_after]
        if not len(newer):
            return None  # still events from before the silence (the queue was behind)
        return self._backfill(runner, health, int(newer.min()))

    # -- internals -----------------------------------------------------------------------

    def _go_stale(self, health: FeedHealth, now: float, reason: str) -> None:
        since = health.last_arrival if health.last_arrival is not None else health.tracked_at
        health.silent_since = since
        health.backfill_after = health.last_event_ts if health.last_event_ts is not None else self.clock()
        self._awaiting_backfill.add(health.symbol)
        self._transition(health, FeedState.STALE, reason, duration=now - since)

    async def _backfill(self, runner: Any, health: FeedHealth, first_new: int) -> None:
        native = runner.engine.native
        # Clock ticks move the engine's clock on through a silence: the missed bars start after
        # the last data, the newest event seen before the silence (backfill_after).
        known = [t for t in (int(native.now), health.backfill_after) if t is not None and t > 0]
        after = min(known) if known else first_new
        period = self.bar_period_ns
        # Whole bars after the engine's open bar and before the bar of the first new event:
        # the open bars at both ends are built live from trades.
        start = (after // period + 1) * period
        end = (first_new // period) * period
        bars = schema.empty(schema.BAR)
        requested = start < end and self.history is not None
        error = ""
        # The symbol's task waits here, so retrying keeps bars in time order.
        for delay in _RETRY_DELAYS if requested else ():
            try:
                bars = await self.history(runner.symbol, start, end)  # type: ignore[misc]
                error = ""
                break
            except Exception as exc:  # noqa: BLE001 - any failure is retried, then reported
                error = f"{type(exc).__name__}: {exc}"
                _log.warning("%s: backfill failed: %s", runner.symbol, error)
                if delay is not None:
                    await asyncio.sleep(delay)
        if len(bars):
            bars = np.ascontiguousarray(bars[(bars["ts_event"] >= start) & (bars["ts_end"] <= end)])
        if len(bars):
            # The open live bar closes first (strategies see bars in time order); any intent
            # it causes goes through the gate, which still blocks entries.
            await runner.step(lambda: native.on_clock(start))
            runner.engine.warm_up(bars)
        record = {"symbol": runner.symbol, "start": start, "end": end, "requested": requested,
                  "bars": len(bars), "first_new_ts": first_new, "error": error}
        self.backfills.append(record)
        since, health.backfill_after = health.backfill_after, None
        self._awaiting_backfill.discard(health.symbol)
        duration = self.wall() - (health.silent_since or self.wall())
        if error:
            self._transition(health, FeedState.FAILED, f"backfill of [{_hhmm(start)}, {_hhmm(end)}) "
                             f"failed {len(_RETRY_DELAYS)} times ({error}): entries blocked for the "
                             "rest of the run", since=since, duration=duration, extra=record)
        else:
            reason = (f"{len(bars)} bars for [{_hhmm(start)}, {_hhmm(end)}) from the history endpoint"
                      if requested else "no whole bar was missed")
            self._transition(health, FeedState.HEALTHY, reason, label="backfilled", since=since,
                             duration=duration, extra=record)
            health.silent_since = None
            health.reason = ""
        self._commit()

    def _transition(self, health: FeedHealth, state: FeedState, reason: str, *, duration: float,
                    label: str | None = None, since: int | None = None,
                    extra: dict[str, Any] | None = None) -> None:
        """Record a change: ``since`` is the vendor time of the last data before the silence."""
        health.state = state
        health.reason = reason
        self._attend(health)
        label = label or state.value
        since = health.backfill_after if since is None else since
        data = {"state": label, "since": int(since or 0), "duration_seconds": round(duration, 3),
                "reason": reason, **({k: v for k, v in extra.items() if k != "symbol"} if extra else {})}
        ts = self.clock()
        self.bus.publish("feed", health.symbol, ts, **data)
        if self.journal is not None:
            self.journal.feed(ts, health.symbol, **data)
            self._uncommitted = True
        log = _log.info if state is FeedState.HEALTHY else _log.warning
        log("%s feed %s: %s", health.symbol, label, reason)

    def _commit(self) -> None:
        # Feed records are buffered (a reconnect changes every symbol at once): one commit per
        # burst instead of one fsync per symbol, and still on disk when the burst is over.
        if self._uncommitted and self.journal is not None:
            self._uncommitted = False
            self.journal.flush()

    def _publish_connection(self, suspect: bool, reason: str) -> None:
        ts = self.clock()
        state = "connection_suspect" if suspect else "connection_ok"
        self.bus.publish("feed", "", ts, state=state, reason=reason)
        if self.journal is not None:
            self.journal.feed(ts, "", state=state, since=0, duration_seconds=0.0, reason=reason)
            self._uncommitted = True
        (_log.warning if suspect else _log.info)("feed %s: %s", state, reason)


def _hhmm(ns: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ns / _NS)) + "Z"


async def rest_bars(client: Any, symbol: str, start: int, end: int) -> np.ndarray:
    """1-minute bars of ``symbol`` starting in [start, end) (ns UTC) from the REST bars endpoint.

    The rows go through the stream's own validated bar decoder (bad rows are counted and logged
    there, never trusted here); the result is sorted by ``ts_event``.
    """
    from tradecore.streams.alpaca import AlpacaDecoder, format_timestamp

    history = await client.bars([symbol], format_timestamp(start), format_timestamp(end - 1))
    rows = history.get(symbol, [])
    if not rows:
        return schema.empty(schema.BAR)
    frame = json.dumps([{**row, "T": "b", "S": symbol} for row in rows])
    batches = [b.events for b in AlpacaDecoder(encoding="json").decode(frame).batches
               if b.kind is EventKind.BAR]
    if not batches:
        return schema.empty(schema.BAR)
    bars = schema.concatenate(batches, schema.BAR)
    bars = bars[(bars["ts_event"] >= start) & (bars["ts_event"] < end)]
    return np.ascontiguousarray(bars[np.argsort(bars["ts_event"], kind="stable")])


class ImmediateFeedMonitor(FeedMonitor):
    """Feed health without deferral: every arrival applied at once, symbol by symbol (the
    monitor before frames were deferred). What :class:`FeedMonitor` must give exactly (tests)
    and the baseline of what deferral saves (benchmarks)."""

    def observe(self, batch: EventBatch) -> None:
        self._observe_now(batch, self._frame_arrived())

    def observe_grouped(self, group: GroupedBatch) -> None:
        if group.kind is EventKind.STATUS:
            for batch in group.batches():
                self.observe(batch)
            return
        now = self._frame_arrived()
        for index, symbol in enumerate(group.symbols):
            health = self._symbols.get(symbol)
            if health is not None:
                self._arrived(health, now, (group, index), None)
