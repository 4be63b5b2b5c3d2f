"""Independent pandas/numpy reference for the ``ema_cross`` strategy.

Rules (identical for every peer and for tradecore):

* on each 1-minute bar close update EMA(fast=10) and EMA(slow=30) of the close,
  ``alpha = 2 / (n + 1)``, ``ema = alpha * close + (1 - alpha) * previous``;
* an EMA is *initialised* once it has seen ``n`` closes (bar index ``n - 1``);
* a cross is evaluated on bar ``i`` only when both EMAs were initialised on bar ``i - 1`` as well,
  so the first bar that can signal is index ``slow`` (30) under both seeding conventions;
* flat and ``prev_fast <= prev_slow and fast > slow`` -> entry (buy 100 at market);
  long and ``prev_fast >= prev_slow and fast < slow`` -> exit (sell 100 at market). Long only.

Seeding conventions (``seeding=``):

* ``"first"`` (NautilusTrader, vectorbt): the EMA starts at the first close;
* ``"sma"`` (backtrader, TA-Lib, talipp): the value at index ``n - 1`` is the mean of the first ``n``
  closes (``math.fsum / n`` as backtrader does), recursion from there.

The two give different EMA values for the first few hundred bars only (the seed's weight decays
as ``(1 - alpha) ** k``), so trade lists can differ only near the start of a series.

Signals are reported at the SIGNAL bar (its ``ts_event`` = open time, UTC). Fill timing is a peer
property (Nautilus fills at the signal bar's close, backtrader at the next bar's open) and is
reported separately by each runner.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["FAST", "SLOW", "ema", "ema_cross_trades"]

FAST = 10
SLOW = 30


def ema(close: np.ndarray, n: int, seeding: str = "first") -> np.ndarray:
    """EMA of ``close`` with NaN before index ``n - 1`` under either seeding convention.

    A plain Python loop on purpose: the same float operations, in the same order, as the peers,
    so that exact ties (``fast == slow`` on flat stretches) resolve the same way.
    """
    values = np.asarray(close, dtype=np.float64).tolist()
    alpha = 2.0 / (n + 1.0)
    beta = 1.0 - alpha
    out = [math.nan] * len(values)
    if seeding == "first":
        if values:
            prev = values[0]
        for i, x in enumerate(values):
            prev = alpha * x + beta * prev
            if i >= n - 1:
                out[i] = prev
    elif seeding == "sma":
        if len(values) >= n:
            prev = math.fsum(values[:n]) / n
            out[n - 1] = prev
            for i in range(n, len(values)):
                prev = prev * beta + values[i] * alpha
                out[i] = prev
    else:
        raise ValueError(f"seeding must be 'first' or 'sma', not {seeding!r}")
    return np.asarray(out)


def ema_cross_trades(
    bars: pd.DataFrame, fast: int = FAST, slow: int = SLOW, seeding: str = "first"
) -> dict:
    """Entries and exits of ``ema_cross`` on ``bars`` (frame from :mod:`bars`).

    Returns ``{"entries": [ts...], "exits": [ts...], "round_trips": int}`` with ISO-8601 UTC
    timestamps of the signal bars' opens. ``round_trips`` counts completed entry/exit pairs.
    """
    close = bars["close"].to_numpy(np.float64)
    f = ema(close, fast, seeding)
    s = ema(close, slow, seeding)
    n = len(close)
    idx_entries: list[int] = []
    idx_exits: list[int] = []
    if n > slow:
        pf, ps, cf, cs = f[slow - 1 : n - 1], s[slow - 1 : n - 1], f[slow:], s[slow:]
        up = np.flatnonzero((pf <= ps) & (cf > cs)) + slow
        down = np.flatnonzero((pf >= ps) & (cf < cs)) + slow
        # Walk the position state: an entry only when flat, an exit only when long.
        events = sorted([(i, 1) for i in up.tolist()] + [(i, -1) for i in down.tolist()])
        long = False
        for i, kind in events:
            if kind == 1 and not long:
                idx_entries.append(i)
                long = True
            elif kind == -1 and long:
                idx_exits.append(i)
                long = False
    stamps = bars.index
    return {
        "entries": [stamps[i].isoformat() for i in idx_entries],
        "exits": [stamps[i].isoformat() for i in idx_exits],
        "round_trips": len(idx_exits),
    }


if __name__ == "__main__":  # pragma: no cover - manual use
    import json
    import sys

    from bars import get_bars

    kind = sys.argv[1] if len(sys.argv) > 1 else "lean"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    frame = get_bars(kind, n)
    for seeding in ("first", "sma"):
        result = ema_cross_trades(frame, seeding=seeding)
        print(json.dumps({"seeding": seeding, "bars": len(frame), "round_trips":
                          result["round_trips"], "entries": len(result["entries"])}))
