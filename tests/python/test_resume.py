"""`tradecore live` with `execution.broker = "alpaca"`, and `tradecore live --resume` after a real
`kill -9`: real processes, the simulator's trading endpoints over loopback, the run's SQLite
journal and registry."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tradecore.config import Config
from tradecore.execution import OrderRequest
from tradecore.execution.alpaca import AlpacaBroker
from tradecore.journal.journal import Journal
from tradecore.journal.registry import RunRegistry
from tradecore.live import run_live
from tradecore.schema import OrderType, Side

KEYS = {"APCA_API_KEY_ID": "resume-test-key", "APCA_API_SECRET_KEY": "resume-test-secret"}
# Crosses of a 2- and 3-bar EMA on 1-minute bars: at 600x the run trades within seconds.
STRATEGY = '[strategy]\nname = "ema_cross"\nparams = {fast = 2, slow = 3, quantity = 10}\n'


def tradecore(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from tradecore.cli import main; sys.exit(main())", *args]


def resume_live(runs: Path, env: dict[str, str], *, duration: int, timeout: int) -> subprocess.CompletedProcess[str]:
    """``tradecore live --resume`` of the newest run in ``runs`` for ``duration`` seconds; it
    must succeed."""
    resumed = subprocess.run(tradecore("live", "--no-ui", "--resume", "--duration", str(duration),
                                       "--runs-dir", str(runs)),
                             env=env, check=False, capture_output=True, text=True, timeout=timeout)
    assert resumed.returncode == 0, resumed.stderr
    return resumed


def start_sim(*options: str) -> tuple[subprocess.Popen[str], dict[str, str], list[str]]:
    sim = subprocess.Popen(tradecore("sim", "--port", "0", "--seed", "7", "--speed", "600", *options),
                           stdout=subprocess.PIPE, text=True)
    assert sim.stdout is not None
    urls: dict[str, str] = {}
    for line in sim.stdout:
        name, _, value = line.partition(" ")
        urls[name] = value.strip()
        if line.startswith("Ctrl-C"):
            break
    return sim, {k: urls[k].split()[0] for k in ("stream", "rest", "trading")}, urls["gappers"].split()


def wait_for_open_position(runs: Path, timeout: float = 90.0) -> Path:
    """The run's journal once it holds an acknowledged fill that left a position open."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        for path in runs.glob("*/journal.sqlite"):
            with Journal(path, readonly=True) as journal, contextlib.suppress(sqlite3.OperationalError):
                # (OperationalError: the run is still creating its journal's tables)
                if any(abs(q) > 1e-9 for q in journal.net_fills().values()):
                    return path
    raise AssertionError("no acknowledged fill with an open position in time")


async def broker_call(urls: dict[str, str], method: str, *args: object) -> object:
    async with AlpacaBroker(base_url=urls["trading"], key_id=KEYS["APCA_API_KEY_ID"],
                            secret_key=KEYS["APCA_API_SECRET_KEY"], stream=False) as broker:
        return await getattr(broker, method)(*args)


def test_live_resumes_after_kill_9_with_nothing_acknowledged_lost(tmp_path: Path) -> None:
    sim, urls, gappers = start_sim()
    runs = tmp_path / "runs"
    env = {**os.environ, **KEYS}
    try:
        config = alpaca_config(tmp_path, urls, gappers, STRATEGY)
        log = tmp_path / "live.log"  # a file, not a pipe: a full pipe would stall the process
        with log.open("w") as output:
            live = subprocess.Popen(tradecore("live", "--no-ui", "--config", str(config), "--runs-dir", str(runs)),
                                    env=env, stdout=output, stderr=output)
            try:
                journal_path = wait_for_open_position(runs)
            finally:
                live.kill()  # SIGKILL: no shutdown code runs
                live.wait(timeout=30)
        stderr = log.read_text()
        assert live.returncode == -9, stderr
        run_id = journal_path.parent.name
        with Journal(journal_path, readonly=True) as journal:
            before = [(r.seq, r.order_id, r.ts_event, r.data["quantity"], r.data["price"])
                      for r in journal.records("fill")]
            sent_before = [r.order_id for r in journal.records("order")]
            held = {s for s, q in journal.net_fills().items() if abs(q) > 1e-9}
        assert RunRegistry(runs).get(run_id).status == "running"

        # While the process is down someone trades on the account: the resume must notice.
        prices = _last_prices(urls, [s for s in gappers if s not in held])
        outsider = next(iter(prices))
        snapshot_price = Decimal(str(prices[outsider]))
        asyncio.run(broker_call(urls, "submit", OrderRequest(
            client_order_id="manual-while-down", symbol=outsider, side=Side.BUY, type=OrderType.LIMIT,
            qty=Decimal(7), limit_price=(snapshot_price * Decimal("1.2")).quantize(Decimal("0.01")),
            extended_hours=True)))

        # 6 s at 600x: an hour of minute bars, for the adopted position's exit (the reverse cross)
        resumed = resume_live(runs, env, duration=6, timeout=120)
        assert f"resumed run {run_id}" in resumed.stdout
        assert f"{outsider}: the broker holds 7 shares the journal does not know" in resumed.stdout
        assert "journal fills equal the broker's" in resumed.stdout
        assert f"{outsider}: not adopted: no intent of this run opened it" in resumed.stdout

        info = RunRegistry(runs).get(run_id)
        assert info.status == "finished" and len(list(runs.glob("*/journal.sqlite"))) == 1
        with Journal(journal_path, readonly=True) as journal:
            after = [(r.seq, r.order_id, r.ts_event, r.data["quantity"], r.data["price"])
                     for r in journal.records("fill")]
            sent = [r.order_id for r in journal.records("order")]
            filled = {order_id: shares for order_id, (shares, _) in journal.filled_by_order().items()}
            assert journal.count("resumed") == 1
            found = {r.data["action"]: r for r in journal.records("reconciliation")}
            assert found["position_corrected"].symbol == outsider
            assert found["end_check"].data["details"]["mismatches"] == []
            journal_positions = {s: p.quantity for s, p in journal.positions().items()}
            adoptions = {r.symbol: r for r in journal.records("adoption")}
            flattened_while_down = {f.symbol for f in found.values() if f.data["action"] == "fill_applied"}
            # The strategy that opened each held position took it over and managed it to its exit.
            for symbol in held - flattened_while_down:
                adoption = adoptions[symbol]
                assert adoption.data["adopted"] and adoption.data["strategy"] == "ema_cross", adoption.data
                after_adoption = [r.data["rule"] for r in journal.records("transition", symbol=symbol,
                                                                          after_seq=adoption.seq)]
                assert after_adoption[0] in ("adopted", "adopted_exit_pending"), after_adoption
                assert "exit_filled" in after_adoption, after_adoption
                assert any(r.data["side"] == "SELL" for r in journal.records("fill", symbol=symbol,
                                                                             after_seq=adoption.seq))
            # Shares bought by hand are nobody's: refused, so the entry block holds the symbol.
            assert not adoptions[outsider].data["adopted"]
            assert "no intent of this run opened it" in adoptions[outsider].data["reason"]
            assert not [r for r in journal.records("intent", symbol=outsider, after_seq=adoptions[outsider].seq)
                        if r.data["side"] == "BUY" and _routed(journal, r)]
        # Every acknowledged order and fill from before the crash is still there, in place, once.
        assert after[:len(before)] == before and sent[:len(sent_before)] == sent_before
        assert len(set(sent)) == len(sent)
        # Nothing counted twice: each order's journaled shares are what the broker filled.
        orders = asyncio.run(broker_call(urls, "orders"))
        mine = {o.order_id: o.filled_qty for o in orders if o.client_order_id in set(sent)}  # type: ignore[attr-defined]
        assert {k: v for k, v in mine.items() if v} == {k: Decimal(str(v)) for k, v in filled.items()}
        broker_positions = {p.symbol: float(p.qty) for p in asyncio.run(broker_call(urls, "positions"))}  # type: ignore[attr-defined]
        assert journal_positions == broker_positions
        assert journal_positions[outsider] >= 7  # the strategy starts flat: it sells only its own
        # The keys reached neither the run's files nor its output.
        secret = KEYS["APCA_API_SECRET_KEY"].encode()
        assert not [p for p in runs.rglob("*") if p.is_file() and secret in p.read_bytes()]
        assert secret.decode() not in resumed.stdout + resumed.stderr + stderr
    finally:
        sim.terminate()
        sim.communicate(timeout=30)


