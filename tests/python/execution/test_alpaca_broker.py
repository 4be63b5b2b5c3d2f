"""AlpacaBroker over real loopback sockets against the simulator's trading endpoints.

The server is ``tradecore.sim.trading.install`` (the Alpaca-compatible paper trading built on
the protocol notes and checked by its own tests with alpaca-py) on a scripted Market, so these
tests check the adapter against an independent implementation of the protocol. Failures the
simulator does not produce on its own (429, 5xx, a dropped stream) are injected around it: an
aiohttp middleware for HTTP, a TCP proxy that can be cut for the WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal as D
from typing import Any

import pytest
from aiohttp import web
from helpers_execution import ACME, ny
from tradecore.execution import (
    BrokerEvent,
    BrokerEventType,
    ExecutionPipeline,
    KillSwitchTripped,
    MarketBook,
    OrderRequest,
    OrderRouter,
    OrderState,
    PositionChanged,
    PositionTracker,
    RiskDecision,
    RiskLimits,
    RiskManager,
    TradeIntent,
)
from tradecore.execution.alpaca import (
    AlpacaBroker,
    AlpacaForbiddenError,
    AlpacaNotCancelableError,
    AlpacaNotFoundError,
    AlpacaRateLimitError,
    AlpacaServerUnavailableError,
    AlpacaUnauthorizedError,
    AlpacaUnprocessableError,
)
from tradecore.execution.broker import OrderRejectedError
from tradecore.schema import OrderType, Side, TimeInForce
from tradecore.sim.scripted import ScriptedMarket
from tradecore.sim.trading import install
from tradecore.streams.alpaca import Backoff
from tradecore.streams.base import EventBatch

pytestmark = pytest.mark.asyncio

KEY, SECRET = "EXECKEY", "EXECSECRET"
FAST = Backoff(initial=0.01, maximum=0.05, jitter=0.0)


class Proxy:
    """A loopback TCP proxy whose connections can be cut and refused (a network outage)."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.refusing = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut(self) -> None:
        self.refusing = True
        for w in list(self._writers):
            w.transport.abort()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class Faults:
    """Answers the next requests matching (method, path) with scripted statuses."""

    def __init__(self) -> None:
        self.script: dict[tuple[str, str], list[tuple[int, dict[str, str]]]] = {}
        self.seen: list[tuple[str, str]] = []
        self.lost: list[tuple[str, str]] = []

    def lose_reply(self, method: str, path: str) -> None:
        """Let the next such request through, then answer 504 as if the reply was lost."""
        self.lost.append((method, path))

    def add(self, method: str, path: str, status: int, headers: dict[str, str] | None = None,
            times: int = 1) -> None:
        self.script.setdefault((method, path), []).extend([(status, headers or {})] * times)

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        key = (request.method, request.path)
        self.seen.append(key)
        queue = self.script.get(key)
        if queue:
            status, headers = queue.pop(0)
            return web.json_response({"code": status * 100000, "message": f"injected {status}"},
                                     status=status, headers=headers)
        response = await handler(request)
        if key in self.lost:
            self.lost.remove(key)
            return web.json_response({"message": "gateway timeout"}, status=504)
        return response


class Venue:
    def __init__(self, market: Any, url: str, proxy: Proxy, faults: Faults, server: Any) -> None:
        self.market, self.url, self.proxy, self.faults, self.server = market, url, proxy, faults, server

    def broker(self, **kw: Any) -> AlpacaBroker:
        kw.setdefault("key_id", KEY)
        kw.setdefault("secret_key", SECRET)
        kw.setdefault("backoff", FAST)
        kw.setdefault("timeout", 5.0)
        return AlpacaBroker(base_url=self.url,
                            stream_url=f"ws://127.0.0.1:{self.proxy.port}/stream", **kw)


