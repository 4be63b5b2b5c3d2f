"""tradecore: an event-driven trading platform for research and paper trading.

The native core (bar aggregation, indicators) lives in ``tradecore._core``; import the typed
API from the submodules: :mod:`tradecore.schema`, :mod:`tradecore.bars`,
:mod:`tradecore.indicators`, :mod:`tradecore.errors`.
"""

from tradecore._version import __version__

__all__ = ["__version__"]
