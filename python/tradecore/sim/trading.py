"""Alpaca-compatible paper trading on a simulated market.

:func:`install` mounts the Trading API (account, orders, positions, clock; protocols.md 2.1-2.6)
and the ``trade_updates`` WebSocket (2.7) on an aiohttp application serving a :class:`Market`.
Orders fill in one native :class:`~tradecore._core.engine.FillSimulator` per symbol, fed the
market's quotes, trades and statuses as the market publishes them and driven by the market's
clock, so fills depend only on the market's events: the same seed and the same orders give the
same fills.

Layers: :class:`PaperAccount` holds the whole state (orders and their state machine, positions,
cash, the simulators, the update subscribers) and decides everything; the HTTP handlers only
authenticate, parse the request into typed values and turn records into JSON.

Sessions (America/New_York, Monday to Friday, no holiday calendar): an order is *routed* to the
simulator only inside its window, 09:30-16:00 for regular orders and 04:00-20:00 for
``extended_hours`` orders; outside it the order waits as ``accepted`` (protocols.md 2.3: queued
for the next trading day). ``day`` orders expire at the end of the window they were routed in;
``gtc`` orders leave the simulator at the window's end and come back at the next window's start.

Money and quantities are :class:`decimal.Decimal` in the state and strings on the wire; requests
may carry numbers or numeric strings (alpaca-py sends numbers, protocols.md 2.2).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import msgpack
import numpy as np
from aiohttp import WSMsgType, web

from tradecore import schema
from tradecore._native import _core
from tradecore.calendar import is_early_close
from tradecore.sim.market import Asset, Market
from tradecore.sim.rest import parse_query_time
from tradecore.streams.alpaca import format_timestamp
from tradecore.streams.base import EventBatch, EventKind
from tradecore.tasks import start_task

__all__ = [
    "BROKER",
    "OrderRequest",
    "PaperAccount",
    "TradingConfig",
    "TradingError",
    "asset_id",
    "install",
]

_log = logging.getLogger("tradecore.sim.trading")

_ASSET_NAMESPACE = uuid.UUID("6c1d5d1e-3b7a-4c55-9a55-0d7d3f5c0001")  # = tradecore.sim.rest
_NEW_YORK = ZoneInfo("America/New_York")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_PREMARKET_OPEN = dt.time(4, 0)
_REGULAR_OPEN = dt.time(9, 30)
_REGULAR_CLOSE = dt.time(16, 0)
_AFTER_HOURS_CLOSE = dt.time(20, 0)
_EARLY_REGULAR_CLOSE = dt.time(13, 0)
_EARLY_AFTER_HOURS_CLOSE = dt.time(17, 0)

_ZERO = Decimal(0)
_PRICE_QUANTUM = Decimal("0.000001")  # fill prices come as doubles: drop the binary noise
_QTY_QUANTUM = Decimal("0.000000001")
_FEE_QUANTUM = Decimal("0.0001")
_MAX_QTY = Decimal(1_000_000_000)
_MAX_PRICE = Decimal(1_000_000)
_MAX_CLIENT_ORDER_ID = 128  # protocols.md 8.12: the current spec says 128

# Alpaca error codes (protocols.md 2.1): HTTP status times 100000 plus a detail.
_CODE_BAD_REQUEST = 40010000
_CODE_UNAUTHORIZED = 40110000
_CODE_FORBIDDEN = 40310000
_CODE_NOT_FOUND = 40410000
_CODE_UNPROCESSABLE = 42210000

OPEN_STATUSES = frozenset(
    {"new", "partially_filled", "accepted", "pending_new", "pending_cancel", "pending_replace"}
)
"""Statuses of an order that can still fill or be canceled."""

_SIDES = ("buy", "sell")
_TYPES = {
    "market": schema.OrderType.MARKET,
    "limit": schema.OrderType.LIMIT,
    "stop": schema.OrderType.STOP,
    "stop_limit": schema.OrderType.STOP_LIMIT,
}
_TIME_IN_FORCE = {
    "day": schema.TimeInForce.DAY,
    "gtc": schema.TimeInForce.GTC,
    "ioc": schema.TimeInForce.IOC,
}
_KNOWN_UNSUPPORTED_TYPES = ("trailing_stop",)
_KNOWN_UNSUPPORTED_TIME_IN_FORCE = ("opg", "cls", "fok")


class TradingError(Exception):
    """A request the API refuses: sent as HTTP ``status`` with ``{code, message}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _unprocessable(message: str) -> TradingError:
    return TradingError(422, _CODE_UNPROCESSABLE, message)


def _not_found(message: str) -> TradingError:
    return TradingError(404, _CODE_NOT_FOUND, message)


@dataclass(frozen=True, kw_only=True, slots=True)
class TradingConfig:
    """The paper account's rules.

    Attributes
    ----------
    starting_cash
        Dollars in the account at start (Alpaca paper's default is $100k).
    multiplier
        Buying power per dollar of equity: 1 is a cash account, 2 Reg-T margin.
    shorting_enabled
        Allow sell orders beyond the long position for shortable assets (off by default).
    extended_hours_gtc
        Accept ``extended_hours`` limit orders with ``gtc`` as well as ``day`` (the newer
        OpenAPI text; the orders guide allows ``day`` only, protocols.md 8.2).
    clock_interval
        Wall seconds between checks of the market clock while no event arrives (session
        boundaries and latencies are also checked on every event).
    max_queued_updates
        Trade updates a slow stream client may have pending before it is disconnected.
    """

    starting_cash: Decimal = Decimal(100_000)
    multiplier: int = 1
    shorting_enabled: bool = False
    extended_hours_gtc: bool = False
    clock_interval: float = 0.2
    max_queued_updates: int = 10_000

    def __post_init__(self) -> None:
        object.__setattr__(self, "starting_cash", Decimal(str(self.starting_cash)))
        if not self.starting_cash >= 0:
            raise ValueError("starting_cash must be non-negative dollars")
        if self.multiplier not in (1, 2, 4):
            raise ValueError("multiplier must be 1, 2 or 4")
        if not self.clock_interval > 0:
            raise ValueError("clock_interval must be positive seconds")
        if self.max_queued_updates < 1:
            raise ValueError("max_queued_updates must be at least 1")


def asset_id(symbol: str) -> str:
    """Return the stable asset UUID of ``symbol`` (the same for every run)."""
    # The same ids as the market REST's /v2/assets (tradecore.sim.rest).
    return str(uuid.uuid5(_ASSET_NAMESPACE, symbol))


# --- time ---------------------------------------------------------------------------------


def _ns(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1) * 1000


