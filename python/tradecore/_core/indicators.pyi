"""
Streaming indicators with O(1) updates. Use tradecore.indicators, which documents the API; this module is its native implementation.
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
__all__: list[str] = ['ADX', 'ATR', 'BollingerBands', 'EMA', 'Highest', 'Lowest', 'MACD', 'OBV', 'RSI', 'RateOfChange', 'RelativeVolume', 'SMA', 'StandardDeviation', 'Stochastic', 'VWAP', 'VWAPAnchor', 'WMA']
class EMA:
    """
    Exponential moving average seeded with the SMA of the first `period` values.
    """
    def __init__(self, period: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, values: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        Feed each element through update() and return the value after each one (NaN until initialized). State carries over; call reset() first for a fresh run. A bad element raises DataError with .row; rows before it stay applied.
        """
    def update(self, value: float, /) -> None:
        """
        Feed one value.
        """
class SMA:
    """
    Simple moving average.
    """
    def __init__(self, period: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, values: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        Feed each element through update() and return the value after each one (NaN until initialized). State carries over; call reset() first for a fresh run. A bad element raises DataError with .row; rows before it stay applied.
        """
    def update(self, value: float, /) -> None:
        """
        Feed one value.
        """
class WMA:
    """
    Linearly weighted moving average.
    """
    def __init__(self, period: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, values: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        Feed each element through update() and return the value after each one (NaN until initialized). State carries over; call reset() first for a fresh run. A bad element raises DataError with .row; rows before it stay applied.
        """
    def update(self, value: float, /) -> None:
        """
        Feed one value.
        """
class RSI:
    """
    Relative strength index (Wilder).
    """
    def __init__(self, period: typing.SupportsInt | typing.SupportsIndex = 14) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, values: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        Feed each element through update() and return the value after each one (NaN until initialized). State carries over; call reset() first for a fresh run. A bad element raises DataError with .row; rows before it stay applied.
        """
    def update(self, value: float, /) -> None:
        """
        Feed one value.
        """
class RateOfChange:
    """
    Rate of change in percent.
    """
    def __init__(self, period: typing.SupportsInt | typing.SupportsIndex = 10) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, values: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        Feed each element through update() and return the value after each one (NaN until initialized). State carries over; call reset() first for a fresh run. A bad element raises DataError with .row; rows before it stay applied.
        """
    def update(self, value: float, /) -> None:
        """
        Feed one value.
        """
class StandardDeviation:
    """
    Rolling population standard deviation.
    """
    def __init__(self, period: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, values: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        Feed each element through update() and return the value after each one (NaN until initialized). State carries over; call reset() first for a fresh run. A bad element raises DataError with .row; rows before it stay applied.
        """
    def update(self, value: float, /) -> None:
        """
        Feed one value.
        """
class Highest:
    """
    Highest value over the last `period` updates.
    """
    def __init__(self, period: typing.SupportsInt | typing.SupportsIndex = 14) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, values: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        Feed each element through update() and return the value after each one (NaN until initialized). State carries over; call reset() first for a fresh run. A bad element raises DataError with .row; rows before it stay applied.
        """
    def update(self, value: float, /) -> None:
        """
        Feed one value.
        """
class Lowest:
    """
    Lowest value over the last `period` updates.
    """
    def __init__(self, period: typing.SupportsInt | typing.SupportsIndex = 14) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, values: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        Feed each element through update() and return the value after each one (NaN until initialized). State carries over; call reset() first for a fresh run. A bad element raises DataError with .row; rows before it stay applied.
        """
    def update(self, value: float, /) -> None:
        """
        Feed one value.
        """
class BollingerBands:
    """
    SMA +- num_std population standard deviations.
    """
    def __init__(self, period: typing.SupportsInt | typing.SupportsIndex = 20, num_std: typing.SupportsFloat | typing.SupportsIndex = 2.0) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, values: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        As update() per element; returns (upper, middle, lower) arrays.
        """
    def update(self, value: float, /) -> None:
        """
        Feed one value.
        """
class MACD:
    """
    Moving average convergence/divergence.
    """
    def __init__(self, fast: typing.SupportsInt | typing.SupportsIndex = 12, slow: typing.SupportsInt | typing.SupportsIndex = 26, signal: typing.SupportsInt | typing.SupportsIndex = 9) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, values: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        As update() per element; returns (line, signal, histogram) arrays.
        """
    def update(self, value: float, /) -> None:
        """
        Feed one value.
        """
class ATR:
    """
    Average true range (Wilder).
    """
    def __init__(self, period: typing.SupportsInt | typing.SupportsIndex = 14) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, high: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], low: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], close: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        Feed each element through update() and return the value after each one (NaN until initialized). State carries over; call reset() first for a fresh run. A bad element raises DataError with .row; rows before it stay applied.
        """
    def update(self, high: float, low: float, close: float, /) -> None:
        """
        Feed one bar.
        """
class ADX:
    """
    Average directional index with +DI and -DI (Wilder, TA-Lib seeding).
    """
    def __init__(self, period: typing.SupportsInt | typing.SupportsIndex = 14) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, high: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], low: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], close: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        Feed each element through update() and return the value after each one (NaN until initialized). State carries over; call reset() first for a fresh run. A bad element raises DataError with .row; rows before it stay applied.
        """
    def update(self, high: float, low: float, close: float, /) -> None:
        """
        Feed one bar.
        """
class Stochastic:
    """
    Slow stochastic oscillator (%K, %D).
    """
    def __init__(self, fast_k_period: typing.SupportsInt | typing.SupportsIndex = 5, slow_k_period: typing.SupportsInt | typing.SupportsIndex = 3, slow_d_period: typing.SupportsInt | typing.SupportsIndex = 3) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, high: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], low: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], close: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        Feed each element through update() and return the value after each one (NaN until initialized). State carries over; call reset() first for a fresh run. A bad element raises DataError with .row; rows before it stay applied.
        """
    def update(self, high: float, low: float, close: float, /) -> None:
        """
        Feed one bar.
        """
