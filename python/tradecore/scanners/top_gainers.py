"""Top gainers: the symbols whose price rose most since the prior close.

The same filters and ranking as the premarket scanner (:class:`ScanFilters`: price band, gap
band, volume, halts, deny-list, asset types, float, relative volume, ``max_symbols``), over the
gainers of the movers screener (:func:`movers_inputs`) or any other inputs (given symbols'
snapshots, or point-in-time inputs in a backtest). Unlike the premarket scanner it fetches
reference data only when a filter reads it or a prior close is unknown, and a symbol without
any is not failed for that alone.

The movers screener resets at the open and shows the previous day's movers until then, so
before the open pass the symbols to watch instead. Values as the premarket scanner's, with
``percent_change`` [%] in place of ``gap_percent``.
"""

from __future__ import annotations

from collections.abc import Iterable

from tradecore.scanners.client import MarketDataClient
from tradecore.scanners.inputs import SnapshotInputs
from tradecore.scanners.premarket import PremarketScanner

__all__ = ["TopGainersScanner", "movers_inputs"]

MOVERS_TOP = 50
"""Gainers the movers screener gives at most."""


def movers_inputs(client: MarketDataClient, symbols: Iterable[str] | None = None) -> SnapshotInputs:
    """Snapshots of ``symbols``, or when None of the movers screener's gainers (the snapshot
    adds today's volume, which the screener does not give)."""
    return SnapshotInputs(client, symbols, discover_top=0, movers_top=MOVERS_TOP)


class TopGainersScanner(PremarketScanner):
    """Top gainers (see the module docstring)."""

    name = "top_gainers"
    change_value = "percent_change"
    reference_required = False
