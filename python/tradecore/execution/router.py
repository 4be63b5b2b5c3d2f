"""The order router: a strategy's TradeIntent becomes one OrderRequest, in one place.

Sizing (``TradeIntent.sizing``, see ``cpp/include/tradecore/strategy.hpp``):

============== ============================================================================
SHARES         ``quantity`` shares
NOTIONAL       ``floor(quantity dollars / price)``
PERCENT_EQUITY ``floor(quantity * account equity / price)`` (``quantity`` 0.1 = 10 %)
RISK_PER_TRADE ``floor(quantity dollars / |reference_price - stop_price|)``
CLOSE_POSITION the tracked position's size, on the side that reduces it
============== ============================================================================

``price`` is the intent's limit price for limit orders, else its reference price, else the
ask (buys) / bid (sells). Shares are rounded down to whole lots (``RouterConfig.lot_size``).

Sessions (America/New_York): 09:30-16:00 on weekdays is regular. Outside it, Alpaca only takes
``limit`` + ``day`` orders flagged ``extended_hours`` (protocols.md 2.3), so the router sends
limits as such, and a market intent becomes a marketable limit at ask + offset (bid - offset
to sell), with that said in the order's ``reason`` (policy ``"convert"``), or is rejected
(``"reject"``). Stop orders are rejected outside regular hours. Exchange holidays are not known
here. Limit and stop prices are rounded to the venue increment (cents at $1 or more, 0.01 cent
below) in the order's favour: buys down, sells up; marketable limits the other way so they stay
marketable.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import numpy as np

from tradecore.calendar import session_of
from tradecore.errors import ConfigError
from tradecore.execution.broker import IntentRef, OrderRequest
from tradecore.execution.events import IntentRejected, OrderRouted
from tradecore.execution.market import MarketSnapshot, price, to_decimal
from tradecore.schema import OrderType, Session, Side, Sizing, TimeInForce

__all__ = [
    "EntryGate",
    "OrderRouter",
    "Router",
    "RouterConfig",
    "TradeIntent",
    "parse_client_order_id",
    "plain_rows",
    "session_at",
    "tick_round",
]

NEW_YORK = ZoneInfo("America/New_York")
_ZERO = Decimal(0)


def session_at(ts_ns: int) -> Session:
    """Return the US-equity session at ``ts_ns`` (ns UTC) by :mod:`tradecore.calendar`'s rules
    (early closes included); weekends (New York dates) are ``NONE``."""
    return _session_in_minute(ts_ns // _MINUTE)


_MINUTE = 60 * 10**9


@functools.lru_cache(maxsize=1024)
def _session_in_minute(minute: int) -> Session:
    # Sessions and New York days change on whole minutes (UTC offsets are whole hours): one
    # lookup per minute instead of a time-zone conversion per order.
    ts_ns = minute * _MINUTE
    if datetime.fromtimestamp(minute * 60, tz=NEW_YORK).weekday() >= 5:
        return Session.NONE
    return session_of(ts_ns)


def tick_round(value: Decimal, *, up: bool) -> Decimal:
    """Round a price to the venue increment: $0.01 at $1 or more, $0.0001 below."""
    step = Decimal("0.01") if value >= 1 else Decimal("0.0001")
    return value.quantize(step, rounding=ROUND_CEILING if up else ROUND_FLOOR)


def plain_rows(rows: np.ndarray) -> list[dict[str, Any]]:
    """Each row of a structured array as a dict of plain Python values, converted in one call
    (a NumPy row's fields are slow to read one by one)."""
    names = rows.dtype.names or ()
    return [dict(zip(names, values)) for values in rows.tolist()]


_MEMBERS = {kind: {int(member): member for member in kind} for kind in (Side, OrderType, Sizing)}


def _member(kind: type[Side | OrderType | Sizing], value: object) -> Any:
    """``kind(int(value))`` by a dict lookup (an Enum call costs a microsecond)."""
    number = int(value)  # type: ignore[call-overload]
    found = _MEMBERS[kind].get(number)
    return found if found is not None else kind(number)


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeIntent:
    """A strategy's intent (one ``TRADE_INTENT`` row) with its symbol, prices as Decimals."""

    symbol: str
    side: Side
    order_type: OrderType
    sizing: Sizing
    quantity: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    reference_price: Decimal | None = None
    strategy_id: int = 0
    rule: int = 0
    transition: int = 0xFFFFFFFF
    ts_event: int = 0

    @classmethod
    def from_row(cls, row: np.void | Mapping[str, Any], symbol: str) -> TradeIntent:
        """Build from one ``schema.TRADE_INTENT`` row (prices of 0 mean absent)."""
        def opt(name: str) -> Decimal | None:
            value = float(row[name])
            return price(value) if value > 0 else None

        return cls(symbol=symbol.upper(), side=_member(Side, row["side"]),
                   order_type=_member(OrderType, row["order_type"]), sizing=_member(Sizing, row["sizing"]),
                   quantity=price(float(row["quantity"])), limit_price=opt("limit_price"),
                   stop_price=opt("stop_price"), reference_price=opt("reference_price"),
                   strategy_id=int(row["strategy_id"]), rule=int(row["rule"]),
                   transition=int(row["transition"]), ts_event=int(row["ts_event"]))

    @classmethod
    def from_array(cls, rows: np.ndarray, symbol: str) -> list[TradeIntent]:
        return [cls.from_row(row, symbol) for row in plain_rows(rows)]

    @property
    def ref(self) -> IntentRef:
        return IntentRef(self.strategy_id, self.rule, self.transition, self.ts_event)


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterConfig:
    """How intents become orders.

    Attributes
    ----------
    lot_size
        Shares are rounded down to a multiple of this (default 1 share).
    time_in_force
        TIF of the orders (default DAY; extended-hours orders are always DAY).
    extended_hours
        Outside regular hours: ``"convert"`` market intents to marketable limits (default) or
        ``"reject"`` them. Limit intents are always sent as extended-hours limits.
    marketable_offset_percent
        Marketable limit = ask * (1 + this / 100), at least ``marketable_offset_minimum``
        dollars above the ask (mirrored below the bid to sell). Default 0.5 %.
    marketable_offset_minimum
        Dollars, default 0.02.
    allow_overnight
        Route in the 20:00-04:00 session and on weekends (default False: rejected).
    client_order_id_prefix
        Start of every client order id (default ``"tc"``, alphanumeric). With a real broker use
        one per run (e.g. ``"tc" + run id``): Alpaca refuses a ``client_order_id`` it has seen
        before, and the sequence restarts at 1 in every process.
    """

    lot_size: Decimal = Decimal(1)
    time_in_force: TimeInForce = TimeInForce.DAY
    extended_hours: Literal["convert", "reject"] = "convert"
    marketable_offset_percent: Decimal = Decimal("0.5")
    marketable_offset_minimum: Decimal = Decimal("0.02")
    allow_overnight: bool = False
    client_order_id_prefix: str = "tc"

    def __post_init__(self) -> None:
        for name in ("lot_size", "marketable_offset_percent", "marketable_offset_minimum"):
            object.__setattr__(self, name, to_decimal(getattr(self, name)))
        if self.lot_size <= 0:
            raise ConfigError("lot_size must be > 0 shares")
        if self.marketable_offset_percent < 0 or self.marketable_offset_minimum < 0:
            raise ConfigError("marketable limit offsets must be >= 0")
        if self.extended_hours not in ("convert", "reject"):
            raise ConfigError("extended_hours must be 'convert' or 'reject'")
        if not self.client_order_id_prefix.isalnum():
            raise ConfigError("client_order_id_prefix must be alphanumeric")
        if not isinstance(self.time_in_force, TimeInForce):  # a config file names it
            try:
                object.__setattr__(self, "time_in_force", TimeInForce[str(self.time_in_force).upper()])
            except KeyError:
                raise ConfigError(f"time_in_force must be one of {[t.name.lower() for t in TimeInForce]}, "
                                  f"not {self.time_in_force!r}") from None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RouterConfig:
        """Build from a config file's table; unknown keys are a :class:`ConfigError`."""
        from tradecore.execution.risk import _from_mapping

        return _from_mapping(cls, values)


def parse_client_order_id(client_order_id: str) -> IntentRef | None:
    """Return the intent reference encoded by :class:`OrderRouter`, or ``None``.

    Format: ``<prefix>-<strategy_id>-<rule>-<transition|x>-<sequence>``.
    """
    parts = client_order_id.split("-")
    if len(parts) != 5:
        return None
    try:
        transition = 0xFFFFFFFF if parts[3] == "x" else int(parts[3])
        return IntentRef(int(parts[1]), int(parts[2]), transition)
    except ValueError:
        return None


Outcome = OrderRouted | IntentRejected


class Router(Protocol):
    """What the execution pipeline asks of a router (an :class:`OrderRouter`, or a wrapper
    that refuses some intents first, e.g. :class:`tradecore.health.EntryGate`)."""

    def route(self, intent: TradeIntent, market: MarketSnapshot, *, now: int | None = None
              ) -> Outcome: ...

    def closing_order(self, symbol: str, market: MarketSnapshot, *, now: int, rule: int = 0,
                      reason: str = "") -> Outcome: ...


class OrderRouter:
    """Turn intents into orders.

    Parameters
    ----------
    config
        :class:`RouterConfig`.
    position
        ``position(symbol) -> signed shares`` held (for CLOSE_POSITION).
    equity
        ``equity() -> dollars`` (for PERCENT_EQUITY).
    """

    def __init__(self, config: RouterConfig | None = None, *,
                 position: Callable[[str], Decimal], equity: Callable[[], Decimal]) -> None:
        self.config = config or RouterConfig()
        self._position = position
        self._equity = equity
        self._sequence = itertools.count(1)

    def route(self, intent: TradeIntent, market: MarketSnapshot, *, now: int | None = None
              ) -> Outcome:
        """Return the order for ``intent`` (:class:`OrderRouted`) or why not (:class:`IntentRejected`).

        ``market`` is the symbol's latest snapshot; ``now`` (ns UTC) decides the session
        (default: the intent's time).
        """
        now = intent.ts_event if now is None else now
        notes: list[str] = []

        def reject(rule: str, reason: str, **values: object) -> IntentRejected:
            return IntentRejected(ts_event=now, symbol=intent.symbol, intent=intent.ref, rule=rule,
                                  reason=reason, values={k: str(v) for k, v in values.items()})

        side = intent.side
        order_type = intent.order_type
        # -- sizing ---------------------------------------------------------------------------
        if intent.sizing == Sizing.CLOSE_POSITION:
            held = self._position(intent.symbol)
            if held == 0:
                return reject("nothing_to_close", "no position to close", position_shares=held)
            side = Side.SELL if held > 0 else Side.BUY
            shares = abs(held)
            notes.append(f"close {held} shares")
        else:
            sizing_price = self._sizing_price(intent, market)
            try:
                shares, note = self._shares(intent, sizing_price)
            except _Reject as exc:
                return reject(exc.rule, exc.reason, **exc.values)
            notes.append(note)
        lots = (shares / self.config.lot_size).to_integral_value(rounding=ROUND_FLOOR)
        if lots * self.config.lot_size != shares:
            notes.append(f"rounded down to {lots * self.config.lot_size} ({self.config.lot_size}-share lots)")
        shares = lots * self.config.lot_size
        if shares <= 0:
            return reject("zero_size", "the intent sizes to zero shares",
                          sizing=intent.sizing.name, quantity=intent.quantity)
        # -- prices and session ---------------------------------------------------------------
        limit = intent.limit_price if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
        stop = intent.stop_price if order_type in (OrderType.STOP, OrderType.STOP_LIMIT) else None
        if limit is not None:
            limit = tick_round(limit, up=side == Side.SELL)
        if stop is not None:
            stop = tick_round(stop, up=side == Side.BUY)
        if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and limit is None:
            return reject("missing_price", f"a {order_type.name} intent needs a limit price")
        if order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and stop is None:
            return reject("missing_price", f"a {order_type.name} intent needs a stop price")
        session = session_at(now)
        extended = False
        tif = self.config.time_in_force
        if session != Session.REGULAR:
            if session in (Session.OVERNIGHT, Session.NONE) and not self.config.allow_overnight:
                return reject("market_closed", f"no routing in the {session.name.lower()} session",
                              session=session.name)
            if order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
                return reject("extended_hours", "stop orders are not eligible outside regular hours",
                              session=session.name, order_type=order_type.name)
            if order_type == OrderType.MARKET:
                if self.config.extended_hours == "reject":
                    return reject("extended_hours", "market orders are not eligible outside regular "
                                  "hours", session=session.name)
                touch = market.ask if side == Side.BUY else market.bid
                if touch is None:
                    return reject("no_quote", "no NBBO to price a marketable limit",
                                  session=session.name)
                offset = max(touch * self.config.marketable_offset_percent / 100,
                             self.config.marketable_offset_minimum)
                limit = tick_round(touch + offset if side == Side.BUY else touch - offset,
                                   up=side == Side.BUY)
                if limit <= 0:
                    return reject("no_quote", "the marketable limit would be <= 0", bid=touch)
                order_type = OrderType.LIMIT
                notes.append(f"market intent sent as marketable limit {limit} = "
                             f"{'ask' if side == Side.BUY else 'bid'} {touch} "
                             f"{'+' if side == Side.BUY else '-'} {offset} ({session.name.lower()})")
            extended = True
            tif = TimeInForce.DAY
        order = OrderRequest(
            client_order_id=self._client_order_id(intent), symbol=intent.symbol, side=side,
            type=order_type, qty=shares, limit_price=limit, stop_price=stop, time_in_force=tif,
            extended_hours=extended, intent=intent.ref, reason="; ".join(notes), ts_created=now)
        return OrderRouted(ts_event=now, order=order)

    def closing_order(self, symbol: str, market: MarketSnapshot, *, now: int, rule: int = 0,
                      reason: str = "") -> Outcome:
        """Return the order that flattens ``symbol`` (a market CLOSE_POSITION intent)."""
        intent = TradeIntent(symbol=symbol, side=Side.SELL, order_type=OrderType.MARKET,
                             sizing=Sizing.CLOSE_POSITION, quantity=_ZERO, strategy_id=0xFFFF,
                             rule=rule, ts_event=now)
        outcome = self.route(intent, market, now=now)
        if isinstance(outcome, OrderRouted) and reason:
            order = replace(outcome.order, reason=f"{reason}; {outcome.order.reason}")
            outcome = OrderRouted(ts_event=now, order=order)
        return outcome

    # -- internals ----------------------------------------------------------------------------

    def _sizing_price(self, intent: TradeIntent, market: MarketSnapshot) -> Decimal | None:
        if intent.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and intent.limit_price:
            return intent.limit_price
        if intent.reference_price:
            return intent.reference_price
        touch = market.ask if intent.side == Side.BUY else market.bid
        return touch if touch is not None else market.last

    def _shares(self, intent: TradeIntent, at: Decimal | None) -> tuple[Decimal, str]:
        return size_shares(intent.sizing, intent.quantity, at, reference=intent.reference_price,
                           stop=intent.stop_price, equity=self._equity)

    def _client_order_id(self, intent: TradeIntent) -> str:
        transition = "x" if intent.transition == 0xFFFFFFFF else str(intent.transition)
        return (f"{self.config.client_order_id_prefix}-{intent.strategy_id}-{intent.rule}-"
                f"{transition}-{next(self._sequence)}")


def size_shares(sizing: Sizing, quantity: Decimal, at: Decimal | None, *, reference: Decimal | None,
                stop: Decimal | None, equity: Callable[[], Decimal]) -> tuple[Decimal, str]:
    """Whole shares for an intent's ``quantity`` under its ``sizing`` (not CLOSE_POSITION), and
    how they were worked out. ``at`` is the sizing price ($), ``reference`` the price the
    strategy saw, ``stop`` its protective stop, ``equity()`` the account's equity ($).

    Raises ``SizingError`` (rule, reason, values) when the sizing cannot be applied.
    """
    q = quantity
    if sizing == Sizing.SHARES:
        return q, f"{q} shares"
    if at is None or at <= 0:
        raise _Reject("no_price", f"{sizing.name} sizing needs a price", sizing=sizing.name)
    if sizing == Sizing.NOTIONAL:
        return (q / at).to_integral_value(ROUND_FLOOR), f"${q} / {at}"
    if sizing == Sizing.PERCENT_EQUITY:
        value = equity()
        return ((q * value) / at).to_integral_value(ROUND_FLOOR), f"{q * 100}% of equity ${value} / {at}"
    if sizing == Sizing.RISK_PER_TRADE:
        reference = reference or at
        if stop is None or stop == reference:
            raise _Reject("no_stop", "RISK_PER_TRADE sizing needs a stop away from the "
                          "reference price", reference=reference, stop=stop)
        distance = abs(reference - stop)
        return (q / distance).to_integral_value(ROUND_FLOOR), f"${q} risk / |{reference} - {stop}|"
    raise _Reject("bad_sizing", f"unknown sizing {sizing!r}")


class _Reject(Exception):
    """Why an intent cannot become an order: ``rule``, ``reason`` and the ``values`` compared."""

    def __init__(self, rule: str, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.rule, self.reason, self.values = rule, reason, values


SizingError = _Reject


class EntryGate:
    """A router that refuses new entries for symbols some rule blocks; exits always route.

    Rules are added with :meth:`add_rule`: ``blocked(symbol)`` returns why the symbol may not
    enter now, or None. An intent that closes or reduces the position routes whatever the
    rules say (risk never stands in the way of getting flat); any other intent for a blocked
    symbol becomes an :class:`IntentRejected` with the rule's name and reason. Used by feed
    health (a stale symbol until it is backfilled) and by a resume (a restored position that
    no strategy owns).
    """

    def __init__(self, router: Router, position: Callable[[str], Decimal]) -> None:
        self.router = router
        self.position = position
        self._rules: list[tuple[str, Callable[[str], str | None]]] = []

    def add_rule(self, rule: str, blocked: Callable[[str], str | None]) -> None:
        self._rules.append((rule, blocked))

    def route(self, intent: TradeIntent, market: MarketSnapshot, *, now: int | None = None
              ) -> Outcome:
        for rule, blocked in self._rules:
            reason = blocked(intent.symbol)
            if reason is not None and not self._exits(intent):
                return IntentRejected(
                    ts_event=intent.ts_event if now is None else now, symbol=intent.symbol,
                    intent=intent.ref, rule=rule, reason=f"{reason}; exits allowed",
                    values={"position_shares": str(self.position(intent.symbol))})
        return self.router.route(intent, market, now=now)

    def closing_order(self, symbol: str, market: MarketSnapshot, *, now: int, rule: int = 0,
                      reason: str = "") -> Outcome:
        return self.router.closing_order(symbol, market, now=now, rule=rule, reason=reason)

    def _exits(self, intent: TradeIntent) -> bool:
        if intent.sizing == Sizing.CLOSE_POSITION:
            return True
        held = self.position(intent.symbol)
        return (held > 0 and intent.side == Side.SELL) or (held < 0 and intent.side == Side.BUY)