class OBV:
    """
    On-balance volume.
    """
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, close: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], volume: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        Feed each element through update() and return the value after each one (NaN until initialized). State carries over; call reset() first for a fresh run. A bad element raises DataError with .row; rows before it stay applied.
        """
    def update(self, close: float, volume: float, /) -> None:
        """
        Feed one bar.
        """
class VWAPAnchor:
    """
    Where VWAP restarts.
    
    Members:
    
      DAY
    
      REGULAR
    """
    DAY: typing.ClassVar[VWAPAnchor]
    REGULAR: typing.ClassVar[VWAPAnchor]
    __members__: typing.ClassVar[dict[str, VWAPAnchor]]
    @typing.overload
    def __eq__(self, other: VWAPAnchor) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: VWAPAnchor) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class VWAP:
    """
    Session-anchored VWAP with standard-deviation bands.
    """
    def __init__(self, anchor: str = 'day', band_multiplier: typing.SupportsFloat | typing.SupportsIndex = 2.0) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, ts_event: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], price: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], volume: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        As update() per row; returns (value, upper, lower) arrays.
        """
    def update(self, ts_event: int, price: float, volume: float, /) -> None:
        """
        Feed one trade or bar.
        """
    @property
    def anchor(self) -> str:
        ...
class RelativeVolume:
    """
    Volume against the same time of day in prior sessions.
    """
    def __init__(self, sessions: typing.SupportsInt | typing.SupportsIndex = 10, bucket_ns: typing.SupportsInt | typing.SupportsIndex = 60000000000, cumulative: bool = False) -> None:
        ...
    def __repr__(self) -> str:
        ...
    def reset(self) -> None:
        """
        Forget everything, as freshly constructed.
        """
    def run(self, ts_event: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], volume: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> typing.Any:
        """
        Feed each element through update() and return the value after each one (NaN until initialized). State carries over; call reset() first for a fresh run. A bad element raises DataError with .row; rows before it stay applied.
        """
    def update(self, ts_event: int, volume: float, /) -> None:
        """
        Feed one trade or bar.
        """
