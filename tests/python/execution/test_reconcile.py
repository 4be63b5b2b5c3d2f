"""A resume's reconciliation (tradecore.resume) against the simulator's trading endpoints.

Each test plays a crashed process the way the live pipeline works (the order journaled, then
sent over REST; some of what followed journaled, the rest lost with the process), lets the
broker move on while "down", then resumes with a fresh pipeline, a real AlpacaBroker over
loopback and the same SQLite journal.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest
from aiohttp import web
from helpers_execution import ACME, intent, ny
from tradecore.config import Config
from tradecore.execution import BrokerEventType, OrderRequest
from tradecore.execution.alpaca import AlpacaBroker
from tradecore.journal.journal import Journal
from tradecore.resume import RECONCILED, ResumeReport, reconcile
from tradecore.schema import OrderType, Side
from tradecore.session import RunState
from tradecore.sim.scripted import ScriptedMarket
from tradecore.sim.trading import install

pytestmark = pytest.mark.asyncio

KEY, SECRET = "RESUMEKEY", "RESUMESECRET"
CASH = D(10000)


class Account:
    def __init__(self, market: ScriptedMarket, url: str, journal: Journal) -> None:
        self.market, self.url, self.journal = market, url, journal
        self.resumed: list[AlpacaBroker] = []

    def broker(self, **options: object) -> AlpacaBroker:
        return AlpacaBroker(base_url=self.url, key_id=KEY, secret_key=SECRET, timeout=5.0, **options)  # type: ignore[arg-type]

    async def before_crash(self, cid: str, qty: str, limit: str, *, side: Side = Side.BUY,
                           journaled: bool = True) -> str:
        """What the crashed process did: journal the order (unless ``journaled`` is False: an
        order someone else placed), send it over REST; return the broker's order id."""
        if journaled:
            self.journal.order(self.market.now(), "ACME", cid, side=side.name, quantity=float(qty),
                               order_type="LIMIT", limit_price=float(limit), client_order_id=cid)
        async with self.broker(stream=False) as broker:
            ack = await broker.submit(OrderRequest(client_order_id=cid, symbol="ACME", side=side,
                                                   type=OrderType.LIMIT, qty=D(qty), limit_price=D(limit)))
        return ack.order_id

    async def resume(self) -> tuple[ResumeReport, RunState]:
        config = Config().with_overrides(execution={"broker": "alpaca", "starting_cash": float(CASH)})
        broker = self.broker()
        self.resumed.append(broker)
        state = RunState.create(config, journal=self.journal, broker=broker, order_prefix="tcresumed")
        report = await reconcile(self.journal, state.pipeline, paper=False, now=self.market.now(),
                                 starting_cash=CASH)
        return report, state

    async def broker_positions(self) -> dict[str, D]:
        async with self.broker(stream=False) as broker:
            return {p.symbol: p.qty for p in await broker.positions()}


@contextlib.asynccontextmanager
async def account(tmp_path: Path) -> AsyncIterator[Account]:
    market = ScriptedMarket([ACME], ny(10))
    market.quote("ACME", 10.00, 10.02)
    market.trade("ACME", 10.01)
    app = web.Application()
    install(app, market, keys={KEY: SECRET}, starting_cash=CASH)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        with Journal(tmp_path / "journal.sqlite") as journal:
            a = Account(market, f"http://127.0.0.1:{runner.addresses[0][1]}", journal)
            try:
                yield a
            finally:
                for broker in a.resumed:
                    await broker.close()
    finally:
        await runner.cleanup()


def fills_of(journal: Journal, order_id: str) -> list[float]:
    return [r.data["quantity"] for r in journal.records("fill") if r.order_id == order_id]


def actions(report: ResumeReport) -> list[str]:
    return [f.action for f in report.findings]


async def test_an_order_filled_while_down_is_journaled_once_and_positions_agree(tmp_path: Path) -> None:
    async with account(tmp_path) as a:
        order_id = await a.before_crash("tc1-0-2-1-1", "10", "10.02")  # marketable: fills at once
        report, state = await a.resume()
        assert actions(report) == ["fill_applied"]
        assert fills_of(a.journal, order_id) == [10.0]
        [fill] = [r for r in a.journal.records("fill")]
        assert fill.data["price"] == 10.02 and fill.data["client_order_id"] == "tc1-0-2-1-1"
        assert a.journal.positions()["ACME"].quantity == 10
        assert state.tracker.qty("ACME") == 10 == (await a.broker_positions())["ACME"]
        assert state.tracker.cash == CASH - D("100.20")
        assert a.journal.open_orders() == []
        assert [r.data["action"] for r in a.journal.records("reconciliation")] == actions(report)


