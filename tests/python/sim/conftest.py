"""Fixtures of the simulator tests (the paper-trading ones live in trading_support.py)."""

from trading_support import premarket, regular

__all__ = ["premarket", "regular"]