def alpaca_config(tmp_path: Path, urls: dict[str, str], symbols: list[str], strategy: str) -> Path:
    """A config trading ``symbols`` with ``strategy`` (TOML) on the simulator's Alpaca APIs."""
    config = tmp_path / "alpaca.toml"
    config.write_text(
        f'[market]\nprovider = "alpaca"\nstream_url = "{urls["stream"]}"\n'
        f'rest_url = "{urls["rest"]}"\ntrading_url = "{urls["trading"]}"\n'
        f'[scanner]\nkind = "fixed"\nsymbols = {json.dumps(symbols)}\n{strategy}'
        '[execution]\nbroker = "alpaca"\nflatten_on_exit = false\n')
    return config


def kill_9_while_an_entry_works(tmp_path: Path, config: Path, runs: Path, env: dict[str, str]) -> tuple[Path, str]:
    """Run `tradecore live` until it has an entry order working, then SIGKILL it; return its
    journal and the order's client id."""
    log = tmp_path / "live.log"  # a file, not a pipe: a full pipe would stall the process
    with log.open("w") as output:
        live = subprocess.Popen(tradecore("live", "--no-ui", "--config", str(config), "--runs-dir", str(runs)),
                                env=env, stdout=output, stderr=output)
        try:
            journal_path, entry_id = wait_for_working_entry(runs)
        finally:
            live.kill()  # SIGKILL while the entry is working
            live.wait(timeout=30)
    assert live.returncode == -9, log.read_text()
    return journal_path, entry_id


def wait_for_working_entry(runs: Path, timeout: float = 90.0) -> tuple[Path, str]:
    """The run's journal and client order id once it holds a buy order with no fill yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        for path in runs.glob("*/journal.sqlite"):
            with Journal(path, readonly=True) as journal, contextlib.suppress(sqlite3.OperationalError):
                filled = {r.data.get("client_order_id") for r in journal.records("fill")}
                for order in journal.records("order"):
                    if order.data["side"] == "BUY" and order.data["client_order_id"] not in filled:
                        return path, order.data["client_order_id"]
    raise AssertionError("no working entry order in time")


def test_live_resumes_an_entry_order_working_at_the_kill_9_in_the_strategys_pending_entry(tmp_path: Path) -> None:
    """premarket_momentum's entry (an extended-hours limit, held 10 simulated minutes by the
    simulator before it reaches the market) is still working when the process is killed; the
    resumed run's strategy waits on it in PENDING_ENTRY and its fill completes the entry."""
    sim, urls, gappers = start_sim("--submit-latency", "600")
    runs = tmp_path / "runs"
    env = {**os.environ, **KEYS}
    try:
        config = alpaca_config(tmp_path, urls, gappers, '[strategy]\nname = "premarket_momentum"\n')
        journal_path, entry_id = kill_9_while_an_entry_works(tmp_path, config, runs, env)
        with Journal(journal_path, readonly=True) as journal:
            (intent,) = [r for r in journal.records("intent") if r.data["side"] == "BUY"]
            symbol = intent.symbol
            assert intent.data["rule"] in ("break_premarket_high", "reclaim_vwap")

        # 25 s at 600x: over four simulated hours, for the resting limit to fill.
        resumed = resume_live(runs, env, duration=25, timeout=180)
        assert f"{symbol}: adopted: premarket_momentum waits on its entry order still working" in resumed.stdout
        assert "journal fills equal the broker's" in resumed.stdout
        with Journal(journal_path, readonly=True) as journal:
            (adoption,) = [r for r in journal.records("adoption") if r.symbol == symbol]
            assert adoption.data["adopted"] and adoption.data["details"]["quantity"] == 0
            after = [r.data["rule"] for r in journal.records("transition", symbol=symbol, after_seq=adoption.seq)]
            assert after[:2] == ["adopted_entry_pending", "entry_filled"], after
            fills = [r for r in journal.records("fill", symbol=symbol, after_seq=adoption.seq)]
            assert fills and fills[0].data["side"] == "BUY" and fills[0].data["client_order_id"] == entry_id
            # No second entry was sent while the first one worked.
            buys = [r for r in journal.records("order", symbol=symbol) if r.data["side"] == "BUY"]
            assert [r.data["client_order_id"] for r in buys] == [entry_id]
    finally:
        sim.terminate()
        sim.communicate(timeout=30)


