"""Performance analysis of runs (see :mod:`tradecore.analysis.summary`)."""

from tradecore.analysis.summary import (
    Execution,
    PerformanceSummary,
    RoundTrip,
    executions_from_fills,
    executions_from_journal,
    round_trips,
    summarize,
)

__all__ = [
    "Execution",
    "PerformanceSummary",
    "RoundTrip",
    "executions_from_fills",
    "executions_from_journal",
    "round_trips",
    "summarize",
]
