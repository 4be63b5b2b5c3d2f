"""
US-equity sessions in New York time
"""
from __future__ import annotations
import numpy
import numpy.typing
import tradecore._core
import typing
__all__: list[str] = ['is_early_close', 'session_of', 'sessions']
def is_early_close(local_day: typing.SupportsInt | typing.SupportsIndex) -> bool:
    """
    Whether the NYSE closes at 13:00 on this New York date (days since 1970-01-01).
    """
def session_of(ts_event: typing.SupportsInt | typing.SupportsIndex) -> tradecore._core.Session:
    """
    Session of a UTC instant (ns since the epoch) in New York time, early closes included.
    """
def sessions(ts_event: typing.Annotated[numpy.typing.ArrayLike, numpy.int64]) -> numpy.typing.NDArray[numpy.uint8]:
    """
    Session (tradecore.schema.Session values) of each UTC ns timestamp.
    """
