"""Streaming indicators against TA-Lib and independent pandas computations on real LEAN data.

Data: LEAN minute and daily trade bars (see shared/data/PROVENANCE.md), located through
``TRADECORE_DATA`` (default: ``<worktree>/../shared/data``). Missing data skips the data-driven
tests with a reason, except under ``CI=true`` where it fails.

Tolerance: TA-Lib agreement is checked element-wise after warm-up as
``|ours - talib| <= 1e-9 * |talib|``. For outputs that cross zero (MACD line, signal,
histogram; ROC; OBV) an element-wise relative error is meaningless at the crossing, so the bound
there is ``1e-9 * max(|talib|, median |talib|)``, i.e. relative to the series' own scale; this is
stated at each use.
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tradecore.indicators as ind
from tradecore.errors import ConfigError, DataError

talib = pytest.importorskip("talib")

# ---------------------------------------------------------------------------------------------
# LEAN data helpers
# ---------------------------------------------------------------------------------------------

PRICE_SCALE = 10_000.0
MINUTE_DAYS = {
    "spy": ["20131004", "20131007", "20131008", "20131009", "20131010", "20131011"],
    "aapl": ["20140605", "20140606", "20140609"],
    "ibm": ["20131004", "20131007", "20131008", "20131009", "20131010", "20131011"],
}
SYMBOLS = sorted(MINUTE_DAYS)


def _data_root() -> Path:
    env = os.environ.get("TRADECORE_DATA")
    if env:
        return Path(env)
    # tests/python/test_indicators.py -> worktree root is parents[2]; shared/ sits beside it.
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return here.parents[3] / "shared" / "data"


def _lean_equity() -> Path:
    path = _data_root() / "quantconnect-lean" / "Data" / "equity" / "usa"
    if not path.is_dir():
        reason = f"LEAN data not found at {path} (set TRADECORE_DATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def read_minute(symbol: str, day: str) -> pd.DataFrame:
    """Read one LEAN minute trade-bar file: dollars, shares, ``ts_event`` int64 ns UTC."""
    path = _lean_equity() / "minute" / symbol / f"{day}_trade.zip"
    df = pd.read_csv(path, header=None, names=["ms", "open", "high", "low", "close", "volume"])
    for col in ("open", "high", "low", "close"):
        df[col] = df[col] / PRICE_SCALE
    df["volume"] = df["volume"].astype(np.float64)
    local = pd.Timestamp(day) + pd.to_timedelta(df["ms"], unit="ms")
    utc = local.dt.tz_localize("America/New_York").dt.tz_convert("UTC")
    # pandas may pick a coarser unit (us, ms) for these datetimes: make the ns explicit.
    df["ts_event"] = utc.dt.as_unit("ns").astype("int64")
    assert df["ts_event"].iloc[0] > 10**18  # ns, not us
    df["local"] = local
    return df


def read_minutes(symbol: str) -> pd.DataFrame:
    """All minute bars of a symbol's days, in time order, as one continuous series."""
    return pd.concat([read_minute(symbol, d) for d in MINUTE_DAYS[symbol]], ignore_index=True)


def read_daily(symbol: str) -> pd.DataFrame:
    path = _lean_equity() / "daily" / f"{symbol}.zip"
    with zipfile.ZipFile(path) as zf:
        with zf.open(zf.namelist()[0]) as fh:
            df = pd.read_csv(fh, header=None, names=["date", "open", "high", "low", "close", "volume"])
    for col in ("open", "high", "low", "close"):
        df[col] = df[col] / PRICE_SCALE
    df["volume"] = df["volume"].astype(np.float64)
    return df


def _series():
    for symbol in SYMBOLS:
        yield pytest.param(("minute", symbol), id=f"{symbol}-minute")
        yield pytest.param(("daily", symbol), id=f"{symbol}-daily")


_cache: dict[tuple[str, str], pd.DataFrame] = {}


@pytest.fixture(params=list(_series()))
def bars(request: pytest.FixtureRequest) -> pd.DataFrame:
    key = request.param
    if key not in _cache:
        kind, symbol = key
        _cache[key] = read_minutes(symbol) if kind == "minute" else read_daily(symbol)
    return _cache[key]


