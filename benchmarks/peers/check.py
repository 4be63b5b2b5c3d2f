"""Self-check (no pytest): peers' ema_cross trades vs the pandas reference on LEAN SPY 2013-10-07..11.

    /work/venv-peers/bin/python benchmarks/peers/check.py

Checks, on the 4,128 LEAN SPY minute bars of the week:

* NautilusTrader's round trips and signal bars equal the reference with first-value seeding;
* backtrader's equal the reference with SMA seeding;
* every fill is for the full 100 shares, and each peer fills at its documented time
  (Nautilus: the signal bar's close price at its close time; backtrader: the next bar's open);
* NautilusTrader's tick replay (trade ticks -> internal 1-minute bars) builds the same closes as
  a pandas resample of the same ticks and trades as the reference on them.

Prints one line per check and a closing ``N passed, N failed`` line; exits 1 on any failure.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pandas as pd  # noqa: E402
from bars import SPY_WEEK, load_lean_minute, load_lean_ticks  # noqa: E402
from reference import ema_cross_trades  # noqa: E402

RESULTS = {"passed": 0, "failed": 0}


def check(name: str, ok: bool, detail: str = "") -> None:
    RESULTS["passed" if ok else "failed"] += 1
    print(f"{'PASS' if ok else 'FAIL'} {name}" + (f" ({detail})" if detail else ""))


def main() -> int:
    bars = load_lean_minute(SPY_WEEK)
    check("LEAN SPY week has 4128 minute bars", len(bars) == 4128, f"{len(bars)}")
    ref_first = ema_cross_trades(bars, seeding="first")
    ref_sma = ema_cross_trades(bars, seeding="sma")
    print(f"reference round trips: first-value seeding {ref_first['round_trips']}, "
          f"SMA seeding {ref_sma['round_trips']}")

    import run_nautilus

    nt = run_nautilus.run_bars(bars)
    check("nautilus round trips == reference(first)", nt["round_trips"] == ref_first["round_trips"],
          f"{nt['round_trips']} vs {ref_first['round_trips']}")
    check("nautilus signal bars == reference(first)",
          nt["entries"] == ref_first["entries"] and nt["exits"] == ref_first["exits"])
    check("nautilus fills whole (no partials)", nt["partial_fills"] == 0 and
          nt["n_fills"] == nt["n_entries"] + nt["round_trips"], f"{nt['n_fills']} fills")
    closes = bars["close"]
    at_close = all(
        pd.Timestamp(fill_ts) == pd.Timestamp(sig) + pd.Timedelta(minutes=1)
        and px == closes[pd.Timestamp(sig)]
        for sig, (fill_ts, px) in zip(nt["entries"] + nt["exits"],
                                      nt["entry_fills"] + nt["exit_fills"])
    )
    check("nautilus fills at the signal bar's close", at_close)

    import run_backtrader

    bt = run_backtrader.run_bars(bars)
    check("backtrader round trips == reference(sma)", bt["round_trips"] == ref_sma["round_trips"],
          f"{bt['round_trips']} vs {ref_sma['round_trips']}")
    check("backtrader signal bars == reference(sma)",
          bt["entries"] == ref_sma["entries"] and bt["exits"] == ref_sma["exits"])
    check("backtrader fills whole, no failed orders",
          bt["partial_fills"] == 0 and bt["failed_orders"] == 0, f"{bt['n_fills']} fills")
    pos = {ts: i for i, ts in enumerate(bars.index)}
    at_next_open = all(
        pd.Timestamp(fill_ts) == bars.index[pos[pd.Timestamp(sig)] + 1]
        and px == bars["open"].iloc[pos[pd.Timestamp(sig)] + 1]
        for sig, (fill_ts, px) in zip(bt["entries"] + bt["exits"],
                                      bt["entry_fills"] + bt["exit_fills"])
    )
    check("backtrader fills at the next bar's open", at_next_open)

    ticks = load_lean_ticks(SPY_WEEK)
    tk = run_nautilus.run_ticks(ticks)
    built = pd.Series([c for _, c in tk["bar_closes"]],
                      index=pd.to_datetime([t for t, _ in tk["bar_closes"]], utc=True))
    resampled = ticks["price"].resample("1min", closed="right", label="right").last().dropna()
    resampled = resampled.iloc[:-1]  # Nautilus does not emit the last, partial bar
    check("nautilus tick bars == pandas resample (closed=right, label=right)",
          built.index.equals(resampled.index) and (built.to_numpy() == resampled.to_numpy()).all(),
          f"{len(built)} bars")
    frame = pd.DataFrame({"close": resampled.to_numpy()},
                         index=resampled.index - pd.Timedelta(minutes=1))
    ref_ticks = ema_cross_trades(frame, seeding="first")
    check("nautilus tick replay round trips == reference on tick bars",
          tk["round_trips"] == ref_ticks["round_trips"] and tk["entries"] == ref_ticks["entries"]
          and tk["exits"] == ref_ticks["exits"], f"{tk['round_trips']} vs {ref_ticks['round_trips']}")
    print(f"tick replay: {tk['ticks']} ticks, {tk['bars']} bars, {tk['round_trips']} round trips "
          f"(LEAN minute bars give {ref_first['round_trips']}: LEAN's bars differ from the ticks' "
          f"last prices in some minutes)")

    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
