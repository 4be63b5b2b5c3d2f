"""Simulator throughput, CPU and memory. Prints one ``name: value unit`` line per figure.

Figures
-------
``generator_events_per_second``
    Events the seeded model produces (and records: history, minute bars) per second of CPU,
    1,000 symbols, 08:30-09:00 New York, unpaced.
``feed_msgs_per_second_1_client`` / ``feed_msgs_per_second_10_clients``
    Data messages delivered per second (summed over clients) by the WebSocket feed, every
    client subscribed to trades, quotes and bars of all symbols (``*``), msgpack as alpaca-py
    asks for. The market's pre-generated batches (1,000 symbols) are pushed through the feed's
    market listener as fast as the clients keep up (the publisher waits while any outbox holds
    more than 20,000 messages, so nobody is dropped as slow). Clients run in another process and
    count messages from the msgpack array headers.
``feed_cpu_ms_per_1k_msgs_*``
    Server-process CPU time per 1,000 delivered messages.
``memory_rss_1000_symbols``
    Resident memory of a fresh process holding a 1,000-symbol market run from 04:00 to 09:30
    (all its history and bars), and the growth over the process before the market was built.

Usage: ``python benchmarks/sim_bench.py [--seconds 4]``
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import subprocess
import sys
import time
from typing import Any

from benchlib import rss_mib

NS = 1_000_000_000


# -- client process ----------------------------------------------------------------------------


def _count(frame: bytes) -> int:
    head = frame[0]
    if 0x90 <= head <= 0x9F:
        return head & 0x0F
    if head == 0xDC:
        return int.from_bytes(frame[1:3], "big")
    if head == 0xDD:
        return int.from_bytes(frame[1:5], "big")
    return 0


async def _clients(url: str, count: int, seconds: float) -> dict[str, Any]:
    import msgpack
    from websockets.asyncio.client import connect

    totals = [0] * count
    ready = asyncio.Event()
    subscribed = [0]

    async def one(k: int) -> None:
        async with connect(url, additional_headers={"Content-Type": "application/msgpack"},
                           max_size=None, max_queue=64) as ws:
            await ws.recv()
            await ws.send(msgpack.packb({"action": "auth", "key": f"bench{k}", "secret": "x"}))
            await ws.recv()
            await ws.send(msgpack.packb({"action": "subscribe", "trades": ["*"],
                                         "quotes": ["*"], "bars": ["*"]}))
            await ws.recv()
            subscribed[0] += 1
            if subscribed[0] == count:
                ready.set()
            try:
                async for frame in ws:
                    totals[k] += _count(frame)  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001 - the server closing ends the run
                pass

    tasks = [asyncio.ensure_future(one(k)) for k in range(count)]
    await asyncio.wait_for(ready.wait(), 20)
    print("ready", flush=True)
    # The server closes the connections when it is done.
    _, pending = await asyncio.wait(tasks, timeout=seconds + 60)
    for task in pending:
        task.cancel()
    return {"messages": sum(totals)}


# -- server side -------------------------------------------------------------------------------


def _batches(symbols: int) -> list[Any]:
    from tradecore.sim.generator import ModelParams, new_york_ns
    from tradecore.sim.simulated import SimulatedMarket

    day = dt.date(2026, 11, 27)
    market = SimulatedMarket(seed=1, start=new_york_ns(day, "08:30"), speed=0, symbols=symbols,
                             gappers=10, params=ModelParams(step_s=0.25))
    batches: list[Any] = []
    market.add_listener(batches.append)
    start = time.process_time()
    market.advance(new_york_ns(day, "09:00"))
    cpu = time.process_time() - start
    events = sum(len(b.events) for b in batches)
    print(f"generator_events_per_second: {events / cpu:,.0f} events/s")
    print(f"generator_events_08h30_09h00_1000_symbols: {events:,} events")
    return [market, batches]


async def _feed_run(market: Any, batches: list[Any], clients: int, seconds: float) -> None:
    from tradecore.sim.feed import MarketFeed

    feed = MarketFeed(market, port=0, connection_limit=clients, max_queued=1_000_000)
    await feed.start()
    process = subprocess.Popen(
        [sys.executable, __file__, "--client", feed.url, str(clients), str(seconds)],
        stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = await asyncio.to_thread(process.stdout.readline)
    assert line.strip() == "ready", line
    sessions = feed.sessions
    start_wall = time.perf_counter()
    start_cpu = time.process_time()
    sent_before = feed.stats["messages_sent"]
    k = 0
    while time.perf_counter() - start_wall < seconds:
        for _ in range(50):
            feed.on_batch(batches[k])
            k = (k + 1) % len(batches)
        while any(s.queued > 20_000 for s in sessions):
            await asyncio.sleep(0.0005)
        await asyncio.sleep(0)
    while any(s.queued for s in sessions):
        await asyncio.sleep(0.001)
    wall = time.perf_counter() - start_wall
    cpu = time.process_time() - start_cpu
    sent = feed.stats["messages_sent"] - sent_before
    await feed.close()
    out, _ = await asyncio.to_thread(process.communicate)
    received = json.loads(out.strip().splitlines()[-1])["messages"]
    label = "1_client" if clients == 1 else f"{clients}_clients"
    print(f"feed_msgs_per_second_{label}: {sent / wall:,.0f} msgs/s")
    print(f"feed_msgs_received_{label}: {received:,} msgs (server sent {sent:,})")
    print(f"feed_cpu_ms_per_1k_msgs_{label}: {1000 * cpu / (sent / 1000):.1f} ms")


def _memory(symbols: int) -> None:
    from tradecore.sim.generator import ModelParams, new_york_ns
    from tradecore.sim.simulated import SimulatedMarket

    before = rss_mib()
    day = dt.date(2026, 11, 27)
    market = SimulatedMarket(seed=2, start=new_york_ns(day, "04:00"), speed=0, symbols=symbols,
                             gappers=10, params=ModelParams(step_s=1.0))
    market.advance(new_york_ns(day, "09:30"))
    after = rss_mib()
    trades = sum(len(market.trades(s, 0, 2**62)) for s in market.symbols)
    print(f"memory_rss_{symbols}_symbols: {after:.0f} MB (+{after - before:.0f} MB for the "
          f"market run 04:00-09:30; {trades:,} trades held)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--symbols", type=int, default=1000)
    parser.add_argument("--client", nargs=3, metavar=("URL", "COUNT", "SECONDS"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--memory", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory:
        _memory(args.memory)
        return
    if args.client:
        url, count, seconds = args.client
        result = asyncio.run(_clients(url, int(count), float(seconds)))
        print(json.dumps(result), flush=True)
        return
    market, batches = _batches(args.symbols)
    for clients in (1, 10):
        asyncio.run(_feed_run(market, batches, clients, args.seconds))
    del market, batches
    # Memory in a fresh process, so the feed runs above do not inflate it.
    subprocess.run([sys.executable, __file__, "--memory", str(args.symbols)], check=True)


if __name__ == "__main__":
    main()