def _arrays(df: pd.DataFrame):
    return (
        df["high"].to_numpy(np.float64),
        df["low"].to_numpy(np.float64),
        df["close"].to_numpy(np.float64),
        df["volume"].to_numpy(np.float64),
    )


def assert_matches(ours: np.ndarray, ref: np.ndarray, *, rtol: float = 1e-9, scale: float = 0.0):
    """Same NaN warm-up, then |ours - ref| <= rtol * max(|ref|, scale) element-wise."""
    ours = np.asarray(ours)
    ref = np.asarray(ref)
    assert ours.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref), err_msg="warm-up (NaN) differs")
    ok = ~np.isnan(ref)
    assert ok.any()
    err = np.abs(ours[ok] - ref[ok])
    bound = rtol * np.maximum(np.abs(ref[ok]), scale)
    worst = int(np.argmax(err - bound))
    assert np.all(err <= bound), (
        f"worst row {np.flatnonzero(ok)[worst]}: ours={ours[ok][worst]!r} ref={ref[ok][worst]!r} "
        f"err={err[worst]:.3g} bound={bound[worst]:.3g}"
    )


def series_scale(ref: np.ndarray) -> float:
    return float(np.nanmedian(np.abs(ref)))


# ---------------------------------------------------------------------------------------------
# TA-Lib agreement
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", [2, 10, 30])
def test_ema_matches_talib(bars, period):
    _, _, close, _ = _arrays(bars)
    assert_matches(ind.EMA(period).run(close), talib.EMA(close, period))


@pytest.mark.parametrize("period", [1, 5, 20, 200])
def test_sma_matches_talib(bars, period):
    _, _, close, _ = _arrays(bars)
    ref = close.copy() if period == 1 else talib.SMA(close, period)  # TA-Lib needs period >= 2
    assert_matches(ind.SMA(period).run(close), ref)


@pytest.mark.parametrize("period", [2, 9, 30])
def test_wma_matches_talib(bars, period):
    _, _, close, _ = _arrays(bars)
    assert_matches(ind.WMA(period).run(close), talib.WMA(close, period))


@pytest.mark.parametrize("period", [2, 14, 30])
def test_rsi_matches_talib(bars, period):
    _, _, close, _ = _arrays(bars)
    ours = ind.RSI(period).run(close)
    ref = talib.RSI(close, period)
    # Documented difference: a window with no movement is 50 here, 0 in TA-Lib.
    flat = ref == 0.0
    assert np.all((ours[flat] == 50.0) | (ours[flat] == 0.0))
    ref = np.where(flat, ours, ref)
    assert_matches(ours, ref)


@pytest.mark.parametrize("period", [1, 14, 30])
def test_atr_matches_talib(bars, period):
    high, low, close, _ = _arrays(bars)
    assert_matches(ind.ATR(period).run(high, low, close), talib.ATR(high, low, close, period))


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5), (3, 10, 16)])
def test_macd_matches_talib_all_outputs(bars, fast, slow, signal):
    _, _, close, _ = _arrays(bars)
    line, sig, hist = ind.MACD(fast, slow, signal).run(close)
    ref_line, ref_sig, ref_hist = talib.MACD(close, fast, slow, signal)
    # The three outputs cross zero: relative to each series' median magnitude.
    for ours, ref in ((line, ref_line), (sig, ref_sig), (hist, ref_hist)):
        assert_matches(ours, ref, scale=series_scale(ref))


@pytest.mark.parametrize("period", [5, 20])
def test_bollinger_bands_match_talib(bars, period):
    _, _, close, _ = _arrays(bars)
    upper, middle, lower = ind.BollingerBands(period, 2.0).run(close)
    ref_upper, ref_middle, ref_lower = talib.BBANDS(close, period, 2.0, 2.0, 0)
    assert_matches(middle, ref_middle)
    assert_matches(upper, ref_upper)
    assert_matches(lower, ref_lower)


