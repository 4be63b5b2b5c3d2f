"""The broker interface: orders in, order and fill events out, positions and the account.

Everything that moves money is a :class:`decimal.Decimal` (dollars, shares); every timestamp
is int64 nanoseconds UTC. Brokers publish :class:`BrokerEvent` objects in the order the venue
produced them, to callbacks (:meth:`Broker.add_listener`) and to async iterators
(:meth:`Broker.events`).
"""

from __future__ import annotations

import abc
import asyncio
import enum
import logging
import operator
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Self

from tradecore.errors import ConfigError, Error
from tradecore.execution.market import clean, to_decimal
from tradecore.schema import OrderType, Side, TimeInForce

__all__ = [
    "EVENT_OF_STATUS",
    "Account",
    "Broker",
    "BrokerError",
    "BrokerEvent",
    "BrokerEventType",
    "IntentRef",
    "Order",
    "OrderAck",
    "OrderNotCancelableError",
    "OrderRejectedError",
    "OrderRequest",
    "OrderState",
    "OrderType",
    "Position",
    "Side",
    "TimeInForce",
    "UnknownOrderError",
    "implied_fill_price",
    "to_json_value",
]

_log = logging.getLogger("tradecore.execution.broker")


class BrokerError(Error):
    """Base of the errors brokers raise."""


class OrderRejectedError(BrokerError):
    """The broker refused an order request; ``reason`` says why."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class UnknownOrderError(BrokerError):
    """No order with that id is known to the broker."""


class OrderNotCancelableError(BrokerError):
    """The order is already final (filled, canceled, expired, rejected, replaced)."""


class OrderState(enum.Enum):
    """An order's status, named as the Alpaca Trading API names them."""

    PENDING_NEW = "pending_new"
    ACCEPTED = "accepted"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    DONE_FOR_DAY = "done_for_day"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REPLACED = "replaced"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    REJECTED = "rejected"
    STOPPED = "stopped"
    SUSPENDED = "suspended"
    CALCULATED = "calculated"
    HELD = "held"
    ACCEPTED_FOR_BIDDING = "accepted_for_bidding"

    @property
    def is_final(self) -> bool:
        """True when nothing more can happen to the order."""
        return self._value_ in _FINAL  # by value: an Enum member's hash is a Python-level call


_FINAL = frozenset(state.value for state in (OrderState.FILLED, OrderState.CANCELED, OrderState.EXPIRED,
                                              OrderState.REPLACED, OrderState.REJECTED))


class BrokerEventType(enum.Enum):
    """What happened to an order (the ``event`` of Alpaca's trade updates)."""

    ACCEPTED = "accepted"  # received, not yet working (latency, outside the session)
    PENDING_NEW = "pending_new"
    NEW = "new"  # working at the venue
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"  # the last fill: the order is done
    CANCELED = "canceled"
    EXPIRED = "expired"
    DONE_FOR_DAY = "done_for_day"
    REPLACED = "replaced"
    REJECTED = "rejected"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    ORDER_CANCEL_REJECTED = "order_cancel_rejected"
    ORDER_REPLACE_REJECTED = "order_replace_rejected"
    STOPPED = "stopped"
    SUSPENDED = "suspended"
    CALCULATED = "calculated"
    RESTATED = "restated"


EVENT_OF_STATUS = {
    OrderState.NEW: BrokerEventType.NEW, OrderState.ACCEPTED: BrokerEventType.ACCEPTED,
    OrderState.CANCELED: BrokerEventType.CANCELED, OrderState.EXPIRED: BrokerEventType.EXPIRED,
    OrderState.REPLACED: BrokerEventType.REPLACED, OrderState.REJECTED: BrokerEventType.REJECTED,
    OrderState.DONE_FOR_DAY: BrokerEventType.DONE_FOR_DAY,
    OrderState.PENDING_CANCEL: BrokerEventType.PENDING_CANCEL,
    OrderState.PENDING_REPLACE: BrokerEventType.PENDING_REPLACE,
    OrderState.PENDING_NEW: BrokerEventType.PENDING_NEW,
}
"""The event that reports an order reaching a status, for updates synthesised from a fetched
order (fills are not here: their events come from the change of ``filled_qty``)."""


