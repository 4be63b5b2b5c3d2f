"""Scanners: what the active universe is (see :mod:`tradecore.scanners.base`)."""

from tradecore.scanners.base import Scanner, ScanRow, UniverseChange
from tradecore.scanners.build import build_scanner
from tradecore.scanners.client import MarketDataClient, RestError
from tradecore.scanners.enrichment import (
    EnrichmentCache,
    MarketReferences,
    Reference,
    ReferenceProvider,
    RestReferences,
    StaticReferences,
)
from tradecore.scanners.filters import ScanFilters
from tradecore.scanners.fixed import FixedScanner
from tradecore.scanners.inputs import Candidate, MarketInputs, MarketStateInputs, SnapshotInputs
from tradecore.scanners.point_in_time import (
    PointInTimeInputs,
    RecordedScanner,
    ReplayReferences,
    ScanningReplay,
    replay_scans,
)
from tradecore.scanners.premarket import PremarketScanner
from tradecore.scanners.top_gainers import TopGainersScanner, movers_inputs

__all__ = [
    "Candidate",
    "EnrichmentCache",
    "FixedScanner",
    "MarketDataClient",
    "MarketInputs",
    "MarketReferences",
    "MarketStateInputs",
    "PointInTimeInputs",
    "PremarketScanner",
    "RecordedScanner",
    "Reference",
    "ReferenceProvider",
    "ReplayReferences",
    "RestError",
    "RestReferences",
    "ScanFilters",
    "ScanRow",
    "Scanner",
    "ScanningReplay",
    "SnapshotInputs",
    "StaticReferences",
    "TopGainersScanner",
    "UniverseChange",
    "build_scanner",
    "movers_inputs",
    "replay_scans",
]
