"""Journal: every record kind round-trips, commit policy, open orders and positions, kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from tradecore import schema
from tradecore.errors import ConfigError
from tradecore.journal import Journal, StrategyNames

NAMES = StrategyNames("ema_cross", ("FLAT", "LONG"), ("cross_above", "cross_below"),
                      ("close", "fast", "slow"))


def _transition(ts: int, rule: int, source: int, target: int, values: list[float]) -> np.void:
    row = np.zeros(1, schema.TRANSITION)[0]
    row["ts_event"], row["rule"], row["from_state"], row["to_state"] = ts, rule, source, target
    row["value_count"] = len(values)
    row["values"][: len(values)] = values
    row["value_names"][: len(values)] = list(range(len(values)))
    return row


def _fill(ts: int, order_id: int, side: int, price: float, quantity: float) -> np.void:
    row = np.zeros(1, schema.FILL)[0]
    row["ts_event"], row["order_id"], row["side"] = ts, order_id, side
    row["price"], row["quantity"], row["commission"] = price, quantity, 0.35
    return row


def test_every_record_kind_round_trips_with_names_resolved(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal:
        journal.universe_change(1, added=["AAPL", "TSLA"], universe=["TSLA", "AAPL"],
                                scanner="premarket", values={"TSLA": {"gap_percent": 12.5}})
        journal.transition("tsla", _transition(2, 0, 0, 1, [5.43, 5.1, 5.0]), NAMES)
        intent = np.zeros(1, schema.TRADE_INTENT)[0]
        intent["ts_event"], intent["quantity"], intent["side"] = 3, 100, schema.Side.BUY
        intent["reference_price"], intent["rule"] = 5.43, 0
        journal.intent("TSLA", intent, NAMES, intent_id=7)
        journal.risk_decision(4, "TSLA", accepted=False, reason="max_position", intent_id=7,
                              quantity=50.0)
        journal.order(5, "TSLA", 11, side=schema.Side.BUY, quantity=50, order_type="limit",
                      limit_price=5.45, client_order_id="c-11", intent_id=7)
        update = np.zeros(1, schema.ORDER_UPDATE)[0]
        update["ts_event"], update["order_id"], update["status"] = 6, 11, schema.OrderStatus.LIVE
        update["leaves_quantity"] = 50
        journal.order_update("TSLA", update)
        journal.fill("TSLA", _fill(7, 11, schema.Side.BUY, 5.45, 20), reference_price=5.43)
        journal.position(7, "TSLA", quantity=20, average_price=5.45)
        journal.error(8, "bad tick", symbol="AAPL", where="stream", error_type="DataError")
        journal.latency(9, "tick_to_intent", 12_345, symbol="TSLA")
    with Journal(path, readonly=True) as journal:
        records = list(journal.records())
        assert [r.kind for r in records] == ["universe", "transition", "intent", "risk", "order",
                                             "order_update", "fill", "position", "error", "latency"]
        assert [r.seq for r in records] == list(range(1, 11))
        by_kind = {r.kind: r for r in records}
        assert by_kind["universe"].data["universe"] == ["TSLA", "AAPL"]
        assert by_kind["universe"].data["values"]["TSLA"]["gap_percent"] == 12.5
        transition = by_kind["transition"]
        assert transition.symbol == "TSLA"
        assert transition.data["rule"] == "cross_above"
        assert (transition.data["from_state"], transition.data["to_state"]) == ("FLAT", "LONG")
        assert transition.data["values"] == {"close": 5.43, "fast": 5.1, "slow": 5.0}
        assert by_kind["intent"].data["rule"] == "cross_above"
        assert by_kind["intent"].data["side"] == "BUY"
        assert by_kind["risk"].data["accepted"] is False
        assert by_kind["order"].order_id == "11"
        assert by_kind["order"].data["order_type"] == "LIMIT"
        assert by_kind["order_update"].data["status"] == "LIVE"
        fill = by_kind["fill"]
        assert fill.data["price"] == 5.45 and fill.data["reference_price"] == 5.43
        assert fill.ts_event == 7
        assert by_kind["error"].data["message"] == "bad tick"
        assert by_kind["latency"].data == {"name": "tick_to_intent", "ns": 12_345}
        assert journal.integrity_check() == "ok"


def test_floats_read_back_bit_for_bit(tmp_path: Path) -> None:
    prices = [0.1 + 0.2, 1 / 3, 5.4300000000000001, 123456.789012345678, 1e-12]
    with Journal(tmp_path / "j.sqlite", synchronous="NORMAL") as journal:
        for i, price in enumerate(prices):
            journal.fill("X", {"ts_event": i, "order_id": i, "side": 1, "price": price,
                               "quantity": 1})
        assert [r.data["price"] for r in journal.records("fill")] == prices


def test_acknowledged_records_commit_at_once_and_transitions_are_batched(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path, flush_interval_ms=60_000, batch_size=3)
    journal.transition("A", _transition(1, 0, 0, 1, [1.0]), NAMES)
    journal.transition("A", _transition(2, 1, 1, 0, [2.0]), NAMES)
    other = sqlite3.connect(path)
    assert other.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0  # buffered
    seq = journal.fill("A", _fill(3, 1, 1, 10.0, 5))
    # The fill flushed the buffer first, in the same transaction, so seq is append order.
    assert seq == 3
    assert other.execute("SELECT kind FROM events ORDER BY seq").fetchall() == [
        ("transition",), ("transition",), ("fill",)]
    for ts in range(3):
        journal.transition("A", _transition(10 + ts, 0, 0, 1, [1.0]), NAMES)
    assert other.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 6  # batch_size reached
    journal.latency(20, "x", 1)
    assert other.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 6
    journal.close()
    assert other.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 7  # flushed on close
    other.close()


def test_batched_records_are_written_after_the_flush_interval(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite", flush_interval_ms=0) as journal:
        journal.latency(1, "x", 1)
        assert journal.count("latency") == 1


def test_a_transaction_commits_everything_appended_inside_once_at_its_end(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path, flush_interval_ms=0, batch_size=1)  # outside a block: every append commits
    other = sqlite3.connect(path)
    journal.transition("A", _transition(1, 0, 0, 1, [1.0]), NAMES)
    assert journal.stats["commits"] == 1
    with journal.transaction():
        journal.risk_decision(2, "A", accepted=True)
        journal.transition("A", _transition(3, 0, 0, 1, [1.0]), NAMES)  # due at once outside
        with journal.transaction():  # nested: the outer block commits
            journal.fill("A", _fill(4, 1, 1, 10.0, 5))
        journal.position(5, "A", quantity=5, average_price=10.0)
        assert other.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1  # nothing yet
        assert journal.stats["commits"] == 1
    assert journal.stats["commits"] == 2
    assert other.execute("SELECT kind, ts_event FROM events ORDER BY seq").fetchall() == [
        ("transition", 1), ("risk", 2), ("transition", 3), ("fill", 4), ("position", 5)]  # append order
    journal.close()
    other.close()


def test_grouped_transactions_share_one_commit_made_before_anything_they_woke_runs(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    other = sqlite3.connect(path)
    seen: list[int] = []

    async def woken(ready: asyncio.Event) -> None:
        await ready.wait()
        seen.append(other.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    async def steps() -> None:
        ready = asyncio.Event()
        waiter = asyncio.create_task(woken(ready))
        await asyncio.sleep(0)  # the waiter waits
        for ts in (1, 2, 3):  # three steps in one turn of the loop
            with journal.transaction(grouped=True):
                journal.risk_decision(ts, "A", accepted=True)
                ready.set()  # wakes the waiter: it must find every step committed
                journal.fill("A", _fill(ts, 1, 1, 10.0, 5))
        assert journal.stats["commits"] == 0  # the loop has not turned
        await waiter
        assert journal.stats["commits"] == 1 and seen == [6]
        with journal.transaction(grouped=True):
            journal.position(4, "A", quantity=5, average_price=10.0)
        journal.error(5, "outside a block: commits at once, the waiting step first")
        assert journal.stats["commits"] == 2
        await asyncio.sleep(0)
        assert journal.stats["commits"] == 2  # nothing left for the scheduled commit

    asyncio.run(steps())
    with journal.transaction(grouped=True):  # no running loop: commits at the block's end
        journal.fill("A", _fill(6, 1, 1, 10.0, 5))
    assert journal.stats["commits"] == 3
    assert [kind for (kind,) in other.execute("SELECT kind FROM events ORDER BY seq")] == [
        "risk", "fill", "risk", "fill", "risk", "fill", "position", "error", "fill"]
    journal.close()
    other.close()


def test_a_grouped_commit_left_on_a_loop_that_stopped_is_made_on_the_next_loop(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")

    async def step(ts: int, stop: bool) -> None:
        with journal.transaction(grouped=True):
            journal.fill("A", _fill(ts, 1, 1, 10.0, 5))
        if stop:
            asyncio.get_running_loop().stop()  # before the turn that would commit

    loop = asyncio.new_event_loop()
    loop.create_task(step(1, True))
    loop.run_forever()
    loop.close()
    assert journal.stats["commits"] == 0
    asyncio.run(step(2, False))
    assert journal.stats["commits"] == 1 and journal.count("fill") == 2
    journal.close()


def test_a_transaction_left_by_an_exception_commits_what_was_appended(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        with pytest.raises(RuntimeError), journal.transaction():
            journal.fill("A", _fill(1, 1, 1, 10.0, 5))
            raise RuntimeError("after the fill")
        assert journal.count("fill") == 1


def test_a_transaction_of_batched_records_only_keeps_the_flush_policy(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite", flush_interval_ms=60_000) as journal:
        with journal.transaction():
            journal.transition("A", _transition(1, 0, 0, 1, [1.0]), NAMES)
        assert journal.count() == 0  # not acknowledged, not due: still buffered
        assert journal.stats["commits"] == 0


def test_open_orders_and_positions_as_of_the_last_committed_record(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.order(1, "AAPL", "a1", side="buy", quantity=100, order_type="limit",
                      limit_price=10.0)
        journal.order(2, "TSLA", "t1", side="buy", quantity=10)
        journal.order(3, "MSFT", "m1", side="sell", quantity=5, order_type="stop", stop_price=9)
        journal.fill("TSLA", {"ts_event": 4, "order_id": "t1", "side": "buy", "price": 200.0,
                              "quantity": 10})
        journal.fill("AAPL", {"ts_event": 5, "order_id": "a1", "side": "buy", "price": 10.0,
                              "quantity": 40})
        journal.order_update("MSFT", {"ts_event": 6, "order_id": "m1", "status": "canceled"})
        journal.position(4, "TSLA", quantity=10, average_price=200.0)
        journal.position(5, "AAPL", quantity=40, average_price=10.0)
        journal.position(7, "TSLA", quantity=0, average_price=0.0, realized_pnl=12.5)
        (open_order,) = journal.open_orders()
        assert open_order.order_id == "a1"
        assert open_order.filled_quantity == 40 and open_order.quantity == 100
        assert open_order.limit_price == 10.0 and open_order.order_type == "LIMIT"
        positions = journal.positions()
        assert list(positions) == ["AAPL"] and positions["AAPL"].quantity == 40
        assert journal.positions(include_flat=True)["TSLA"].realized_pnl == 12.5
        assert journal.net_fills() == {"TSLA": 10.0, "AAPL": 40.0}


def test_universe_at_returns_the_universe_in_force(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.universe_change(100, universe=["A"])
        journal.universe_change(200, universe=["A", "B"])
        assert journal.universe_at(99) is None
        assert journal.universe_at(100) == ["A"]
        assert journal.universe_at(250) == ["A", "B"]


def test_bad_arguments_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        Journal(tmp_path / "j.sqlite", synchronous="OFF")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        Journal(tmp_path / "missing.sqlite", readonly=True)
    with Journal(tmp_path / "j.sqlite") as journal, pytest.raises(ConfigError):
        journal.append("nonsense", 0, {})
    with pytest.raises(ConfigError):
        journal.error(0, "after close")


_WRITER = textwrap.dedent(
    """
    import sys
    from tradecore.journal import Journal, StrategyNames

    names = StrategyNames("s", ("FLAT", "LONG"), ("go",), ("x",))
    journal = Journal(sys.argv[1], synchronous=sys.argv[2], flush_interval_ms=5)
    i = 0
    while True:
        i += 1
        journal.transition("AAPL", {"ts_event": i, "rule": 0, "from_state": 0, "to_state": 1,
                                    "value_count": 1, "values": [float(i)],
                                    "value_names": [0]}, names)
        seq = journal.order(i, "AAPL", f"o{i}", side="buy", quantity=i, limit_price=i + 0.01,
                            order_type="limit")
        fill_seq = journal.fill("AAPL", {"ts_event": i, "order_id": f"o{i}", "side": "buy",
                                         "price": i + 0.01, "quantity": i})
        # Acknowledged only now, after both commits returned.
        sys.stdout.write(f"{i} {seq} {fill_seq}\\n")
        sys.stdout.flush()
    """
)


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_kill_9_loses_nothing_acknowledged_and_leaves_a_sound_file(
    tmp_path: Path, synchronous: str
) -> None:
    path = tmp_path / "journal.sqlite"
    process = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), synchronous],
        stdout=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    acknowledged: list[tuple[int, int, int]] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            acknowledged.append(tuple(map(int, line.split())))  # type: ignore[arg-type]
            if len(acknowledged) >= 300:
                break
        os.kill(process.pid, signal.SIGKILL)  # mid-write: it never stops appending
    finally:
        process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 300
    with Journal(path) as journal:  # reopened for writing, as `live --resume` does
        assert journal.integrity_check() == "ok"
        orders = {r.order_id: r for r in journal.records("order")}
        fills = {r.order_id: r for r in journal.records("fill")}
        for i, order_seq, fill_seq in acknowledged:
            order, fill = orders[f"o{i}"], fills[f"o{i}"]
            assert (order.seq, fill.seq) == (order_seq, fill_seq)
            assert order.data["quantity"] == i and fill.data["price"] == i + 0.01
        # Every acknowledged order is fully filled, so none is open; nothing half-written shows.
        last = acknowledged[-1][0]
        assert all(o.order_id not in {f"o{i}" for i in range(1, last + 1)}
                   for o in journal.open_orders())
        seqs = [r.seq for r in journal.records()]
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
        # The journal takes new records after the crash.
        next_seq = journal.error(0, "resumed")
        assert next_seq == journal.last_seq()


def test_records_are_encoded_as_the_json_encoder_encodes_them() -> None:
    from tradecore.journal.journal import _ENCODER, _encode

    values = [{"a": 0.1, "b": [1, 2.5e300, -0.0, None, True], "c": {"d": "é\n\"x\"", "e": 2**70}},
              {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"), "empty": {}, "list": []},
              {"price": 10.049999999999999, "quantity": 100.0, "status": "FILLED", "reason": ""}]
    for value in values:
        assert _encode(value) == _ENCODER.encode(value)
    with pytest.raises(TypeError):
        _encode({"a": object()})


def test_transition_rows_journal_as_each_row_read_on_its_own(tmp_path: Path) -> None:
    rows = np.zeros(3, schema.TRANSITION)
    for i, values in enumerate([[0.1, 2.5], [], [1e-7, -3.0, 0.30000000000000004, 7.0, 8.0, 9.0]]):
        rows[i] = _transition(10 + i, i % 2, i % 2, 1 - i % 2, values)
    rows["strategy_id"] = [0, 1, 0]
    other = StrategyNames("other", ("A", "B"), ("r0", "r1"), ("x", "y", "z", "w", "v", "u"))
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.transitions("ABC", rows, [NAMES, other])
        for row in rows:
            journal.transition("ABC", row, [NAMES, other][int(row["strategy_id"])])
        journal.flush()
        written = [(r.ts_event, r.symbol, r.data) for r in journal.records("transition")]
    assert written[:3] == written[3:] and len({str(w) for w in written}) == 3


def test_open_orders_credit_a_fill_to_its_client_order_id_when_broker_ids_repeat(tmp_path: Path) -> None:
    """Two processes of one run whose broker ids collide (an older run's paper ids restarted at
    ``paper-1`` in every process): the second process's fill is its own order's, not the first's."""
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.order(1, "ACME", "tcA-1", side="buy", quantity=10, client_order_id="tcA-1")
        journal.order_update("ACME", {"ts_event": 2, "status": "canceled"}, order_id="paper-1",
                             client_order_id="tcA-1")
        journal.order(3, "ACME", "tcB-1", side="sell", quantity=10, client_order_id="tcB-1")
        journal.order_update("ACME", {"ts_event": 4, "status": "new"}, order_id="paper-1",
                             client_order_id="tcB-1")
        journal.fill("ACME", {"ts_event": 5, "side": "sell", "price": 10.0, "quantity": 10},
                     order_id="paper-1", client_order_id="tcB-1")
        assert journal.open_orders() == []
