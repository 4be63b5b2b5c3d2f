"""The per-symbol engine, built-in and Python strategies, against an independent reference."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import talib
from tradecore import bars as bar_module
from tradecore import engine, schema, strategies
from tradecore.errors import Error, StrategyError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from python_strategy import EmaCrossPy as PyEmaCross  # noqa: E402  the documented example

SPY_DAYS = ["20131007", "20131008", "20131009", "20131010", "20131011"]


@pytest.fixture(scope="module")
def spy_minute(lean: object) -> np.ndarray:
    return schema.concatenate([lean("minute", "spy", d) for d in SPY_DAYS], schema.BAR)  # type: ignore[operator]


def reference_ema_cross(close: np.ndarray, fast: int, slow: int) -> tuple[list[int], list[int]]:
    """A few lines of NumPy + TA-Lib: bar indices of entries and exits."""
    f, s = talib.EMA(close, fast), talib.EMA(close, slow)
    entries, exits, long = [], [], False
    for i in range(1, len(close)):
        if np.isnan(s[i - 1]):
            continue
        if not long and f[i - 1] <= s[i - 1] and f[i] > s[i]:
            entries.append(i)
            long = True
        elif long and f[i - 1] >= s[i - 1] and f[i] < s[i]:
            exits.append(i)
            long = False
    return entries, exits


def test_ema_cross_matches_an_independent_reference_on_spy_bars(spy_minute: np.ndarray) -> None:
    strategy = strategies.EmaCross(strategies.EmaCrossParams(fast=10, slow=30, quantity=100))
    symbol = engine.SymbolEngine("spy", [strategy], bar_period=None)
    run = symbol.backtest(bars=spy_minute)
    entries, exits = reference_ema_cross(spy_minute["close"], 10, 30)
    assert len(entries) > 50
    buys = run.fills[run.fills["side"] == schema.Side.BUY]
    sells = run.fills[run.fills["side"] == schema.Side.SELL]
    # Bars are the only data: a market order fills at the signal bar's close, at its end time.
    np.testing.assert_array_equal(buys["ts_event"], spy_minute["ts_end"][entries])
    np.testing.assert_array_equal(buys["price"], spy_minute["close"][entries])
    np.testing.assert_array_equal(sells["ts_event"], spy_minute["ts_end"][exits])
    np.testing.assert_array_equal(sells["price"], spy_minute["close"][exits])
    assert (run.fills["quantity"] == 100).all()
    assert strategy.position == (100 if len(entries) > len(exits) else 0)


def test_every_intent_carries_its_rule_and_the_values_behind_it(spy_minute: np.ndarray) -> None:
    strategy = strategies.EmaCross()
    run = engine.SymbolEngine("spy", [strategy], bar_period=None).backtest(bars=spy_minute[:600])
    assert len(run.intents) > 0
    rule_names = [r.name for r in strategy.rules]
    for intent in run.intents:
        record = run.transitions[intent["transition"]]
        assert record["rule"] == intent["rule"]
        assert rule_names[intent["rule"]] in ("cross_above", "cross_below")
        named = {strategy.value_names[record["value_names"][i]]: record["values"][i]
                 for i in range(record["value_count"])}
        assert named["close"] == intent["reference_price"]
        if rule_names[intent["rule"]] == "cross_above":
            assert named["fast"] > named["slow"] and named["fast_prev"] <= named["slow_prev"]
    lines = strategies.describe_transitions(strategy, run.transitions)
    assert lines[0].startswith("FLAT -> PENDING_ENTRY cross_above: close=")


def test_trades_through_the_aggregator_give_the_same_signals_as_the_bars(lean: object) -> None:
    trades = lean("tick", "spy", "20131007")  # type: ignore[operator]
    minute = bar_module.aggregate(trades, "1min")
    from_bars = engine.SymbolEngine("spy", [strategies.EmaCross()], bar_period=None).backtest(bars=minute)
    from_trades = engine.SymbolEngine("spy", [strategies.EmaCross()], bar_period="1min").backtest(trades=trades)
    assert from_trades.events == len(trades)
    np.testing.assert_array_equal(from_trades.bars, minute[:-1])  # the last bar is never closed
    signal_times = lambda run: run.intents["ts_event"]  # noqa: E731
    np.testing.assert_array_equal(signal_times(from_trades), signal_times(from_bars)[: len(from_trades.intents)])
    # With ticks, a market order fills at the next print after the bar that signalled.
    for fill, intent in zip(from_trades.fills, from_trades.intents):
        assert fill["ts_event"] >= intent["ts_event"]


def test_a_python_strategy_runs_in_the_same_engine_with_the_same_results(spy_minute: np.ndarray) -> None:
    native = engine.SymbolEngine("spy", [strategies.EmaCross()], bar_period=None).backtest(bars=spy_minute)
    python_strategy = PyEmaCross()
    python = engine.SymbolEngine("spy", [python_strategy], bar_period=None).backtest(bars=spy_minute)
    np.testing.assert_array_equal(python.fills, native.fills)
    for field in ("ts_event", "side", "quantity", "reference_price"):
        np.testing.assert_array_equal(python.intents[field], native.intents[field], err_msg=field)
    python_rules = [r.name for r in PyEmaCross.rules]
    native_rules = [r.name for r in strategies.EmaCross().rules]
    assert [python_rules[i] for i in python.intents["rule"]] == [native_rules[i] for i in native.intents["rule"]]
    assert len(python.transitions) == len(native.transitions)
    assert strategies.describe_transitions(python_strategy, python.transitions)[0].startswith(
        "FLAT -> PENDING_ENTRY cross_above: close=")


def test_both_kinds_of_strategy_run_side_by_side(spy_minute: np.ndarray) -> None:
    run = engine.SymbolEngine("spy", [strategies.EmaCross(), PyEmaCross()], bar_period=None).backtest(
        bars=spy_minute[:800])
    by_strategy = [run.fills[run.fills["order_id"] == o["order_id"]] for o in run.orders]
    assert {o["strategy_id"] for o in run.orders} == {0, 1}
    assert all(len(f) == 1 for f in by_strategy)


class Exploding(PyEmaCross):
    name = "exploding"

    def on_bar(self, bar: object) -> None:
        if bar.ts_event >= self.blow_at:  # type: ignore[attr-defined]
            raise RuntimeError("boom")
        super().on_bar(bar)


def test_a_raising_python_strategy_stops_its_engine_cleanly(spy_minute: np.ndarray) -> None:
    bad = Exploding()
    bad.blow_at = int(spy_minute["ts_event"][100])
    symbol = engine.SymbolEngine("spy", [bad], bar_period=None)
    with pytest.raises(StrategyError, match=r"SPY: strategy failed on bar at ts_event=\d+: .*boom"):
        symbol.backtest(bars=spy_minute)
    assert symbol.native.faulted
    assert symbol.native.events_processed == 101  # the bad event is consumed, nothing after it
    with pytest.raises(Error, match="engine stopped after a fault"):
        symbol.native.run()


class SeesNaN(PyEmaCross):
    name = "sees_nan"

    def on_bar(self, bar: object) -> None:
        if self.state == self.FLAT:
            self.transition("cross_above", bar.ts_end, close=float("nan"))  # type: ignore[attr-defined]


def test_a_guard_that_sees_nan_stops_the_engine_with_the_value_named(spy_minute: np.ndarray) -> None:
    symbol = engine.SymbolEngine("spy", [SeesNaN()], bar_period=None)
    with pytest.raises(StrategyError, match="SPY: .*rule 'cross_above' saw close=nan"):
        symbol.backtest(bars=spy_minute[:10])
    assert symbol.strategies[0].state == 0  # the transition never happened


def test_warm_up_makes_strategies_ready_through_the_same_code(spy_minute: np.ndarray) -> None:
    strategy = strategies.EmaCross()
    symbol = engine.SymbolEngine("spy", [strategy], bar_period=None)
    assert not symbol.native.ready
    assert symbol.warm_up(spy_minute[:40])
    warm = symbol.backtest(bars=spy_minute[40:400])
    cold = engine.SymbolEngine("spy", [strategies.EmaCross()], bar_period=None).backtest(bars=spy_minute[:400])
    # Warmed on the first 40 bars, the strategy acts exactly as one that saw them live.
    later = cold.intents[cold.intents["ts_event"] > spy_minute["ts_end"][40]]
    np.testing.assert_array_equal(warm.intents["ts_event"][-len(later):], later["ts_event"])


class Adopting(PyEmaCross):
    """The documented example, taking over restored longs of up to its entry size."""

    name = "adopting"
    rules = (*PyEmaCross.rules, strategies.Rule("adopted", "FLAT", "LONG", on="resume"))

    def on_adopt(self, adoption: strategies.Adoption) -> strategies.AdoptResult:
        if adoption.quantity > self.quantity:
            return strategies.AdoptResult(False, f"more than {self.quantity:g} shares")
        self.transition("adopted", adoption.now, position=adoption.quantity)
        return strategies.AdoptResult(True, f"holds {adoption.quantity:g} at {adoption.average_price:g}")


def test_a_python_strategy_adopts_a_restored_position_through_on_adopt(spy_minute: np.ndarray) -> None:
    symbol = engine.SymbolEngine("spy", [Adopting(quantity=100), PyEmaCross()], bar_period=None)
    symbol.warm_up(spy_minute[:40])
    now = int(spy_minute["ts_end"][39])
    offer = {"average_price": 400.0, "entry_ts": now - 60 * 10**9, "now": now}
    refused = symbol.native.adopt(strategy_id=0, quantity=150, **offer)
    assert not refused.adopted and refused.reason == "more than 100 shares"
    plain = symbol.native.adopt(strategy_id=1, quantity=50, **offer)  # no on_adopt: it refuses
    assert not plain.adopted and plain.reason == "ema_cross_py does not adopt restored positions"
    adopted = symbol.native.adopt(strategy_id=0, quantity=50, **offer)
    assert adopted.adopted and adopted.reason == "holds 50 at 400"
    first, second = symbol.strategies
    assert first.state_names[first.state] == "LONG" and first.position == 50
    assert second.state == 0 and second.position == 0
    (record,) = symbol.native.drain()["transitions"]
    assert [r.name for r in first.rules][record["rule"]] == "adopted" and record["ts_event"] == now
    with pytest.raises(Error, match="cannot adopt a position of nan shares"):
        symbol.native.adopt(strategy_id=1, quantity=float("nan"), **offer)

    class Careless(PyEmaCross):
        name = "careless"

        def on_adopt(self, adoption: strategies.Adoption) -> strategies.AdoptResult:
            return strategies.AdoptResult(True, "sure")  # but it stays FLAT

    careless = engine.SymbolEngine("spy", [Careless()], bar_period=None)
    with pytest.raises(StrategyError, match="careless: on_adopt took the position but stayed in FLAT"):
        careless.native.adopt(strategy_id=0, quantity=50, **offer)
    assert careless.strategies[0].position == 0


def test_transitions_outside_a_handler_are_refused() -> None:
    with pytest.raises(Error, match="inside an event handler"):
        PyEmaCross().transition("cross_above", 0, close=1.0)


def test_sizing_of_intents(spy_minute: np.ndarray, tmp_path: Path) -> None:
    class Notional(PyEmaCross):
        name = "notional"

        def on_bar(self, bar: object) -> None:
            if self.state == self.FLAT:
                self.transition("cross_above", bar.ts_end, close=bar.close)  # type: ignore[attr-defined]
                self.buy(bar.ts_end, 10_000.0, sizing=schema.Sizing.NOTIONAL,  # type: ignore[attr-defined]
                         reference_price=bar.close)  # type: ignore[attr-defined]

    run = engine.SymbolEngine("spy", [Notional()], bar_period=None).backtest(bars=spy_minute[:5])
    assert run.orders[0]["quantity"] == 10_000 // spy_minute["close"][0]


def test_run_groups_runs_each_group_in_its_engine_and_stops_where_python_is_needed(spy_minute: np.ndarray) -> None:
    """The live hot path (``_core.engine.run_groups``): group i of a frame in engines[i], up to a
    group that is None, an engine that stopped or has output, or a raising engine (named in ``at``)."""
    run_groups, exhausted = engine._engine.run_groups, engine._engine.StopReason.EXHAUSTED
    bars = np.ascontiguousarray(spy_minute[:60])
    cuts = np.array([0, 20, 40, 60], np.int64)
    at = np.zeros(1, np.int64)
    engines = [engine.SymbolEngine(s, [], bar_period=None).native for s in ("a", "b", "c")]
    assert run_groups(engines, 2, bars, cuts, 0, at) == (3, exhausted, 0)
    assert [e.events_processed for e in engines] == [20, 20, 20]
    assert run_groups([engines[0], None, engines[2]], 2, bars, cuts, 0, at) == (1, None, 0)
    assert [e.events_processed for e in engines] == [40, 20, 20]  # stopped before the None group

    crossing = [engine.SymbolEngine(s, [strategies.EmaCross(strategies.EmaCrossParams(fast=2, slow=3))], bar_period=None).native
                for s in ("a", "b", "c")]
    index, reason, loaded_at = run_groups(crossing, 2, bars, np.array([0, 1, 2, 60], np.int64), 0, at)
    assert index == 2 and reason != exhausted and loaded_at == 0  # the long group stops at an intent
    assert len(crossing[2].new_intents()) == 1

    bad = Exploding()
    bad.blow_at = int(bars["ts_event"][45])
    failing = [engines[0], engines[1], engine.SymbolEngine("c", [bad], bar_period=None).native]
    with pytest.raises(StrategyError, match="boom"):
        run_groups(failing, 2, bars, cuts, 0, at)
    assert at[0] == 2

    with pytest.raises(ValueError, match="one more entry"):
        run_groups(engines, 2, bars, cuts[:-1], 0, at)
    with pytest.raises(ValueError, match="out of order or out of range"):
        run_groups(engines, 2, bars, np.array([0, 20, 10, 60], np.int64), 0, at)
    with pytest.raises(ValueError, match="out of order or out of range"):
        run_groups(engines, 2, bars, np.array([0, 20, 40, 61], np.int64), 0, at)
    with pytest.raises(TypeError, match="dtype"):
        run_groups(engines, 0, bars, cuts, 0, at)  # bars are not trades
    assert at[0] == -1  # refused before any group ran: no symbol's fault
    with pytest.raises(ValueError, match="kind"):
        run_groups(engines, 7, bars, cuts, 0, at)

    # Cuts given as a view (reversed) are read as the array, not as its memory; ``at`` is written
    # in place, so an array of another dtype is refused rather than silently copied.
    fresh = [engine.SymbolEngine(s, [], bar_period=None).native for s in ("a", "b", "c")]
    assert run_groups(fresh, 2, bars, np.array([60, 40, 20, 0], np.int64)[::-1], 0, at) == (3, exhausted, 0)
    assert [e.events_processed for e in fresh] == [20, 20, 20]
    with pytest.raises(TypeError):
        run_groups(fresh, 2, bars, cuts, 0, np.zeros(1, np.int32))


def test_run_groups_by_id_takes_each_groups_engine_from_a_table(spy_minute: np.ndarray) -> None:
    """``ids``: group i runs in table[ids[i]]; an id with None there, or past the table's end,
    is the caller's group; ids and cuts must agree."""
    run_groups, exhausted = engine._engine.run_groups, engine._engine.StopReason.EXHAUSTED
    bars = np.ascontiguousarray(spy_minute[:60])
    cuts = np.array([0, 10, 30, 60], np.int64)  # groups of 10, 20 and 30 bars
    at = np.zeros(1, np.int64)
    a, b, c = (engine.SymbolEngine(s, [], bar_period=None).native for s in ("a", "b", "c"))
    table = [None, c, None, a, b]
    assert run_groups(table, 2, bars, cuts, 0, at, True, np.array([3, 4, 1], np.int64)) == (3, exhausted, 0)
    assert [e.events_processed for e in (a, b, c)] == [10, 20, 30]  # a got group 0, b 1, c 2
    assert run_groups(table, 2, bars, cuts, 0, at, True, np.array([1, 2, 3], np.int64)) == (1, None, 0)
    assert run_groups(table, 2, bars, cuts, 1, at, True, np.array([1, 9, 3], np.int64)) == (1, None, 0)
    assert [e.events_processed for e in (a, b, c)] == [10, 20, 40]  # only group 0 ran, in c
    with pytest.raises(ValueError, match="one more entry than ids"):
        run_groups(table, 2, bars, cuts, 0, at, True, np.array([3, 4], np.int64))


