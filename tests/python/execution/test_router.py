"""OrderRouter: sizing modes, lot rounding, extended-hours rules, client order ids."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D

import numpy as np
import pytest
from helpers_execution import NY, PREMARKET, REGULAR, intent, ny
from tradecore import schema
from tradecore.execution.events import IntentRejected, OrderRouted
from tradecore.execution.market import MarketSnapshot
from tradecore.execution.router import (
    OrderRouter,
    RouterConfig,
    TradeIntent,
    parse_client_order_id,
    session_at,
)
from tradecore.schema import OrderType, Session, Side, Sizing, TimeInForce

BOOK = MarketSnapshot("ABC", bid=D("4.98"), ask=D("5.00"), last=D("4.99"))


def router(config: RouterConfig | None = None, held: str = "0", equity: str = "100000") -> OrderRouter:
    return OrderRouter(config, position=lambda s: D(held), equity=lambda: D(equity))


def routed(outcome: object) -> OrderRouted:
    assert isinstance(outcome, OrderRouted), outcome
    return outcome


@pytest.mark.parametrize(
    ("sizing", "quantity", "extra", "shares"),
    [
        (Sizing.SHARES, "150", {}, 150),
        (Sizing.NOTIONAL, "1000", {"reference": "3.30"}, 303),  # floor(1000 / 3.30)
        (Sizing.PERCENT_EQUITY, "0.1", {"reference": "7.00"}, 1428),  # floor(10% of 100k / 7)
        (Sizing.RISK_PER_TRADE, "200", {"reference": "5.00", "stop": "4.70"}, 666),  # 200/0.30
    ],
)
def test_sizing_modes(sizing: Sizing, quantity: str, extra: dict[str, str], shares: int) -> None:
    order = routed(router().route(intent(sizing=sizing, quantity=quantity, **extra), BOOK)).order
    assert order.qty == shares and order.side == Side.BUY and order.type == OrderType.MARKET
    assert not order.extended_hours and order.reason


def test_notional_limit_order_sizes_on_the_limit_price() -> None:
    order = routed(router().route(intent(order_type=OrderType.LIMIT, sizing=Sizing.NOTIONAL,
                                         quantity="1000", limit="4.00", reference="5"), BOOK)).order
    assert order.qty == 250 and order.limit_price == D("4.00")


def test_close_position_takes_the_tracked_size_and_the_reducing_side() -> None:
    order = routed(router(held="-37").route(intent(sizing=Sizing.CLOSE_POSITION, side=Side.SELL,
                                                   quantity=0), BOOK)).order
    assert order.side == Side.BUY and order.qty == 37
    rejected = router(held="0").route(intent(sizing=Sizing.CLOSE_POSITION, quantity=0), BOOK)
    assert isinstance(rejected, IntentRejected) and rejected.rule == "nothing_to_close"


def test_lots_round_down_and_zero_is_rejected_with_reason() -> None:
    r = router(RouterConfig(lot_size=D(100)))
    order = routed(r.route(intent(quantity="250"), BOOK)).order
    assert order.qty == 200 and "rounded down to 200" in order.reason
    rejected = r.route(intent(quantity="99"), BOOK)
    assert isinstance(rejected, IntentRejected) and rejected.rule == "zero_size"


def test_risk_per_trade_without_stop_is_rejected() -> None:
    rejected = router().route(intent(sizing=Sizing.RISK_PER_TRADE, quantity="100",
                                     reference="5"), BOOK)
    assert isinstance(rejected, IntentRejected) and rejected.rule == "no_stop"


def test_premarket_market_buy_becomes_marketable_limit_at_ask_plus_offset() -> None:
    order = routed(router().route(intent(ts=PREMARKET), BOOK)).order
    # 0.5 % of 5.00 = 0.025 > minimum 0.02; rounded up to the cent: 5.03
    assert order.type == OrderType.LIMIT and order.limit_price == D("5.03")
    assert order.extended_hours and order.time_in_force == TimeInForce.DAY
    assert "marketable limit 5.03 = ask 5.00 + 0.025" in order.reason


def test_after_hours_market_sell_is_priced_below_the_bid_with_the_minimum_offset() -> None:
    book = MarketSnapshot("ABC", bid=D("2.00"), ask=D("2.02"))
    order = routed(router().route(intent(side=Side.SELL, ts=ny(17, 0)), book)).order
    assert order.limit_price == D("1.98") and order.extended_hours


def test_extended_hours_reject_policy_and_stops_and_missing_quote() -> None:
    rejected = router(RouterConfig(extended_hours="reject")).route(intent(ts=PREMARKET), BOOK)
    assert isinstance(rejected, IntentRejected) and rejected.rule == "extended_hours"
    stop = router().route(intent(order_type=OrderType.STOP, stop="5.5", ts=PREMARKET), BOOK)
    assert isinstance(stop, IntentRejected) and "stop orders" in stop.reason
    no_quote = router().route(intent(ts=PREMARKET), MarketSnapshot("ABC"))
    assert isinstance(no_quote, IntentRejected) and no_quote.rule == "no_quote"
    night = router().route(intent(ts=ny(21, 0)), BOOK)
    assert isinstance(night, IntentRejected) and night.rule == "market_closed"


def test_premarket_limit_is_sent_extended_day_and_prices_round_to_the_venue_increment() -> None:
    order = routed(router(RouterConfig(time_in_force=TimeInForce.GTC)).route(
        intent(order_type=OrderType.LIMIT, limit="5.019", ts=PREMARKET), BOOK)).order
    assert order.extended_hours and order.time_in_force == TimeInForce.DAY
    assert order.limit_price == D("5.01")  # buy limits round down
    sub_dollar = routed(router().route(intent(order_type=OrderType.LIMIT, limit="0.123456"),
                                       BOOK)).order
    assert sub_dollar.limit_price == D("0.1234")


def test_client_order_ids_carry_strategy_rule_and_transition_and_are_unique() -> None:
    r = router()
    first = routed(r.route(intent(strategy_id=3, rule=9, transition=17), BOOK)).order
    second = routed(r.route(intent(strategy_id=3, rule=9, transition=17), BOOK)).order
    assert first.client_order_id != second.client_order_id
    ref = parse_client_order_id(first.client_order_id)
    assert ref is not None and (ref.strategy_id, ref.rule, ref.transition) == (3, 9, 17)
    assert first.intent is not None and first.intent.transition == 17


def test_intent_from_native_row() -> None:
    row = schema.empty(schema.TRADE_INTENT, 1)[0]
    row["ts_event"], row["quantity"], row["reference_price"] = REGULAR, 0.25, 3.1
    row["side"], row["order_type"], row["sizing"] = 2, 1, int(Sizing.PERCENT_EQUITY)
    row["limit_price"], row["strategy_id"], row["rule"], row["transition"] = 3.05, 2, 4, 11
    it = TradeIntent.from_row(row, "abc")
    assert it.symbol == "ABC" and it.quantity == D("0.25") and it.limit_price == D("3.05")
    assert it.stop_price is None and it.side == Side.SELL and it.sizing == Sizing.PERCENT_EQUITY
    assert isinstance(row, np.void)


def test_sessions_in_new_york_time() -> None:
    assert session_at(ny(9, 29, 59)) == Session.PREMARKET
    assert session_at(ny(9, 30)) == Session.REGULAR
    assert session_at(ny(16, 0)) == Session.AFTER_HOURS
    assert session_at(ny(3, 59)) == Session.OVERNIGHT
    assert session_at(ny(10, 0, day=6)) == Session.NONE  # a Saturday
    assert session_at(REGULAR) == Session.REGULAR


def test_sessions_follow_the_calendar_on_an_early_close_day() -> None:
    from tradecore.sim.trading import session_window

    friday = int(datetime(2025, 11, 28, 14, 0, tzinfo=NY).timestamp()) * 1_000_000_000  # after Thanksgiving
    assert session_at(friday) == Session.AFTER_HOURS  # the regular session ended at 13:00
    start, end = session_window(friday - 2 * 3_600 * 1_000_000_000, extended=False)  # at noon
    assert end == int(datetime(2025, 11, 28, 13, 0, tzinfo=NY).timestamp()) * 1_000_000_000
    _, extended_end = session_window(friday, extended=True)
    assert extended_end == int(datetime(2025, 11, 28, 17, 0, tzinfo=NY).timestamp()) * 1_000_000_000


def test_session_at_agrees_with_the_calendar_at_every_boundary() -> None:
    """session_at looks a minute up once: around every session change, day change, weekend,
    early close and DST change it says what the calendar says for the exact instant (to the
    nanosecond: the weekday of whole seconds, which float seconds would round up near midnight)."""
    from tradecore.calendar import session_of

    def exact(ts: int) -> Session:
        if datetime.fromtimestamp(ts // 10**9, tz=NY).weekday() >= 5:
            return Session.NONE
        return session_of(ts)

    instants = []
    for day in ("2025-03-07", "2025-03-10", "2025-11-28", "2025-11-03", "2025-12-24", "2025-07-05"):
        for hhmm in ("00:00", "04:00", "09:30", "13:00", "16:00", "20:00"):
            base = int(datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=NY).timestamp()) * 10**9
            instants += [base + offset for offset in (-1, 0, 1, -60 * 10**9, 59 * 10**9 + 999_999_999)]
    seen = {session_at(ts) for ts in instants}
    assert len(seen) >= 4  # the instants span the sessions
    assert [session_at(ts) for ts in instants] == [exact(ts) for ts in instants]
