"""The session calendar: early closes against exchange_calendars' NYSE, sessions on real bars."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest
from tradecore.calendar import is_early_close, session_of, sessions
from tradecore.schema import Session


def ny(text: str) -> int:
    return int(pd.Timestamp(text, tz="America/New_York").value)


def test_early_closes_agree_with_exchange_calendars_2004_to_2035() -> None:
    xc = pytest.importorskip("exchange_calendars")
    with warnings.catch_warnings():  # the library's own pandas deprecations, not ours
        warnings.simplefilter("ignore")
        nyse = xc.get_calendar("XNYS", start="2004-01-01", end="2035-12-31")
        expected = {d.date() for d in nyse.early_closes}
        closes = nyse.closes[nyse.early_closes].dt.tz_convert("America/New_York")
    assert all(t.time() == dt.time(13) for t in closes)
    days = pd.date_range("2004-01-01", "2035-12-31", freq="D").date
    ours = {d for d in days if is_early_close(d)}
    # Early closes on trading days only; ours never fall on a weekend or a holiday either.
    assert ours == expected
    assert len(ours) == len(expected) > 60


def test_sessions_on_an_early_close_day_and_a_normal_day() -> None:
    day_after_thanksgiving = [ny("2026-11-27 " + t) for t in
                              ("03:59", "04:00", "09:30", "12:59:59", "13:00", "16:59", "17:00")]
    assert [session_of(t) for t in day_after_thanksgiving] == [
        Session.OVERNIGHT, Session.PREMARKET, Session.REGULAR, Session.REGULAR,
        Session.AFTER_HOURS, Session.AFTER_HOURS, Session.OVERNIGHT]
    normal = [ny("2026-11-25 " + t) for t in ("13:00", "16:00", "19:59", "20:00")]
    assert list(sessions(np.array(normal))) == [
        Session.REGULAR, Session.AFTER_HOURS, Session.AFTER_HOURS, Session.OVERNIGHT]
    # Vectorised and scalar agree across a DST change (2026-03-08) on a minute grid.
    grid = np.arange(ny("2026-03-06 00:00"), ny("2026-03-10 00:00"), 60 * 10**9, dtype=np.int64)
    assert list(sessions(grid)) == [session_of(int(t)) for t in grid]
    with pytest.raises(ValueError, match="1-D"):
        sessions(np.zeros((2, 2), dtype=np.int64))


def test_bars_after_an_early_close_are_after_hours() -> None:
    from tradecore.bars import aggregate
    from tradecore.schema import TRADE, empty

    trades = empty(TRADE, 3)
    trades["ts_event"] = [ny("2024-12-24 12:59:30"), ny("2024-12-24 13:00:10"),
                          ny("2024-12-24 16:30:00")]
    trades["price"], trades["size"] = [10.0, 10.5, 11.0], 100
    bars = aggregate(trades, "1h")
    assert [Session(s) for s in bars["session"]] == [
        Session.REGULAR, Session.AFTER_HOURS, Session.AFTER_HOURS]
    # The regular session's last bar is cut at 13:00, not at the hour's end.
    assert bars["ts_end"][0] == ny("2024-12-24 13:00")