def test_an_entry_order_the_strategy_cannot_take_over_is_canceled_at_the_resume(tmp_path: Path) -> None:
    """ema_cross cannot wait on an entry order (no pending-entry adoption): the order, still
    working at the kill -9 (the simulator holds it two simulated hours before it reaches the
    market), is canceled by the resume with a journaled reason, so it never fills into a
    position no strategy manages; the symbol trades on normally once it is final."""
    sim, urls, gappers = start_sim("--submit-latency", "7200")
    runs = tmp_path / "runs"
    env = {**os.environ, **KEYS}
    try:
        config = alpaca_config(tmp_path, urls, gappers, STRATEGY)
        journal_path, entry_id = kill_9_while_an_entry_works(tmp_path, config, runs, env)
        with Journal(journal_path, readonly=True) as journal:
            (order,) = [r for r in journal.records("order") if r.data["client_order_id"] == entry_id]
            symbol = order.symbol

        resumed = resume_live(runs, env, duration=4, timeout=180)
        assert f"{symbol}: not adopted: ema_cross cannot wait on an entry order still working" in resumed.stdout
        assert f"{symbol}: entry order {entry_id} still working at the broker was not taken over" in resumed.stdout
        with Journal(journal_path, readonly=True) as journal:
            (canceled,) = [r for r in journal.records("reconciliation") if r.data["action"] == "entry_canceled"]
            assert canceled.symbol == symbol and "cannot wait on an entry order" in canceled.data["details"]["reason"]
            final = [r.data["status"] for r in journal.records("order_update", symbol=symbol)
                     if r.data.get("client_order_id") == entry_id]
            assert final and final[-1] == "CANCELED", final
            assert not [r for r in journal.records("fill") if r.data.get("client_order_id") == entry_id]
        # The broker agrees: the order was canceled unfilled.
        orders = asyncio.run(broker_call(urls, "orders"))
        (at_broker,) = [o for o in orders if o.client_order_id == entry_id]  # type: ignore[attr-defined]
        assert at_broker.status.value == "canceled" and at_broker.filled_qty == 0  # type: ignore[attr-defined]
    finally:
        sim.terminate()
        sim.communicate(timeout=30)


def test_a_resumed_runs_recording_replays_into_the_same_intents_and_fills(tmp_path: Path) -> None:
    """Parity after a crash: a paper run is killed (-9) holding a position; the resumed run,
    recorded, adopts it and trades on; the backtest of the recording starts from the same
    account and adoption (the recording's resume point) and gives the same intents and fills
    as the resumed run. A copy without the resume point is refused, not replayed flat."""
    import shutil

    from tradecore.errors import ConfigError
    from tradecore.session import backtest_recording

    runs, recording = tmp_path / "runs", tmp_path / "recording"
    config = tmp_path / "paper.toml"
    config.write_text('[sim]\nspeed = 600.0\nseed = 7\nlive_from = ""\n[scanner]\nkind = "fixed"\nsymbols = ["CBB", "AOZ", "YRRS"]\n'
                      f'{STRATEGY}[execution]\nflatten_on_exit = false\n')
    log = tmp_path / "live.log"
    with log.open("w") as output:
        live = subprocess.Popen(tradecore("live", "--no-ui", "--config", str(config), "--runs-dir", str(runs)),
                                stdout=output, stderr=output)
        try:
            journal_path = wait_for_open_position(runs)
        finally:
            live.kill()
            live.wait(timeout=30)
    assert live.returncode == -9, log.read_text()
    run_id = journal_path.parent.name

    result = asyncio.run(run_live(Config(), resume=run_id, record=recording, runs_root=runs, ui=False,
                                  duration=300.0, max_events=6000))
    saved = Config.model_validate(RunRegistry(runs).get(run_id).parameters)
    with Journal(journal_path, readonly=True) as journal:
        (resumed,) = journal.records("resumed")
        adopted = [r.symbol for r in journal.records("adoption") if r.data["adopted"]]
        live_intents = [(r.ts_event, r.symbol, r.data["side"], r.data["quantity"], r.data.get("rule"))
                        for r in journal.records("intent", after_seq=resumed.seq)]
        live_fills = [(r.ts_event, r.symbol, r.data["side"], r.data["price"], r.data["quantity"])
                      for r in journal.records("fill", after_seq=resumed.seq)]
    assert adopted, "the resumed run adopted the position it held"
    # The adopted position was managed: its exit is among the resumed run's intents.
    assert any(i[1] in adopted and i[2] == "SELL" for i in live_intents), live_intents
    assert result.events > 0

    replay_journal = Journal(tmp_path / "replay.sqlite")
    _, events = asyncio.run(backtest_recording(saved, recording, journal=replay_journal))
    replay_journal.flush()
    assert events == result.events
    replay_intents = [(r.ts_event, r.symbol, r.data["side"], r.data["quantity"], r.data.get("rule"))
                      for r in replay_journal.records("intent")]
    replay_fills = [(r.ts_event, r.symbol, r.data["side"], r.data["price"], r.data["quantity"])
                    for r in replay_journal.records("fill")]
    replay_journal.close()
    # Each symbol's intents and fills, in order, at the same times. (Across symbols, events of
    # one moment may interleave differently: a recording of several trading symbols replays so
    # without any resume.)
    assert _by_symbol(replay_intents) == _by_symbol(live_intents)
    assert _by_symbol(replay_fills) == _by_symbol(live_fills)

    copy = tmp_path / "without-resume-point"
    shutil.copytree(recording, copy, ignore=shutil.ignore_patterns("resume.json"))
    with pytest.raises(ConfigError, match="recorded by a resumed run but resume.json"):
        asyncio.run(backtest_recording(saved, copy))