@contextlib.asynccontextmanager
async def venue(hour: int = 10) -> AsyncIterator[Venue]:
    market = ScriptedMarket([ACME], ny(hour))
    market.quote("ACME", 10.00, 10.02)
    market.trade("ACME", 10.01)
    faults = Faults()
    app = web.Application(middlewares=[faults.middleware])
    server = install(app, market, keys={KEY: SECRET}, starting_cash=D(10000))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    proxy = Proxy(port)
    await proxy.start()
    try:
        yield Venue(market, f"http://127.0.0.1:{port}", proxy, faults, server)
    finally:
        await proxy.stop()
        await runner.cleanup()


def request(cid: str, qty: str = "10", side: Side = Side.BUY, kind: OrderType = OrderType.MARKET,
            limit: str | None = None, **kw: Any) -> OrderRequest:
    return OrderRequest(client_order_id=cid, symbol="ACME", side=side, type=kind, qty=D(qty),
                        limit_price=D(limit) if limit else None, **kw)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), timeout)


async def test_order_lifecycle_over_rest_and_trade_updates() -> None:
    async with venue() as v, v.broker() as broker:
        events: list[BrokerEvent] = []
        broker.add_listener(events.append)
        ack = await broker.submit(request("tc-1-2-3-1", limit="9.90", kind=OrderType.LIMIT))
        assert ack.client_order_id == "tc-1-2-3-1"
        await until(lambda: any(e.type == BrokerEventType.NEW for e in events))
        [open_order] = await broker.open_orders()
        assert open_order.limit_price == D("9.90") and open_order.status == OrderState.NEW
        v.market.quote("ACME", 9.85, 9.89)  # the book moves through the resting limit
        await until(lambda: any(e.type == BrokerEventType.FILL for e in events))
        fill = next(e for e in events if e.type == BrokerEventType.FILL)
        assert fill.fill_qty == 10 and fill.fill_price == D("9.90") and fill.position_qty == 10
        assert fill.order.intent is not None and fill.order.intent.transition == 3
        assert fill.ts_event > 0 and fill.order.filled_avg_price == D("9.90")
        [position] = await broker.positions()
        assert position.symbol == "ACME" and position.qty == 10
        account = await broker.account()
        assert account.cash == D(10000) - D("99.00")


async def test_cancel_replace_cancel_all() -> None:
    async with venue() as v, v.broker() as broker:
        events: list[BrokerEvent] = []
        broker.add_listener(events.append)
        first = await broker.submit(request("a-1", kind=OrderType.LIMIT, limit="9.50"))
        new = await broker.replace(first.order_id, limit_price=D("9.60"))
        assert new.order_id != first.order_id
        await until(lambda: any(e.type == BrokerEventType.REPLACED for e in events))
        replaced = await broker.get_order(first.order_id)
        assert replaced.status == OrderState.REPLACED and replaced.replaced_by == new.order_id
        second = await broker.submit(request("a-2", kind=OrderType.LIMIT, limit="9.40"))
        canceled = await broker.cancel_all()
        assert set(canceled) == {new.order_id, second.order_id}
        await until(lambda: sum(e.type == BrokerEventType.CANCELED for e in events) == 2)
        with pytest.raises(AlpacaNotCancelableError) as info:
            await broker.cancel(second.order_id)
        assert info.value.status == 422
        with pytest.raises(AlpacaNotFoundError):
            await broker.get_order("00000000-0000-0000-0000-000000000000")


async def test_refusals_map_to_clear_exceptions() -> None:
    async with venue(hour=8) as v, v.broker(stream=False) as broker:
        with pytest.raises(AlpacaUnprocessableError) as sub_penny:
            await broker.submit(request("r-1", kind=OrderType.LIMIT, limit="10.001"))
        assert sub_penny.value.status == 422 and isinstance(sub_penny.value, OrderRejectedError)
        assert sub_penny.value.code == 42210000
        with pytest.raises(AlpacaUnprocessableError, match="(?i)extended"):
            await broker.submit(request("r-2", extended_hours=True))  # market + extended hours
        with pytest.raises(AlpacaForbiddenError) as poor:
            await broker.submit(request("r-3", qty="5000", kind=OrderType.LIMIT, limit="10.00",
                                        extended_hours=True))
        assert poor.value.status == 403
        ok = await broker.submit(request("r-4", kind=OrderType.LIMIT, limit="10.05",
                                         extended_hours=True, time_in_force=TimeInForce.DAY))
        assert ok.status in (OrderState.NEW, OrderState.ACCEPTED, OrderState.FILLED)


