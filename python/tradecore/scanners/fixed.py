"""A fixed list of symbols."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tradecore.errors import ConfigError
from tradecore.scanners.base import Scanner, ScanRow

__all__ = ["FixedScanner"]


class FixedScanner(Scanner):
    """Always the same symbols, in the given order (upper-cased, duplicates dropped)."""

    name = "fixed"

    def __init__(self, symbols: Iterable[str], **options: Any) -> None:
        super().__init__(**options)
        self.symbols = tuple(dict.fromkeys(s.strip().upper() for s in symbols if s.strip()))
        if not self.symbols:
            raise ConfigError("a fixed scanner needs at least one symbol")

    async def scan(self) -> list[ScanRow]:
        return [ScanRow(symbol, {}, True) for symbol in self.symbols]
