"""Execution: brokers, the order router, risk checks and position tracking.

The pipeline is ``TradeIntent -> OrderRouter -> RiskManager -> Broker``; broker events flow back
into the :class:`PositionTracker` and the kill switch (:class:`ExecutionPipeline` wires it).
Money is :class:`decimal.Decimal` dollars throughout; timestamps int64 ns UTC.
"""

from tradecore.execution.broker import (
    Account,
    Broker,
    BrokerError,
    BrokerEvent,
    BrokerEventType,
    IntentRef,
    Order,
    OrderAck,
    OrderNotCancelableError,
    OrderRejectedError,
    OrderRequest,
    OrderState,
    Position,
    UnknownOrderError,
)
from tradecore.execution.events import (
    ExecutionEvent,
    IntentRejected,
    KillSwitchReset,
    KillSwitchTripped,
    OrderRouted,
    PositionChanged,
    RiskDecision,
)
from tradecore.execution.market import MarketBook, MarketSnapshot
from tradecore.execution.paper import PaperBroker
from tradecore.execution.pipeline import ExecutionPipeline
from tradecore.execution.positions import PositionTracker
from tradecore.execution.risk import RiskContext, RiskLimits, RiskManager
from tradecore.execution.router import EntryGate, OrderRouter, RouterConfig, TradeIntent, session_at

__all__ = [
    "Account",
    "Broker",
    "BrokerError",
    "BrokerEvent",
    "BrokerEventType",
    "EntryGate",
    "ExecutionEvent",
    "ExecutionPipeline",
    "IntentRef",
    "IntentRejected",
    "KillSwitchReset",
    "KillSwitchTripped",
    "MarketBook",
    "MarketSnapshot",
    "Order",
    "OrderAck",
    "OrderNotCancelableError",
    "OrderRejectedError",
    "OrderRequest",
    "OrderRouted",
    "OrderRouter",
    "OrderState",
    "PaperBroker",
    "Position",
    "PositionChanged",
    "PositionTracker",
    "RiskContext",
    "RiskDecision",
    "RiskLimits",
    "RiskManager",
    "RouterConfig",
    "TradeIntent",
    "UnknownOrderError",
    "session_at",
]
