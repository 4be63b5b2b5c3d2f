"""The scanner a configuration describes, built in one place for ``tradecore live``,
``tradecore scan`` and backtests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradecore.errors import ConfigError
from tradecore.scanners.base import Scanner
from tradecore.scanners.client import MarketDataClient
from tradecore.scanners.enrichment import EnrichmentCache, RestReferences
from tradecore.scanners.filters import ScanFilters
from tradecore.scanners.fixed import FixedScanner
from tradecore.scanners.inputs import MarketInputs, SnapshotInputs
from tradecore.scanners.premarket import PremarketScanner
from tradecore.scanners.top_gainers import TopGainersScanner, movers_inputs

if TYPE_CHECKING:
    from tradecore.config import ScannerConfig

__all__ = ["build_scanner"]


def build_scanner(settings: ScannerConfig, *, client: MarketDataClient | None = None,
                  inputs: MarketInputs | None = None, enrichment: EnrichmentCache | None = None,
                  **options: Any) -> Scanner:
    """Return the scanner of ``settings`` (kind, symbols, filters).

    The market is read over REST through ``client`` (live and ``tradecore scan``: snapshots of
    ``settings.symbols``, or of the symbols the screeners discover, and reference data from
    ``/v2/assets``), or from ``inputs`` and ``enrichment`` where given (a backtest's
    :class:`~tradecore.scanners.point_in_time.PointInTimeInputs`). ``options`` go to the
    scanner (``keep``, ``journal``, ``clock``).
    """
    options.setdefault("drop_after_ns", round(settings.drop_after_seconds * 1e9))
    if settings.kind == "fixed":
        return FixedScanner(settings.symbols, **options)
    filters = ScanFilters.from_mapping(settings.filters)
    symbols = list(settings.symbols) or None
    if inputs is None:
        if client is None:
            raise ConfigError(f"a {settings.kind} scanner needs a REST client or market inputs")
        inputs = movers_inputs(client, symbols) if settings.kind == "top_gainers" \
            else SnapshotInputs(client, symbols)
    if enrichment is None and client is not None:
        enrichment = EnrichmentCache(RestReferences(client))
    kind = TopGainersScanner if settings.kind == "top_gainers" else PremarketScanner
    return kind(inputs, enrichment, filters, **options)