def _utc(ns: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=ns // 1000)


def iso(ns: int | None) -> str | None:
    """Format int ns UTC as RFC 3339 with nanoseconds and ``Z`` (None stays None)."""
    return None if ns is None else format_timestamp(ns)


def _iso_new_york(ns: int) -> str:
    return _utc(ns).astimezone(_NEW_YORK).isoformat()


def session_window(ns: int, extended: bool) -> tuple[int, int]:
    """Return ``(start, end)`` ns of the window containing ``ns``, or else the next one.

    Regular windows are 09:30-16:00 New York time, extended ones 04:00-20:00, Monday to
    Friday; on early-close days (:func:`tradecore.calendar.is_early_close`) they end at 13:00
    and 17:00.
    """
    opens = _PREMARKET_OPEN if extended else _REGULAR_OPEN
    day = _utc(ns).astimezone(_NEW_YORK).date()
    for offset in range(8):
        date = day + dt.timedelta(days=offset)
        if date.weekday() >= 5:
            continue
        early = is_early_close(date)
        if extended:
            closes = _EARLY_AFTER_HOURS_CLOSE if early else _AFTER_HOURS_CLOSE
        else:
            closes = _EARLY_REGULAR_CLOSE if early else _REGULAR_CLOSE
        end = _ns(dt.datetime.combine(date, closes, tzinfo=_NEW_YORK))
        if end > ns:
            return _ns(dt.datetime.combine(date, opens, tzinfo=_NEW_YORK)), end
    raise AssertionError("a week always has a weekday")


def _in_window(ns: int, extended: bool) -> bool:
    start, _ = session_window(ns, extended)
    return start <= ns


# --- numbers ------------------------------------------------------------------------------


def _decimal(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def text(value: Decimal | None) -> str | None:
    """Format a Decimal as a plain string without exponent (None stays None)."""
    if value is None:
        return None
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def parse_decimal(name: str, value: Any, *, required: bool = False) -> Decimal | None:
    """Parse a number or numeric string; raise 422 for anything else (NaN, inf, bools)."""
    if value is None or value == "":
        if required:
            raise _unprocessable(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _unprocessable(f"invalid {name}")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else _decimal(value)
    except (InvalidOperation, ValueError):
        raise _unprocessable(f"invalid {name} {value}") from None
    if not number.is_finite():
        raise _unprocessable(f"invalid {name} {value}")
    return number


def _check_increment(name: str, price: Decimal) -> None:
    """Limit and stop prices: 2 decimals at $1.00 and above, 4 below (protocols.md 2.2)."""
    places = 2 if price >= 1 else 4
    if price != price.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):
        raise _unprocessable(
            f"invalid {name} {text(price)}. sub-penny increment does not fulfill minimum "
            "pricing criteria"
        )


# --- state --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderRequest:
    """A parsed ``POST /v2/orders`` body (validated for types, not yet for the rules)."""

    symbol: str
    side: str
    type: str
    time_in_force: str
    qty: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    extended_hours: bool = False
    client_order_id: str | None = None


@dataclass(eq=False, slots=True)
class _Order:
    id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    qty: Decimal | None
    notional: Decimal | None
    quantity: Decimal  # shares to trade (qty, or notional over the price estimate)
    limit_price: Decimal | None
    stop_price: Decimal | None
    extended_hours: bool
    reserve_price: Decimal  # for buying power while open
    created_at: int
    sequence: int
    status: str = "pending_new"
    updated_at: int = 0
    submitted_at: int = 0
    filled_at: int | None = None
    expired_at: int | None = None
    expires_at: int | None = None
    canceled_at: int | None = None
    cancel_requested_at: int | None = None
    failed_at: int | None = None
    replaced_at: int | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    filled_qty: Decimal = _ZERO
    filled_value: Decimal = _ZERO
    routed: bool = False  # has been live at the venue once (the `new` event was sent)
    simulator_id: int | None = None  # the id in the simulator while it works there
    window_end: int | None = None  # when it must leave the simulator
    exit: str | None = None  # why it is leaving the simulator: cancel, expire, park, replace

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def leaves(self) -> Decimal:
        return self.quantity - self.filled_qty


@dataclass(slots=True)
class _Position:
    qty: Decimal = _ZERO
    cost: Decimal = _ZERO  # signed: avg entry price times qty

    def apply(self, signed_qty: Decimal, price: Decimal) -> None:
        new_qty = self.qty + signed_qty
        if self.qty == 0 or (self.qty > 0) == (signed_qty > 0):
            self.cost += signed_qty * price
        elif new_qty == 0:
            self.cost = _ZERO
        elif (new_qty > 0) == (self.qty > 0):
            self.cost = self.cost / self.qty * new_qty
        else:  # flipped through zero: the rest opens at this price
            self.cost = new_qty * price
        self.qty = new_qty


@dataclass(slots=True)
class _Subscriber:
    queue: asyncio.Queue[dict[str, Any] | None]
    overflowed: bool = False


@dataclass(slots=True)
class _Venue:
    """One symbol's simulator and the orders working in it."""

    simulator: Any  # tradecore._core.engine.FillSimulator
    working: dict[int, _Order] = field(default_factory=dict)


class PaperAccount:
    """The paper account on a :class:`Market`: orders, fills, positions, cash and updates.

    Every state change of an order happens here (:meth:`submit`, :meth:`cancel`,
    :meth:`replace`, and the simulator's output in ``_apply``); nothing else writes an order.

    Parameters
    ----------
    market
        The simulated market; its listener feeds the simulators and its clock times orders.
    fill_model
        A ``tradecore._core.engine.FillModel`` (latency, slippage, partial fills,
        commissions); the default fills at the touch without fees.
    config
        The account's rules.
    """

    def __init__(
        self, market: Market, *, fill_model: Any = None, config: TradingConfig | None = None
    ) -> None:
        self.market = market
        self.config = config or TradingConfig()
        self.fill_model = fill_model if fill_model is not None else _core.engine.FillModel()
        _core.engine.FillSimulator(self.fill_model)  # validate the model now, not on first order
        self.account_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "tradecore-sim-account"))
        self.created_at = market.now()
        self.cash = self.config.starting_cash
        self.last_equity = self.config.starting_cash
        self._orders: dict[str, _Order] = {}
        self._by_client_id: dict[str, _Order] = {}
        self._positions: dict[str, _Position] = {}
        self._venues: dict[str, _Venue] = {}
        self._held: list[_Order] = []  # accepted orders waiting for their window
        self._simulator_ids = 0
        self._sequence = 0
        self._clock = market.now()
        self._subscribers: list[_Subscriber] = []
        self._attached = False
        self._deadline: int | None = None
        self._deadline_valid = False

    # --- lifecycle ------------------------------------------------------------------------

    def attach(self) -> None:
        """Start listening to the market (idempotent)."""
        if not self._attached:
            self.market.add_listener(self.on_batch)
            self._attached = True

    def detach(self) -> None:
        """Stop listening to the market (idempotent)."""
        if self._attached:
            self.market.remove_listener(self.on_batch)
            self._attached = False

    async def run_clock(self) -> None:
        """Check the market clock every ``clock_interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.config.clock_interval)
            try:
                self.on_clock(self.market.now())
            except Exception:  # noqa: BLE001 - the server must outlive any bug here
                _log.exception("paper broker clock step failed")

    # --- reads ----------------------------------------------------------------------------

    def now(self) -> int:
        """The broker's clock: the market's, never behind an event already processed."""
        self._clock = max(self._clock, self.market.now())
        return self._clock

    def order(self, order_id: str) -> _Order:
        found = self._orders.get(order_id)
        if found is None:
            raise _not_found("order not found")
        return found

    def order_by_client_id(self, client_order_id: str) -> _Order:
        found = self._by_client_id.get(client_order_id)
        if found is None:
            raise _not_found("order not found")
        return found

    def orders(self) -> list[_Order]:
        """Every order, oldest first."""
        return list(self._orders.values())

    def positions(self) -> dict[str, _Position]:
        return {s: p for s, p in self._positions.items() if p.qty != 0}

    def price(self, symbol: str) -> Decimal:
        """Mark price: last trade, else quote midpoint, else the prior close."""
        trade = self.market.last_trade(symbol)
        if trade is not None and trade["price"] > 0:
            return _decimal(trade["price"]).quantize(_PRICE_QUANTUM)
        quote = self.market.last_quote(symbol)
        if quote is not None and quote["bid_price"] > 0 and quote["ask_price"] > 0:
            mid = (_decimal(quote["bid_price"]) + _decimal(quote["ask_price"])) / 2
            return mid.quantize(_PRICE_QUANTUM)
        asset = self.market.asset(symbol)
        return _decimal(asset.prior_close) if asset is not None else _ZERO

    def market_values(self) -> tuple[Decimal, Decimal]:
        """Return (long market value, short market value <= 0) in dollars."""
        long_value = short_value = _ZERO
        for symbol, position in self.positions().items():
            value = position.qty * self.price(symbol)
            if value > 0:
                long_value += value
            else:
                short_value += value
        return long_value, short_value

    def buying_power(self) -> Decimal:
        """Multiplier times equity less gross exposure and what open orders reserve."""
        long_value, short_value = self.market_values()
        equity = self.cash + long_value + short_value
        exposure = long_value - short_value
        reserved = sum(
            (self._reserved(o) for o in self._orders.values() if o.open and o.exit != "replace"),
            start=_ZERO,
        )
        return max(_ZERO, self.config.multiplier * equity - exposure - reserved)

    def held_for_orders(self, symbol: str) -> Decimal:
        """Shares that open sell orders of ``symbol`` have claimed."""
        return sum(
            (
                o.leaves
                for o in self._orders.values()
                if o.open and o.symbol == symbol and o.side == "sell" and o.exit != "replace"
            ),
            start=_ZERO,
        )

    def _reserved(self, order: _Order) -> Decimal:
        position = self._positions.get(order.symbol)
        held = position.qty if position is not None else _ZERO
        if order.side == "buy":
            opening = order.leaves - max(_ZERO, -held)  # covering a short needs no cash
        else:
            opening = order.leaves - max(_ZERO, held)  # selling a long needs no cash
        return max(_ZERO, opening) * order.reserve_price

    # --- order entry ----------------------------------------------------------------------

    def submit(self, request: OrderRequest) -> _Order:
        """Validate ``request`` against the rules, record it and route or queue it.

        Raises
        ------
        TradingError
            422 for orders the rules refuse, 403 for insufficient buying power or shares.
        """
        now = self.now()
        asset = self.market.asset(request.symbol)
        if asset is None:
            raise _unprocessable(f"asset not found: {request.symbol}")
        if not asset.tradable:
            raise _unprocessable(f"asset {asset.symbol} is not tradable")
        self._check_rules(request)
        if request.client_order_id is not None and request.client_order_id in self._by_client_id:
            raise _unprocessable("client_order_id must be unique")

        estimate = self._estimate_price(asset, request, now)
        if request.notional is not None:
            if estimate <= 0:
                raise _unprocessable("no price to size a notional order")
            quantity = (request.notional / estimate).quantize(_QTY_QUANTUM, rounding=ROUND_DOWN)
            if quantity <= 0:
                raise _unprocessable("notional is too small")
        else:
            assert request.qty is not None
            quantity = request.qty
        reserve = request.limit_price or estimate
        if request.stop_price is not None and request.type == "stop":
            reserve = max(estimate, request.stop_price) if request.side == "buy" else estimate
        self._check_buying_power(asset, request.side, quantity, reserve, quantity != int(quantity))

        self._sequence += 1
        order = _Order(
            id=str(uuid.uuid4()),
            client_order_id=request.client_order_id or str(uuid.uuid4()),
            symbol=asset.symbol,
            side=request.side,
            type=request.type,
            time_in_force=request.time_in_force,
            qty=request.qty,
            notional=request.notional,
            quantity=quantity,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            extended_hours=request.extended_hours,
            reserve_price=reserve,
            created_at=now,
            sequence=self._sequence,
            updated_at=now,
            submitted_at=now,
        )
        self._orders[order.id] = order
        self._by_client_id[order.client_order_id] = order
        self._route_or_hold(order, now)
        return order

    def _check_rules(self, request: OrderRequest) -> None:
        """Type, time-in-force and price rules of protocols.md 2.2 and 2.3."""
        if request.side not in _SIDES:
            raise _unprocessable(f"invalid side {request.side}")
        if request.type in _KNOWN_UNSUPPORTED_TYPES:
            raise _unprocessable(f"order type {request.type} is not supported by the simulator")
        if request.type not in _TYPES:
            raise _unprocessable(f"invalid order type {request.type}")
        if request.time_in_force in _KNOWN_UNSUPPORTED_TIME_IN_FORCE:
            raise _unprocessable(
                f"time_in_force {request.time_in_force} is not supported by the simulator"
            )
        if request.time_in_force not in _TIME_IN_FORCE:
            raise _unprocessable(f"invalid time_in_force {request.time_in_force}")
        if (request.qty is None) == (request.notional is None):
            raise _unprocessable(
                "qty or notional is required"
                if request.qty is None
                else "qty and notional are mutually exclusive"
            )
        for name, amount, limit in (
            ("qty", request.qty, _MAX_QTY),
            ("notional", request.notional, _MAX_QTY),
        ):
            if amount is not None and not 0 < amount <= limit:
                raise _unprocessable(f"{name} must be > 0")
            if amount is not None and amount != amount.quantize(_QTY_QUANTUM, rounding=ROUND_DOWN):
                raise _unprocessable(f"{name} has too many decimal places")
        fractional = request.qty is not None and request.qty != int(request.qty)
        if request.notional is not None or fractional:
            if request.type != "market" or request.time_in_force != "day":
                raise _unprocessable(
                    "fractional orders must be market orders with day time_in_force"
                )
        needs_limit = request.type in ("limit", "stop_limit")
        needs_stop = request.type in ("stop", "stop_limit")
        for name, price, needed in (
            ("limit_price", request.limit_price, needs_limit),
            ("stop_price", request.stop_price, needs_stop),
        ):
            if needed and price is None:
                raise _unprocessable(f"{name} is required for {request.type} orders")
            if not needed and price is not None:
                raise _unprocessable(f"{name} is not allowed for {request.type} orders")
            if price is not None:
                if not 0 < price <= _MAX_PRICE:
                    raise _unprocessable(f"invalid {name} {text(price)}")
                _check_increment(name, price)
        if request.extended_hours:
            allowed = ("day", "gtc") if self.config.extended_hours_gtc else ("day",)
            if request.type != "limit" or request.time_in_force not in allowed:
                raise _unprocessable(
                    "extended hours order must be DAY limit orders"
                    if not self.config.extended_hours_gtc
                    else "extended hours order must be DAY or GTC limit orders"
                )
        if request.client_order_id is not None and not 0 < len(request.client_order_id) <= (
            _MAX_CLIENT_ORDER_ID
        ):
            raise _unprocessable(f"client_order_id must be 1 to {_MAX_CLIENT_ORDER_ID} characters")

    def _estimate_price(self, asset: Asset, request: OrderRequest, now: int) -> Decimal:
        """The buying-power check price of protocols.md 2.3: far side in the core session,
        midpoint in extended hours, last trade when closed."""
        quote = self.market.last_quote(asset.symbol)
        bid = _decimal(quote["bid_price"]) if quote is not None else _ZERO
        ask = _decimal(quote["ask_price"]) if quote is not None else _ZERO
        if _in_window(now, extended=False) and bid > 0 and ask > 0:
            return ask if request.side == "buy" else bid
        if _in_window(now, extended=True) and bid > 0 and ask > 0:
            return ((bid + ask) / 2).quantize(_PRICE_QUANTUM)
        return self.price(asset.symbol)

    def _check_buying_power(
        self, asset: Asset, side: str, quantity: Decimal, price: Decimal, fractional: bool
    ) -> None:
        position = self._positions.get(asset.symbol)
        held = position.qty if position is not None else _ZERO
        if side == "sell":
            available = max(_ZERO, held) - self.held_for_orders(asset.symbol)
            if quantity <= available:
                return
            if (
                held > 0
                or available < 0
                or not (self.config.shorting_enabled and asset.shortable and not fractional)
            ):
                raise TradingError(
                    403,
                    _CODE_FORBIDDEN,
                    f"insufficient qty available for order (requested: {text(quantity)}, "
                    f"available: {text(max(_ZERO, available))})",
                )
            opening = quantity
        else:
            opening = max(_ZERO, quantity - max(_ZERO, -held))
        if opening * price > self.buying_power():
            raise TradingError(403, _CODE_FORBIDDEN, "insufficient buying power")

    def cancel(self, order_id: str) -> None:
        """Request the cancel of an open order (effective after the model's cancel latency).

        Raises
        ------
        TradingError
            404 for unknown orders, 422 for orders that can no longer be canceled.
        """
        order = self.order(order_id)
        if not order.open or order.exit in ("cancel", "replace"):
            raise _unprocessable(f"order is not cancelable (status: {order.status})")
        now = self.now()
        order.cancel_requested_at = now
        self._leave(order, now, "cancel", now)

    def cancel_all(self) -> list[tuple[_Order, int]]:
        """Cancel every open order; return each with the HTTP status of its cancel."""
        results = []
        for order in list(self._orders.values()):
            if not order.open:
                continue
            try:
                self.cancel(order.id)
                results.append((order, 200))
            except TradingError as error:
                results.append((order, error.status))
        return results

    def replace(
        self,
        order_id: str,
        *,
        qty: Decimal | None,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
        time_in_force: str | None,
        client_order_id: str | None,
    ) -> _Order:
        """Replace an open order with a new one (new id) carrying the changed fields."""
        old = self.order(order_id)
        if not old.open or old.exit is not None:
            raise _unprocessable(f"order is not replaceable (status: {old.status})")
        if old.notional is not None:
            raise _unprocessable("notional orders cannot be replaced")
        request = OrderRequest(
            symbol=old.symbol,
            side=old.side,
            type=old.type,
            time_in_force=time_in_force or old.time_in_force,
            qty=qty if qty is not None else old.leaves,
            limit_price=limit_price if limit_price is not None else old.limit_price,
            stop_price=stop_price if stop_price is not None else old.stop_price,
            extended_hours=old.extended_hours,
            client_order_id=client_order_id,
        )
        self._check_rules(request)
        if client_order_id is not None and client_order_id in self._by_client_id:
            raise _unprocessable("client_order_id must be unique")
        # The old order's claim on cash and shares goes to its replacement.
        old.exit = "replace"
        try:
            new = self.submit(request)
        except TradingError:
            old.exit = None
            raise
        new.replaces = old.id
        old.replaced_by = new.id
        now = self.now()
        old.exit = None
        self._leave(old, now, "replace", now)
        return new

    # --- the state machine ----------------------------------------------------------------

    def _route_or_hold(self, order: _Order, now: int) -> None:
        self._deadline_valid = False
        start, end = session_window(now, order.extended_hours)
        if order.time_in_force == "day" and order.expires_at is None:
            order.expires_at = end
        if start <= now:
            self._route(order, now, end)
        else:
            if order.status == "pending_new":
                order.status = "accepted"
                self._publish("accepted", order, now)
            self._held.append(order)

    def _route(self, order: _Order, now: int, window_end: int) -> None:
        """Hand the order (what is left of it) to its symbol's simulator."""
        self._deadline_valid = False
        venue = self._venue(order.symbol)
        self._simulator_ids += 1
        order.simulator_id = self._simulator_ids
        order.window_end = window_end
        venue.working[order.simulator_id] = order
        limit = float(order.limit_price) if order.limit_price is not None else 0.0
        stop = float(order.stop_price) if order.stop_price is not None else 0.0
        side = schema.Side.BUY if order.side == "buy" else schema.Side.SELL
        output = venue.simulator.submit(
            order_id=order.simulator_id,
            ts=now,
            side=int(side),
            type=int(_TYPES[order.type]),
            quantity=float(order.leaves),
            limit_price=limit,
            stop_price=stop,
            time_in_force=int(_TIME_IN_FORCE[order.time_in_force]),
        )
        self._apply(venue, *output)

    def _leave(self, order: _Order, now: int, why: str, effective: int) -> None:
        """Take an order out of its session: cancel, expire, park (GTC) or replace it.

        ``effective`` is when the simulator must drop it; the cancel is sent early by the
        model's cancel latency so that expiries happen exactly at the session's end.
        """
        if order.simulator_id is None:  # waiting outside its window: nothing to pull back
            if order in self._held:
                self._held.remove(order)
            self._finish(order, effective, why)
            return
        order.exit = why
        self._deadline_valid = False
        if why == "cancel" and order.status != "partially_filled":
            order.status = "pending_cancel"
        venue = self._venues[order.symbol]
        send = effective - self.fill_model.cancel_latency_ns if why in ("expire", "park") else now
        fills, updates = venue.simulator.cancel(order.simulator_id, max(send, order.submitted_at))
        self._apply(venue, fills, updates)
        if order.simulator_id is not None and effective <= now:
            self._apply(venue, *venue.simulator.on_clock(now))

    def _finish(self, order: _Order, ts: int, why: str) -> None:
        """The simulator dropped the order (or it never reached it) for ``why``."""
        self._deadline_valid = False
        order.updated_at = ts
        order.exit = None
        if why == "park":  # GTC outside its window: back to waiting, status unchanged
            self._held.append(order)
            return
        if why == "expire":
            order.status, order.expired_at = "expired", ts
            self._publish("expired", order, ts)
        elif why == "replace":
            order.status, order.replaced_at = "replaced", ts
            self._publish("replaced", order, ts)
        else:
            order.status, order.canceled_at = "canceled", ts
            self._publish("canceled", order, ts)

    def _apply(self, venue: _Venue, fills: np.ndarray, updates: np.ndarray) -> None:
        """Turn the simulator's output into order states, fills, positions and updates."""
        pending: dict[int, collections.deque[np.void]] = collections.defaultdict(collections.deque)
        if len(updates):
            self._deadline_valid = False
        for fill in fills:
            pending[int(fill["order_id"])].append(fill)
        for update in updates:
            simulator_id = int(update["order_id"])
            order = venue.working.get(simulator_id)
            if order is None:
                continue
            ts = int(update["ts_event"])
            self._clock = max(self._clock, ts)
            status = int(update["status"])
            if status == schema.OrderStatus.LIVE:
                order.updated_at = ts
                if not order.routed:
                    order.routed = True
                    if order.status in ("pending_new", "accepted"):
                        order.status = "new"
                    self._publish("new", order, ts)
            elif status in (schema.OrderStatus.PARTIALLY_FILLED, schema.OrderStatus.FILLED):
                final = status == schema.OrderStatus.FILLED
                if final:
                    del venue.working[simulator_id]
                    order.simulator_id = None
                self._fill(order, pending[simulator_id].popleft(), final)
            elif status == schema.OrderStatus.CANCELED:
                del venue.working[simulator_id]
                order.simulator_id = None
                # The simulator cancels IOC remainders on its own; everything else we asked for.
                self._finish(order, ts, order.exit or "cancel")
            elif status == schema.OrderStatus.REJECTED:
                del venue.working[simulator_id]
                order.simulator_id = None
                order.status, order.failed_at, order.updated_at = "rejected", ts, ts
                self._publish("rejected", order, ts)

    def _fill(self, order: _Order, fill: np.void, final: bool) -> None:
        ts = int(fill["ts_event"])
        price = _decimal(fill["price"]).quantize(_PRICE_QUANTUM)
        qty = _decimal(fill["quantity"]).quantize(_QTY_QUANTUM)
        fee = _decimal(fill["commission"]).quantize(_FEE_QUANTUM)
        if final:  # the simulator works in doubles: the order's own quantity is exact
            qty = order.quantity - order.filled_qty
        order.filled_qty += qty
        order.filled_value += qty * price
        order.filled_at = order.updated_at = ts
        signed = qty if order.side == "buy" else -qty
        self.cash -= signed * price + fee
        position = self._positions.setdefault(order.symbol, _Position())
        position.apply(signed, price)
        if final:
            order.status = "filled"
            order.exit = None
        elif order.status != "pending_cancel":
            order.status = "partially_filled"
        self._publish(
            "fill" if final else "partial_fill",
            order,
            ts,
            price=price,
            qty=qty,
            position_qty=position.qty,
            execution_id=str(uuid.uuid4()),
        )

    def _venue(self, symbol: str) -> _Venue:
        venue = self._venues.get(symbol)
        if venue is None:
            venue = _Venue(_core.engine.FillSimulator(self.fill_model))
            self._venues[symbol] = venue
            # A new simulator knows no book yet: give it the current quote and status.
            quote = self.market.last_quote(symbol)
            if quote is not None:
                rows = schema.empty(schema.QUOTE, 1)
                rows[0] = quote
                venue.simulator.on_quotes(rows)
            status = schema.empty(schema.STATUS, 1)
            status["ts_event"] = self._clock
            status["state"] = self.market.status(symbol)
            venue.simulator.on_statuses(status)
        return venue

    # --- the market's events and clock ----------------------------------------------------

    def on_batch(self, batch: EventBatch) -> None:
        """Market listener: move the clock to each event and feed the symbol's simulator."""
        try:
            self._on_batch(batch)
        except Exception:  # noqa: BLE001 - the server must outlive any bug here
            # The market must keep publishing whatever happens to the paper account.
            _log.exception(
                "paper broker failed on a %s batch of %s", batch.kind.value, batch.symbol
            )

    def _on_batch(self, batch: EventBatch) -> None:
        if len(batch.events) == 0:
            return
        venue = self._venues.get(batch.symbol)
        feed = {
            EventKind.QUOTE: "on_quotes",
            EventKind.TRADE: "on_trades",
            EventKind.STATUS: "on_statuses",
        }.get(batch.kind)
        events = np.ascontiguousarray(batch.events)
        times = events["ts_event"]
        start = 0
        while start < len(events):
            # Session boundaries inside the batch split it, so orders leave exactly on time.
            deadline = self._next_deadline()
            if deadline is not None and deadline <= int(times[start]):
                self.on_clock(int(times[start]))
                deadline = self._next_deadline()
            stop = len(events)
            if deadline is not None:
                stop = max(int(np.searchsorted(times, deadline, side="left")), start + 1)
            self._clock = max(self._clock, int(times[stop - 1]))
            if venue is not None and feed is not None:
                self._apply(venue, *getattr(venue.simulator, feed)(events[start:stop]))
            start = stop

    def _next_deadline(self) -> int | None:
        """The earliest session boundary any order waits for (None if none); cached until an
        order changes, since it is asked before every batch the market publishes."""
        if self._deadline_valid:
            return self._deadline
        self._deadline = self._compute_deadline()
        self._deadline_valid = True
        return self._deadline

    def _compute_deadline(self) -> int | None:
        moments = [
            o.window_end
            for v in self._venues.values()
            for o in v.working.values()
            if o.window_end is not None and o.exit is None
        ]
        for order in self._held:
            moments.append(session_window(self._clock, order.extended_hours)[0])
            if order.expires_at is not None:
                moments.append(order.expires_at)
        return min(moments) if moments else None

    def on_clock(self, now: int) -> None:
        """The market clock reached ``now``: route, expire and park orders due, and let the
        simulators activate orders and cancels whose latency has passed."""
        now = max(now, self._clock)
        self._clock = now
        for _ in range(100_000):  # each step retires a deadline; the bound only guards bugs
            deadline = self._next_deadline()
            if deadline is None or deadline > now:
                break
            self._at_boundary(deadline, now)
        else:
            _log.error("paper broker: session boundaries did not settle at %d", now)
        for venue in self._venues.values():
            if venue.working:
                self._apply(venue, *venue.simulator.on_clock(now))

    def _at_boundary(self, moment: int, now: int) -> None:
        for venue in list(self._venues.values()):
            for order in list(venue.working.values()):
                if (
                    order.window_end is not None
                    and order.window_end <= moment
                    and order.exit is None
                ):
                    why = "expire" if order.time_in_force == "day" else "park"
                    if order.time_in_force == "ioc":
                        why = "expire"
                    self._leave(order, now, why, order.window_end)
        for order in sorted(self._held, key=lambda o: o.sequence):
            start, end = session_window(moment, order.extended_hours)
            if order.expires_at is not None and order.expires_at <= moment:
                self._held.remove(order)
                self._finish(order, order.expires_at, "expire")
                continue
            elif start <= moment:
                self._held.remove(order)
                self._route(order, max(start, min(now, moment)), end)

    # --- trade updates --------------------------------------------------------------------

    def subscribe(self) -> _Subscriber:
        """Receive trade updates (``{"stream": "trade_updates", "data": ...}``) in a queue; a
        ``None`` in it means the subscriber fell too far behind and was dropped."""
        subscriber = _Subscriber(asyncio.Queue())
        self._subscribers.append(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: _Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def _publish(self, event: str, order: _Order, ts: int, **extra: Any) -> None:
        order.updated_at = max(order.updated_at, ts)
        if not self._subscribers:
            return
        data: dict[str, Any] = {"event": event, "timestamp": iso(ts), "order": order_json(order)}
        for name in ("execution_id", "price", "qty", "position_qty"):
            if name in extra:
                value = extra[name]
                data[name] = text(value) if isinstance(value, Decimal) else value
        message = {"stream": "trade_updates", "data": data}
        for subscriber in list(self._subscribers):
            if subscriber.queue.qsize() >= self.config.max_queued_updates:
                subscriber.overflowed = True
                subscriber.queue.put_nowait(None)
                self._subscribers.remove(subscriber)
            else:
                subscriber.queue.put_nowait(message)


# --- JSON views ---------------------------------------------------------------------------


def order_json(order: _Order) -> dict[str, Any]:
    """The Alpaca order object (protocols.md 2.4) of ``order``."""
    average = order.filled_value / order.filled_qty if order.filled_qty else None
    return {
        "id": order.id,
        "client_order_id": order.client_order_id,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
        "submitted_at": iso(order.submitted_at),
        "filled_at": iso(order.filled_at),
        "expired_at": iso(order.expired_at),
        "expires_at": iso(order.expires_at),
        "canceled_at": iso(order.canceled_at),
        "cancel_requested_at": iso(order.cancel_requested_at),
        "failed_at": iso(order.failed_at),
        "replaced_at": iso(order.replaced_at),
        "replaced_by": order.replaced_by,
        "replaces": order.replaces,
        "asset_id": asset_id(order.symbol),
        "symbol": order.symbol,
        "asset_class": "us_equity",
        "notional": text(order.notional),
        "qty": text(order.qty) if order.notional is None else None,
        "filled_qty": text(order.filled_qty),
        "filled_avg_price": text(average.quantize(_PRICE_QUANTUM)) if average is not None else None,
        "order_class": "simple",
        "order_type": order.type,
        "type": order.type,
        "side": order.side,
        "position_intent": None,
        "time_in_force": order.time_in_force,
        "limit_price": text(order.limit_price),
        "stop_price": text(order.stop_price),
        "status": order.status,
        "extended_hours": order.extended_hours,
        "legs": None,
        "trail_percent": None,
        "trail_price": None,
        "hwm": None,
    }


def position_json(broker: PaperAccount, symbol: str, position: _Position) -> dict[str, Any]:
    """The Alpaca position object (protocols.md 2.5) of ``symbol``."""
    asset = broker.market.asset(symbol)
    price = broker.price(symbol)
    value = position.qty * price
    average = position.cost / position.qty
    prior = _decimal(asset.prior_close) if asset is not None else _ZERO
    unrealized = value - position.cost
    cost = abs(position.cost)
    exchange = asset.exchange if asset is not None else ""
    intraday_base = position.qty * prior
    return {
        "asset_id": asset_id(symbol),
        "symbol": symbol,
        "exchange": exchange if exchange in _EXCHANGES else "",
        "asset_class": "us_equity",
        "asset_marginable": broker.config.multiplier > 1,
        "avg_entry_price": text(average.quantize(_PRICE_QUANTUM)),
        "qty": text(position.qty),
        "qty_available": text(position.qty - broker.held_for_orders(symbol))
        if position.qty > 0
        else text(position.qty),
        "side": "long" if position.qty > 0 else "short",
        "market_value": text(value.quantize(_FEE_QUANTUM)),
        "cost_basis": text(position.cost.quantize(_FEE_QUANTUM)),
        "unrealized_pl": text(unrealized.quantize(_FEE_QUANTUM)),
        "unrealized_plpc": text((unrealized / cost).quantize(_PRICE_QUANTUM)) if cost else "0",
        "unrealized_intraday_pl": text((value - intraday_base).quantize(_FEE_QUANTUM))
        if prior
        else text(unrealized.quantize(_FEE_QUANTUM)),
        "unrealized_intraday_plpc": text(
            ((value - intraday_base) / abs(intraday_base)).quantize(_PRICE_QUANTUM)
        )
        if prior
        else "0",
        "current_price": text(price),
        "lastday_price": text(prior),
        "change_today": text((price / prior - 1).quantize(_PRICE_QUANTUM)) if prior else "0",
    }


BROKER = web.AppKey("tradecore.sim.trading.broker", PaperAccount)
"""Where :func:`install` leaves the broker in the application."""

_EXCHANGES = frozenset({"AMEX", "ARCA", "BATS", "NYSE", "NASDAQ", "NYSEARCA", "OTC"})


def account_json(broker: PaperAccount) -> dict[str, Any]:
    """The Alpaca account object (protocols.md 2.5)."""
    long_value, short_value = broker.market_values()
    equity = broker.cash + long_value + short_value
    buying_power = text(broker.buying_power().quantize(_FEE_QUANTUM))
    margin = long_value - short_value
    return {
        "id": broker.account_id,
        "account_number": "PA" + broker.account_id.replace("-", "")[:10].upper(),
        "status": "ACTIVE",
        "crypto_status": "INACTIVE",
        "currency": "USD",
        "cash": text(broker.cash.quantize(_FEE_QUANTUM)),
        "buying_power": buying_power,
        "regt_buying_power": buying_power,
        "daytrading_buying_power": buying_power if broker.config.multiplier == 4 else "0",
        "non_marginable_buying_power": text(
            max(_ZERO, min(broker.cash, broker.buying_power())).quantize(_FEE_QUANTUM)
        ),
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "portfolio_value": text(equity.quantize(_FEE_QUANTUM)),
        "equity": text(equity.quantize(_FEE_QUANTUM)),
        "last_equity": text(broker.last_equity),
        "long_market_value": text(long_value.quantize(_FEE_QUANTUM)),
        "short_market_value": text(short_value.quantize(_FEE_QUANTUM)),
        "initial_margin": text(margin.quantize(_FEE_QUANTUM)),
        "maintenance_margin": text(margin.quantize(_FEE_QUANTUM)),
        "last_maintenance_margin": "0",
        "sma": "0",
        "multiplier": str(broker.config.multiplier),
        "pattern_day_trader": False,
        "daytrade_count": 0,
        "shorting_enabled": broker.config.shorting_enabled,
        "trading_blocked": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "trade_suspended_by_user": False,
        "created_at": iso(broker.created_at),
    }


def clock_json(now: int) -> dict[str, Any]:
    """The Alpaca clock object at ``now`` (regular session; New York offsets)."""
    start, end = session_window(now, extended=False)
    is_open = start <= now
    next_open = session_window(end, extended=False)[0] if is_open else start
    return {
        "timestamp": _iso_new_york(now),
        "is_open": is_open,
        "next_open": _iso_new_york(next_open),
        "next_close": _iso_new_york(end),
    }


# --- HTTP ---------------------------------------------------------------------------------


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Api:
    """The HTTP face of a broker: authenticate, parse, call, convert."""

    def __init__(self, broker: PaperAccount, keys: Mapping[str, str] | None) -> None:
        self.broker = broker
        self.keys = dict(keys) if keys is not None else None
        self.sockets: set[web.WebSocketResponse] = set()

    def authorized(self, key_id: str | None, secret_key: str | None) -> bool:
        if self.keys is None:
            return True
        return key_id is not None and self.keys.get(key_id) == secret_key

    def guarded(self, handler: Handler) -> Handler:
        """Wrap a handler: key check, protocol errors as JSON, and no crash on anything."""

        async def wrapper(request: web.Request) -> web.StreamResponse:
            headers = request.headers
            if not self.authorized(
                headers.get("APCA-API-KEY-ID"), headers.get("APCA-API-SECRET-KEY")
            ):
                return _error(401, _CODE_UNAUTHORIZED, "unauthorized")
            try:
                return await handler(request)
            except TradingError as error:
                return _error(error.status, error.code, error.message)
            except web.HTTPException:
                raise
            except Exception:  # noqa: BLE001 - the server must outlive any bug here
                _log.exception("trading request %s %s failed", request.method, request.path)
                return _error(500, 50010000, "internal server error")

        return wrapper

    # --- parsing --------------------------------------------------------------------------

    @staticmethod
    async def body(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            raw = await request.read()
            document = json.loads(raw) if raw.strip() else {}
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise TradingError(400, _CODE_BAD_REQUEST, "request body format is invalid") from None
        if not isinstance(document, dict):
            raise TradingError(400, _CODE_BAD_REQUEST, "request body format is invalid")
        return document

    @staticmethod
    def string(document: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
        value = document.get(name)
        if value is None or value == "":
            if required:
                raise _unprocessable(f"{name} is required")
            return None
        if not isinstance(value, str):
            raise _unprocessable(f"invalid {name}")
        return value

    @staticmethod
    def time_query(query: Mapping[str, str], name: str) -> int | None:
        value = query.get(name)
        if not value:
            return None
        try:
            return parse_query_time(value)
        except ValueError:
            raise _unprocessable(f"invalid {name} {value}") from None

    # --- handlers -------------------------------------------------------------------------

    async def get_account(self, request: web.Request) -> web.Response:
        return web.json_response(account_json(self.broker))

    async def get_clock(self, request: web.Request) -> web.Response:
        return web.json_response(clock_json(self.broker.now()))

    async def post_order(self, request: web.Request) -> web.Response:
        document = await self.body(request)
        order_class = document.get("order_class")
        if order_class not in (None, "", "simple"):
            raise _unprocessable(f"order_class {order_class} is not supported by the simulator")
        extended = document.get("extended_hours", False)
        if extended is None:
            extended = False
        if not isinstance(extended, bool):
            raise _unprocessable("invalid extended_hours")
        symbol = self.string(document, "symbol", required=True)
        assert symbol is not None
        order = self.broker.submit(
            OrderRequest(
                symbol=symbol.upper(),
                side=self.string(document, "side", required=True) or "",
                type=self.string(document, "type", required=True) or "",
                time_in_force=self.string(document, "time_in_force", required=True) or "",
                qty=parse_decimal("qty", document.get("qty")),
                notional=parse_decimal("notional", document.get("notional")),
                limit_price=parse_decimal("limit_price", document.get("limit_price")),
                stop_price=parse_decimal("stop_price", document.get("stop_price")),
                extended_hours=extended,
                client_order_id=self.string(document, "client_order_id"),
            )
        )
        return web.json_response(order_json(order))

    async def get_orders(self, request: web.Request) -> web.Response:
        query = request.query
        status = query.get("status", "open")
        if status not in ("open", "closed", "all"):
            raise _unprocessable(f"invalid status {status}")
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            raise _unprocessable("invalid limit") from None
        if not 0 < limit <= 500:
            raise _unprocessable("limit must be between 1 and 500")
        direction = query.get("direction", "desc")
        if direction not in ("asc", "desc"):
            raise _unprocessable(f"invalid direction {direction}")
        side = query.get("side")
        if side is not None and side not in _SIDES:
            raise _unprocessable(f"invalid side {side}")
        after = self.time_query(query, "after")
        until = self.time_query(query, "until")
        symbols = {s.strip().upper() for s in query.get("symbols", "").split(",") if s.strip()}
        selected = [
            order
            for order in self.broker.orders()
            if (status == "all" or (status == "open") == order.open)
            and (after is None or order.submitted_at > after)
            and (until is None or order.submitted_at < until)
            and (not symbols or order.symbol in symbols)
            and (side is None or order.side == side)
        ]
        selected.sort(key=lambda o: (o.submitted_at, o.sequence), reverse=direction == "desc")
        return web.json_response([order_json(o) for o in selected[:limit]])

    async def get_order(self, request: web.Request) -> web.Response:
        return web.json_response(order_json(self.broker.order(request.match_info["order_id"])))

    async def get_order_by_client_id(self, request: web.Request) -> web.Response:
        client_order_id = request.query.get("client_order_id")
        if not client_order_id:
            raise _unprocessable("client_order_id is required")
        return web.json_response(order_json(self.broker.order_by_client_id(client_order_id)))

    async def patch_order(self, request: web.Request) -> web.Response:
        document = await self.body(request)
        time_in_force = self.string(document, "time_in_force")
        order = self.broker.replace(
            request.match_info["order_id"],
            qty=parse_decimal("qty", document.get("qty")),
            limit_price=parse_decimal("limit_price", document.get("limit_price")),
            stop_price=parse_decimal("stop_price", document.get("stop_price")),
            time_in_force=time_in_force,
            client_order_id=self.string(document, "client_order_id"),
        )
        return web.json_response(order_json(order))

    async def delete_order(self, request: web.Request) -> web.Response:
        self.broker.cancel(request.match_info["order_id"])
        return web.Response(status=204)

    async def delete_orders(self, request: web.Request) -> web.Response:
        results = self.broker.cancel_all()
        return web.json_response(
            [{"id": o.id, "status": status, "body": order_json(o)} for o, status in results],
            status=207,
        )

    def _position(self, symbol_or_id: str) -> tuple[str, _Position]:
        positions = self.broker.positions()
        symbol = symbol_or_id.upper()
        if symbol not in positions:
            matches = [s for s in positions if asset_id(s) == symbol_or_id.lower()]
            if not matches:
                raise _not_found("position does not exist")
            symbol = matches[0]
        return symbol, positions[symbol]

    async def get_positions(self, request: web.Request) -> web.Response:
        return web.json_response(
            [position_json(self.broker, s, p) for s, p in sorted(self.broker.positions().items())]
        )

    async def get_position(self, request: web.Request) -> web.Response:
        symbol, position = self._position(request.match_info["symbol"])
        return web.json_response(position_json(self.broker, symbol, position))

    def _close(self, symbol: str, position: _Position, query: Mapping[str, str]) -> _Order:
        qty = parse_decimal("qty", query.get("qty"))
        percentage = parse_decimal("percentage", query.get("percentage"))
        if qty is not None and percentage is not None:
            raise _unprocessable("qty and percentage are mutually exclusive")
        whole = abs(position.qty)
        if percentage is not None:
            if not 0 < percentage <= 100:
                raise _unprocessable("percentage must be between 0 and 100")
            qty = (whole * percentage / 100).quantize(_QTY_QUANTUM, rounding=ROUND_DOWN)
        if qty is None:
            qty = whole
        if not 0 < qty <= whole:
            raise _unprocessable(f"invalid qty {text(qty)}: the position holds {text(whole)}")
        return self.broker.submit(
            OrderRequest(
                symbol=symbol,
                side="sell" if position.qty > 0 else "buy",
                type="market",
                time_in_force="day",
                qty=qty,
            )
        )

    async def delete_position(self, request: web.Request) -> web.Response:
        symbol, position = self._position(request.match_info["symbol"])
        return web.json_response(order_json(self._close(symbol, position, request.query)))

    async def delete_positions(self, request: web.Request) -> web.Response:
        if request.query.get("cancel_orders", "false").lower() == "true":
            self.broker.cancel_all()
        results = []
        for symbol, position in sorted(self.broker.positions().items()):
            try:
                order = self._close(symbol, position, {})
                results.append(
                    {
                        "order_id": order.id,
                        "status": 200,
                        "symbol": symbol,
                        "body": order_json(order),
                    }
                )
            except TradingError as error:
                results.append(
                    {
                        "status": error.status,
                        "symbol": symbol,
                        "body": {"code": error.code, "message": error.message, "symbol": symbol},
                    }
                )
        return web.json_response(results, status=207)

    # --- trade_updates stream -------------------------------------------------------------

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """The trade updates WebSocket (protocols.md 2.7): the client speaks first."""
        socket = web.WebSocketResponse(heartbeat=30.0, max_msg_size=64 * 1024)
        await socket.prepare(request)
        binary_msgpack = request.headers.get("Content-Type", "").lower() == "application/msgpack"
        self.sockets.add(socket)
        authorized = False
        subscriber: _Subscriber | None = None
        writer: asyncio.Task[None] | None = None

        async def send(message: Mapping[str, Any]) -> None:
            if binary_msgpack:
                await socket.send_bytes(msgpack.packb(message))
            else:  # Alpaca paper sends JSON in binary frames
                await socket.send_bytes(json.dumps(message, separators=(",", ":")).encode())

        async def forward(source: _Subscriber) -> None:
            while True:
                message = await source.queue.get()
                if message is None:
                    await socket.close(code=1008, message=b"too slow: trade updates dropped")
                    return
                await send(message)

        try:
            async for frame in socket:
                if frame.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                try:
                    if frame.type == WSMsgType.BINARY and binary_msgpack:
                        message = msgpack.unpackb(frame.data)
                    else:
                        message = json.loads(frame.data)
                    action = message.get("action")
                    data = message.get("data") or {}
                    if not isinstance(data, dict):
                        raise ValueError("data is not an object")  # noqa: TRY004 - caught below
                except Exception:  # noqa: BLE001 - the server must outlive any bug here
                    await send({"stream": "error", "data": {"error_message": "invalid message"}})
                    continue
                if action in ("authenticate", "auth"):
                    authorized = self.authorized(data.get("key_id"), data.get("secret_key"))
                    status = "authorized" if authorized else "unauthorized"
                    await send(
                        {
                            "stream": "authorization",
                            "data": {"status": status, "action": "authenticate"},
                        }
                    )
                elif action == "listen":
                    if not authorized:
                        await send(
                            {
                                "stream": "authorization",
                                "data": {"status": "unauthorized", "action": "listen"},
                            }
                        )
                        continue
                    streams = data.get("streams")
                    wanted = (
                        [s for s in streams if s == "trade_updates"]
                        if isinstance(streams, list)
                        else []
                    )
                    if wanted and subscriber is None:
                        subscriber = self.broker.subscribe()
                        writer = start_task(forward(subscriber), "trade-updates-writer", log=_log)
                    elif not wanted and subscriber is not None:
                        self.broker.unsubscribe(subscriber)
                        subscriber = None
                        if writer is not None:
                            writer.cancel()
                            writer = None
                    await send({"stream": "listening", "data": {"streams": wanted}})
                else:
                    await send(
                        {
                            "stream": "error",
                            "data": {"error_message": f"unrecognized action: {action}"},
                        }
                    )
        except ConnectionError:
            pass
        finally:
            if subscriber is not None:
                self.broker.unsubscribe(subscriber)
            if writer is not None:
                writer.cancel()
            self.sockets.discard(socket)
        return socket


def install(
    app: web.Application,
    market: Market,
    *,
    keys: Mapping[str, str] | None = None,
    fill_model: Any = None,
    starting_cash: float | str | Decimal = 100_000,
    config: TradingConfig | None = None,
) -> PaperAccount:
    """Mount the paper-trading endpoints for ``market`` on ``app`` and return the broker.

    Routes: ``/v2/account``, ``/v2/clock``, ``/v2/orders`` (GET, POST, DELETE),
    ``/v2/orders/{id}`` (GET, PATCH, DELETE), ``/v2/orders:by_client_order_id``,
    ``/v2/positions`` (GET, DELETE), ``/v2/positions/{symbol}`` (GET, DELETE) and the
    ``trade_updates`` WebSocket at ``/stream``. ``/v2/assets`` belongs to the market's REST.

    Parameters
    ----------
    keys
        Accepted ``key_id -> secret_key`` pairs; None accepts any credentials.
    fill_model
        A ``tradecore._core.engine.FillModel``; the default fills at the touch without fees.
    starting_cash
        Dollars (ignored when ``config`` is given).
    config
        All account rules; overrides ``starting_cash``.
    """
    if config is None:
        config = TradingConfig(starting_cash=Decimal(str(starting_cash)))
    broker = PaperAccount(market, fill_model=fill_model, config=config)
    api = _Api(broker, keys)
    guarded = api.guarded
    app.router.add_get("/v2/account", guarded(api.get_account))
    app.router.add_get("/v2/clock", guarded(api.get_clock))
    app.router.add_get("/v2/orders:by_client_order_id", guarded(api.get_order_by_client_id))
    app.router.add_get("/v2/orders", guarded(api.get_orders))
    app.router.add_post("/v2/orders", guarded(api.post_order))
    app.router.add_delete("/v2/orders", guarded(api.delete_orders))
    app.router.add_get("/v2/orders/{order_id}", guarded(api.get_order))
    app.router.add_patch("/v2/orders/{order_id}", guarded(api.patch_order))
    app.router.add_delete("/v2/orders/{order_id}", guarded(api.delete_order))
    app.router.add_get("/v2/positions", guarded(api.get_positions))
    app.router.add_delete("/v2/positions", guarded(api.delete_positions))
    app.router.add_get("/v2/positions/{symbol}", guarded(api.get_position))
    app.router.add_delete("/v2/positions/{symbol}", guarded(api.delete_position))
    app.router.add_get("/stream", api.stream)
    broker.attach()
    clock: list[asyncio.Task[None]] = []

    async def started(_: web.Application) -> None:
        clock.append(start_task(broker.run_clock(), "paper-broker-clock", log=_log))

    async def shutting_down(_: web.Application) -> None:
        for socket in list(api.sockets):
            await socket.close(code=1001, message=b"server shutdown")

    async def cleaned_up(_: web.Application) -> None:
        broker.detach()
        for task in clock:
            task.cancel()
        await asyncio.gather(*clock, return_exceptions=True)

    app.on_startup.append(started)
    app.on_shutdown.append(shutting_down)
    app.on_cleanup.append(cleaned_up)
    app[BROKER] = broker
    return broker
