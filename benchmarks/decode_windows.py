"""What the duplicate window costs the live decoder once it is full.

Run ``python benchmarks/decode_windows.py [--symbols 500] [--window 4096]``. One line per
figure as ``name: value unit``.

The Alpaca decoder remembers each symbol's last ``dedup_window`` trade keys (a ring and an open
addressing index: ``tradecore::RecentKeys``). While a window fills, a trade is one lookup and
one insert; once full, it also forgets the oldest key (another lookup and a backward shift).
``live_bench``'s short steps never fill the windows, a live session does (a symbol trading 100
times a second fills 4,096 keys in 41 s). Frames of 50 msgpack trades round-robin over the
symbols are decoded here at two points of the same decoder's life, measured in the same run:
``filling`` (the first 2,000 frames: 200 trades per symbol for 500 symbols) and ``full``
(past 4,200 trades per symbol), each hot and after
touching 2 MiB between frames (a live process's other work evicts the decoder's state).
"""

from __future__ import annotations

import argparse
import time

import live_bench
import msgpack
import numpy as np
from benchlib import report
from tradecore.sim.feed import _array_header
from tradecore.streams.alpaca import AlpacaDecoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--window", type=int, default=4096)
    args = parser.parse_args()
    names = live_bench.names(args.symbols)
    rng = np.random.default_rng(1)
    decoder = AlpacaDecoder(encoding="msgpack", dedup_window=args.window)
    sent = 0

    def frame() -> bytes:
        nonlocal sent
        messages = []
        for _ in range(50):
            sent += 1
            messages.append(msgpack.packb(live_bench.trade_message(
                names[sent % len(names)], sent, 10 + rng.random(), live_bench.EVENT_BASE + sent * 20_000)))
        return _array_header(50) + b"".join(messages)

    def per_frame(count: int, touch: np.ndarray | None) -> float:
        if count <= 0:
            return 0.0
        frames = [frame() for _ in range(count)]
        total = 0
        for data in frames:
            if touch is not None:
                touch += 1.0
            started = time.perf_counter_ns()
            decoded = decoder.decode(data, 1)
            total += time.perf_counter_ns() - started
            assert not decoded.problems
        return total / count / 1e3

    touch = np.zeros(2 * 1024 * 1024 // 8)
    per_frame(20, None)  # every symbol seen once (a new symbol takes the per-message path)
    filling = (per_frame(1000, None), per_frame(1000, touch))
    per_frame(args.symbols * (args.window + 104) // 50 - 2020, None)  # past a full window
    full = (per_frame(1000, None), per_frame(1000, touch))
    for label, (hot, touched) in (("filling", filling), ("full", full)):
        report(f"decode_windows_{label}_hot", hot, "us/frame")
        report(f"decode_windows_{label}_after_2mib", touched, "us/frame")
    report("decode_windows_full_over_filling_hot", full[0] / filling[0], "x")
    report("decode_windows_full_over_filling_after_2mib", full[1] / filling[1], "x")


if __name__ == "__main__":
    main()
