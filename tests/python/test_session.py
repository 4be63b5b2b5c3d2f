"""The paper venue inside the engines: orders no strategy asked for (the kill switch, shutdown)
still execute, and the strategy's position follows the account."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from tradecore import schema
from tradecore.config import Config
from tradecore.execution import OrderRequest, TradeIntent
from tradecore.execution.events import IntentRejected
from tradecore.journal.journal import Journal
from tradecore.session import RunState
from tradecore.streams.base import EventBatch, EventKind

T0 = 1_795_683_600_000_000_000 + 5 * 3_600_000_000_000  # a weekday, 09:00 New York


def test_flattening_orders_without_a_strategy_execute_and_reach_the_strategy() -> None:
    async def scenario() -> None:
        state = RunState.create(Config().with_overrides(strategy={"name": "ema_cross"}), journal=None)
        engine = state.make_engine("ACME", 0)
        runner = state.runner("ACME", engine)
        quotes = schema.empty(schema.QUOTE, 1)
        quotes["ts_event"], quotes["bid_price"], quotes["ask_price"] = T0, 10.00, 10.02
        quotes["bid_size"], quotes["ask_size"] = 1_000, 1_000
        await runner.process(EventBatch(EventKind.QUOTE, "ACME", quotes))
        state.broker.now = T0
        await state.broker.submit(OrderRequest(client_order_id="manual-1", symbol="ACME", side=schema.Side.BUY,
                                               type=schema.OrderType.MARKET, qty=Decimal(100)))
        await runner._consume(engine.native.drain())
        assert state.broker.tracker.qty("ACME") == 100
        await state.pipeline.flatten(reason="test")  # the shutdown / kill-switch path
        await runner._consume(engine.native.drain())
        assert state.broker.tracker.qty("ACME") == 0
        assert engine.strategies[0].position == 0

    asyncio.run(scenario())


def test_flattening_says_which_positions_it_could_not_close_and_why() -> None:
    async def scenario() -> None:
        state = RunState.create(Config().with_overrides(strategy={"name": "ema_cross"}), journal=None)
        runners = {}
        for instrument, symbol in enumerate(("ACME", "STOP")):
            engine = state.make_engine(symbol, instrument)
            runner = runners[symbol] = state.runner(symbol, engine)
            quotes = schema.empty(schema.QUOTE, 1)
            quotes["ts_event"], quotes["bid_price"], quotes["ask_price"] = T0, 10.00, 10.02
            quotes["bid_size"], quotes["ask_size"] = 1_000, 1_000
            await runner.process(EventBatch(EventKind.QUOTE, symbol, quotes))
            state.broker.now = T0
            await state.broker.submit(OrderRequest(client_order_id=f"manual-{symbol}", symbol=symbol,
                                                   side=schema.Side.BUY, type=schema.OrderType.MARKET,
                                                   qty=Decimal(100)))
            await runner._consume(engine.native.drain())
        halt = schema.empty(schema.STATUS, 1)
        halt["ts_event"], halt["instrument_id"], halt["state"] = T0 + 1, 1, int(schema.TradingState.HALTED)
        await runners["STOP"].process(EventBatch(EventKind.STATUS, "STOP", halt))
        unsent = await state.pipeline.flatten(reason="shutdown")
        assert list(unsent) == ["STOP"] and "halted" in unsent["STOP"]
        await runners["ACME"]._consume(runners["ACME"].engine.native.drain())
        assert state.broker.tracker.qty("ACME") == 0 and state.broker.tracker.qty("STOP") == 100

    asyncio.run(scenario())


def test_a_router_rejection_is_journaled_as_a_refused_risk_record(tmp_path: Path) -> None:
    async def scenario() -> None:
        journal = Journal(tmp_path / "journal.sqlite", synchronous="NORMAL")
        state = RunState.create(Config().with_overrides(strategy={"name": "ema_cross"}), journal=journal)
        intent = TradeIntent(symbol="ACME", side=schema.Side.BUY, order_type=schema.OrderType.MARKET,
                             sizing=schema.Sizing.SHARES, quantity=Decimal(0), ts_event=T0)
        outcome = await state.pipeline.submit_intent(intent)
        assert isinstance(outcome, IntentRejected) and outcome.rule == "zero_size"
        (record,) = list(journal.records("risk", symbol="ACME"))
        assert record.data["accepted"] is False and record.data["reason"] == outcome.reason
        assert record.data["details"]["rule"] == "zero_size"
        journal.close()

    asyncio.run(scenario())


def test_the_kill_switch_trips_flattens_and_resets_next_day_all_journaled(tmp_path: Path) -> None:
    async def scenario() -> None:
        journal = Journal(tmp_path / "journal.sqlite", synchronous="NORMAL")
        config = Config().with_overrides(strategy={"name": "ema_cross"},
                                         execution={"risk": {"daily_loss_limit": 200}})
        state = RunState.create(config, journal=journal)
        engine = state.make_engine("ACME", 0)
        runner = state.runner("ACME", engine)

        async def quote(ts: int, bid: float, ask: float) -> None:
            rows = schema.empty(schema.QUOTE, 1)
            rows["ts_event"], rows["bid_price"], rows["ask_price"] = ts, bid, ask
            rows["bid_size"], rows["ask_size"] = 1_000, 1_000
            await runner.process(EventBatch(EventKind.QUOTE, "ACME", rows))
            trades = schema.empty(schema.TRADE, 1)
            trades["ts_event"], trades["price"], trades["size"] = ts + 1, bid, 100
            await runner.process(EventBatch(EventKind.TRADE, "ACME", trades))

        await quote(T0, 10.00, 10.02)
        state.broker.now = T0
        await state.broker.submit(OrderRequest(client_order_id="manual-1", symbol="ACME", side=schema.Side.BUY,
                                               type=schema.OrderType.MARKET, qty=Decimal(100)))
        await runner._consume(engine.native.drain())
        assert state.broker.tracker.qty("ACME") == 100
        await quote(T0 + 60 * 10**9, 7.00, 7.02)  # -300 on the mark trips the -200 limit
        await runner._consume(engine.native.drain())
        assert state.pipeline.risk.kill_switch_tripped and state.broker.tracker.qty("ACME") == 0
        await quote(T0 + 24 * 3_600 * 10**9, 7.00, 7.02)  # 09:00 the next day: a new trading day
        assert not state.pipeline.risk.kill_switch_tripped
        records = list(journal.records("kill_switch"))
        assert [r.data["tripped"] for r in records] == [True, False]
        assert records[0].data["details"]["flatten"] == {"ACME": "100"}
        assert "daily PnL" in records[0].data["reason"] and "new trading day" in records[1].data["reason"]
        journal.close()

    asyncio.run(scenario())


def test_a_refused_intent_is_told_to_its_strategy_which_leaves_pending_and_trades_again(tmp_path: Path) -> None:
    """Risk refuses every entry (10 shares against a 5-share limit): each refusal reaches the
    strategy as a rejected order, so it goes back to FLAT and the next cross asks again."""
    async def scenario() -> None:
        journal = Journal(tmp_path / "journal.sqlite", synchronous="NORMAL")
        config = Config().with_overrides(
            strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3, "quantity": 10}},
            execution={"risk": {"max_shares_per_symbol": 5}})
        state = RunState.create(config, journal=journal)
        engine = state.make_engine("ACME", 0)
        runner = state.runner("ACME", engine)
        strategy = engine.strategies[0]
        # Minute bars: down, then up (a cross above), down again, then up (a second cross).
        closes = [10.0, 9.8, 9.6, 9.4, 9.9, 10.4, 10.9, 10.2, 9.5, 8.8, 9.6, 10.4, 11.2, 11.3]
        minute = 60 * 10**9
        for i, close in enumerate(closes):
            ts = T0 + 3_600 * 10**9 + i * minute  # 10:00 onwards: the regular session
            quotes = schema.empty(schema.QUOTE, 1)
            quotes["ts_event"], quotes["bid_price"], quotes["ask_price"] = ts, close - 0.01, close + 0.01
            quotes["bid_size"], quotes["ask_size"] = 1_000, 1_000
            await runner.process(EventBatch(EventKind.QUOTE, "ACME", quotes))
            trades = schema.empty(schema.TRADE, 1)
            trades["ts_event"], trades["price"], trades["size"] = ts + 1, close, 100
            await runner.process(EventBatch(EventKind.TRADE, "ACME", trades))
        journal.flush()
        intents = list(journal.records("intent", symbol="ACME"))
        refused = [r for r in journal.records("risk", symbol="ACME") if not r.data["accepted"]]
        assert len(intents) >= 2 and len(refused) == len(intents)
        assert all(r.data["details"]["rule"] == "max_shares" for r in refused)
        # A refused order is the risk record alone: nothing refused looks open (to a resume).
        assert journal.count("order") == 0 and journal.open_orders() == []
        rules = [r.data["rule"] for r in journal.records("transition", symbol="ACME")]
        assert rules.count("entry_canceled") == len(intents)
        assert strategy.state_names[strategy.state] == "FLAT" and strategy.position == 0
        assert state.broker.tracker.qty("ACME") == 0
        journal.close()

    asyncio.run(scenario())


def test_bad_router_and_risk_settings_are_config_errors_at_start() -> None:
    import pytest
    from tradecore.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown RiskLimits field.*max_share"):
        RunState.create(Config().with_overrides(execution={"risk": {"max_share": 5}}), journal=None)
    with pytest.raises(ConfigError, match="time_in_force must be one of"):
        RunState.create(Config().with_overrides(execution={"router": {"time_in_force": "forever"}}),
                        journal=None)
    state = RunState.create(Config().with_overrides(execution={"router": {"time_in_force": "gtc"}}),
                            journal=None)  # named in a config file, used as the enum
    assert state.gate.router.config.time_in_force == schema.TimeInForce.GTC


def test_a_recordings_universe_log_drops_a_line_cut_by_a_crash_and_names_a_damaged_one(tmp_path: Path) -> None:
    """The last line a killed process left half written is not a change it made; a bad line
    elsewhere, or a warm-up file gone, is a DataError naming it, not a JSON traceback."""
    from tradecore.errors import DataError
    from tradecore.session import StartLog

    log = StartLog(tmp_path)
    log.write({"action": "start", "symbol": "AAA", "after": 0, "warmup": "warmup/0-AAA.parquet"})
    log.write({"action": "stop", "symbol": "AAA", "after": 10})
    with log.path.open("a") as file:
        file.write('{"action": "start", "sym')  # killed mid-write
    assert [e["action"] for e in log.entries()] == ["start", "stop"]
    log.path.write_text(log.path.read_text().replace('{"action": "stop"', '{"act": "stop"'))
    with pytest.raises(DataError, match=r"universe\.jsonl:2: not a universe change"):
        log.entries()
    with pytest.raises(DataError, match=r"warmup/0-AAA\.parquet: the warm-up history .* is missing"):
        log.history("warmup/0-AAA.parquet")


def test_an_exit_decided_as_the_entry_completes_closes_every_share_of_it(tmp_path: Path) -> None:
    """An entry of 100 fills 50 (the displayed size), the next bar fills the other 50 and, in the
    same engine run, crosses below: the exit is sized on the 100 the strategy holds, not on the
    50 the positions knew before that run's fill was applied, and the strategy ends FLAT."""
    async def scenario() -> None:
        journal = Journal(tmp_path / "journal.sqlite", synchronous="NORMAL")
        config = Config().with_overrides(
            strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3, "quantity": 100}})
        state = RunState.create(config, journal=journal)
        engine = state.make_engine("ACME", 0)
        runner = state.runner("ACME", engine)
        strategy = engine.strategies[0]
        # Minute bars (each also the book: 50 shares a side): down, a cross above, a cross below.
        closes = [10.0, 9.8, 9.6, 9.4, 10.4, 9.0, 8.8, 8.7]
        minute = 60 * 10**9
        for i, close in enumerate(closes):
            ts = T0 + 3_600 * 10**9 + i * minute  # 10:00 onwards: the regular session
            bars = schema.empty(schema.BAR, 1)
            bars["ts_event"], bars["ts_end"] = ts, ts + minute
            bars["open"] = bars["high"] = bars["low"] = bars["close"] = close
            bars["volume"] = 50
            await runner.process(EventBatch(EventKind.BAR, "ACME", bars))
        journal.flush()
        entry_fills = [r.data["quantity"] for r in journal.records("fill", symbol="ACME") if r.data["side"] == "BUY"]
        assert entry_fills == [50.0, 50.0]  # the partial-fill sequence this is about
        (exit_risk,) = [r for r in journal.records("risk", symbol="ACME")
                        if r.data["details"].get("order_shares", "").startswith("-")]
        assert exit_risk.data["details"]["position_shares"] == "100"
        rules = [r.data["rule"] for r in journal.records("transition", symbol="ACME")]
        assert rules == ["cross_above", "entry_filled", "cross_below", "exit_filled"]
        assert strategy.state_names[strategy.state] == "FLAT" and strategy.position == 0
        assert state.broker.tracker.qty("ACME") == 0
        journal.close()

    asyncio.run(scenario())
