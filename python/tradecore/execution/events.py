"""Execution events: one frozen dataclass per kind, each with its reason.

They are what the execution layer tells the world (event bus, journal, UI). ``to_record()``
returns a dict of JSON-able values (Decimals as strings, enums by name) whose ``record_type``
key is the class name. Broker events (:class:`~tradecore.execution.broker.BrokerEvent`) follow
the same convention.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tradecore.execution.broker import BrokerEvent, IntentRef, OrderRequest, _Record

__all__ = [
    "ExecutionEvent",
    "IntentRejected",
    "KillSwitchReset",
    "KillSwitchTripped",
    "OrderRouted",
    "PositionChanged",
    "RiskDecision",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRouted(_Record):
    """The router turned an intent into ``order``; ``order.reason`` says how it was sized."""

    ts_event: int
    order: OrderRequest


@dataclass(frozen=True, slots=True, kw_only=True)
class IntentRejected(_Record):
    """The router could not make an order of an intent (sized to zero, session rules, ...)."""

    ts_event: int
    symbol: str
    intent: IntentRef | None
    rule: str
    reason: str
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskDecision(_Record):
    """The verdict of the risk checks on one order.

    ``rule`` is the rule that rejected it (``"accepted"`` when none did); ``values`` the
    numbers it compared, as strings with units in the key names.
    """

    accepted: bool
    rule: str
    reason: str
    ts_event: int = 0
    symbol: str = ""
    client_order_id: str = ""
    intent: IntentRef | None = None
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitchTripped(_Record):
    """The daily loss limit was hit: cancel everything, flatten, block new entries."""

    ts_event: int
    reason: str
    daily_pnl: Decimal
    limit: Decimal
    flatten: Mapping[str, Decimal] = field(default_factory=dict)  # symbol -> signed shares held


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitchReset(_Record):
    """Entries allowed again: a new trading day began, or an operator reset the switch."""

    ts_event: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionChanged(_Record):
    """A fill changed a position (all money in dollars, quantities signed shares)."""

    ts_event: int
    symbol: str
    qty: Decimal
    avg_entry_price: Decimal
    realized_pl: Decimal
    unrealized_pl: Decimal
    commissions: Decimal
    cash: Decimal
    fill_qty: Decimal  # signed
    fill_price: Decimal
    client_order_id: str = ""


ExecutionEvent = (BrokerEvent | OrderRouted | IntentRejected | RiskDecision | KillSwitchTripped
                  | KillSwitchReset | PositionChanged)
"""Anything the execution layer publishes."""