def test_run_groups_without_bar_readers_keeps_bar_only_output_native() -> None:
    """``keep_bars=False`` (nobody reads bars): a group whose only output is closed bars no
    longer returns to Python; a group with anything else (an intent) still does."""
    run_groups, exhausted = engine._engine.run_groups, engine._engine.StopReason.EXHAUSTED
    base = 1_700_000_000_000_000_000
    # Three symbols, each with a trade in one second and another in the next: each closes a 1 s bar.
    trades = np.zeros(6, schema.TRADE)
    trades["ts_event"] = [base, base + 1_000_000_000] * 3
    trades["price"], trades["size"], trades["trade_id"] = 10.0, 100.0, np.arange(1, 7)
    cuts = np.array([0, 2, 4, 6], np.int64)
    at = np.zeros(1, np.int64)

    def engines() -> list[Any]:
        return [engine.SymbolEngine(s, [], bar_period="1s").native for s in ("a", "b", "c")]

    kept = engines()
    assert run_groups(kept, 0, trades, cuts, 0, at) == (0, exhausted, 0)  # group 0's bar for Python
    assert len(kept[0].drain()["bars"]) == 1
    dropped = engines()
    assert run_groups(dropped, 0, trades, cuts, 0, at, False) == (3, exhausted, 0)
    assert [e.events_processed for e in dropped] == [2, 2, 2]
    assert not any(e.has_output for e in dropped)

    class BuyOnBar(PyEmaCross):
        name = "buy_on_bar"

        def on_bar(self, bar: object) -> None:
            self.buy(bar.ts_end, 1.0)  # type: ignore[attr-defined]

    trading = [engines()[0], engine.SymbolEngine("b", [BuyOnBar()], bar_period="1s").native, engines()[2]]
    index, reason, _ = run_groups(trading, 0, trades, cuts, 0, at, False)
    assert index == 1 and reason != exhausted  # the intent still stops the run
    assert len(trading[1].new_intents()) == 1
