"""The scan filters, and how they judge a symbol: one place for the premarket and top-gainers
scanners, live, in ``tradecore scan`` and in backtests.

A symbol is judged in two steps: :meth:`ScanFilters.market_reasons` on its market state (a
:class:`~tradecore.scanners.inputs.Candidate`), then, for the survivors only,
:meth:`ScanFilters.reference_reasons` on its reference data, which costs a fetch. The reasons are
the names of the filters failed (``ScanRow.reasons``): ``deny``, ``halted``, ``price``,
``premarket_volume``, ``gap``, an excluded asset type (``etf``, ``warrant``, ...),
``not_tradable``, ``float``, ``relative_volume``.

A number a filter reads that is NaN, infinite or negative (a damaged feed or reference record)
fails that filter whatever its bounds, with the value's name and the damage as the reason:
``price:nan``, ``volume:negative``, ``prior_close:inf``, ``float_shares:nan``,
``relative_volume:nan``. Comparisons with NaN are all false, so without this a NaN would pass
every bound.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tradecore.errors import ConfigError
from tradecore.scanners.enrichment import ASSET_TYPES, Reference
from tradecore.scanners.inputs import Candidate

__all__ = ["ScanFilters"]


def _outside(value: float, low: float | None, high: float | None) -> bool:
    return (low is not None and value < low) or (high is not None and value > high)


def gap_percent(price: float, prior_close: float) -> float:
    """Change of ``price`` vs the prior close [%]: what the gap filter and the scan rank read."""
    return (price / prior_close - 1) * 100


def damaged(name: str, value: float | None) -> str | None:
    """``name:nan``, ``name:inf`` or ``name:negative`` if ``value`` cannot be judged; else None
    (None, unknown, is left to the filter)."""
    if value is None:
        return None
    if math.isnan(value):
        return f"{name}:nan"
    if math.isinf(value):
        return f"{name}:inf"
    return f"{name}:negative" if value < 0 else None


@dataclass(frozen=True, kw_only=True, slots=True)
class ScanFilters:
    """Scan filters (immutable; None disables a bound).

    Parameters
    ----------
    min_gap_percent, max_gap_percent
        Change of the last price vs the prior close [%]; default at least +5 %.
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

    @property
    def needs_reference(self) -> bool:
        """True if a filter reads reference data (asset type, float, average volume)."""
        return bool(self.exclude_types) or self.max_float is not None \
            or self.min_relative_volume is not None

    def outside_gap(self, gap_percent: float) -> bool:
        """True if a change vs the prior close [%] is outside the gap band."""
        return _outside(gap_percent, self.min_gap_percent, self.max_gap_percent)

    def gap_reasons(self, price: float, prior_close: float) -> list[str]:
        """The gap filter on a price and a known prior close [$]: ``gap``, or the prior close's
        damage (the price's is :meth:`market_reasons`')."""
        bad = damaged("prior_close", prior_close)
        if bad:
            return [bad]
        return ["gap"] if self.outside_gap(gap_percent(price, prior_close)) else []

    def market_reasons(self, candidate: Candidate) -> list[str]:
        """The market filters ``candidate`` fails (the gap only if its prior close is known)."""
        c = candidate
        reasons = []
        if c.symbol in self.deny:
            reasons.append("deny")
        if self.exclude_halted and c.halted:
            reasons.append("halted")
        bad_price = damaged("price", c.price)
        if bad_price:
            reasons.append(bad_price)
        elif _outside(c.price, self.min_price, self.max_price):
            reasons.append("price")
        bad_volume = damaged("volume", c.volume)
        if bad_volume:
            reasons.append(bad_volume)
        elif c.volume < self.min_premarket_volume:
            reasons.append("premarket_volume")
        if c.prior_close and not bad_price:
            reasons.extend(self.gap_reasons(c.price, c.prior_close))
        return reasons

    def reference_reasons(self, reference: Reference, relative_volume: float | None) -> list[str]:
        """The reference filters a symbol fails, given its reference data and relative volume."""
        reasons = []
        if reference.asset_type in self.exclude_types:
            reasons.append(reference.asset_type)
        if not reference.tradable:
            reasons.append("not_tradable")
        if self.max_float is not None:
            shares = reference.float_shares
            bad = damaged("float_shares", shares)
            if bad or shares is None or shares > self.max_float:
                reasons.append(bad or "float")
        if self.min_relative_volume is not None:
            bad = damaged("relative_volume", relative_volume)
            if bad or relative_volume is None or relative_volume < self.min_relative_volume:
                reasons.append(bad or "relative_volume")
        return reasons
