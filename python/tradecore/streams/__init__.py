"""Market data streams: everything that brings events in, normalised into tradecore.schema."""

from tradecore.streams.base import EventBatch, EventKind, Instruments, MarketDataStream

__all__ = ["EventBatch", "EventKind", "Instruments", "MarketDataStream"]