async def test_an_order_canceled_while_down_is_closed_in_the_journal(tmp_path: Path) -> None:
    async with account(tmp_path) as a:
        order_id = await a.before_crash("tc1-0-2-1-1", "10", "9.50")  # rests below the market
        assert [o.client_order_id for o in a.journal.open_orders()] == ["tc1-0-2-1-1"]
        async with a.broker(stream=False) as broker:
            await broker.cancel(order_id)
        report, state = await a.resume()
        assert actions(report) == ["update_applied"]
        [update] = a.journal.records("order_update")
        assert update.order_id == order_id and update.data["status"] == "CANCELED"
        assert update.data["reason"].startswith(RECONCILED)
        assert a.journal.open_orders() == [] and fills_of(a.journal, order_id) == []
        assert state.tracker.open_symbols() == [] and report.symbols == []


async def test_a_partial_fill_journaled_before_the_crash_is_not_counted_twice(tmp_path: Path) -> None:
    async with account(tmp_path) as a:
        a.market.quote("ACME", 10.00, 10.02, ask_size=4)
        order_id = await a.before_crash("tc1-0-2-1-1", "10", "10.02")
        async with a.broker(stream=False) as broker:
            assert (await broker.get_order(order_id)).filled_qty == 4
        # The crashed process journaled the first 4 shares (and the position) before dying.
        a.journal.fill("ACME", {"ts_event": a.market.now(), "side": "BUY", "price": 10.02, "quantity": 4},
                       order_id=order_id, client_order_id="tc1-0-2-1-1")
        a.journal.position(a.market.now(), "ACME", quantity=4, average_price=10.02)
        report, state = await a.resume()
        assert actions(report) == []  # nothing new: still open with 4 of 10 at the broker
        assert [o.order_id for o in report.open_orders] == [order_id] and report.symbols == ["ACME"]
        assert [o.broker_order_id for o in a.journal.open_orders()] == [order_id]
        # After the resume the stream reports the rest: only the 6 new shares are journaled.
        broker = state.broker
        assert isinstance(broker, AlpacaBroker)
        await broker.connect()
        await broker.resync()
        a.market.quote("ACME", 10.00, 10.02, ask_size=100)
        await _until_filled(state, order_id)
        assert fills_of(a.journal, order_id) == [4.0, 6.0]
        assert state.tracker.qty("ACME") == 10 == (await a.broker_positions())["ACME"]


async def _until_filled(state: RunState, order_id: str) -> None:
    for _ in range(500):
        await state.pipeline.drain()
        if order_id not in state.pipeline.open_order_ids:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{order_id} still open")


async def test_a_partial_fill_while_down_is_applied_and_the_order_stays_open(tmp_path: Path) -> None:
    async with account(tmp_path) as a:
        a.market.quote("ACME", 10.00, 10.02, ask_size=3)
        order_id = await a.before_crash("tc1-0-2-1-1", "10", "10.02")
        report, state = await a.resume()
        assert actions(report) == ["fill_applied"]
        [fill] = a.journal.records("fill")
        assert fill.data["quantity"] == 3 and fill.data["leaves_quantity"] == 7
        [open_order] = a.journal.open_orders()
        assert open_order.filled_quantity == 3 and open_order.broker_order_id == order_id
        assert state.tracker.qty("ACME") == 3 and order_id in state.pipeline.open_order_ids


async def test_a_broker_position_the_journal_does_not_know_is_reported_and_taken(tmp_path: Path) -> None:
    async with account(tmp_path) as a:
        await a.before_crash("manual-1", "5", "10.02", journaled=False)  # someone else's trade
        report, state = await a.resume()
        assert actions(report) == ["position_corrected", "cash_corrected"]
        assert "the broker holds 5 shares the journal does not know" in report.findings[0].message
        assert state.tracker.qty("ACME") == 5 and a.journal.positions()["ACME"].quantity == 5
        assert state.tracker.cash == CASH - D("50.10")


