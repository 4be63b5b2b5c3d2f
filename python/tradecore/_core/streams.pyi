"""
Market data stream decoding
"""
from __future__ import annotations
import collections.abc
from tradecore.streams.native_ws import WebSocketProtocolError
import typing
__all__: list[str] = ['CleanFrameDecoder', 'FeedChecks', 'OP_BINARY', 'OP_CLOSE', 'OP_PING', 'OP_PONG', 'OP_TEXT', 'TradeCheck', 'WebSocketProtocolError', 'WsReader']
class TradeCheck:
    """
    Members:
    
      NEW
    
      DUPLICATE
    
      OUT_OF_ORDER
    """
    DUPLICATE: typing.ClassVar[TradeCheck]
    NEW: typing.ClassVar[TradeCheck]
    OUT_OF_ORDER: typing.ClassVar[TradeCheck]
    __members__: typing.ClassVar[dict[str, TradeCheck]]
    @typing.overload
    def __eq__(self, other: TradeCheck) -> bool:
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
    def __ne__(self, other: TradeCheck) -> bool:
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
class FeedChecks:
    """
    Per-symbol duplicate and ordering state of a vendor decoder: the last dedup_window trade
    keys, the newest trade time and the last quote of each symbol.
    
    The rules and their reports are tradecore.streams.vendor's; clean frames are checked and
    remembered natively against the same state (CleanFrameDecoder.decode, commit).
    """
    def __init__(self, dedup_window: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def bind(self, symbol: str, instrument_id: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        Let clean frames name the symbol's state by its instrument id.
        """
    def check_quote(self, symbol: str, row: tuple[typing.Any, ...]) -> bool:
        """
        False if the quote row (dtype field order) repeats the symbol's last quote; else it
        becomes the last quote.
        """
    def check_trade(self, symbol: str, trade_id: typing.SupportsInt | typing.SupportsIndex, exchange: typing.SupportsInt | typing.SupportsIndex, ts: typing.SupportsInt | typing.SupportsIndex) -> TradeCheck:
        """
        DUPLICATE (a trade seen before: nothing changes), else remember it: NEW, or
        OUT_OF_ORDER when older than the symbol's newest (which then stays).
        """
    def commit(self) -> None:
        """
        Remember the clean frame decode() staged last (once; it raises if none is staged).
        """
    def last_trade_ts(self, symbol: str) -> typing.Any:
        """
        The symbol's newest trade time (ns), or None.
        """
    def newest_ts(self, symbol: str) -> typing.Any:
        """
        The later of the symbol's newest trade time and its last quote's (ns), or None.
        """
    def reset(self, symbol: str) -> None:
        """
        Forget the symbol's state.
        """
    def state(self, symbol: str) -> typing.Any:
        """
        (remembered trade keys oldest first, newest trade time or None, last quote row or
        None), or None if the symbol has no state.
        """
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
    def decode(self, frame: typing.Any, json: bool, checks: FeedChecks) -> typing.Any:
        """
        Return None, or (messages, (trades, cuts, symbols), (quotes, cuts, symbols), bars).
        
        None also when a trade or quote breaks a rule of ``checks`` (FeedChecks: a
        duplicate, a trade older than its symbol's newest); else the frame's trades and
        quotes are staged there, remembered by checks.commit(). Trades and quotes come
        sorted by instrument (stable); cuts (int64 arrays) bound each run. bars are (kind,
        instrument_id, ts, open, high, low, close, volume, trade_count, vwap) in arrival order.
        """
    def set_condition_bits(self, trade: collections.abc.Sequence[tuple[str, typing.SupportsInt | typing.SupportsIndex]], quote: collections.abc.Sequence[tuple[str, typing.SupportsInt | typing.SupportsIndex]], other: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        Condition code -> bit for trades and quotes; unlisted codes set other.
        """
class WsReader:
    """
    The receive side of a WebSocket client: server bytes in, messages out.
    
    ``compressed``, ``no_context_takeover`` and ``max_window_bits`` are the
    permessage-deflate parameters the handshake negotiated for the server.
    """
    def __init__(self, max_size: typing.SupportsInt | typing.SupportsIndex, compressed: bool = False, no_context_takeover: bool = False, max_window_bits: typing.SupportsInt | typing.SupportsIndex = 15) -> None:
        ...
    def feed(self, data: bytes) -> list[tuple[int, typing.Any]]:
        """
        Consume bytes from the server; return the completed messages and control frames as
        (opcode, payload) in order: text str, binary/close/ping/pong bytes. Raises
        WebSocketProtocolError (with .messages) on a violation; the reader is unusable after.
        """
OP_BINARY: int = 2
OP_CLOSE: int = 8
OP_PING: int = 9
OP_PONG: int = 10
OP_TEXT: int = 1
