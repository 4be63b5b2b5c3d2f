"""
Market data stream decoding
"""
from __future__ import annotations
import collections.abc
import typing
__all__: list[str] = ['CleanFrameDecoder']
class CleanFrameDecoder:
    """
    Decodes clean Alpaca stock-stream frames; answers None for anything else.
    
    Used by tradecore.streams.alpaca.AlpacaDecoder, which owns every rule for bad input.
    """
    def __init__(self) -> None:
        ...
    def add_symbol(self, symbol: str, instrument_id: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        Accept messages of this exact symbol as this instrument.
        """
    def decode(self, frame: typing.Any, json: bool) -> typing.Any:
        """
        Return None, or (messages, (trades, cuts, instrument_ids), trade_keys,
        (quotes, cuts, instrument_ids), first_quote_rows, last_quote_rows, bars).
        
        Trades and quotes come sorted by instrument (stable); cuts bound each instrument's
        run. trade_keys are (trade_id, exchange, ts_event) per sorted trade. Quote rows are
        tuples in dtype order, the first and last of each run. bars are (kind, instrument_id,
        ts, open, high, low, close, volume, trade_count, vwap) in arrival order.
        """
    def set_condition_bits(self, trade: collections.abc.Sequence[tuple[str, typing.SupportsInt | typing.SupportsIndex]], quote: collections.abc.Sequence[tuple[str, typing.SupportsInt | typing.SupportsIndex]], other: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        Condition code -> bit for trades and quotes; unlisted codes set other.
        """
