"""The one error tree of tradecore.

- :class:`Error` — base of everything tradecore raises on purpose.
  - :class:`DataError` (also a ``ValueError``) — bad market data: NaN, infinite, zero or
    negative prices, negative sizes, time going backwards under a ``raise`` policy, crossed
    quotes, malformed files. ``row`` is the index of the offending element in the batch
    (``-1`` for single events); everything before it was accepted.
  - :class:`ConfigError` (also a ``ValueError``) — invalid parameters or configuration.
  - :class:`StrategyError` — a strategy raised, or a guard saw NaN: that symbol's engine stops
    (the message names the event); other symbols go on.

The classes are defined by the native core so C++ exceptions arrive as these exact types.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from tradecore._native import _core

if TYPE_CHECKING:  # what the native classes are, for type checkers (the stubs import them here)
    class Error(Exception): ...

    class DataError(Error, ValueError):
        row: int  # the offending element of a batch, -1 for single events
        path: Path | None  # where in a file, set by the readers that know it
        line: int | None
        row_group: int | None

    class ConfigError(Error, ValueError): ...

    class StrategyError(Error): ...
else:
    Error = _core.Error
    DataError = _core.DataError
    ConfigError = _core.ConfigError
    StrategyError = _core.StrategyError

__all__ = ["ConfigError", "DataError", "Error", "StrategyError"]
