"""
Bar aggregation
"""
from __future__ import annotations
import numpy.typing
import numpy
import typing
__all__: list[str] = ['AggregatorConfig', 'BadDataPolicy', 'BarAggregator', 'BarKind', 'Calendar', 'EmptyPolicy', 'LatePolicy', 'QuoteBarAggregator']
class BarKind:
    """
    Members:
    
      TIME
    
      TICK
    
      VOLUME
    
      VALUE
    
      RANGE
    """
    RANGE: typing.ClassVar[BarKind]
    TICK: typing.ClassVar[BarKind]
    TIME: typing.ClassVar[BarKind]
    VALUE: typing.ClassVar[BarKind]
    VOLUME: typing.ClassVar[BarKind]
    __members__: typing.ClassVar[dict[str, BarKind]]
    @typing.overload
    def __eq__(self, other: BarKind) -> bool:
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
    def __ne__(self, other: BarKind) -> bool:
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
class LatePolicy:
    """
    Members:
    
      DROP
    
      AMEND
    
      RAISE
    """
    AMEND: typing.ClassVar[LatePolicy]
    DROP: typing.ClassVar[LatePolicy]
    RAISE: typing.ClassVar[LatePolicy]
    __members__: typing.ClassVar[dict[str, LatePolicy]]
    @typing.overload
    def __eq__(self, other: LatePolicy) -> bool:
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
    def __ne__(self, other: LatePolicy) -> bool:
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
class EmptyPolicy:
    """
    Members:
    
      SKIP
    
      FLAT
    """
    FLAT: typing.ClassVar[EmptyPolicy]
    SKIP: typing.ClassVar[EmptyPolicy]
    __members__: typing.ClassVar[dict[str, EmptyPolicy]]
    @typing.overload
    def __eq__(self, other: EmptyPolicy) -> bool:
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
    def __ne__(self, other: EmptyPolicy) -> bool:
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
class BadDataPolicy:
    """
    Members:
    
      RAISE
    
      SKIP
    """
    RAISE: typing.ClassVar[BadDataPolicy]
    SKIP: typing.ClassVar[BadDataPolicy]
    __members__: typing.ClassVar[dict[str, BadDataPolicy]]
    @typing.overload
    def __eq__(self, other: BadDataPolicy) -> bool:
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
    def __ne__(self, other: BadDataPolicy) -> bool:
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
class Calendar:
    """
    Members:
    
      US_EQUITY
    
      UTC
    """
    US_EQUITY: typing.ClassVar[Calendar]
    UTC: typing.ClassVar[Calendar]
    __members__: typing.ClassVar[dict[str, Calendar]]
    @typing.overload
    def __eq__(self, other: Calendar) -> bool:
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
    def __ne__(self, other: Calendar) -> bool:
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
class AggregatorConfig:
    bad: BadDataPolicy
    calendar: Calendar
    drop_suspicious: bool
    empty: EmptyPolicy
    kind: BarKind
    late: LatePolicy
    split_at_sessions: bool
    def __init__(self) -> None:
        ...
    @property
    def exclude_price_conditions(self) -> int:
        ...
    @exclude_price_conditions.setter
    def exclude_price_conditions(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def exclude_volume_conditions(self) -> int:
        ...
    @exclude_volume_conditions.setter
    def exclude_volume_conditions(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def instrument_id(self) -> int:
        ...
    @instrument_id.setter
    def instrument_id(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def period_ns(self) -> int:
        ...
    @period_ns.setter
    def period_ns(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def sessions(self) -> int:
        ...
    @sessions.setter
    def sessions(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def size(self) -> float:
        ...
    @size.setter
    def size(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class BarAggregator:
    def __init__(self, config: AggregatorConfig) -> None:
        ...
    def drain(self) -> numpy.typing.NDArray[numpy.void]:
        """
        Return bars closed before a DataError interrupted a call.
        """
    def flush(self, partial: bool = False) -> numpy.typing.NDArray[numpy.void]:
        """
        Close the open bar now; return it (empty if none).
        """
    def on_clock(self, now: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.void]:
        """
        Advance the clock to `now` (ns UTC); return the bars that closed.
        """
    def reset(self) -> None:
        ...
    def update(self, ts_event: typing.SupportsInt | typing.SupportsIndex, price: typing.SupportsFloat | typing.SupportsIndex, size: typing.SupportsFloat | typing.SupportsIndex, conditions: typing.SupportsInt | typing.SupportsIndex = 0, flags: typing.SupportsInt | typing.SupportsIndex = 0, exchange: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.void]:
        """
        Apply one trade; return the bars it closed.
        """
    def update_bars(self, bars: numpy.typing.NDArray[numpy.void]) -> numpy.typing.NDArray[numpy.void]:
        """
        Apply lower-period BAR rows; return the bars they closed.
        """
    def update_batch(self, trades: numpy.typing.NDArray[numpy.void]) -> numpy.typing.NDArray[numpy.void]:
        """
        Apply a TRADE array; return the bars it closed.
        """
    @property
    def config(self) -> AggregatorConfig:
        ...
    @property
    def has_open_bar(self) -> bool:
        ...
    @property
    def open_bar(self) -> typing.Any:
        ...
    @property
    def stats(self) -> dict[str, typing.Any]:
        ...
class QuoteBarAggregator:
    def __init__(self, config: AggregatorConfig) -> None:
        ...
    def drain(self) -> numpy.typing.NDArray[numpy.void]:
        ...
    def flush(self, partial: bool = False) -> numpy.typing.NDArray[numpy.void]:
        ...
    def on_clock(self, now: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.void]:
        ...
    def reset(self) -> None:
        ...
    def update_batch(self, quotes: numpy.typing.NDArray[numpy.void]) -> numpy.typing.NDArray[numpy.void]:
        """
        Apply a QUOTE array; return the quote bars it closed.
        """
    @property
    def has_open_bar(self) -> bool:
        ...
    @property
    def stats(self) -> dict[str, typing.Any]:
        ...
