"""The scanner interface: ``await scanner.update()`` runs one scan; ``get_active_stock_list()``
is the universe the StrategyManager trades.

Every scanner keeps the values it judged each symbol on (:attr:`Scanner.rows`), so a universe
can be explained (``tradecore scan``) and journaled. A symbol that drops out of the scan stays
active while ``keep(symbol)`` is true (typically: it still holds a position), so its strategy
task keeps managing the position, and until it has failed every scan for ``drop_after_ns``
(a symbol hovering at a filter's edge would otherwise leave and rejoin scan after scan, its
strategy restarted and warmed up again each time, an armed setup lost); either way it is
listed in :attr:`UniverseChange.kept`.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradecore.journal import Journal

__all__ = ["Clock", "KeepPredicate", "ScanRow", "Scanner", "UniverseChange"]

Clock = Callable[[], int]
"""Returns the current time, int ns UTC (the wall clock live, the replay clock in backtests)."""

KeepPredicate = Callable[[str], bool]
"""True if a symbol must stay active although the scan dropped it (e.g. it holds a position)."""


@dataclass(frozen=True, slots=True)
class ScanRow:
    """One symbol as a scan judged it: its filter ``values`` (units in the scanner's docs),
    whether it ``passed`` and, if not, the ``reasons`` (filter names) it failed."""

    symbol: str
    values: Mapping[str, float | str | None]
    passed: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UniverseChange:
    """The result of one :meth:`Scanner.update` (``ts`` ns UTC)."""

    ts: int
    universe: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


@dataclass
class _State:
    universe: tuple[str, ...] = ()
    rows: list[ScanRow] = field(default_factory=list)
    scans: int = 0
    passed_at: dict[str, int] = field(default_factory=dict)  # each active symbol's last passing scan


class Scanner(abc.ABC):
    """Base of scanners (see the module docstring).

    Parameters
    ----------
    keep
        Keep-while-positioned hook: symbols it returns true for are not removed.
    journal
        Where universe changes are recorded (only when the universe changes).
    clock
        Time source for the change records, ns UTC.
    drop_after_ns
        A symbol the scan drops stays active until it has not passed for this long (by
        ``clock``; 0: it leaves at the first scan it fails), while :attr:`max_symbols` leaves
        room for it.
    """

    name: str = "scanner"

    def __init__(self, *, keep: KeepPredicate | None = None, journal: Journal | None = None,
                 clock: Clock | None = None, drop_after_ns: int = 0) -> None:
        if drop_after_ns < 0:
            raise ValueError(f"drop_after_ns must not be negative, not {drop_after_ns}")
        self.keep = keep
        self.journal = journal
        self.clock: Clock = clock or time.time_ns
        self.drop_after_ns = drop_after_ns
        self._state = _State()

    @abc.abstractmethod
    async def scan(self) -> list[ScanRow]:
        """Evaluate the market now: rows of every symbol looked at, passing ones first in rank
        order. Does not change the active universe."""

    async def update(self) -> UniverseChange:
        """Scan, and make the passing symbols (plus kept ones) the active universe."""
        rows = await self.scan()
        ts = self.clock()
        ranked = [row.symbol for row in rows if row.passed]
        chosen = set(ranked)
        passed_at = self._state.passed_at
        dropped = [s for s in self._state.universe if s not in chosen]
        held = {s for s in dropped if self.keep is not None and self.keep(s)}
        lingering = [s for s in dropped if s not in held and ts - passed_at.get(s, ts) < self.drop_after_ns]
        limit = self.max_symbols
        if limit is not None:  # only in room the ranked and held symbols leave: newcomers first
            lingering = lingering[:max(limit - len(ranked) - len(held), 0)]
        staying = held.union(lingering)
        kept = tuple(s for s in dropped if s in staying)
        universe = tuple(ranked) + kept
        passed_at = {s: ts if s in chosen else passed_at.get(s, ts) for s in universe}
        before = set(self._state.universe)
        change = UniverseChange(
            ts=ts, universe=universe,
            added=tuple(s for s in universe if s not in before),
            removed=tuple(s for s in self._state.universe if s not in set(universe)),
            kept=kept,
        )
        first = self._state.scans == 0
        self._state = _State(universe, rows, self._state.scans + 1, passed_at)
        if self.journal is not None and (change.changed or first):
            by_symbol = {row.symbol: dict(row.values) for row in rows}
            self.journal.universe_change(
                ts, added=change.added, removed=change.removed, universe=universe,
                scanner=self.name, values={s: by_symbol.get(s, {}) for s in universe},
                kept=kept,
            )
        return change

    @property
    def max_symbols(self) -> int | None:
        """The most symbols a scan picks (None: no limit); symbols kept for ``drop_after_ns``
        only fill what room is left (a held position is kept regardless)."""
        return None

    def get_active_stock_list(self) -> list[str]:
        """The active universe after the last :meth:`update` (empty before the first)."""
        return list(self._state.universe)

    @property
    def rows(self) -> list[ScanRow]:
        """The rows of the last :meth:`update`."""
        return list(self._state.rows)

    async def close(self) -> None:
        """Release connections (nothing by default)."""
