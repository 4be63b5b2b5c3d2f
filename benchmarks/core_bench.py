"""End-to-end figures of the native core, measured against baselines in the same run.

Run ``python benchmarks/core_bench.py`` (after ``pip install .``). Prints one figure per line as
``name: value unit``. Sections are functions returning nothing and printing through
:func:`report`; :data:`SECTIONS` lists them in order (add new ones there).

Bars (``bars.*``): trades per second and ns per trade of ``tradecore.bars.aggregate`` in the
batch path on a synthetic 4M-trade tape, and speed-ups against a NumPy ``reduceat`` and a pandas
``resample`` aggregation of the same trades in the same run.

Indicators:

- ``indicators.<Name>.run``: ns per row of ``Name.run(...)`` (the batch path, GIL released,
  same ``update`` code as live) on a synthetic random walk of realistic minute bars.
- ``indicators.<Name>.vs_talib``: time of our ``run`` / time of TA-Lib's C batch function on
  the same arrays (< 1 means we are faster).
- ``indicators.<Name>.vs_numpy``: our ``run`` / a plain NumPy implementation (vectorised
  where the indicator allows it; for recursive ones, which NumPy cannot vectorise, a Python loop
  over the array, labelled ``vs_numpy_loop``).
- ``indicators.<Name>.update_vs_empty_call``: one Python ``update(...)`` call / one call of an
  empty Python function with the same number of arguments, both timed in this run (target
  <= 2; NautilusTrader's Cython indicators are about 0.9).
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

import numpy as np
from benchlib import report

__all__ = ["SECTIONS", "bench_indicator_batch", "bench_indicator_update", "main", "report"]

ROWS = 1_000_000
LOOP_ROWS = 100_000  # for Python-loop baselines
REPEAT = 5


def best_time(fn: Callable[[], Any], repeat: int = REPEAT, number: int = 1) -> float:
    """Return the fastest of ``repeat`` timings of ``number`` calls, in seconds per call."""
    return min(timeit.repeat(fn, repeat=repeat, number=number)) / number


def make_bars(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Return a random walk of minute bars around $170 with cent-scale moves."""
    rng = np.random.default_rng(seed)
    close = 170.0 + np.cumsum(rng.normal(0.0, 0.05, n))
    open_ = np.concatenate([[170.0], close[:-1]])
    high = np.maximum(open_, close) + rng.uniform(0, 0.05, n)
    low = np.minimum(open_, close) - rng.uniform(0, 0.05, n)
    volume = np.floor(rng.lognormal(8.0, 1.0, n))
    day = np.arange(n) // 960
    minute = np.arange(n) % 960
    # 2013-10-07 04:00 New York (08:00 UTC), 960 minutes a day.
    ts = (1_381_132_800 + day * 86_400 + minute * 60).astype(np.int64) * 1_000_000_000
    return {"high": high, "low": low, "close": close, "volume": volume, "ts": ts}


# ---- plain NumPy references --------------------------------------------------------------


def _window(x: np.ndarray, n: int) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(x, n)


def np_sma(x, n):
    c = np.cumsum(np.concatenate([[0.0], x]))
    return (c[n:] - c[:-n]) / n


def np_wma(x, n):
    w = np.arange(1, n + 1, dtype=np.float64)
    return np.convolve(x, w[::-1], mode="valid") / w.sum()


def np_std(x, n):
    return _window(x, n).std(axis=1)


def np_bbands(x, n):
    w = _window(x, n)
    mid = w.mean(axis=1)
    sd = w.std(axis=1)
    return mid + 2 * sd, mid, mid - 2 * sd


def np_roc(x, n):
    return (x[n:] / x[:-n] - 1.0) * 100.0


def np_obv(c, v):
    return np.cumsum(np.concatenate([[v[0]], np.sign(np.diff(c)) * v[1:]]))


def np_stoch(h, l, c, k=5, sk=3, sd=3):
    hh = _window(h, k).max(axis=1)
    ll = _window(l, k).min(axis=1)
    fast = 100 * (c[k - 1 :] - ll) / np.where(hh > ll, hh - ll, np.inf)
    slow_k = np_sma(fast, sk)
    return slow_k, np_sma(slow_k, sd)