async def test_a_journal_position_the_broker_does_not_have_is_corrected_to_flat(tmp_path: Path) -> None:
    async with account(tmp_path) as a:
        # A filled order in the journal whose shares the broker no longer holds (an account
        # reset, or a liquidation outside this run).
        a.journal.order(a.market.now(), "ACME", "tc1-0-2-1-1", side="BUY", quantity=20, order_type="MARKET",
                        client_order_id="tc1-0-2-1-1")
        a.journal.fill("ACME", {"ts_event": a.market.now(), "side": "BUY", "price": 10.0, "quantity": 20},
                       order_id="gone-1", client_order_id="tc1-0-2-1-1")
        a.journal.position(a.market.now(), "ACME", quantity=20, average_price=10.0)
        report, state = await a.resume()
        assert actions(report) == ["position_corrected", "cash_corrected"]
        assert "the journal holds 20 shares the broker does not have" in report.findings[0].message
        assert state.tracker.qty("ACME") == 0 and a.journal.positions() == {}
        assert a.journal.positions(include_flat=True)["ACME"].quantity == 0


async def test_an_order_that_never_reached_the_broker_is_journaled_as_rejected(tmp_path: Path) -> None:
    async with account(tmp_path) as a:
        a.journal.order(a.market.now(), "ACME", "tc1-0-2-1-9", side="BUY", quantity=10,
                        order_type="LIMIT", limit_price=10.0, client_order_id="tc1-0-2-1-9")
        report, _ = await a.resume()
        assert actions(report) == ["order_never_reached_broker"]
        [update] = a.journal.records("order_update")
        assert update.data["status"] == BrokerEventType.REJECTED.name
        assert a.journal.open_orders() == []


async def test_the_paper_venue_resumes_from_the_journal_alone(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal.sqlite") as journal:
        journal.order(1, "ACME", "tc1-0-2-1-1", side="BUY", quantity=10, order_type="MARKET",
                      client_order_id="tc1-0-2-1-1")
        journal.fill("ACME", {"ts_event": 2, "side": "BUY", "price": 10.0, "quantity": 10},
                     order_id="paper-1", client_order_id="tc1-0-2-1-1")
        journal.position(2, "ACME", quantity=10, average_price=10.0)
        journal.order(3, "ACME", "tc1-0-3-2-2", side="SELL", quantity=10, order_type="LIMIT",
                      limit_price=11.0, client_order_id="tc1-0-3-2-2")
        state = RunState.create(Config(), journal=journal)
        report = await reconcile(journal, state.pipeline, paper=True, now=5, starting_cash=CASH)
        assert actions(report) == ["paper_journal_is_truth", "order_lost"]
        assert state.tracker.qty("ACME") == 10 and state.tracker.cash == CASH - 100
        assert report.symbols == ["ACME"] and journal.open_orders() == []
        [update] = journal.records("order_update")
        assert update.data["status"] == "CANCELED" and update.data["client_order_id"] == "tc1-0-3-2-2"
        assert update.data["reason"].startswith(RECONCILED)


async def test_an_order_the_broker_refuses_is_closed_in_the_journal(tmp_path: Path) -> None:
    # A REST refusal (403: buying power) has no trade update: the pipeline says it as a rejection,
    # so the order is not left open in the journal for a resume to chase.
    async with account(tmp_path) as a:
        config = Config().with_overrides(execution={"broker": "alpaca", "starting_cash": float(CASH)})
        broker = a.broker()
        a.resumed.append(broker)
        state = RunState.create(config, journal=a.journal, broker=broker, order_prefix="tcrefused")
        state.pipeline.market.set_book("ACME", 10.00, 10.02, 10.01, ts_event=a.market.now())
        decision = await state.pipeline.submit_intent(intent("ACME", quantity=5000, ts=a.market.now()))
        assert decision.accepted
        [update] = a.journal.records("order_update")
        assert update.data["status"] == "REJECTED" and "buying power" in update.data["reason"]
        assert a.journal.count("order") == 1 and a.journal.open_orders() == []
        assert state.pipeline.open_order_ids == []
