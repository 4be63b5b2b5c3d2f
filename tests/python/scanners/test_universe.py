"""How a scan's result becomes the active universe (Scanner.update): ranked symbols first, then
the ones kept although this scan dropped them (a held position; not failed for long enough)."""

from __future__ import annotations

import asyncio

import pytest
from tradecore.config import Config
from tradecore.scanners import build_scanner
from tradecore.scanners.base import Scanner, ScanRow

MINUTE = 60 * 10**9


class Scripted(Scanner):
    """A scanner whose scans pass the symbols it is told to (the rule under test is update()'s)."""

    name = "scripted"

    def __init__(self, **options: object) -> None:
        self.now = 0
        super().__init__(clock=lambda: self.now, **options)  # type: ignore[arg-type]
        self.passing: list[str] = []

    async def scan(self) -> list[ScanRow]:
        return [ScanRow(s, {}, True) for s in self.passing] + [ScanRow("ZZZ", {}, False, ("gap",))]


def _scans(scanner: Scripted, script: list[tuple[int, list[str]]]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Run one scan per (minute, passing symbols); each scan's (universe, kept)."""
    out = []
    for minute, passing in script:
        scanner.now, scanner.passing = minute * MINUTE, passing
        change = asyncio.run(scanner.update())
        out.append((change.universe, change.kept))
    return out


def test_a_symbol_at_a_filters_edge_stays_until_it_has_failed_for_the_whole_delay() -> None:
    scanner = Scripted(drop_after_ns=5 * MINUTE)
    result = _scans(scanner, [
        (0, ["AAA", "BBB"]),
        (1, ["AAA"]),         # BBB fails: kept (last passed 1 minute ago)
        (3, ["AAA", "BBB"]),  # passes again: its clock restarts
        (7, ["AAA"]),         # failed since minute 3: 4 minutes, kept
        (8, ["AAA"]),         # 5 minutes: gone
        (9, ["AAA", "BBB"]),  # back: a new start
    ])
    assert result == [
        (("AAA", "BBB"), ()),
        (("AAA", "BBB"), ("BBB",)),
        (("AAA", "BBB"), ()),
        (("AAA", "BBB"), ("BBB",)),
        (("AAA",), ()),
        (("AAA", "BBB"), ()),
    ]


def test_symbols_kept_for_the_delay_only_fill_the_room_under_max_symbols() -> None:
    class Capped(Scripted):
        max_symbols = 3  # type: ignore[assignment]

    holding = {"AAA"}
    scanner = Capped(drop_after_ns=5 * MINUTE, keep=lambda s: s in holding)
    result = _scans(scanner, [
        (0, ["AAA", "BBB", "CCC"]),
        (1, ["DDD"]),          # AAA held; room for one of BBB, CCC (in their order)
        (2, ["DDD", "EEE"]),   # two ranked + AAA held: no room left for BBB
    ])
    assert result == [
        (("AAA", "BBB", "CCC"), ()),
        (("DDD", "AAA", "BBB"), ("AAA", "BBB")),
        (("DDD", "EEE", "AAA"), ("AAA",)),
    ]


def test_without_a_delay_a_failing_symbol_leaves_at_once_unless_it_holds_a_position() -> None:
    holding = {"BBB"}
    scanner = Scripted(keep=lambda s: s in holding)
    result = _scans(scanner, [(0, ["AAA", "BBB", "CCC"]), (1, ["AAA"]), (60, ["AAA"])])
    assert result == [(("AAA", "BBB", "CCC"), ()), (("AAA", "BBB"), ("BBB",)), (("AAA", "BBB"), ("BBB",))]
    holding.clear()  # the position closed: the delay since it last passed is long over
    assert _scans(scanner, [(61, ["AAA"])]) == [(("AAA",), ())]


def test_the_configured_delay_reaches_the_scanner() -> None:
    assert Config().scanner.drop_after_seconds == 300.0
    config = Config().with_overrides(scanner={"kind": "fixed", "symbols": ["AAA"], "drop_after_seconds": 90})
    assert build_scanner(config.scanner).drop_after_ns == 90 * 10**9
    with pytest.raises(ValueError, match="must not be negative"):
        Scripted(drop_after_ns=-1)
