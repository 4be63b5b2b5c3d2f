"""Streaming indicators with O(1) updates, implemented in C++.

Every indicator has the same shape:

- ``update(...)`` feeds one observation (positional arguments only: it is a CPython fast-path
  method costing less than an empty Python function call);
- ``value`` (or named outputs such as ``MACD.line``) reads the current output, unspecified
  until ``initialized`` is true;
- ``initialized``, ``count`` (updates accepted) and ``reset()``;
- ``run(arrays...)`` feeds whole 1-D arrays through the very same ``update`` code with the GIL
  released and returns the output after each row, NaN until initialised. Multi-output
  indicators return a tuple of arrays in the order given below. ``run`` continues from the
  current state (call ``reset()`` first for a fresh run). float64 C-contiguous inputs are read
  in place; other dtypes are converted once.

Units: prices in currency units, volumes in shares, ``ts_event`` int64 nanoseconds UTC,
periods in updates (bars), outputs in the inputs' units unless stated (RSI, ROC, %K/%D, DI and
ADX in percent points, 0-100).

Bad input never corrupts state. ``update`` raises :class:`tradecore.errors.DataError`
(``row == -1``) for a NaN or infinite input, a negative volume, ``high < low``, or a
``ts_event`` earlier than the previous one, and leaves the indicator unchanged so the stream can
continue. ``run`` raises the same error with ``row`` set to the offending index; every row
before it has been applied. Invalid parameters raise :class:`tradecore.errors.ConfigError`.

Seeding follows TA-Lib, so the outputs agree with it after warm-up; the differences are
deliberate and documented per class: RSI of a window without any movement is 50 (TA-Lib: 0),
and StandardDeviation / BollingerBands use an accurate rolling variance (TA-Lib's
``E[x^2]-E[x]^2`` loses digits on prices far from zero).

Classes
-------
EMA(period)
    Exponential moving average, alpha = 2/(period+1), seeded with the SMA of the first
    ``period`` values (first output at update ``period``).
SMA(period)
    Simple moving average.
WMA(period)
    Linearly weighted moving average (weights 1..period, newest heaviest).
RSI(period=14)
    Wilder RSI; first output at update ``period + 1``. Also ``average_gain``/``average_loss``.
ATR(period=14)
    Wilder average true range of ``update(high, low, close)``; first output at ``period + 1``.
MACD(fast=12, slow=26, signal=9)
    Outputs ``line``, ``signal``, ``histogram``; ``run`` returns ``(line, signal, histogram)``.
    TA-Lib seeding (both EMAs start at update ``slow``); first output at ``slow + signal - 1``.
BollingerBands(period=20, num_std=2.0)
    Outputs ``upper``, ``middle``, ``lower``, ``standard_deviation`` (population);
    ``run`` returns ``(upper, middle, lower)`` like ``talib.BBANDS``.
StandardDeviation(period)
    Rolling population standard deviation; also ``mean``.
VWAP(anchor="day", band_multiplier=2.0)
    ``update(ts_event, price, volume)``. ``anchor="day"`` restarts at the first update of each
    New York date, ``"regular"`` also at 09:30 New York. Outputs ``value``, ``upper``, ``lower``
    (value +- band_multiplier x volume-weighted standard deviation), ``standard_deviation``,
    ``volume``; ``run`` returns ``(value, upper, lower)``. Initialised once the anchor period
    has seen positive volume.
Highest(period=14), Lowest(period=14)
    Rolling maximum / minimum (monotonic deque); also ``bars_since``.
RateOfChange(period=10)
    ``100 * (x / x[period ago] - 1)`` percent; first output at update ``period + 1``.
RelativeVolume(sessions=10, bucket_ns=60_000_000_000, cumulative=False)
    ``update(ts_event, volume)``. Volume in the current time-of-day bucket (or, cumulative,
    since the start of the New York day) divided by the mean of the same over the previous
    ``sessions`` sessions (dates with data); also ``current`` and ``average``. Initialised after
    ``sessions`` complete sessions. A zero average gives ``inf`` (``nan`` if today is also 0).
OBV()
    On-balance volume of ``update(close, volume)``; the first value is the first volume.
ADX(period=14)
    ``update(high, low, close)``; outputs ``value`` (ADX), ``plus_di``, ``minus_di``; ``run``
    returns ``(adx, plus_di, minus_di)``; first output at update ``2 * period``.
Stochastic(fast_k_period=5, slow_k_period=3, slow_d_period=3)
    Slow stochastic of ``update(high, low, close)``: ``slow_k``, ``slow_d``; ``run`` returns
    ``(slow_k, slow_d)``; first output at update ``fast_k + slow_k + slow_d - 2``.

Examples
--------
>>> from tradecore.indicators import EMA
>>> ema = EMA(3)
>>> for price in (1.0, 2.0, 3.0, 4.0):
...     ema.update(price)
>>> ema.value
3.0
"""

from __future__ import annotations

from tradecore._native import _core

_native = _core.indicators

# Re-exported as they are: a Python wrapper per call would cost more than the update itself.
EMA = _native.EMA
SMA = _native.SMA
WMA = _native.WMA
RSI = _native.RSI
ATR = _native.ATR
MACD = _native.MACD
BollingerBands = _native.BollingerBands
StandardDeviation = _native.StandardDeviation
VWAP = _native.VWAP
VWAPAnchor = _native.VWAPAnchor
Highest = _native.Highest
Lowest = _native.Lowest
RateOfChange = _native.RateOfChange
RelativeVolume = _native.RelativeVolume
OBV = _native.OBV
ADX = _native.ADX
Stochastic = _native.Stochastic

__all__ = [
    "ADX",
    "ATR",
    "EMA",
    "MACD",
    "OBV",
    "RSI",
    "SMA",
    "VWAP",
    "WMA",
    "BollingerBands",
    "Highest",
    "Lowest",
    "RateOfChange",
    "RelativeVolume",
    "StandardDeviation",
    "Stochastic",
    "VWAPAnchor",
]
