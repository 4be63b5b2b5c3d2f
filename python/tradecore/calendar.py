"""US-equity sessions in New York time, by the native core's rules (one set for everything).

Premarket 04:00-09:30, regular 09:30-16:00, after-hours 16:00-20:00, otherwise overnight; on
the NYSE's early-close days (the day after Thanksgiving, and July 3 / December 24 when they
fall Monday to Thursday) the regular session ends at 13:00 and after-hours at 17:00. Daylight
saving follows the US rules (1987 onwards). Holidays are not modelled: a closed day has no data.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from tradecore._native import _core
from tradecore.schema import Session

__all__ = ["is_early_close", "new_york_date", "new_york_time", "session_of", "sessions"]

_EPOCH = dt.date(1970, 1, 1)
_NEW_YORK = ZoneInfo("America/New_York")


def new_york_time(ts: int) -> str:
    """``ts`` (ns UTC) as New York wall time, ``HH:MM:SS`` (``--:--:--`` for 0: no time yet)."""
    if not ts:
        return "--:--:--"
    return dt.datetime.fromtimestamp(ts // 1_000_000_000, _NEW_YORK).strftime("%H:%M:%S")


def new_york_date(ts: int) -> dt.date:
    """The New York date of ``ts`` (ns UTC)."""
    return dt.datetime.fromtimestamp(ts // 1_000_000_000, _NEW_YORK).date()


def session_of(ts_event: int) -> Session:
    """The session of a UTC instant (ns since the epoch)."""
    return Session(int(_core.calendar.session_of(ts_event)))


def sessions(ts_event: np.ndarray) -> np.ndarray:
    """The session (``Session`` values, uint8) of each UTC ns timestamp, natively."""
    return _core.calendar.sessions(np.asarray(ts_event, dtype=np.int64))


def is_early_close(date: dt.date) -> bool:
    """Whether the regular session of this New York date ends at 13:00."""
    return bool(_core.calendar.is_early_close((date - _EPOCH).days))
