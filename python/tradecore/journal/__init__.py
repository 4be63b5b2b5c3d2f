"""Run journals and the run registry (see :mod:`tradecore.journal.journal`)."""

from tradecore.journal.journal import (
    Journal,
    OpenOrder,
    Position,
    Record,
    StrategyNames,
)
from tradecore.journal.registry import RunInfo, RunRegistry

__all__ = ["Journal", "OpenOrder", "Position", "Record", "RunInfo", "RunRegistry", "StrategyNames"]