async def test_bad_keys_are_unauthorized_and_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with venue() as v:
        rest = v.broker(secret_key="wrong-secret-value", stream=False)
        with pytest.raises(AlpacaUnauthorizedError) as info:
            await rest.account()
        assert info.value.status == 401 and "APCA_API_KEY_ID" in str(info.value)
        await rest.close()
        stream = v.broker(secret_key="wrong-secret-value")
        with pytest.raises(AlpacaUnauthorizedError):
            await stream.connect()
        await stream.close()
        assert "wrong-secret-value" not in caplog.text and "wrong-secret-value" not in repr(stream)


async def test_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from tradecore.errors import ConfigError
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.delenv("APCA_API_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="APCA_API_KEY_ID"):
        AlpacaBroker(base_url="http://127.0.0.1:1")
    async with venue() as v:
        monkeypatch.setenv("APCA_API_KEY_ID", KEY)
        monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
        async with AlpacaBroker(base_url=v.url, stream=False) as broker:
            assert (await broker.account()).cash == D(10000)


async def test_429_and_5xx_are_retried_with_backoff_then_raised() -> None:
    async with venue() as v, v.broker(stream=False, max_retries=2) as broker:
        v.faults.add("GET", "/v2/account", 429, {"Retry-After": "0"})
        v.faults.add("GET", "/v2/account", 503)
        assert (await broker.account()).equity == D(10000)
        assert broker.stats["retries"] == 2
        v.faults.add("GET", "/v2/positions", 429, times=3)
        with pytest.raises(AlpacaRateLimitError):
            await broker.positions()
        v.faults.add("GET", "/v2/positions", 500, times=3)
        with pytest.raises(AlpacaServerUnavailableError):
            await broker.positions()
        v.faults.add("GET", "/v2/account", 422)  # not retryable
        with pytest.raises(AlpacaUnprocessableError):
            await broker.account()


async def test_a_post_whose_reply_is_lost_is_found_by_client_order_id_not_sent_twice() -> None:
    async with venue() as v, v.broker(stream=False) as broker:
        v.faults.lose_reply("POST", "/v2/orders")  # the order is placed, the reply is a 504
        ack = await broker.submit(request("once-1", kind=OrderType.LIMIT, limit="9.00"))
        assert ack.client_order_id == "once-1"
        assert v.faults.seen.count(("POST", "/v2/orders")) == 1
        assert v.faults.seen.count(("GET", "/v2/orders:by_client_order_id")) == 1
        assert [o.client_order_id for o in await broker.open_orders()] == ["once-1"]
        # and a POST that never reached the server is sent again
        v.faults.add("POST", "/v2/orders", 503)
        again = await broker.submit(request("once-2", kind=OrderType.LIMIT, limit="9.00"))
        assert again.client_order_id == "once-2"
        assert v.faults.seen.count(("POST", "/v2/orders")) == 3


async def test_stream_gap_reconnects_and_resyncs_fills_from_rest() -> None:
    async with venue() as v, v.broker() as broker:
        events: list[BrokerEvent] = []
        broker.add_listener(events.append)
        ack = await broker.submit(request("g-1", qty="10", kind=OrderType.LIMIT, limit="9.90"))
        await until(lambda: any(e.type == BrokerEventType.NEW for e in events))
        v.proxy.cut()  # the stream goes down; REST still works
        await asyncio.sleep(0.05)
        v.market.quote("ACME", 9.80, 9.85)  # fills while nobody listens
        v.proxy.refusing = False
        await until(lambda: len(broker.gaps) == 1)
        await broker.wait_live(5)
        fills = [e for e in events if e.is_fill]
        assert len(fills) == 1 and fills[0].reason == "resync after stream gap"
        assert fills[0].fill_qty == 10 and fills[0].fill_price == D("9.90")
        assert fills[0].order.order_id == ack.order_id and broker.gaps[0].resynced_orders == 1
        # after the gap the stream delivers again, and nothing is counted twice
        second = await broker.submit(request("g-2", qty="5", limit="10.10", kind=OrderType.LIMIT))
        await until(lambda: any(e.is_fill and e.order.order_id == second.order_id for e in events))
        assert sum(e.is_fill for e in events) == 2


async def test_resync_publishes_a_partial_fill_then_the_cancel_that_followed_it_in_the_gap() -> None:
    async with venue() as v, v.broker() as broker:
        events: list[BrokerEvent] = []
        broker.add_listener(events.append)
        ack = await broker.submit(request("p-1", qty="100", kind=OrderType.LIMIT, limit="9.90"))
        await until(lambda: any(e.type == BrokerEventType.NEW for e in events))
        v.proxy.cut()
        await asyncio.sleep(0.05)
        v.market.quote("ACME", 9.80, 9.85, bid_size=1000, ask_size=40)  # 40 of 100 fill
        await broker.cancel(ack.order_id)  # REST still works during the stream outage
        v.proxy.refusing = False
        await until(lambda: len(broker.gaps) == 1)
        tail = [(e.type, e.fill_qty, e.reason) for e in events if e.reason]
        assert tail == [(BrokerEventType.PARTIAL_FILL, D(40), "resync after stream gap"),
                        (BrokerEventType.CANCELED, None, "resync after stream gap")]
        partial = next(e for e in events if e.is_fill)
        assert partial.fill_price == D("9.90") and partial.order.status == OrderState.PARTIALLY_FILLED


async def test_pipeline_on_alpaca_tracks_fills_and_the_kill_switch_flattens_at_the_venue() -> None:
    async with venue() as v, v.broker() as broker:
        tracker = PositionTracker(D(10000))
        journal: list[object] = []
        risk = RiskManager(RiskLimits(daily_loss_limit=D(50)), on_event=journal.append)
        router = OrderRouter(position=tracker.qty, equity=lambda: tracker.equity)
        pipeline = ExecutionPipeline(broker, router, risk, tracker, MarketBook(),
                                     on_event=journal.append)
        batches: list[EventBatch] = []
        v.market.add_listener(batches.append)  # the same events a data stream would deliver
        runner = asyncio.get_running_loop().create_task(pipeline.run(), name="pipeline-run")

        async def feed() -> None:
            while batches:
                await pipeline.on_batch(batches.pop(0))

        v.market.quote("ACME", 10.00, 10.02)
        v.market.trade("ACME", 10.01)
        await feed()
        decision = await pipeline.submit_intent(intent_now("ACME", v.market.now()))
        assert isinstance(decision, RiskDecision) and decision.accepted
        await until(lambda: tracker.qty("ACME") == 100)
        fills = [e for e in journal if isinstance(e, PositionChanged)]
        assert fills[-1].fill_price == D("10.02") and tracker.cash == D("8998.00")
        v.market.quote("ACME", 9.40, 9.42)  # -60 on the mark trips the -50 limit
        v.market.trade("ACME", 9.41)
        await feed()
        assert any(isinstance(e, KillSwitchTripped) for e in journal)
        await until(lambda: tracker.qty("ACME") == 0)
        assert await broker.positions() == []  # flat at the venue too
        assert tracker.realized == D("9.40") * 100 - D("1002.00")
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        pipeline.close()


def intent_now(symbol: str, now: int) -> Any:
    from tradecore.schema import Sizing

    return TradeIntent(symbol=symbol, side=Side.BUY, order_type=OrderType.MARKET,
                       sizing=Sizing.SHARES, quantity=D(100), strategy_id=1, rule=1,
                       transition=1, ts_event=now)


async def test_a_new_pipeline_loads_cash_positions_and_open_orders_from_the_broker() -> None:
    async with venue() as v, v.broker(stream=False) as broker:
        await broker.submit(request("s-1", qty="30"))  # fills at the ask 10.02
        await broker.submit(request("s-2", qty="5", side=Side.SELL, kind=OrderType.LIMIT,
                                    limit="10.50"))
        tracker = PositionTracker(D(1))
        pipeline = ExecutionPipeline(broker, OrderRouter(position=tracker.qty,
                                                         equity=lambda: tracker.equity),
                                     RiskManager(RiskLimits()), tracker, MarketBook())
        await pipeline.sync_from_broker()
        assert tracker.qty("ACME") == 30 and tracker.cash == D(10000) - D("300.60")
        assert tracker.position("ACME").avg_entry_price == D("10.02")
        assert pipeline.context("ACME").open_orders == {"ACME": D(-5)}
        assert tracker.daily_pnl() == 0
        pipeline.close()


async def test_a_stream_upgrade_refused_with_401_or_403_is_fatal_not_retried() -> None:
    """Keys refused at the trade_updates upgrade (HTTP 401/403, before any WebSocket message)
    end connect() with a clear error at once, as an ``unauthorized`` reply does; a retry would
    only be refused again (and a live run would wait forever for its broker)."""
    async with venue() as v:
        for status in (401, 403):
            v.faults.add("GET", "/stream", status)  # the next upgrade only: a retry would succeed
            broker = v.broker()
            with pytest.raises(AlpacaUnauthorizedError, match=f"HTTP {status}") as info:
                await asyncio.wait_for(broker.connect(), 10)
            assert info.value.status == status and "APCA_API_KEY_ID" in str(info.value)
            assert broker.stats["sessions"] == 0
            await broker.close()
        v.faults.add("GET", "/stream", 503)  # a server error is still retried
        broker = v.broker()
        await asyncio.wait_for(broker.connect(), 10)
        assert broker.stats["sessions"] == 1
        await broker.close()


async def test_flattening_reports_a_closing_order_the_broker_refused_after_risk_accepted_it() -> None:
    """Risk lets a closing order through but the venue refuses it (here a 403): the position is
    still open, and flatten() says so with the venue's reason (shutdown prints it)."""
    async with venue() as v, v.broker() as broker:
        tracker = PositionTracker(D(10000))
        pipeline = ExecutionPipeline(broker, OrderRouter(position=tracker.qty, equity=lambda: tracker.equity),
                                     RiskManager(RiskLimits()), tracker, MarketBook())
        batches: list[EventBatch] = []
        v.market.add_listener(batches.append)  # the same events a data stream would deliver
        runner = asyncio.get_running_loop().create_task(pipeline.run(), name="pipeline-run")
        v.market.quote("ACME", 10.00, 10.02)
        v.market.trade("ACME", 10.01)
        for batch in batches:
            await pipeline.on_batch(batch)
        decision = await pipeline.submit_intent(intent_now("ACME", v.market.now()))
        assert isinstance(decision, RiskDecision) and decision.accepted
        await until(lambda: tracker.qty("ACME") == 100)
        v.faults.add("POST", "/v2/orders", 403)
        unsent = await pipeline.flatten(reason="shutdown")
        assert list(unsent) == ["ACME"]
        assert unsent["ACME"].startswith("the broker refused it:") and "injected 403" in unsent["ACME"]
        assert tracker.qty("ACME") == 100 and (await broker.positions())[0].qty == 100
        assert not pipeline.open_order_ids  # the refusal closed the order it would have been
        # The venue takes the next closing order: nothing is left open.
        assert await pipeline.flatten(reason="shutdown") == {}
        await until(lambda: tracker.qty("ACME") == 0)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        pipeline.close()
