"""The premarket gap scanner.

Each scan takes the :class:`~tradecore.scanners.inputs.Candidate`\\ s of its inputs, applies
the market filters (deny-list, halted, price band, gap band, premarket volume), fetches
reference data only for the survivors (through the :class:`EnrichmentCache`, so a symbol is
fetched once per expiry), applies the reference filters (asset type, float, relative volume)
and ranks what passes by gap, largest first, keeping at most ``max_symbols``. The filters are
:class:`~tradecore.scanners.filters.ScanFilters`.

Values (``ScanRow.values``): ``price`` [$], ``prior_close`` [$], ``gap_percent`` =
(price / prior_close - 1) x 100 [%], ``volume`` shares so far today [shares],
``relative_volume`` = volume / average daily volume [ratio], ``float_shares`` [shares],
``shares_outstanding`` [shares], ``asset_type``, ``exchange``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from tradecore.errors import ConfigError
from tradecore.scanners.base import Scanner, ScanRow
from tradecore.scanners.enrichment import EnrichmentCache
from tradecore.scanners.filters import ScanFilters, gap_percent
from tradecore.scanners.inputs import MarketInputs

__all__ = ["PremarketScanner", "ScanFilters"]


class PremarketScanner(Scanner):
    """Gap scanner (see the module docstring); ``inputs`` live or point-in-time.

    ``enrichment`` may be None only for a scanner that needs no reference data (see
    :attr:`reference_required`) with filters that read none.
    """

    name = "premarket"
    change_value = "gap_percent"
    """Name of the ranking value, the change vs the prior close [%], in the rows."""
    reference_required = True
    """A symbol without reference data fails (``no_reference``) even if no filter reads it."""

    def __init__(self, inputs: MarketInputs, enrichment: EnrichmentCache | None,
                 filters: ScanFilters | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.inputs = inputs
        self.enrichment = enrichment
        self.filters = filters or ScanFilters()
        if enrichment is None and (self.reference_required or self.filters.needs_reference):
            raise ConfigError(f"the {self.name} scanner with these filters needs reference data "
                              "(an EnrichmentCache)")

    @property
    def max_symbols(self) -> int | None:
        return self.filters.max_symbols

    async def scan(self) -> list[ScanRow]:
        f = self.filters
        needs_reference = self.reference_required or f.needs_reference
        first = [(c, f.market_reasons(c)) for c in await self.inputs.candidates()]
        # Reference data only for what the market filters kept, when a filter reads it or the
        # prior close is unknown.
        needed = [c.symbol for c, reasons in first
                  if not reasons and (needs_reference or not c.prior_close)]
        references = await self.enrichment.get(needed) \
            if needed and self.enrichment is not None else {}
        rows: list[tuple[float, ScanRow]] = []
        for c, reasons in first:
            ref = references.get(c.symbol)
            prior = c.prior_close if c.prior_close else (ref.prior_close if ref else None)
            gap = gap_percent(c.price, prior) if prior else None
            average = ref.average_volume if ref else None
            relative = c.volume / average if average else None
            values: dict[str, float | str | None] = {
                "price": c.price, "prior_close": prior, self.change_value: gap,
                "volume": c.volume, "relative_volume": relative,
                "float_shares": ref.float_shares if ref else None,
                "shares_outstanding": ref.shares_outstanding if ref else None,
                "asset_type": ref.asset_type if ref else None,
                "exchange": ref.exchange if ref else None,
            }
            if not reasons:
                if ref is not None:
                    reasons.extend(f.reference_reasons(ref, relative))
                elif needs_reference:
                    reasons.append("no_reference")
                if prior is None:
                    reasons.append("no_prior_close")
                else:
                    reasons.extend(f.gap_reasons(c.price, prior))
            rows.append((gap if gap is not None and math.isfinite(gap) else float("-inf"),
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
