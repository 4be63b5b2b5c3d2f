"""What `tradecore live --resume` costs before trading starts again.

Run ``python benchmarks/resume_bench.py [FILLS] [OPEN_ORDERS]`` (default 5000 and 50). One line
per figure as ``name: value unit``.

A journal holds FILLS journaled fills (100 symbols) and OPEN_ORDERS orders that are still
working at the broker: the simulator's trading endpoints in-process on loopback (resting limits
far below the market). Half of the open orders have a journaled update naming the broker's id,
half not (looked up by client order id, as after a crash right after sending). Figures:

- ``replay_ms``: rebuilding positions and cash from the journal's fills (the baseline: no
  broker involved);
- ``reconcile_ms``: the whole reconciliation (replay, open orders, one REST lookup per open
  order, positions, account), and its ratio to the replay;
- ``per_open_order_ms``: the reconciliation's extra time per open order;
- ``opening_lookup_ms``: finding in the journal how each of the 100 symbols' positions was
  opened (first fill, its order, the intent behind it: what adopting restored positions
  reads), for all of them, and its ratio to the replay.

The synthetic fills are not at the broker, so each of their symbols is also reported, journaled
and corrected as a position the broker does not have: the worst case, measured too.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from benchlib import report
from tradecore.config import Config
from tradecore.execution import OrderRequest
from tradecore.execution.alpaca import AlpacaBroker
from tradecore.execution.positions import PositionTracker
from tradecore.journal.journal import Journal
from tradecore.resume import openings_of, reconcile, restore_from_journal
from tradecore.schema import OrderType, Side
from tradecore.session import RunState
from tradecore.sim.server import SimServer
from tradecore.sim.trading import install

CASH = Decimal(10_000_000)


def journal_fills(journal: Journal, count: int, first: int = 0) -> None:
    for i in range(first, first + count):
        symbol, side = f"S{i % 100}", "BUY" if (i // 100) % 2 == 0 else "SELL"
        cid = f"tcold-0-1-{i}-{i}"
        journal.intent(symbol, {"ts_event": i, "strategy_id": 0, "rule": 0, "side": side, "quantity": 10.0})
        journal.order(i, symbol, cid, side=side, quantity=10, client_order_id=cid,
                      details={"intent": {"strategy_id": 0, "rule": 0, "transition": i, "ts_intent": i}})
        journal.fill(symbol, {"ts_event": i, "side": side, "price": 10.0 + (i % 7) / 100, "quantity": 10},
                     order_id=f"old-{i}", client_order_id=cid)


async def main(fills: int, open_orders: int) -> None:
    routes = [functools.partial(install, starting_cash=CASH)]
    with tempfile.TemporaryDirectory() as folder:
        journal = Journal(Path(folder) / "journal.sqlite", synchronous="NORMAL")
        journal_fills(journal, fills)
        async with SimServer(seed=7, symbols=20, port=0, run_market=False, extra_routes=routes) as sim:
            symbol = sim.market.assets()[0].symbol
            options = {"base_url": sim.rest_url, "key_id": "bench", "secret_key": "bench"}
            async with AlpacaBroker(stream=False, **options) as crashed:  # type: ignore[arg-type]
                for i in range(open_orders):
                    cid = f"tccrash-0-1-{i}-{i}"
                    journal.order(0, symbol, cid, side="BUY", quantity=1, order_type="LIMIT",
                                  limit_price=1.0, client_order_id=cid)
                    ack = await crashed.submit(OrderRequest(
                        client_order_id=cid, symbol=symbol, side=Side.BUY, type=OrderType.LIMIT,
                        qty=Decimal(1), limit_price=Decimal("1.00"), extended_hours=True))
                    if i % 2:
                        journal.order_update(symbol, {"ts_event": 0, "status": "NEW"}, order_id=ack.order_id,
                                             client_order_id=cid)

            started = time.perf_counter()
            restore_from_journal(journal, PositionTracker(CASH), CASH)
            replay = time.perf_counter() - started

            config = Config().with_overrides(execution={"broker": "alpaca", "starting_cash": float(CASH)})
            async with AlpacaBroker(stream=False, **options) as broker:  # type: ignore[arg-type]
                state = RunState.create(config, journal=journal, broker=broker, order_prefix="tcbench")
                started = time.perf_counter()
                result = await reconcile(journal, state.pipeline, paper=False, now=sim.market.now(),
                                         starting_cash=CASH)
                whole = time.perf_counter() - started
        journal_fills(journal, 100, first=-(-fills // 200) * 200)  # a buy of each symbol: positions to adopt
        started = time.perf_counter()
        openings = openings_of(journal)
        lookup = time.perf_counter() - started
        assert len(openings) == 100 and all(o.strategy_id == 0 and o.strategy is None for o in openings.values())
        journal.close()
    assert len(result.open_orders) == open_orders, result.findings
    report("replay_ms", replay * 1e3, f"ms ({fills} fills)")
    report("reconcile_ms", whole * 1e3, f"ms ({open_orders} open orders)")
    report("reconcile_vs_replay", whole / replay, "x")
    report("per_open_order_ms", (whole - replay) / max(open_orders, 1) * 1e3, "ms")
    report("opening_lookup_ms", lookup * 1e3, "ms (100 symbols)")
    report("opening_lookup_vs_replay", lookup / replay, "x")


if __name__ == "__main__":
    logging.getLogger("tradecore.resume").setLevel(logging.ERROR)  # a warning per finding otherwise
    arguments = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(arguments + [5000, 50][len(arguments):])))
