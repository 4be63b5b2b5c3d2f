"""Receive cost of the native WebSocket path (streams.native_ws) against websockets' own.

Run ``python benchmarks/ws_bench.py`` (``--quick`` for a short run). One line per figure as
``name: value unit``; both paths are measured in the same run, so the ratios compare like with
like on whatever else the machine is doing.

The frames are what live_bench's feed sends: one msgpack frame of 50 trades
(``live_bench.trade_message``), permessage-deflate with context takeover (websockets' server
defaults).

- ``parse_*``: the same captured server bytes, one frame per call, through the native
  ``WsReader.feed`` and through websockets' sans-I/O parser (frame parsing and inflating; its
  message assembler and the ``recv()`` task hop come on top, measured end to end below).
- ``e2e_*``: a websockets server in a separate process on loopback sends the frames; this
  process receives them with websockets' ``recv()`` loop or with the native path's callback.
  ``e2e_paced_*``: one frame every ms (the live load), latency from the server's send() call
  (it stamps the frame first, so its compression is included, equally for both) to the message
  in the consumer's hands, p50/p99. ``e2e_burst_*``: frames as fast as the server sends them;
  this process's CPU time per message.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import subprocess
import sys
import time
from typing import Any

import msgpack
import numpy as np
from benchlib import best_of, report
from live_bench import names, trade_message
from tradecore._native import _core
from tradecore.streams.native_ws import NativeClientConnection
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN, Protocol
from websockets.uri import parse_uri

TRADES_PER_FRAME = 50
T0 = 1_700_000_000_000_000_000


def bodies(count: int) -> list[bytes]:
    """``count`` msgpack frames of 50 trades over 500 symbols, as live_bench's feed sends."""
    symbols = names(500)
    out = []
    for f in range(count):
        trades = [trade_message(symbols[(f * TRADES_PER_FRAME + k) % 500], f * TRADES_PER_FRAME + k,
                                100.0 + 0.01 * ((f + k) % 97), T0 + f * 1_000_000 + k)
                  for k in range(TRADES_PER_FRAME)]
        out.append(msgpack.packb(trades))
    return out


# -- parsers on captured bytes ---------------------------------------------------------------


def captured(payloads: list[bytes]) -> list[bytes]:
    """The bytes a websockets server sends for each payload (compressed, context takeover)."""
    deflate = PerMessageDeflate(False, False, 15, 15)
    return [Frame(Opcode.BINARY, p).serialize(mask=False, extensions=[deflate]) for p in payloads]


def native_parse(wire: list[bytes]) -> list[Any]:
    reader = _core.streams.WsReader(2**24, True, False, 15)
    out = []
    for chunk in wire:
        out += reader.feed(chunk)
    return out


def websockets_parse(wire: list[bytes]) -> list[Any]:
    protocol = ClientProtocol(parse_uri("ws://127.0.0.1/"), max_size=2**24)
    protocol.state = OPEN  # as after the handshake that negotiated the extension
    protocol.extensions = [PerMessageDeflate(False, False, 15, 15)]
    protocol.parser = Protocol.parse(protocol)  # the frame parser (not the HTTP one)
    next(protocol.parser)
    out = []
    for chunk in wire:
        protocol.receive_data(chunk)
        out += [bytes(event.data) for event in protocol.events_received()]
    return out


def parse_figures(frames: int) -> None:
    payloads = bodies(frames)
    wire = captured(payloads)
    assert [m for _, m in native_parse(wire)] == websockets_parse(wire) == payloads
    native = best_of(lambda: native_parse(wire)) / frames
    websockets = best_of(lambda: websockets_parse(wire)) / frames
    print(f"# {frames} frames of {TRADES_PER_FRAME} trades, {np.mean([len(w) for w in wire]):.0f} "
          f"bytes on the wire, {np.mean([len(p) for p in payloads]):.0f} inflated")
    report("parse_websockets_per_frame", websockets * 1e6, "us")
    report("parse_native_per_frame", native * 1e6, "us")
    report("parse_speedup", websockets / native, "x")


# -- end to end over loopback ----------------------------------------------------------------


async def serve_main() -> None:
    """The feed: on each connection, read ``[frames, interval_us]`` and send the frames."""
    payloads = bodies(1000)

    async def handler(connection: ServerConnection) -> None:
        frames, interval_us = msgpack.unpackb(await connection.recv())
        loop = asyncio.get_running_loop()
        due = loop.time()
        for f in range(frames):
            if interval_us:
                due += interval_us / 1e6
                await asyncio.sleep(max(0.0, due - loop.time()))
            await connection.send(struct.pack("<q", time.time_ns()) + payloads[f % len(payloads)])
        await connection.wait_closed()

    async with serve(handler, "127.0.0.1", 0, max_size=2**24) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


class _Enough(Exception):
    pass


async def receive(url: str, native: bool, frames: int, interval_us: int) -> tuple[np.ndarray, float]:
    """Latencies (ns, send() to message in hand) and this process's CPU seconds per message."""
    latencies = np.empty(frames, np.int64)
    count = 0

    def on_message(message: bytes) -> None:
        nonlocal count
        latencies[count] = time.time_ns() - struct.unpack_from("<q", message)[0]
        count += 1
        if count == frames:
            raise _Enough

    async with connect(url, max_size=2**24, ping_interval=None,
                       create_connection=NativeClientConnection if native else None) as ws:
        await ws.send(msgpack.packb([frames, interval_us]))
        cpu = time.process_time()
        try:
            if native:
                await ws.deliver_to(on_message)
            while True:
                on_message(await ws.recv())
        except _Enough:
            cpu = time.process_time() - cpu
    return latencies, cpu / frames


async def e2e_figures(url: str, paced_frames: int, burst_frames: int, rounds: int) -> None:
    paced: dict[str, list[np.ndarray]] = {"websockets": [], "native": []}
    burst: dict[str, list[float]] = {"websockets": [], "native": []}
    for _ in range(rounds):  # alternate, so both see the same machine
        for name in ("websockets", "native"):
            latencies, _ = await receive(url, name == "native", paced_frames, 1000)
            paced[name].append(latencies[paced_frames // 10:])  # past the connection's warm-up
            _, cpu = await receive(url, name == "native", burst_frames, 0)
            burst[name].append(cpu)
    p50 = {}
    for name in ("websockets", "native"):
        all_latencies = np.concatenate(paced[name]) / 1e3
        p50[name] = float(np.percentile(all_latencies, 50))
        report(f"e2e_paced_{name}_p50", p50[name], "us")
        report(f"e2e_paced_{name}_p99", float(np.percentile(all_latencies, 99)), "us")
    report("e2e_paced_p50_saved", p50["websockets"] - p50["native"], "us")
    cpu = {name: min(values) * 1e6 for name, values in burst.items()}
    report("e2e_burst_websockets_cpu_per_frame", cpu["websockets"], "us")
    report("e2e_burst_native_cpu_per_frame", cpu["native"], "us")
    report("e2e_burst_cpu_ratio", cpu["websockets"] / cpu["native"], "x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames and rounds")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve_main())
        return
    parse_figures(500 if args.quick else 2000)
    feed = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    try:
        assert feed.stdout is not None
        url = f"ws://127.0.0.1:{feed.stdout.readline().strip()}/"
        asyncio.run(e2e_figures(url, 500 if args.quick else 3000, 1000 if args.quick else 5000,
                                1 if args.quick else 3))
    finally:
        feed.terminate()
        feed.wait()


if __name__ == "__main__":
    main()
