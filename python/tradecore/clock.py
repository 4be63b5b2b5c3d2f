"""The market clock: periodic clock ticks to every active symbol's engine.

A quiet symbol's open bar closes only when time passes its end, and strategies' time rules
(premarket_momentum's time stop, flat-by time and cooldown) need time to pass; without ticks,
time passes for an engine only when its next event arrives. Every ``clock.interval_seconds`` of
*market* time (:class:`~tradecore.config.ClockConfig`), every active symbol's engine gets
``on_clock(now)`` through its runner, in order with that symbol's batches
(:meth:`~tradecore.pipeline.StrategyManager.tick`): an idle symbol runs it at once, a busy one
after what it has queued. Intents it causes are routed like any other.

Tick times
    A tick's time is an interval boundary (a multiple of the interval, ns UTC). The clock starts
    at its first reading without a tick (no tick stands for time before the run or the data);
    after that, when market time has crossed one or more boundaries since the last tick, one
    tick at the latest of them is due. One tick stands for any boundaries skipped (a silent
    stretch of data, a loaded machine): time rules compare against thresholds, so it fires
    whatever the skipped ticks would have, at its own time.

Live (:func:`run_clock`)
    Market time is the market's clock: the simulator's session clock in sim runs, the wall
    clock against a vendor. A task wakes at each boundary (market time divided by the speed).
    A tick waits ``clock.delay_seconds`` (wall) after its boundary before it is given: events
    stamped before the boundary may still be on their way (feed latency, the socket, the
    queue), and a bar closed by a tick would drop them as late. The tick keeps the boundary's
    time, so the bar still ends, and time rules still fire, at the boundary.

Backtests from files (:func:`tradecore.session.run_pipeline`, :class:`MarketClock` without a
``now``)
    Market time is the replayed event time (merge time: ``ts_event``, bars' ``ts_end``). Before
    the first event at or past a boundary later than the last tick, every active symbol is
    ticked at the latest boundary at or before that event's time. Ticks reach a symbol only once
    its runner started (and warmed up), as live.

Recordings (:class:`ClockLog`)
    ``tradecore live --record`` writes every tick to ``clock.jsonl`` with where it happened in
    the event sequence: the events dispatched before it (``after``) and the universe changes
    written before it (``changes``, lines of ``universe.jsonl``). A backtest of the recording
    replays each tick at exactly that point, whatever the configured interval. A recording
    without ``clock.jsonl`` (made before the clock existed, or with ticks off) replays without
    ticks, as it ran.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tradecore.errors import ConfigError, DataError

if TYPE_CHECKING:
    from tradecore.pipeline import StrategyManager

__all__ = ["ClockLog", "MarketClock", "run_clock"]


class MarketClock:
    """When ticks are due, and giving them to a manager's symbols.

    Parameters
    ----------
    interval_ns
        Market time between ticks (ns).
    now
        The market's clock (ns UTC), live; None when event time drives the clock (backtests).
    speed
        Market seconds per wall second of ``now`` (the simulator's speed; 1 for the wall clock),
        for how long the live task sleeps.
    delay
        Wall seconds a live tick waits after its boundary (see the module docstring).
    on_tick
        Called with each tick's time after the symbols got it (a recording writes it down).
    """

    def __init__(self, interval_ns: int, now: Callable[[], int] | None = None, *, speed: float = 1.0,
                 delay: float = 0.0, on_tick: Callable[[int], None] | None = None) -> None:
        if interval_ns <= 0:
            raise ConfigError(f"clock interval must be positive, not {interval_ns} ns")
        if speed <= 0 or delay < 0:
            raise ConfigError(f"clock speed must be positive and delay not negative, not {speed} and {delay}")
        self.interval_ns = interval_ns
        self.now = now
        self.speed = speed
        self.delay_ns = round(delay * speed * 1e9)  # in market time
        self.on_tick = on_tick
        self.last: int | None = None  # the boundary of the last tick (or of the first reading)

    def due(self, now: int) -> int | None:
        """The tick due at market time ``now``: the latest boundary at or before it, if later
        than the last tick; None otherwise (and at the first reading, which starts the clock)."""
        boundary = now - now % self.interval_ns
        if self.last is None:
            self.last = boundary
            return None
        return boundary if boundary > self.last else None

    def tick(self, manager: StrategyManager, at: int) -> None:
        """Give every active symbol of ``manager`` a tick at ``at``."""
        self.last = at
        manager.tick(at)
        if self.on_tick is not None:
            self.on_tick(at)

    def next_boundary(self, now: int) -> int:
        return now - now % self.interval_ns + self.interval_ns


async def run_clock(clock: MarketClock, manager: StrategyManager) -> None:
    """Tick ``manager``'s symbols at every boundary of ``clock.now`` until cancelled (live)."""
    read = clock.now
    if read is None:
        raise ConfigError("run_clock needs a market clock (MarketClock.now)")
    while True:
        now = read() - clock.delay_ns
        at = clock.due(now)
        if at is not None:
            clock.tick(manager, at)
        # Sleep until the market reaches the next boundary; a simulator running behind its pace
        # is simply read again then.
        await asyncio.sleep((clock.next_boundary(now) - now) / 1e9 / clock.speed)


class ClockLog:
    """A recording's clock ticks, ``clock.jsonl``: one ``{"after", "changes", "now"}`` line per
    tick (see the module docstring).

    Lines are buffered and appended (and fsynced) at most every ``flush_interval`` seconds and
    on :meth:`close`, like the recorder's segments: a crash loses at most the last interval's
    ticks, which come after the events it loses too.
    """

    NAME = "clock.jsonl"

    def __init__(self, folder: Path, *, flush_interval: float = 1.0) -> None:
        self.path = Path(folder) / self.NAME
        self.flush_interval = flush_interval
        self._lines: list[str] = []
        self._flushed = time.monotonic()

    def write(self, now: int, after: int, changes: int) -> None:
        """Note a tick at ``now`` after ``after`` events and ``changes`` universe changes."""
        self._lines.append(f'{{"after": {after}, "changes": {changes}, "now": {now}}}\n')
        if time.monotonic() - self._flushed >= self.flush_interval:
            self.flush()

    def flush(self) -> None:
        self._flushed = time.monotonic()
        if not self._lines:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as file:
            file.writelines(self._lines)
            file.flush()
            os.fsync(file.fileno())
        self._lines.clear()

    def close(self) -> None:
        self.flush()

    @classmethod
    def entries(cls, folder: Path) -> list[dict[str, int]]:
        """The ticks recorded in ``folder`` (none without a clock log). An unfinished last line
        (a killed process) is left out; any other bad line is a :class:`DataError`, and so is a
        tick out of order: its time not after the previous tick's, or fewer events (``after``)
        or universe changes (``changes``) before it than before the previous one. Live, ticks
        only move forward, so such a log is damaged (or two runs' logs were mixed), and there is
        no telling where its ticks belong."""
        path = Path(folder) / cls.NAME
        if not path.is_file():
            return []
        lines = path.read_text().splitlines(keepends=True)
        ticks: list[dict[str, int]] = []
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
                tick = {key: int(entry[key]) for key in ("after", "changes", "now")}
            except (ValueError, KeyError, TypeError) as error:
                if number == len(lines) and not line.endswith("\n"):
                    break
                raise DataError(f"{path}:{number}: not a clock tick ({error}): {line.strip()[:80]!r}") from None
            if ticks:
                _check_order(path, number, ticks[-1], tick)
            ticks.append(tick)
        return ticks


def _check_order(path: Path, number: int, previous: dict[str, int], tick: dict[str, int]) -> None:
    """Refuse ``tick`` (line ``number``) if it does not follow ``previous`` (the line before)."""
    if tick["now"] <= previous["now"]:
        problem = f"its time {tick['now']} is not after the previous tick's {previous['now']}"
    elif tick["after"] < previous["after"]:
        problem = f"it comes after {tick['after']} events, the previous tick after {previous['after']}"
    elif tick["changes"] < previous["changes"]:
        problem = (f"it comes after {tick['changes']} universe changes, the previous tick after "
                   f"{previous['changes']}")
    else:
        return
    raise DataError(f"{path}:{number}: clock tick out of order: {problem} (line {number - 1}); "
                    "the clock log is damaged, or holds more than one run's ticks")
