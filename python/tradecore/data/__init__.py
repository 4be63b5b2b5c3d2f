"""Market data readers and the location of the recorded data used by tests and benchmarks.

:mod:`tradecore.data.lean` reads QuantConnect LEAN US-equity files into the event arrays of
:mod:`tradecore.schema`; :mod:`tradecore.data.locate` finds the data folder. Needs pandas and
pyarrow (the ``data`` extra).
"""

from tradecore.data.lean import (
    NEW_YORK,
    available_dates,
    lean_path,
    read_daily_bars,
    read_hour_bars,
    read_minute_bars,
    read_quote_ticks,
    read_second_bars,
    read_trade_ticks,
)
from tradecore.data.locate import ENV_VAR, data_root, data_root_candidates, lean_root

__all__ = [
    "ENV_VAR",
    "NEW_YORK",
    "available_dates",
    "data_root",
    "data_root_candidates",
    "lean_path",
    "lean_root",
    "read_daily_bars",
    "read_hour_bars",
    "read_minute_bars",
    "read_quote_ticks",
    "read_second_bars",
    "read_trade_ticks",
]