def _by_symbol(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    """Rows (time, symbol, ...) grouped by symbol, each symbol's in their order."""
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault(row[1], []).append(row)
    return grouped


def _routed(journal: Journal, intent: Any) -> bool:
    """Whether ``intent`` became an order (the next record of its symbol is not a refusal)."""
    following = next(journal.records(("risk", "order"), symbol=intent.symbol, after_seq=intent.seq), None)
    return following is not None and following.kind == "order"


def _last_prices(urls: dict[str, str], symbols: list[str]) -> dict[str, float]:
    """The last trade price of those ``symbols`` that have traded (data REST snapshots)."""
    async def fetch() -> dict[str, float]:
        from tradecore.scanners import MarketDataClient

        client = MarketDataClient(urls["rest"], key_id="k", secret_key="s")
        try:
            snapshots = await client.snapshots(symbols)
        finally:
            await client.close()
        return {s: float(v["latestTrade"]["p"]) for s, v in snapshots.items() if v and v.get("latestTrade")}

    return asyncio.run(fetch())


def test_live_trades_through_the_in_process_simulators_trading_api(tmp_path: Path) -> None:
    config = Config().with_overrides(
        sim={"speed": 600.0, "seed": 7, "live_from": ""}, scanner={"kind": "fixed", "symbols": ["CBB", "AOZ", "YRRS"]},
        strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3, "quantity": 10}},
        execution={"broker": "alpaca"})
    result = asyncio.run(run_live(config, duration=8.0, ui=False, runs_root=tmp_path / "runs"))
    with Journal(result.folder / "journal.sqlite", readonly=True) as journal:
        fills = journal.fills()
        assert len(fills) >= 2
        # The engines learned their fills from trade_updates: the strategies went LONG.
        assert any(r.data["rule"] == "entry_filled" for r in journal.records("transition"))
        # One process, one client order id prefix (a resumed process gets another).
        assert len({f.data["client_order_id"].split("-")[0] for f in fills}) == 1
        assert journal.positions() == {}  # flattened at exit, and the broker agrees:
    assert result.fill_check is not None and result.fill_check["mismatches"] == []
    assert result.fill_check["orders"] >= len({f.order_id for f in fills})