def loop_ema(x, n):
    out = np.empty_like(x)
    a = 2.0 / (n + 1)
    v = x[:n].mean()
    for i in range(n, len(x)):
        v += a * (x[i] - v)
        out[i] = v
    return out


def loop_rsi(x, n):
    d = np.diff(x)
    g = np.where(d > 0, d, 0.0)
    lo = np.where(d < 0, -d, 0.0)
    ag, al = g[:n].mean(), lo[:n].mean()
    out = np.empty_like(x)
    for i in range(n, len(d)):
        ag = (ag * (n - 1) + g[i]) / n
        al = (al * (n - 1) + lo[i]) / n
        out[i] = 100 * ag / (ag + al)
    return out


def loop_atr(h, l, c, n):
    tr = np.maximum(h[1:], c[:-1]) - np.minimum(l[1:], c[:-1])
    v = tr[:n].mean()
    out = np.empty_like(c)
    for i in range(n, len(tr)):
        v = (v * (n - 1) + tr[i]) / n
        out[i] = v
    return out


# ---- sections ----------------------------------------------------------------------------


def bench_indicator_batch(rows: int = ROWS) -> None:
    """ns per row of each indicator's run(), with ratios against TA-Lib and NumPy."""
    import talib
    from tradecore import indicators as ind

    b = make_bars(rows)
    h, l, c, v, ts = b["high"], b["low"], b["close"], b["volume"], b["ts"]
    small = {k: a[:LOOP_ROWS] for k, a in b.items()}
    # name: (ours, talib or None, numpy or None, numpy-is-a-loop, ours on the loop-sized input)
    cases: dict[str, tuple] = {
        "EMA": (lambda: ind.EMA(20).run(c), lambda: talib.EMA(c, 20), lambda: loop_ema(small["close"], 20), True,
                lambda: ind.EMA(20).run(small["close"])),
        "SMA": (lambda: ind.SMA(20).run(c), lambda: talib.SMA(c, 20), lambda: np_sma(c, 20), False, None),
        "WMA": (lambda: ind.WMA(20).run(c), lambda: talib.WMA(c, 20), lambda: np_wma(c, 20), False, None),
        "RSI": (lambda: ind.RSI(14).run(c), lambda: talib.RSI(c, 14), lambda: loop_rsi(small["close"], 14), True,
                lambda: ind.RSI(14).run(small["close"])),
        "ATR": (lambda: ind.ATR(14).run(h, l, c), lambda: talib.ATR(h, l, c, 14),
                lambda: loop_atr(small["high"], small["low"], small["close"], 14), True,
                lambda: ind.ATR(14).run(small["high"], small["low"], small["close"])),
        "MACD": (lambda: ind.MACD().run(c), lambda: talib.MACD(c, 12, 26, 9), None, False, None),
        "BollingerBands": (lambda: ind.BollingerBands(20, 2.0).run(c), lambda: talib.BBANDS(c, 20, 2.0, 2.0, 0),
                           lambda: np_bbands(c, 20), False, None),
        "StandardDeviation": (lambda: ind.StandardDeviation(20).run(c), lambda: talib.STDDEV(c, 20, 1.0),
                              lambda: np_std(c, 20), False, None),
        "Highest": (lambda: ind.Highest(20).run(h), lambda: talib.MAX(h, 20), lambda: _window(h, 20).max(axis=1),
                    False, None),
        "Lowest": (lambda: ind.Lowest(20).run(l), lambda: talib.MIN(l, 20), lambda: _window(l, 20).min(axis=1),
                   False, None),
        "RateOfChange": (lambda: ind.RateOfChange(10).run(c), lambda: talib.ROC(c, 10), lambda: np_roc(c, 10),
                         False, None),
        "OBV": (lambda: ind.OBV().run(c, v), lambda: talib.OBV(c, v), lambda: np_obv(c, v), False, None),
        "ADX": (lambda: ind.ADX(14).run(h, l, c), lambda: talib.ADX(h, l, c, 14), None, False, None),
        "Stochastic": (lambda: ind.Stochastic().run(h, l, c), lambda: talib.STOCH(h, l, c, 5, 3, 0, 3, 0),
                       lambda: np_stoch(h, l, c), False, None),
        "VWAP": (lambda: ind.VWAP("regular").run(ts, c, v), None, None, False, None),
        "RelativeVolume": (lambda: ind.RelativeVolume(10).run(ts, v), None, None, False, None),
        "RelativeVolume.cumulative": (lambda: ind.RelativeVolume(10, cumulative=True).run(ts, v), None, None,
                                      False, None),
    }
    for name, (ours, ta, npy, is_loop, ours_small) in cases.items():
        t_ours = best_time(ours)
        report(f"indicators.{name}.run", t_ours / rows * 1e9, "ns/row")
        if ta is not None:
            report(f"indicators.{name}.vs_talib", t_ours / best_time(ta), "x")
        if npy is not None:
            if is_loop:
                report(f"indicators.{name}.vs_numpy_loop", best_time(ours_small, 3) / best_time(npy, 3), "x")
            else:
                report(f"indicators.{name}.vs_numpy", t_ours / best_time(npy), "x")


