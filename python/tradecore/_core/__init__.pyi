"""
tradecore native core (C++). Import the typed API from tradecore, not from here.
"""
from __future__ import annotations
from tradecore.errors import ConfigError
from tradecore.errors import DataError
from tradecore.errors import Error
from tradecore.errors import StrategyError
import typing
from . import calendar
from . import bars
from . import indicators
from . import engine
from . import streams
__all__: list[str] = ['ConfigError', 'DataError', 'Error', 'Session', 'StrategyError', 'TradingState', 'bars', 'calendar', 'engine', 'indicators', 'native_dtypes', 'streams']
class Session:
    """
    Trading session of US equities (America/New_York).
    
    Members:
    
      NONE
    
      PREMARKET
    
      REGULAR
    
      AFTER_HOURS
    
      OVERNIGHT
    """
    AFTER_HOURS: typing.ClassVar[Session]
    NONE: typing.ClassVar[Session]
    OVERNIGHT: typing.ClassVar[Session]
    PREMARKET: typing.ClassVar[Session]
    REGULAR: typing.ClassVar[Session]
    __members__: typing.ClassVar[dict[str, Session]]
    @typing.overload
    def __eq__(self, other: Session) -> bool:
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
    def __ne__(self, other: Session) -> bool:
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
class TradingState:
    """
    Trading status of an instrument.
    
    Members:
    
      UNKNOWN
    
      TRADING
    
      HALTED
    
      QUOTE_ONLY
    
      PAUSED
    """
    HALTED: typing.ClassVar[TradingState]
    PAUSED: typing.ClassVar[TradingState]
    QUOTE_ONLY: typing.ClassVar[TradingState]
    TRADING: typing.ClassVar[TradingState]
    UNKNOWN: typing.ClassVar[TradingState]
    __members__: typing.ClassVar[dict[str, TradingState]]
    @typing.overload
    def __eq__(self, other: TradingState) -> bool:
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
    def __ne__(self, other: TradingState) -> bool:
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
__version__: str = '0.1.0'
native_dtypes: dict[str, typing.Any]
