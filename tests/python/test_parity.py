"""The platform's central promise: a live session on the simulator, recorded, replays through
`tradecore backtest` into the same intents, in the same order, with the same timestamps, and the
same fills. Live here is real: the simulator on loopback sockets, the Alpaca stream and REST
clients, the scanner, the engines, risk and the paper venue."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from tradecore.clock import ClockLog
from tradecore.config import Config
from tradecore.journal.journal import Journal
from tradecore.live import run_live
from tradecore.session import backtest_recording

# From the session start (04:00), not tradecore live's default later join: the seeded session
# buys and sells YRRS within its first ~1,000 events.
EVENTS = 2000


def _intents(journal: Journal) -> list[tuple]:
    return [(r.ts_event, r.symbol, r.data["side"], r.data["quantity"], r.data.get("rule"))
            for r in journal.records("intent")]


def _fills(journal: Journal) -> list[tuple]:
    return [(r.ts_event, r.symbol, r.data["side"], r.data["price"], r.data["quantity"])
            for r in journal.records("fill")]


def test_a_recorded_live_session_replays_into_the_same_intents_and_fills(tmp_path: Path) -> None:
    config = Config().with_overrides(sim={"speed": 900.0, "seed": 7, "live_from": ""}, execution={"flatten_on_exit": False})
    recording = tmp_path / "recording"
    # A fixed number of events, not of wall seconds: a loaded machine takes longer, not less.
    # The duration only bounds a run that stalls.
    live = asyncio.run(run_live(config, duration=300.0, max_events=EVENTS, ui=False, record=recording,
                                runs_root=tmp_path / "runs"))
    live_journal = Journal(live.folder / "journal.sqlite", readonly=True)
    live_intents, live_fills = _intents(live_journal), _fills(live_journal)
    assert live.events >= EVENTS
    assert len(live_intents) >= 2, "the seeded session trades: parity must compare something"
    assert len(live_fills) >= 2
    # The market clock ticked every simulated second (the engines got them) and each tick was
    # recorded with its place in the event sequence.
    ticks = ClockLog.entries(recording)
    assert live.ticks == len(ticks) > 100
    assert [t["now"] for t in ticks] == sorted({t["now"] for t in ticks})
    # Each live stage's latency is journaled as a histogram (bucket counts add up to the count).
    # receive_to_intent only when a received event caused an intent: bars mostly close on the
    # clock now, and a tick has no receive time.
    latency = {r.data["name"]: r.data for r in live_journal.records("latency")}
    assert {"receive_to_decoded", "receive_to_engine_start", "receive_to_engine_done", "intent_to_ack"} <= set(latency)
    for stage in latency.values():
        assert sum(stage["buckets"]["count"]) == stage["count"] > 0
        assert stage["p50_ns"] <= stage["p99_ns"] <= stage["p999_ns"] <= stage["max_ns"] + 1

    replay_journal = Journal(tmp_path / "replay.sqlite")
    state, events = asyncio.run(backtest_recording(config, recording, journal=replay_journal))
    replay_journal.flush()
    assert events == live.events
    assert state.manager is not None and state.manager.ticks == live.ticks  # every tick replayed
    assert _intents(replay_journal) == live_intents
    assert _fills(replay_journal) == live_fills
    assert not state.manager.quarantined

    # A recording made before the clock existed has no clock log: it replays, without ticks.
    older = tmp_path / "older"
    shutil.copytree(recording, older, ignore=shutil.ignore_patterns(ClockLog.NAME))
    state, events = asyncio.run(backtest_recording(config, older, journal=None))
    assert events == live.events
    assert state.manager is not None and state.manager.ticks == 0 and not state.manager.quarantined


def _execution(journal: Journal) -> list[tuple]:
    return [(r.kind, r.symbol, r.ts_event, r.data.get("side"), r.data.get("accepted"))
            for r in journal.records(("intent", "risk", "order", "fill", "position", "transition"))]


def test_several_trading_symbols_replay_in_the_same_order_across_symbols(tmp_path: Path) -> None:
    """Three symbols trading at once: the replay routes each intent at the point of the stream
    where live routed it (StrategyManager.settle), so not only each symbol's intents and fills
    times, is the live run's. The positions still open when the live run stopped were flattened
    then (the default): the replay closes them at the same point, at the same prices."""
    config = Config().with_overrides(
        sim={"speed": 900.0, "seed": 7, "live_from": ""},
        scanner={"kind": "fixed", "symbols": ["CBB", "AOZ", "YRRS"]},
        strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3, "quantity": 10}})
    recording = tmp_path / "recording"
    live = asyncio.run(run_live(config, duration=300.0, max_events=3000, ui=False, record=recording,
                                runs_root=tmp_path / "runs"))
    live_journal = Journal(live.folder / "journal.sqlite", readonly=True)
    live_intents = _intents(live_journal)
    assert len({symbol for _, symbol, *_ in live_intents}) == 3, "all three must trade: the order across them is the point"
    replay_journal = Journal(tmp_path / "replay.sqlite")
    asyncio.run(backtest_recording(config, recording, journal=replay_journal))
    replay_journal.flush()
    assert _intents(replay_journal) == live_intents
    assert _fills(replay_journal) == _fills(live_journal)
    assert _execution(replay_journal) == _execution(live_journal)
    flattened = [r for r in live_journal.records("order") if "shutdown" in str(r.data.get("details", {}).get("reason"))]
    assert flattened, "a position must be open at the shutdown: its flattening is the point"
    assert not any(live_journal.net_fills().values()) and not any(replay_journal.net_fills().values())


def test_the_default_session_joined_mid_premarket_replays_into_the_same_intents(tmp_path: Path) -> None:
    """`tradecore live` as configured by default joins at 05:30 (sim.live_from): the symbols
    warm up on the fast-forwarded premarket's history, which the recording keeps, so the replay
    of the recording trades exactly as live did."""
    config = Config().with_overrides(sim={"speed": 300.0, "seed": 7}, execution={"flatten_on_exit": False})
    assert config.sim.live_from == "05:30"
    recording = tmp_path / "recording"
    live = asyncio.run(run_live(config, duration=300.0, max_events=1000, ui=False, record=recording,
                                runs_root=tmp_path / "runs"))
    live_journal = Journal(live.folder / "journal.sqlite", readonly=True)
    live_intents = _intents(live_journal)
    assert len(live_intents) >= 2, "the seeded session trades YRRS soon after joining"
    replay_journal = Journal(tmp_path / "replay.sqlite")
    _, events = asyncio.run(backtest_recording(config, recording, journal=replay_journal))
    replay_journal.flush()
    assert events == live.events
    assert _intents(replay_journal) == live_intents
    assert _fills(replay_journal) == _fills(live_journal)