def _exact_rolling_std(x: np.ndarray, period: int) -> np.ndarray:
    """Two-pass population standard deviation per window (the accurate reference)."""
    out = np.full(len(x), np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(x, period)
    mean = windows.mean(axis=1, keepdims=True)
    out[period - 1 :] = np.sqrt(((windows - mean) ** 2).mean(axis=1))
    return out


@pytest.mark.parametrize("period", [5, 20, 60])
def test_standard_deviation_is_accurate_and_within_talibs_own_error(bars, period):
    """TA-Lib computes E[x^2] - E[x]^2 and loses digits on $170 prices moving by cents.

    We check (1) against an exact two-pass reference at 1e-9 relative, and (2) that wherever we
    differ from TA-Lib by more than 1e-9 relative, TA-Lib is the one that is off the reference.
    """
    _, _, close, _ = _arrays(bars)
    ours = ind.StandardDeviation(period).run(close)
    exact = _exact_rolling_std(close, period)
    ref = talib.STDDEV(close, period, 1.0)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    ok = ~np.isnan(ref)
    # Windows of identical prices: exactly 0 for us and the reference.
    price_scale = np.abs(close[ok])
    # Absolute floor: the variance of a window is only known to ~1e-16 * price^2.
    floor = 1e-12 * price_scale
    assert np.all(np.abs(ours[ok] - exact[ok]) <= 1e-9 * exact[ok] + floor)
    their_error = np.abs(ref[ok] - exact[ok])
    assert np.all(np.abs(ours[ok] - ref[ok]) <= their_error + 1e-9 * exact[ok] + floor)


@pytest.mark.parametrize("period", [1, 14, 60])
def test_highest_lowest_match_talib_max_min(bars, period):
    high, low, _, _ = _arrays(bars)
    ref_max = high.copy() if period == 1 else talib.MAX(high, period)
    ref_min = low.copy() if period == 1 else talib.MIN(low, period)
    assert_matches(ind.Highest(period).run(high), ref_max, rtol=0.0)
    assert_matches(ind.Lowest(period).run(low), ref_min, rtol=0.0)


@pytest.mark.parametrize("period", [1, 10, 30])
def test_rate_of_change_matches_talib(bars, period):
    _, _, close, _ = _arrays(bars)
    ref = talib.ROC(close, period)
    assert_matches(ind.RateOfChange(period).run(close), ref, scale=series_scale(ref))


def test_obv_matches_talib(bars):
    _, _, close, volume = _arrays(bars)
    ref = talib.OBV(close, volume)
    assert_matches(ind.OBV().run(close, volume), ref, scale=series_scale(ref))


@pytest.mark.parametrize("period", [2, 14, 30])
def test_adx_matches_talib(bars, period):
    high, low, close, _ = _arrays(bars)
    adx, plus_di, minus_di = ind.ADX(period).run(high, low, close)
    assert_matches(adx, talib.ADX(high, low, close, period))
    # The DIs share the ADX warm-up here; compare where both are defined.
    valid = ~np.isnan(adx)
    for ours, ref in ((plus_di, talib.PLUS_DI(high, low, close, period)),
                      (minus_di, talib.MINUS_DI(high, low, close, period))):
        assert_matches(ours[valid], ref[valid], scale=series_scale(ref))


@pytest.mark.parametrize(("fast_k", "slow_k", "slow_d"), [(5, 3, 3), (14, 3, 3), (1, 1, 1), (9, 5, 2)])
def test_stochastic_matches_talib(bars, fast_k, slow_k, slow_d):
    high, low, close, _ = _arrays(bars)
    k, d = ind.Stochastic(fast_k, slow_k, slow_d).run(high, low, close)
    ref_k, ref_d = talib.STOCH(high, low, close, fast_k, slow_k, 0, slow_d, 0)
    # %K and %D live in [0, 100] and touch 0 exactly: relative to the scale 100.
    assert_matches(k, ref_k, scale=100.0)
    assert_matches(d, ref_d, scale=100.0)


# ---------------------------------------------------------------------------------------------
# VWAP and relative volume against pandas
# ---------------------------------------------------------------------------------------------


def _pandas_vwap(df: pd.DataFrame, price: np.ndarray, anchor: str, k: float):
    local = df["local"]
    key = local.dt.normalize()
    if anchor == "regular":
        after_open = (local - key) >= pd.Timedelta(hours=9, minutes=30)
        key = key.astype("int64") * 2 + after_open.astype("int64")
    frame = pd.DataFrame({"key": np.asarray(key), "p": price, "v": df["volume"].to_numpy()})
    g = frame.groupby("key", sort=False)
    cum_v = g["v"].cumsum()
    vwap = (frame["p"] * frame["v"]).groupby(frame["key"], sort=False).cumsum() / cum_v
    # Two-pass variance over each anchor's prefix, per row (slow but independent).
    std = np.empty(len(frame))
    for _, idx in g.indices.items():
        p = frame["p"].to_numpy()[idx]
        v = frame["v"].to_numpy()[idx]
        for j in range(len(idx)):
            w = v[: j + 1]
            mean = np.sum(w * p[: j + 1]) / np.sum(w)
            std[idx[j]] = math.sqrt(np.sum(w * (p[: j + 1] - mean) ** 2) / np.sum(w))
    vwap = vwap.to_numpy()
    return vwap, vwap + k * std, vwap - k * std


@pytest.mark.parametrize("anchor", ["day", "regular"])
@pytest.mark.parametrize("symbol", ["spy", "aapl"])
def test_vwap_matches_pandas(symbol, anchor):
    df = pd.concat([read_minute(symbol, d) for d in MINUTE_DAYS[symbol][:2]], ignore_index=True)
    typical = ((df["high"] + df["low"] + df["close"]) / 3.0).to_numpy()
    value, upper, lower = ind.VWAP(anchor=anchor, band_multiplier=1.5).run(
        df["ts_event"].to_numpy(), typical, df["volume"].to_numpy()
    )
    ref = _pandas_vwap(df, typical, anchor, 1.5)
    for ours, theirs in zip((value, upper, lower), ref):
        assert_matches(ours, theirs, rtol=1e-9)


def test_vwap_regular_anchor_restarts_at_the_open():
    df = read_minute("spy", "20131007")
    ts = df["ts_event"].to_numpy()
    close = df["close"].to_numpy()
    vol = df["volume"].to_numpy()
    value, _, _ = ind.VWAP("regular").run(ts, close, vol)
    first_regular = int(np.flatnonzero(df["ms"].to_numpy() >= 34_200_000)[0])
    assert value[first_regular] == close[first_regular]
    day_value, _, _ = ind.VWAP("day").run(ts, close, vol)
    assert day_value[first_regular] != close[first_regular]


def _pandas_relative_volume(df: pd.DataFrame, sessions: int, bucket_minutes: int, cumulative: bool):
    local = df["local"]
    date = local.dt.normalize()
    bucket = ((local - date) // pd.Timedelta(minutes=bucket_minutes)).astype(int)
    frame = pd.DataFrame({"date": date, "bucket": bucket, "v": df["volume"].to_numpy()})
    n_buckets = (24 * 60 + bucket_minutes - 1) // bucket_minutes
    table = frame.pivot_table(index="date", columns="bucket", values="v", aggfunc="sum")
    table = table.reindex(columns=range(n_buckets)).fillna(0.0)
    if cumulative:
        table = table.cumsum(axis=1)
        current = frame.groupby("date")["v"].cumsum()
    else:
        current = frame.groupby(["date", "bucket"])["v"].cumsum()
    history = table.rolling(sessions).mean().shift(1)  # mean of the previous `sessions` dates
    average = history.to_numpy()[history.index.get_indexer(frame["date"]), frame["bucket"].to_numpy()]
    with np.errstate(divide="ignore", invalid="ignore"):
        return current.to_numpy() / average


@pytest.mark.parametrize("cumulative", [False, True])
@pytest.mark.parametrize(("sessions", "bucket_minutes"), [(3, 1), (2, 5), (5, 15)])
def test_relative_volume_matches_pandas(cumulative, sessions, bucket_minutes):
    df = read_minutes("spy")
    ours = ind.RelativeVolume(sessions, bucket_minutes * 60_000_000_000, cumulative).run(
        df["ts_event"].to_numpy(), df["volume"].to_numpy()
    )
    ref = _pandas_relative_volume(df, sessions, bucket_minutes, cumulative)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(ours), np.isinf(ref))
    finite = np.isfinite(ref)
    assert finite.sum() > 500
    np.testing.assert_allclose(ours[finite], ref[finite], rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Contract: run == update, reset, bad input, config
# ---------------------------------------------------------------------------------------------


def _bar_inputs(df):
    high, low, close, volume = _arrays(df)
    return high, low, close, volume, df["ts_event"].to_numpy()


CASES = {
    "EMA": (lambda: ind.EMA(10), lambda h, l, c, v, t: (c,), ("value",)),
    "SMA": (lambda: ind.SMA(10), lambda h, l, c, v, t: (c,), ("value",)),
    "WMA": (lambda: ind.WMA(10), lambda h, l, c, v, t: (c,), ("value",)),
    "RSI": (lambda: ind.RSI(14), lambda h, l, c, v, t: (c,), ("value",)),
    "RateOfChange": (lambda: ind.RateOfChange(10), lambda h, l, c, v, t: (c,), ("value",)),
    "StandardDeviation": (lambda: ind.StandardDeviation(20), lambda h, l, c, v, t: (c,), ("value",)),
    "Highest": (lambda: ind.Highest(20), lambda h, l, c, v, t: (h,), ("value",)),
    "Lowest": (lambda: ind.Lowest(20), lambda h, l, c, v, t: (l,), ("value",)),
    "BollingerBands": (lambda: ind.BollingerBands(20, 2.0), lambda h, l, c, v, t: (c,),
                       ("upper", "middle", "lower")),
    "MACD": (lambda: ind.MACD(12, 26, 9), lambda h, l, c, v, t: (c,), ("line", "signal", "histogram")),
    "ATR": (lambda: ind.ATR(14), lambda h, l, c, v, t: (h, l, c), ("value",)),
    "ADX": (lambda: ind.ADX(14), lambda h, l, c, v, t: (h, l, c), ("value", "plus_di", "minus_di")),
    "Stochastic": (lambda: ind.Stochastic(), lambda h, l, c, v, t: (h, l, c), ("slow_k", "slow_d")),
    "OBV": (lambda: ind.OBV(), lambda h, l, c, v, t: (c, v), ("value",)),
    "VWAP": (lambda: ind.VWAP("regular"), lambda h, l, c, v, t: (t, c, v), ("value", "upper", "lower")),
    "RelativeVolume": (lambda: ind.RelativeVolume(2, 60_000_000_000, True), lambda h, l, c, v, t: (t, v),
                       ("value",)),
}


@pytest.fixture(scope="module")
def spy_minutes() -> pd.DataFrame:
    return read_minutes("spy")


@pytest.mark.parametrize("name", sorted(CASES))
def test_run_equals_repeated_update_and_reset_restarts(name, spy_minutes):
    make, inputs_of, outputs = CASES[name]
    inputs = inputs_of(*_bar_inputs(spy_minutes))
    batch = make().run(*inputs)
    batch = batch if isinstance(batch, tuple) else (batch,)
    single = make()
    rows = [[] for _ in outputs]
    for row in zip(*(a.tolist() for a in inputs)):
        single.update(*row)
        for k, out in enumerate(outputs):
            rows[k].append(getattr(single, out) if single.initialized else math.nan)
    for k in range(len(outputs)):
        np.testing.assert_array_equal(batch[k], np.array(rows[k]))
    assert single.count == len(inputs[0])
    single.reset()
    assert not single.initialized and single.count == 0
    again = single.run(*inputs)
    again = again if isinstance(again, tuple) else (again,)
    for k in range(len(outputs)):
        np.testing.assert_array_equal(again[k], batch[k])


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_input_raises_data_error_with_row_and_keeps_state(name, bad, spy_minutes):
    make, inputs_of, outputs = CASES[name]
    inputs = [np.array(a[:300]) for a in inputs_of(*_bar_inputs(spy_minutes))]
    float_slot = next(i for i, a in enumerate(inputs) if a.dtype == np.float64)
    poisoned = [a.copy() for a in inputs]
    poisoned[float_slot][200] = bad
    ind_batch = make()
    with pytest.raises(DataError) as info:
        ind_batch.run(*poisoned)
    assert info.value.row == 200
    assert "row 200" in str(info.value)
    # Everything before the bad row was applied, nothing of it.
    reference = make()
    reference.run(*[a[:200] for a in inputs])
    assert ind_batch.count == reference.count == 200
    for out in outputs:
        assert getattr(ind_batch, out) == getattr(reference, out)
    # A single bad update raises with row -1 and changes nothing; the stream can go on.
    with pytest.raises(DataError) as info:
        ind_batch.update(*[a[200].item() for a in poisoned])
    assert info.value.row == -1
    assert ind_batch.count == 200
    ind_batch.run(*[a[201:] for a in inputs])
    reference.run(*[a[201:] for a in inputs])
    for out in outputs:
        assert getattr(ind_batch, out) == getattr(reference, out)


def test_bar_checks_reject_negative_volume_crossed_bars_and_time_going_back():
    with pytest.raises(DataError, match="negative volume"):
        ind.OBV().update(10.0, -1.0)
    with pytest.raises(DataError, match="high .* < low"):
        ind.ATR().update(9.0, 10.0, 9.5)
    vwap = ind.VWAP()
    vwap.update(2_000_000_000_000_000_000, 10.0, 100.0)
    with pytest.raises(DataError, match="before the previous"):
        vwap.update(1_999_999_999_000_000_000, 10.0, 100.0)
    with pytest.raises(DataError) as info:
        ind.RelativeVolume().run(np.array([2, 1], dtype=np.int64), np.array([1.0, 1.0]))
    assert info.value.row == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: ind.EMA(0),
        lambda: ind.SMA(-3),
        lambda: ind.WMA(0),
        lambda: ind.RSI(0),
        lambda: ind.ATR(0),
        lambda: ind.ADX(0),
        lambda: ind.Highest(0),
        lambda: ind.Lowest(0),
        lambda: ind.RateOfChange(0),
        lambda: ind.StandardDeviation(0),
        lambda: ind.BollingerBands(20, -1.0),
        lambda: ind.BollingerBands(0, 2.0),
        lambda: ind.MACD(26, 12, 9),
        lambda: ind.MACD(12, 26, 0),
        lambda: ind.Stochastic(0, 3, 3),
        lambda: ind.VWAP("week"),
        lambda: ind.VWAP("day", math.nan),
        lambda: ind.RelativeVolume(0),
        lambda: ind.RelativeVolume(10, 1000),
        lambda: ind.EMA(10_000_000),
    ],
)
def test_bad_parameters_raise_config_error(make):
    with pytest.raises(ConfigError):
        make()


def test_update_arguments_are_checked():
    ema = ind.EMA(3)
    with pytest.raises(TypeError):
        ema.update("1.0")
    with pytest.raises(TypeError):
        ind.ATR().update(1.0, 2.0)
    ema.update(1)  # ints convert
    ema.update(np.float32(2.0))
    assert ema.count == 2


def test_run_rejects_mismatched_lengths_and_2d():
    with pytest.raises(ValueError):
        ind.ATR().run(np.ones(3), np.ones(2), np.ones(3))
    with pytest.raises(ValueError):
        ind.EMA(3).run(np.ones((2, 2)))


def test_run_continues_from_current_state():
    x = np.linspace(100, 110, 50)
    whole = ind.EMA(5).run(x)
    ema = ind.EMA(5)
    first = ema.run(x[:20])
    second = ema.run(x[20:])
    np.testing.assert_array_equal(np.concatenate([first, second]), whole)