def to_json_value(value: Any) -> Any:
    """Return ``value`` as JSON-able data: Decimals as strings, enums by name/value."""
    if isinstance(value, enum.IntEnum):  # before int: IntEnums are ints
        return value.name
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        return [to_json_value(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: to_json_value(getattr(value, f.name)) for f in fields(value)}
    return str(value)


class _Record:
    """Mixin: ``to_record()`` gives a dict of JSON-able values (for the journal)."""

    def to_record(self) -> dict[str, Any]:
        """Return the fields as JSON-able values (Decimal -> str, enum -> name)."""
        record: dict[str, Any] = {"record_type": type(self).__name__}
        record.update({f.name: to_json_value(getattr(self, f.name)) for f in fields(self)})  # type: ignore[arg-type]
        return record


@dataclass(frozen=True, slots=True)
class IntentRef(_Record):
    """Which strategy decision an order comes from: strategy, rule and transition index."""

    strategy_id: int
    rule: int
    transition: int
    ts_intent: int = 0  # ns UTC of the intent

    def to_record(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _decimal(value: Decimal | str | float | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        result = to_decimal(value)
    except ArithmeticError as exc:
        raise ConfigError(f"{name} must be a number, got {value!r}") from exc
    if not result.is_finite():
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return result


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest(_Record):
    """An order to send, with where it came from.

    Attributes
    ----------
    client_order_id
        Unique per order (the router encodes strategy, rule and transition in it).
    qty
        Shares, > 0.
    limit_price, stop_price
        Dollars; required for limit / stop types, ``None`` otherwise.
    extended_hours
        Eligible outside 09:30-16:00 New York (Alpaca: only limit + day).
    intent
        The strategy decision behind the order, if any.
    reason
        Why the order looks as it does (e.g. a market intent converted to a marketable limit).
    """

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    extended_hours: bool = False
    intent: IntentRef | None = None
    reason: str = ""
    ts_created: int = 0

    def __post_init__(self) -> None:
        # Converted only when not given as such (the router gives every field its type).
        if (symbol := self.symbol.upper()) != self.symbol:
            object.__setattr__(self, "symbol", symbol)
        for name, kind in (("side", Side), ("type", OrderType), ("time_in_force", TimeInForce)):
            if type(getattr(self, name)) is not kind:
                object.__setattr__(self, name, kind(getattr(self, name)))
        for name in ("qty", "limit_price", "stop_price"):
            value = getattr(self, name)
            if value is not None and (type(value) is not Decimal or not value.is_finite()):
                object.__setattr__(self, name, _decimal(value, name))
        if not self.client_order_id or len(self.client_order_id) > 128:
            raise ConfigError("client_order_id must have 1 to 128 characters")
        if self.qty is None or self.qty <= 0:
            raise ConfigError(f"{self.symbol}: qty must be > 0 shares, got {self.qty}")
        needs_limit = self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.type in (OrderType.STOP, OrderType.STOP_LIMIT)
        if needs_limit != (self.limit_price is not None) or needs_stop != (self.stop_price is not None):
            raise ConfigError(f"{self.symbol}: a {self.type.name} order takes "
                              f"{'a' if needs_limit else 'no'} limit_price and "
                              f"{'a' if needs_stop else 'no'} stop_price")
        for name in ("limit_price", "stop_price"):
            price = getattr(self, name)
            if price is not None and price <= 0:
                raise ConfigError(f"{self.symbol}: {name} must be > 0, got {price}")

    @property
    def signed_qty(self) -> Decimal:
        """Shares, positive to buy, negative to sell."""
        return self.qty if self.side == Side.BUY else -self.qty


@dataclass(frozen=True, slots=True)
class OrderAck(_Record):
    """What the broker said when it took an order: its id and first status."""

    order_id: str
    client_order_id: str
    status: OrderState
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Order(_Record):
    """A snapshot of an order as the broker knows it (prices in dollars, quantities in shares)."""

    order_id: str
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    filled_qty: Decimal = Decimal(0)
    filled_avg_price: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    extended_hours: bool = False
    status: OrderState = OrderState.ACCEPTED
    created_at: int = 0
    updated_at: int = 0
    replaces: str | None = None
    replaced_by: str | None = None
    intent: IntentRef | None = None
    reason: str = ""

    @property
    def leaves_qty(self) -> Decimal:
        """Shares still open (0 once final)."""
        return Decimal(0) if self.status.is_final else self.qty - self.filled_qty

    @property
    def is_open(self) -> bool:
        return not self.status.is_final

    def evolve(self, **changes: Any) -> Order:
        """Return a copy with ``changes`` (field names; several per order event, so without
        :func:`dataclasses.replace`'s generic path: all fields read in one call, each written
        through its slot)."""
        values = list(_order_values(self))
        for name, value in changes.items():
            index = _ORDER_INDEX.get(name)
            if index is None:
                raise TypeError(f"Order has no field(s) {sorted(set(changes) - set(_ORDER_INDEX))}")
            values[index] = value
        new = object.__new__(Order)
        for write, value in zip(_ORDER_SLOTS, values):
            write(new, value)
        return new


_ORDER_FIELDS = tuple(f.name for f in fields(Order))
_ORDER_INDEX = {name: index for index, name in enumerate(_ORDER_FIELDS)}
_order_values = operator.attrgetter(*_ORDER_FIELDS)
_ORDER_SLOTS = tuple(Order.__dict__[name].__set__ for name in _ORDER_FIELDS)  # past the frozen __setattr__


def implied_fill_price(order: Order, new_qty: Decimal, value_before: Decimal) -> Decimal | None:
    """Return the average price (6 places) of the ``new_qty`` shares ``order`` filled beyond
    shares worth ``value_before`` dollars, from its ``filled_avg_price``: what a fill missed (a
    stream gap, a crash) must have cost. None without an average price or new shares."""
    if order.filled_avg_price is None or new_qty <= 0:
        return None
    value = order.filled_avg_price * order.filled_qty - value_before
    return clean((value / new_qty).quantize(Decimal("0.000001")))


@dataclass(frozen=True, slots=True, kw_only=True)
class Position(_Record):
    """A holding: ``qty`` signed shares (negative = short), money in dollars."""

    symbol: str
    qty: Decimal
    avg_entry_price: Decimal
    cost_basis: Decimal
    market_value: Decimal
    current_price: Decimal | None
    unrealized_pl: Decimal
    realized_pl: Decimal = Decimal(0)

    @property
    def side(self) -> str:
        return "long" if self.qty > 0 else "short" if self.qty < 0 else "flat"


@dataclass(frozen=True, slots=True, kw_only=True)
class Account(_Record):
    """Account figures in dollars."""

    cash: Decimal
    equity: Decimal
    buying_power: Decimal
    long_market_value: Decimal = Decimal(0)
    short_market_value: Decimal = Decimal(0)
    currency: str = "USD"
    shorting_enabled: bool = False
    trading_blocked: bool = False
    account_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerEvent(_Record):
    """Something happened to an order, at the venue's time ``ts_event`` (ns UTC).

    Fill events carry this execution's ``fill_qty``, ``fill_price`` and ``commission``
    (dollars); ``position_qty`` is the symbol's signed position after it, when known.
    ``reason`` says why for rejections, cancels and synthesised (resync) events.
    """

    type: BrokerEventType
    order: Order
    ts_event: int
    fill_qty: Decimal | None = None
    fill_price: Decimal | None = None
    commission: Decimal = Decimal(0)
    position_qty: Decimal | None = None
    execution_id: str = ""
    reason: str = ""

    @property
    def symbol(self) -> str:
        return self.order.symbol

    @property
    def is_fill(self) -> bool:
        return self.type in (BrokerEventType.FILL, BrokerEventType.PARTIAL_FILL)


Listener = Callable[[BrokerEvent], None]


class Broker(abc.ABC):
    """Where orders go. Implementations: :class:`~tradecore.execution.paper.PaperBroker`,
    :class:`~tradecore.execution.alpaca.AlpacaBroker`.

    Events reach every listener added with :meth:`add_listener` (called synchronously, in
    order) and every iterator from :meth:`events`.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._queues: list[asyncio.Queue[BrokerEvent | None]] = []
        self._closed = False

    # -- orders -------------------------------------------------------------------------------

    @abc.abstractmethod
    async def submit(self, request: OrderRequest) -> OrderAck:
        """Send an order; return once the broker has taken it.

        Raises
        ------
        OrderRejectedError
            The broker refused it (a ``rejected`` event is published too where the venue
            produces one).
        """

    @abc.abstractmethod
    async def cancel(self, order_id: str) -> None:
        """Request a cancel; the ``canceled`` event confirms it.

        Raises
        ------
        UnknownOrderError, OrderNotCancelableError
        """

    @abc.abstractmethod
    async def replace(self, order_id: str, *, qty: Decimal | None = None,
                      limit_price: Decimal | None = None, stop_price: Decimal | None = None,
                      time_in_force: TimeInForce | None = None,
                      client_order_id: str | None = None) -> OrderAck:
        """Replace an open order with a new one (new id); the old one ends ``replaced``."""

    @abc.abstractmethod
    async def cancel_all(self) -> list[str]:
        """Request a cancel of every open order; return their ids."""

    @abc.abstractmethod
    async def get_order(self, order_id: str) -> Order:
        """Return the broker's current view of an order."""

    @abc.abstractmethod
    async def open_orders(self) -> list[Order]:
        """Return every order that is not final."""

    # -- holdings -----------------------------------------------------------------------------

    @abc.abstractmethod
    async def positions(self) -> list[Position]:
        """Return the non-flat positions."""

    @abc.abstractmethod
    async def account(self) -> Account:
        """Return cash, equity and buying power."""

    # -- events -------------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every event from now on; return a remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def events(self) -> AsyncIterator[BrokerEvent]:
        """Iterate events published from now on, until :meth:`close`."""
        queue: asyncio.Queue[BrokerEvent | None] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                event = await queue.get()
                if event is None:
                    return
                yield event
        finally:
            self._queues.remove(queue)

    def _publish(self, event: BrokerEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the broker
                _log.exception("broker event listener failed on %s", event.type.value)
        for queue in self._queues:
            queue.put_nowait(event)

    async def close(self) -> None:
        """Release connections; event iterators end. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for queue in self._queues:
            queue.put_nowait(None)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