def bench_indicator_update(number: int = 1_000_000) -> None:
    """Python per-call cost of update() and of reading value, against empty Python calls."""
    from tradecore import indicators as ind

    def empty1(a):  # noqa: ARG001 - the baseline is a do-nothing function
        pass

    def empty2(a, b):  # noqa: ARG001
        pass

    def empty3(a, b, c):  # noqa: ARG001
        pass

    class Plain:
        value = 1.0

    plain = Plain()
    ts = 1_381_132_800_000_000_000
    cases = {
        "EMA": (ind.EMA(20), "x.update(170.5)", "f(170.5)", empty1),
        "SMA": (ind.SMA(20), "x.update(170.5)", "f(170.5)", empty1),
        "RSI": (ind.RSI(14), "x.update(170.5)", "f(170.5)", empty1),
        "MACD": (ind.MACD(), "x.update(170.5)", "f(170.5)", empty1),
        "BollingerBands": (ind.BollingerBands(), "x.update(170.5)", "f(170.5)", empty1),
        "ATR": (ind.ATR(14), "x.update(171.0, 170.0, 170.5)", "f(171.0, 170.0, 170.5)", empty3),
        "ADX": (ind.ADX(14), "x.update(171.0, 170.0, 170.5)", "f(171.0, 170.0, 170.5)", empty3),
        "OBV": (ind.OBV(), "x.update(170.5, 100.0)", "f(170.5, 100.0)", empty2),
        "VWAP": (ind.VWAP(), "x.update(ts, 170.5, 100.0)", "f(ts, 170.5, 100.0)", empty3),
    }
    for name, (x, stmt, base, f) in cases.items():
        env = {"x": x, "f": f, "ts": ts}
        # Interleave the two so drift in machine load hits both alike; keep each one's best.
        t_ours, t_base = float("inf"), float("inf")
        for _ in range(REPEAT):
            t_base = min(t_base, timeit.timeit(base, globals=env, number=number))
            t_ours = min(t_ours, timeit.timeit(stmt, globals=env, number=number))
        report(f"indicators.{name}.update", t_ours / number * 1e9, "ns")
        report(f"indicators.{name}.empty_call", t_base / number * 1e9, "ns")
        report(f"indicators.{name}.update_vs_empty_call", t_ours / t_base, "x")
    ema = ind.EMA(20)
    for _ in range(30):
        ema.update(170.0)
    env = {"ema": ema, "plain": plain}
    t_value = min(timeit.repeat("ema.value", globals=env, number=number, repeat=REPEAT))
    t_attr = min(timeit.repeat("plain.value", globals=env, number=number, repeat=REPEAT))
    report("indicators.EMA.value_read", t_value / number * 1e9, "ns")
    report("indicators.EMA.value_vs_attribute", t_value / t_attr, "x")


# Sections in the order they run. Add the bar aggregator's figures (and others) here, as
# functions that print through report().
def bench_aggregation() -> None:
    """Bar aggregation from Python on a NumPy array of trades (see benchmarks/bars_bench.py)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bars_bench import bar_figures

    for name, value, unit in bar_figures():
        report(f"bars.{name}", value, unit)


SECTIONS: list[Callable[[], None]] = [
    bench_indicator_batch,
    bench_indicator_update,
    bench_aggregation,
]


def main() -> None:
    for section in SECTIONS:
        section()


if __name__ == "__main__":
    main()
