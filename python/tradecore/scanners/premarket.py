"""The premarket gap scanner.

Each scan takes the :class:`~tradecore.scanners.inputs.Candidate`\\ s of its inputs, applies
the market filters (deny-list, halted, price band, gap band, premarket volume), fetches
reference data only for the survivors (through the :class:`EnrichmentCache`, so a symbol is
fetched once per expiry), applies the reference filters (asset type, float, relative volume)
and ranks what passes by gap, largest first, keeping at most ``max_symbols``.

Values (``ScanRow.values``): ``price`` [$], ``prior_close`` [$], ``gap_percent`` =
(price / prior_close - 1) x 100 [%], ``volume`` premarket shares so far [shares],
``relative_volume`` = volume / average daily volume [ratio], ``float_shares`` [shares],
``shares_outstanding`` [shares], ``asset_type``, ``exchange``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tradecore.errors import ConfigError
from tradecore.scanners.base import Scanner, ScanRow
from tradecore.scanners.enrichment import ASSET_TYPES, EnrichmentCache
from tradecore.scanners.inputs import MarketInputs

__all__ = ["PremarketScanner", "ScanFilters"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ScanFilters:
    """Premarket scan filters (immutable; None disables a bound).

    Parameters
    ----------
    min_gap_percent, max_gap_percent
        Gap band vs the prior close [%]; default at least +5 %.
    min_price, max_price
        Last-price band [$]; default 1 to 20.
    min_premarket_volume
        Shares traded so far today [shares].
    min_relative_volume
        Today's volume over the average daily volume [ratio]; symbols without an average fail
        it when it is set.
    max_float
        Largest float [shares]; symbols with unknown float fail it when it is set.
    exclude_types
        Asset types left out (common, etf, warrant, unit, right, preferred).
    exclude_halted
        Leave out halted symbols.
    deny
        Symbols never scanned.
    max_symbols
        Size of the universe.
    """

    min_gap_percent: float | None = 5.0
    max_gap_percent: float | None = None
    min_price: float | None = 1.0
    max_price: float | None = 20.0
    min_premarket_volume: float = 0.0
    min_relative_volume: float | None = None
    max_float: float | None = None
    exclude_types: frozenset[str] = field(
        default_factory=lambda: frozenset({"etf", "warrant", "unit", "right"}))
    exclude_halted: bool = True
    deny: frozenset[str] = frozenset()
    max_symbols: int = 20

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "exclude_types", frozenset(t.lower() for t in self.exclude_types))
        set_(self, "deny", frozenset(s.upper() for s in self.deny))
        unknown = self.exclude_types - set(ASSET_TYPES)
        if unknown:
            raise ConfigError(f"unknown asset types {sorted(unknown)}; known: {ASSET_TYPES}")
        for low, high in (("min_gap_percent", "max_gap_percent"), ("min_price", "max_price")):
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and a > b:
                raise ConfigError(f"{low} ({a}) is above {high} ({b})")
        if self.max_symbols < 1:
            raise ConfigError(f"max_symbols must be positive, not {self.max_symbols}")
        if self.min_premarket_volume < 0:
            raise ConfigError("min_premarket_volume must not be negative")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ScanFilters:
        """Build from a config mapping, rejecting unknown keys."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown scan filter(s) {sorted(unknown)}; known: {sorted(known)}")
        converted = dict(values)
        for key in ("exclude_types", "deny"):
            if key in converted:
                converted[key] = frozenset(converted[key])
        return cls(**converted)


def _outside(value: float, low: float | None, high: float | None) -> bool:
    return (low is not None and value < low) or (high is not None and value > high)


class PremarketScanner(Scanner):
    """Gap scanner (see the module docstring); ``inputs`` live or point-in-time."""

    name = "premarket"

    def __init__(self, inputs: MarketInputs, enrichment: EnrichmentCache,
                 filters: ScanFilters | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.inputs = inputs
        self.enrichment = enrichment
        self.filters = filters or ScanFilters()

    async def scan(self) -> list[ScanRow]:
        f = self.filters
        candidates = await self.inputs.candidates()
        first: list[tuple[Any, list[str]]] = []
        for c in candidates:
            reasons = []
            if c.symbol in f.deny:
                reasons.append("deny")
            if f.exclude_halted and c.halted:
                reasons.append("halted")
            if _outside(c.price, f.min_price, f.max_price):
                reasons.append("price")
            if c.volume < f.min_premarket_volume:
                reasons.append("premarket_volume")
            if c.prior_close and _outside((c.price / c.prior_close - 1) * 100,
                                          f.min_gap_percent, f.max_gap_percent):
                reasons.append("gap")
            first.append((c, reasons))
        # Reference data only for what the market filters kept (and for unknown prior closes).
        needed = [c.symbol for c, reasons in first if not reasons]
        references = await self.enrichment.get(needed) if needed else {}
        rows: list[tuple[float, ScanRow]] = []
        for c, reasons in first:
            ref = references.get(c.symbol)
            prior = c.prior_close if c.prior_close else (ref.prior_close if ref else None)
            gap = (c.price / prior - 1) * 100 if prior else None
            average = ref.average_volume if ref else None
            relative = c.volume / average if average else None
            values: dict[str, float | str | None] = {
                "price": c.price, "prior_close": prior, "gap_percent": gap, "volume": c.volume,
                "relative_volume": relative,
                "float_shares": ref.float_shares if ref else None,
                "shares_outstanding": ref.shares_outstanding if ref else None,
                "asset_type": ref.asset_type if ref else None,
                "exchange": ref.exchange if ref else None,
            }
            if not reasons:
                if ref is None:
                    reasons.append("no_reference")
                else:
                    if ref.asset_type in f.exclude_types:
                        reasons.append(ref.asset_type)
                    if not ref.tradable:
                        reasons.append("not_tradable")
                    if f.max_float is not None and (ref.float_shares is None
                                                    or ref.float_shares > f.max_float):
                        reasons.append("float")
                    if f.min_relative_volume is not None and (
                            relative is None or relative < f.min_relative_volume):
                        reasons.append("relative_volume")
                if gap is None:
                    reasons.append("no_prior_close")
                elif _outside(gap, f.min_gap_percent, f.max_gap_percent):
                    reasons.append("gap")
            rows.append((gap if gap is not None else float("-inf"),
                         ScanRow(c.symbol, values, not reasons, tuple(reasons))))
        rows.sort(key=lambda item: (not item[1].passed, -item[0], item[1].symbol))
        ranked = [row for _, row in rows]
        passed = 0
        for i, row in enumerate(ranked):
            if row.passed:
                passed += 1
                if passed > f.max_symbols:
                    ranked[i] = dataclasses.replace(row, passed=False, reasons=("rank",))
        return ranked
