"""Builders shared by the execution tests (market batches, intents, times)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from tradecore import schema
from tradecore.execution.router import TradeIntent
from tradecore.schema import OrderType, Side, Sizing
from tradecore.sim.market import Asset, AssetType
from tradecore.streams.base import EventBatch, EventKind

NY = ZoneInfo("America/New_York")


def ny(hour: int, minute: int = 0, second: int = 0, day: int = 3) -> int:
    """ns UTC of a New York wall time on Wednesday 2024-01-<day>."""
    return int(datetime(2024, 1, day, hour, minute, second, tzinfo=NY).timestamp()) * 1_000_000_000


REGULAR = ny(10, 0)
PREMARKET = ny(7, 30)


def quote(symbol: str, ts: int, bid: float, ask: float, bid_size: float = 1000,
          ask_size: float = 1000) -> EventBatch:
    row = schema.empty(schema.QUOTE, 1)
    row["ts_event"], row["bid_price"], row["ask_price"] = ts, bid, ask
    row["bid_size"], row["ask_size"] = bid_size, ask_size
    return EventBatch(EventKind.QUOTE, symbol, row)


def trade(symbol: str, ts: int, price: float, size: float = 100) -> EventBatch:
    row = schema.empty(schema.TRADE, 1)
    row["ts_event"], row["price"], row["size"] = ts, price, size
    return EventBatch(EventKind.TRADE, symbol, row)


def status(symbol: str, ts: int, state: schema.TradingState) -> EventBatch:
    row = schema.empty(schema.STATUS, 1)
    row["ts_event"], row["state"] = ts, int(state)
    return EventBatch(EventKind.STATUS, symbol, row)


def intent(symbol: str = "ABC", *, side: Side = Side.BUY, order_type: OrderType = OrderType.MARKET,
           sizing: Sizing = Sizing.SHARES, quantity: str | int = 100, limit: str | None = None,
           stop: str | None = None, reference: str | None = None, ts: int = REGULAR,
           strategy_id: int = 1, rule: int = 7, transition: int = 42) -> TradeIntent:
    dec = lambda v: None if v is None else Decimal(v)
    return TradeIntent(symbol=symbol, side=side, order_type=order_type, sizing=sizing,
                       quantity=Decimal(quantity), limit_price=dec(limit), stop_price=dec(stop),
                       reference_price=dec(reference), strategy_id=strategy_id, rule=rule,
                       transition=transition, ts_event=ts)


ACME = Asset("ACME", "Acme Corp", "NASDAQ", AssetType.COMMON, 50_000_000, 40_000_000, 10.0,
             shortable=True, easy_to_borrow=True)