def test_resume_with_nothing_to_resume_is_a_plain_error(tmp_path: Path) -> None:
    result = subprocess.run(tradecore("live", "--no-ui", "--resume", "--runs-dir", str(tmp_path)),
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "no unfinished live run" in result.stderr and "Traceback" not in result.stderr
    both = subprocess.run(tradecore("live", "--resume", "--config", "run.toml", "--runs-dir", str(tmp_path)),
                          check=False, capture_output=True, text=True, timeout=60)
    assert both.returncode != 0 and "saved config" in both.stderr


def test_paper_live_resumes_from_its_journal_after_kill_9(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    config = tmp_path / "paper.toml"
    config.write_text('[sim]\nspeed = 600.0\nseed = 7\nlive_from = ""\n[scanner]\nkind = "fixed"\n'
                      f'symbols = ["CBB", "AOZ", "YRRS"]\n{STRATEGY}')
    live = subprocess.Popen(tradecore("live", "--no-ui", "--config", str(config), "--runs-dir", str(runs)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        journal_path = wait_for_open_position(runs)
        while_alive = subprocess.run(tradecore("live", "--no-ui", "--resume", "--runs-dir", str(runs)),
                                     check=False, capture_output=True, text=True, timeout=60)
    finally:
        live.kill()
        live.wait(timeout=30)
    assert while_alive.returncode != 0 and f"is still running (process {live.pid})" in while_alive.stderr
    with Journal(journal_path, readonly=True) as journal:
        before = [(r.seq, r.order_id, r.data["quantity"]) for r in journal.records("fill")]
        held = {s for s, q in journal.net_fills().items() if abs(q) > 1e-9}
        crashed_at, last_seq = (journal.ts_span() or (None, None))[1], journal.last_seq()
    assert crashed_at is not None
    resumed = subprocess.run(tradecore("live", "--no-ui", "--resume", journal_path.parent.name[:20],
                                       "--duration", "3", "--runs-dir", str(runs)),
                             check=False, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "the journal, which is the truth" in resumed.stdout
    # The simulated market goes on from where the crashed process left it, not from 04:00 again
    # (which traded the same morning twice).
    assert "simulating the session up to" in resumed.stderr
    with Journal(journal_path, readonly=True) as journal:
        new = list(journal.records(("transition", "intent", "fill"), after_seq=last_seq))
        assert new and min(r.ts_event for r in new) >= crashed_at
        after = [(r.seq, r.order_id, r.data["quantity"]) for r in journal.records("fill")]
        assert after[:len(before)] == before
        # The restored positions were adopted by the strategy, and closed (by it or at exit).
        adopted = {r.symbol for r in journal.records("adoption") if r.data["adopted"]}
        assert adopted == held
        assert all(abs(q) < 1e-9 for q in journal.net_fills().values())
        sold = {r.symbol for r in journal.fills()[len(before):] if r.data["side"] == "SELL"}
        assert set(held) <= sold
        # Each process's paper venue has ids of its own: a broker id names one order of the
        # run (repeated ids credited the resumed process's fills to the crashed one's orders).
        orders: dict[str | None, set[str]] = {}
        for record in journal.records(("order_update", "fill")):
            orders.setdefault(record.order_id, set()).add(record.data["client_order_id"])
        assert all(len(clients) == 1 for clients in orders.values()), orders


def test_a_restored_position_blocks_new_entries_on_its_symbol_until_it_is_flat() -> None:
    from tradecore.execution import IntentRejected, OrderRouted, TradeIntent
    from tradecore.execution.market import MarketSnapshot
    from tradecore.resume import INHERITED_RULE, block_inherited
    from tradecore.schema import Sizing
    from tradecore.session import RunState

    state = RunState.create(Config(), journal=None)
    state.tracker.on_fill("ACME", Side.BUY, Decimal(100), Decimal(10))
    block_inherited(state, {"ACME": Decimal(100), "ZZZ": Decimal(0)})
    market = MarketSnapshot("ACME", bid=Decimal("9.99"), ask=Decimal("10.01"), last=Decimal(10), ts_event=1)
    now = 1_795_705_200_000_000_000  # 10:00 New York on a weekday

    def route(symbol: str, side: Side) -> object:
        intent = TradeIntent(symbol=symbol, side=side, order_type=OrderType.MARKET, sizing=Sizing.SHARES,
                             quantity=Decimal(10), ts_event=now)
        return state.pipeline.router.route(intent, MarketSnapshot(symbol, bid=market.bid, ask=market.ask,
                                                                  last=market.last, ts_event=1), now=now)

    refused = route("ACME", Side.BUY)
    assert isinstance(refused, IntentRejected) and refused.rule == INHERITED_RULE
    assert "restored by a resume" in refused.reason and "exits allowed" in refused.reason
    assert isinstance(route("ACME", Side.SELL), OrderRouted)  # reducing is always allowed
    assert isinstance(route("OTHER", Side.BUY), OrderRouted)  # other symbols trade as usual
    state.tracker.on_fill("ACME", Side.SELL, Decimal(100), Decimal(10))
    assert isinstance(route("ACME", Side.BUY), OrderRouted)  # flat: strategies own what comes next


MINUTE = 60 * 10**9
OPEN = 1_795_705_200_000_000_000 - 30 * MINUTE  # 09:30 New York on a weekday
PM_STRATEGY = {"name": "premarket_momentum",
               "params": {"prior_close": 4.0, "max_spread": 0.0, "quantity": 100, "exit_on_vwap_loss": False}}


def _crashed_run(path: Path) -> None:
    """What a crashed run's journal holds: premarket_momentum broke out at 09:32 with a 4.95 stop
    and bought ACME (100 at 5.29); the shares of BYHAND were bought with no intent; OLDCO's
    order record predates the intent reference (an older journal)."""
    from tradecore.journal.journal import StrategyNames
    from tradecore.strategies import PremarketMomentum, PremarketMomentumParams

    names = StrategyNames.of(PremarketMomentum(PremarketMomentumParams(prior_close=4.0)))
    with Journal(path, synchronous="NORMAL") as journal:
        for symbol, ref in (("ACME", True), ("OLDCO", False)):
            intent_ts = OPEN + 2 * MINUTE
            journal.intent(symbol, {"ts_event": intent_ts, "strategy_id": 0, "rule": 2, "side": "BUY",
                                    "quantity": 100.0, "stop_price": 4.95, "reference_price": 5.28}, names)
            details = {"reason": "", "intent": {"strategy_id": 0, "rule": 2, "transition": 3, "ts_intent": intent_ts}}
            journal.order(intent_ts, symbol, f"tcdead-{symbol}", side="BUY", quantity=100.0,
                          client_order_id=f"tcdead-{symbol}", details=details if ref else {"reason": ""})
            journal.fill(symbol, {"ts_event": OPEN + 3 * MINUTE, "side": "BUY", "price": 5.29, "quantity": 100.0},
                         order_id=f"tcdead-{symbol}", client_order_id=f"tcdead-{symbol}")
        journal.order(OPEN, "BYHAND", "manual-1", side="BUY", quantity=5.0, client_order_id="manual-1",
                      details={"reason": "", "intent": None})
        journal.fill("BYHAND", {"ts_event": OPEN + MINUTE, "side": "BUY", "price": 3.0, "quantity": 5.0},
                     order_id="manual-1", client_order_id="manual-1")


def _trades(*rows: tuple[int, float]) -> Any:
    from tradecore import schema

    trades = schema.empty(schema.TRADE, len(rows))
    trades["ts_event"], trades["price"] = [t for t, _ in rows], [p for _, p in rows]
    trades["size"] = 100
    return trades


def test_openings_of_finds_the_intent_behind_a_position_in_new_and_old_journals(tmp_path: Path) -> None:
    from tradecore.resume import openings_of

    _crashed_run(tmp_path / "journal.sqlite")
    with Journal(tmp_path / "journal.sqlite", readonly=True) as journal:
        journal_openings = openings_of(journal)
    assert set(journal_openings) == {"ACME", "OLDCO", "BYHAND"}
    acme, old, by_hand = (journal_openings[s] for s in ("ACME", "OLDCO", "BYHAND"))
    for opening in (acme, old):
        assert (opening.strategy, opening.rule, opening.stop_price) == ("premarket_momentum", "break_premarket_high",
                                                                        4.95)
        assert opening.entry_ts == OPEN + 3 * MINUTE
    assert by_hand.strategy is None and by_hand.client_order_id == "manual-1"


def test_a_restored_position_is_adopted_and_its_stop_exits_it_on_the_paper_venue(tmp_path: Path) -> None:
    from tradecore.resume import ResumeReport, adopt_position, restore_from_journal
    from tradecore.session import RunState
    from tradecore.streams.base import EventBatch, EventKind

    path = tmp_path / "journal.sqlite"
    _crashed_run(path)

    async def scenario() -> None:
        journal = Journal(path, synchronous="NORMAL")
        config = Config().with_overrides(strategy=PM_STRATEGY)
        state = RunState.create(config, journal=journal)
        positions = restore_from_journal(journal, state.tracker, Decimal(100_000))
        assert positions == {"ACME": 100, "OLDCO": 100, "BYHAND": 5}
        seen = state.bus.subscribe(["adoption", "transition"])
        engine = state.make_engine("ACME")
        runner = state.runner("ACME", engine)
        from tradecore import schema

        history = schema.empty(schema.BAR, 8)
        history["ts_event"] = [OPEN + i * MINUTE for i in range(8)]
        history["ts_end"] = history["ts_event"] + MINUTE
        history["open"] = history["low"] = history["close"] = history["vwap"] = 5.2
        history["high"] = [5.3, 5.3, 5.3, 5.3, 5.6, 5.45, 5.4, 5.35]  # 5.60 at 09:34, after the entry
        history["volume"] = 1_000
        engine.warm_up(history)
        report = ResumeReport(positions={s: Decimal(q) for s, q in positions.items()})
        assert adopt_position(state, runner, report, journal, OPEN + 10 * MINUTE, history)
        strategy = engine.strategies[0]
        assert strategy.state_names[strategy.state] == "LONG" and strategy.position == 100
        (record,) = journal.records("adoption")
        assert record.symbol == "ACME" and record.data["adopted"] and record.data["strategy"] == "premarket_momentum"
        assert "stop 4.95" in record.data["reason"] and "highest 5.6" in record.data["reason"]
        assert record.data["details"]["rule"] == "break_premarket_high"

        # 09:40-09:41: a print through the 4.95 stop; the 09:41 print closes the bar.
        await runner.process(EventBatch(EventKind.TRADE, "ACME", _trades(
            (OPEN + 10 * MINUTE + 10**9, 5.20), (OPEN + 10 * MINUTE + 30 * 10**9, 4.90),
            (OPEN + 11 * MINUTE + 10**9, 4.93))))
        await state.pipeline.drain()
        journal.flush()
        rules = [r.data["rule"] for r in journal.records("transition", symbol="ACME")]
        assert rules[:3] == ["adopted", "stop_hit", "exit_filled_at_loss"]
        (sell,) = [r for r in journal.records("fill", symbol="ACME") if r.data["side"] == "SELL"]
        assert sell.data["quantity"] == 100
        assert state.tracker.qty("ACME") == 0 and strategy.position == 0
        events = seen.drain()
        assert [e.topic for e in events][:2] == ["adoption", "transition"]
        assert events[1].data["target"] == "LONG" and events[1].data["rule"] == "adopted"
        journal.close()

    asyncio.run(scenario())


def test_a_position_the_configured_strategy_did_not_open_falls_back_to_the_entry_block(tmp_path: Path) -> None:
    from rich.console import Console
    from tradecore.dashboard import Dashboard
    from tradecore.execution import IntentRejected, TradeIntent
    from tradecore.execution.market import MarketSnapshot
    from tradecore.latency import LatencyStats
    from tradecore.resume import (
        INHERITED_RULE,
        ResumeReport,
        adopt_position,
        block_inherited,
        restore_from_journal,
    )
    from tradecore.schema import Sizing
    from tradecore.session import RunState

    path = tmp_path / "journal.sqlite"
    _crashed_run(path)
    journal = Journal(path, synchronous="NORMAL")
    state = RunState.create(Config().with_overrides(strategy={"name": "ema_cross"}), journal=journal)
    dashboard = Dashboard(state, LatencyStats(), lambda: OPEN, console=Console(file=io.StringIO()))
    positions = restore_from_journal(journal, state.tracker, Decimal(100_000))
    report = ResumeReport(positions={s: Decimal(q) for s, q in positions.items()})
    adopted = set()
    for symbol in ("ACME", "BYHAND"):
        runner = state.runner(symbol, state.make_engine(symbol))
        if adopt_position(state, runner, report, journal, OPEN + 10 * MINUTE):
            adopted.add(symbol)
        assert runner.engine.strategies[0].state == 0 and runner.engine.strategies[0].position == 0
    assert adopted == set()
    reasons = {r.symbol: r.data["reason"] for r in journal.records("adoption") if not r.data["adopted"]}
    assert reasons == {"ACME": "opened by premarket_momentum (break_premarket_high) but the run now trades ema_cross",
                       "BYHAND": "no intent of this run opened it (shares bought outside the strategies)"}
    dashboard._absorb()  # the dashboard shows who holds the positions now
    assert dashboard.states == {"ACME": "FLAT (held: not adopted)", "BYHAND": "FLAT (held: not adopted)"}
    assert any("ACME   not adopted: opened by premarket_momentum" in line for line in dashboard.recent)
    block_inherited(state, {s: q for s, q in report.positions.items() if s not in adopted})
    intent = TradeIntent(symbol="ACME", side=Side.BUY, order_type=OrderType.MARKET, sizing=Sizing.SHARES,
                         quantity=Decimal(10), ts_event=OPEN + 30 * MINUTE)
    market = MarketSnapshot("ACME", bid=Decimal("5.00"), ask=Decimal("5.02"), last=Decimal(5), ts_event=1)
    refused = state.pipeline.router.route(intent, market, now=OPEN + 30 * MINUTE)
    assert isinstance(refused, IntentRejected) and refused.rule == INHERITED_RULE
    assert "adopted by no strategy" in refused.reason
    journal.close()


def test_an_exit_left_working_by_the_crashed_process_reports_to_the_adopting_strategy(tmp_path: Path) -> None:
    """The strategy waits in PENDING_EXIT on the old process's exit order instead of sending a
    second one; the order's fill reaches it through the broker's events; an exit covering only
    part of the position is refused."""
    from tradecore.execution.broker import BrokerEvent, BrokerEventType, Order, OrderState
    from tradecore.journal.journal import StrategyNames
    from tradecore.resume import ResumeReport, adopt_position
    from tradecore.session import BrokerExecution, RunState
    from tradecore.strategies import EmaCross, EmaCrossParams

    journal = Journal(tmp_path / "journal.sqlite", synchronous="NORMAL")
    names = StrategyNames.of(EmaCross(EmaCrossParams(fast=2, slow=3, quantity=10)))
    for symbol in ("ACME", "PART", "ZERO"):
        journal.intent(symbol, {"ts_event": OPEN, "strategy_id": 0, "rule": 0, "side": "BUY", "quantity": 10.0},
                       names)
        journal.order(OPEN, symbol, f"tcold-{symbol}", side="BUY", quantity=10.0, client_order_id=f"tcold-{symbol}",
                      details={"intent": {"strategy_id": 0, "rule": 0, "transition": 0, "ts_intent": OPEN}})
        journal.fill(symbol, {"ts_event": OPEN + MINUTE, "side": "BUY", "price": 5.0, "quantity": 10.0},
                     order_id=f"b-{symbol}", client_order_id=f"tcold-{symbol}")
    broker = AlpacaBroker(base_url="http://127.0.0.1:9", key_id="k", secret_key="s", stream=False)  # never called
    config = Config().with_overrides(strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3, "quantity": 10}})
    state = RunState.create(config, journal=journal, broker=broker, order_prefix="tcnew")

    def exit_order(symbol: str, qty: int) -> Order:
        return Order(order_id=f"x-{symbol}", client_order_id=f"tcold-x-{symbol}", symbol=symbol, side=Side.SELL,
                     type=OrderType.LIMIT, qty=Decimal(qty), limit_price=Decimal(6), status=OrderState.NEW)

    report = ResumeReport(positions={"ACME": Decimal(10), "PART": Decimal(10), "ZERO": Decimal(10)},
                          open_orders=[exit_order("ACME", 10), exit_order("PART", 4)])
    runners = {}
    for symbol in ("ACME", "PART", "ZERO"):
        state.tracker.on_fill(symbol, Side.BUY, Decimal(10), Decimal(0 if symbol == "ZERO" else 5))
        runners[symbol] = state.runner(symbol, state.make_engine(symbol))
    assert adopt_position(state, runners["ACME"], report, journal, OPEN + 5 * MINUTE)
    assert not adopt_position(state, runners["PART"], report, journal, OPEN + 5 * MINUTE)
    assert not adopt_position(state, runners["ZERO"], report, journal, OPEN + 5 * MINUTE)  # no exception
    records = {r.symbol: r.data for r in journal.records("adoption")}
    assert records["ACME"]["details"]["exit_orders"] == ["x-ACME"]
    assert records["PART"]["reason"] == "exit orders for 4 of 10 shares are working at the broker"
    assert records["ZERO"]["reason"] == "ema_cross: cannot adopt a position at average price 0"
    assert report.adoptions["PART"] == (False, records["PART"]["reason"]) and report.adoptions["ACME"][0]
    assert runners["ZERO"].engine.strategies[0].state == 0 and not runners["ZERO"].engine.native.faulted
    strategy = runners["ACME"].engine.strategies[0]
    assert strategy.state_names[strategy.state] == "PENDING_EXIT"

    async def fill_the_old_exit() -> None:
        filled = exit_order("ACME", 10).evolve(status=OrderState.FILLED, filled_qty=Decimal(10))
        other = exit_order("ACME", 10).evolve(order_id="y-ACME", status=OrderState.FILLED)  # not adopted
        for order in (filled, other):
            state.execution.on_broker_event(BrokerEvent(type=BrokerEventType.FILL, order=order,
                                                        ts_event=OPEN + 6 * MINUTE, fill_qty=Decimal(10),
                                                        fill_price=Decimal(6)))
        assert isinstance(state.execution, BrokerExecution)
        assert len(state.execution.pending["ACME"]) == 1  # the other order's fill is not the engine's
        await state.execution.deliver("ACME")

    asyncio.run(fill_the_old_exit())
    assert strategy.state_names[strategy.state] == "FLAT" and strategy.position == 0
    journal.close()


def test_an_entry_left_working_by_the_crashed_process_is_awaited_by_the_strategy(tmp_path: Path) -> None:
    """premarket_momentum waits in PENDING_ENTRY on the old process's entry order (partly filled
    or not at all) instead of refusing it; the order's later fill completes the entry exactly as
    it would have without the crash, and a cancel of an unfilled one returns it to FLAT. A
    strategy without a pending-entry adoption (ema_cross) keeps the refusal and its reason."""
    from tradecore.execution.broker import BrokerEvent, BrokerEventType, Order, OrderState
    from tradecore.journal.journal import StrategyNames
    from tradecore.resume import ResumeReport, adopt_position, restore_from_journal
    from tradecore.session import RunState
    from tradecore.strategies import (
        EmaCross,
        EmaCrossParams,
        PremarketMomentum,
        PremarketMomentumParams,
    )

    def crashed(path: Path, strategy: Any, rule: int, stop: float) -> Path:
        """PART: 40 of 100 shares of the entry filled before the crash; NONE: nothing yet."""
        names = StrategyNames.of(strategy)
        intent_ts = OPEN + 2 * MINUTE
        with Journal(path, synchronous="NORMAL") as journal:
            for symbol in ("PART", "NONE"):
                journal.intent(symbol, {"ts_event": intent_ts, "strategy_id": 0, "rule": rule, "side": "BUY",
                                        "quantity": 100.0, "stop_price": stop, "reference_price": 5.28}, names)
                journal.order(intent_ts, symbol, f"tcdead-{symbol}", side="BUY", quantity=100.0,
                              client_order_id=f"tcdead-{symbol}", details={"reason": "", "intent": {
                                  "strategy_id": 0, "rule": rule, "transition": 3, "ts_intent": intent_ts}})
            journal.fill("PART", {"ts_event": OPEN + 3 * MINUTE, "side": "BUY", "price": 5.29, "quantity": 40.0},
                         order_id="b-PART", client_order_id="tcdead-PART")
        return path

    def entry(symbol: str, filled: int) -> Order:
        return Order(order_id=f"b-{symbol}", client_order_id=f"tcdead-{symbol}", symbol=symbol, side=Side.BUY,
                     type=OrderType.LIMIT, qty=Decimal(100), filled_qty=Decimal(filled), limit_price=Decimal("5.35"),
                     status=OrderState.PARTIALLY_FILLED if filled else OrderState.NEW)

    def resume(path: Path, strategy: dict[str, Any]) -> tuple[RunState, dict[str, Any], Journal]:
        journal = Journal(path, synchronous="NORMAL")
        broker = AlpacaBroker(base_url="http://127.0.0.1:9", key_id="k", secret_key="s", stream=False)  # never called
        state = RunState.create(Config().with_overrides(strategy=strategy), journal=journal, broker=broker,
                                order_prefix="tcnew")
        positions = restore_from_journal(journal, state.tracker, Decimal(100_000))
        assert positions == {"PART": 40}
        report = ResumeReport(positions={"PART": Decimal(40)}, open_orders=[entry("PART", 40), entry("NONE", 0)])
        runners = {}
        for symbol in report.symbols:
            runners[symbol] = state.runner(symbol, state.make_engine(symbol))
            adopt_position(state, runners[symbol], report, journal, OPEN + 5 * MINUTE)
        return state, runners, journal

    # A strategy without a pending entry refuses, with the reason, and stays FLAT.
    ema = {"name": "ema_cross", "params": {"fast": 2, "slow": 3, "quantity": 100}}
    state, runners, journal = resume(crashed(tmp_path / "ema.sqlite", EmaCross(EmaCrossParams(quantity=100)), 0, 0.0),
                                     ema)
    reasons = {r.symbol: r.data["reason"] for r in journal.records("adoption")}
    assert reasons == dict.fromkeys(("PART", "NONE"), "ema_cross cannot wait on an entry order still working at "
                                    "the broker: its fills would not reach the strategy")
    assert all(r.engine.strategies[0].state == 0 and r.engine.strategies[0].position == 0 for r in runners.values())
    journal.close()

    path = crashed(tmp_path / "journal.sqlite", PremarketMomentum(PremarketMomentumParams(prior_close=4.0)), 2, 4.95)
    state, runners, journal = resume(path, PM_STRATEGY)
    records = {r.symbol: r.data for r in journal.records("adoption") if r.data["strategy"] and r.data["adopted"]}
    assert set(records) == {"PART", "NONE"}, [r.data for r in journal.records("adoption")]
    assert records["PART"]["details"]["entry_orders"] == ["b-PART"]
    assert "40 shares filled so far" in records["PART"]["reason"]
    part, none = (runners[s].engine.strategies[0] for s in ("PART", "NONE"))
    assert part.state_names[part.state] == "PENDING_ENTRY" and part.position == 40
    assert none.state_names[none.state] == "PENDING_ENTRY" and none.position == 0

    async def the_old_orders_report() -> None:
        done = entry("PART", 100).evolve(status=OrderState.FILLED)
        canceled = entry("NONE", 0).evolve(status=OrderState.CANCELED)
        state.execution.on_broker_event(BrokerEvent(type=BrokerEventType.FILL, order=done,
                                                    ts_event=OPEN + 6 * MINUTE, fill_qty=Decimal(60),
                                                    fill_price=Decimal("5.34")))
        state.execution.on_broker_event(BrokerEvent(type=BrokerEventType.CANCELED, order=canceled,
                                                    ts_event=OPEN + 6 * MINUTE))
        for symbol in ("PART", "NONE"):
            await state.execution.deliver(symbol)  # type: ignore[attr-defined]

    asyncio.run(the_old_orders_report())
    journal.flush()
    assert part.state_names[part.state] == "LONG" and part.position == 100
    assert part.entry_price == pytest.approx((40 * 5.29 + 60 * 5.34) / 100)  # both parts of the entry
    assert part.stop == 4.95
    assert none.state_names[none.state] == "FLAT" and none.position == 0
    rules = {s: [r.data["rule"] for r in journal.records("transition", symbol=s)] for s in ("PART", "NONE")}
    assert rules == {"PART": ["adopted_entry_pending", "entry_filled"],
                     "NONE": ["adopted_entry_pending", "entry_canceled"]}
    journal.close()


def test_a_resumed_recording_whose_symbols_had_nothing_to_adopt_restores(tmp_path: Path) -> None:
    """A resumed run records each symbol's adoption, ``args`` None when nothing was offered (flat,
    or not opened by this run's strategy): restoring its resume point reads those as no offer."""
    from tradecore.resume import RESUME_POINT, adoption_offer, restore_resume_point
    from tradecore.session import RunState

    (tmp_path / RESUME_POINT).write_text(json.dumps({"starting_cash": "10000", "fills": [],
                                                     "positions": {}, "cash": "10000"}))
    starts = [{"symbol": "AAA", "adoption": {"adopted": False, "args": None}},
              {"symbol": "BBB", "adoption": {"adopted": True, "args": {"quantity": 10.0}}},
              {"symbol": "CCC"}]
    assert [adoption_offer(s) for s in starts] == [{}, {"quantity": 10.0}, {}]
    state = RunState.create(Config(), journal=None)
    restore_resume_point(tmp_path, state, starts)  # raised AttributeError on AAA's None
    assert state.tracker.cash == 10000 and not state.tracker.open_symbols()


def test_resume_refuses_a_finished_run_and_leaves_it_as_it_was(tmp_path: Path) -> None:
    with RunRegistry(tmp_path) as registry:
        run = registry.start_run("live", Config().model_dump())
        with Journal(run.journal_path) as journal:
            journal.error(1, "the one record", where="run")
        registry.finish_run(run.id, {"trades": 0})
    result = subprocess.run(tradecore("live", "--no-ui", "--resume", run.id, "--duration", "1",
                                      "--runs-dir", str(tmp_path)),
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert f"run {run.id} is finished" in result.stderr
    with RunRegistry(tmp_path) as registry:
        assert registry.get(run.id).status == "finished"
    with Journal(run.journal_path, readonly=True) as journal:
        assert journal.count() == 1
