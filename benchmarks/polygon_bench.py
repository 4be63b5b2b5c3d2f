"""Decode + normalise throughput of the Polygon/Massive stream client (JSON).

Frames are arrays of 10 to 100 messages over 20 symbols: ~70% quotes, ~29% trades, ~1% minute
aggregates, times in Unix ms as the vendor sends them. The figure is messages per second through
:meth:`PolygonDecoder.decode` (parse, validate, times to int ns, exchange and condition ids to
letters and flag words, per-symbol NumPy batches), with its ratio against a plain ``json.loads``
loop over the same frames in the same run. Single-threaded.

Prints one line per figure as ``name: value unit``. Run ``python benchmarks/polygon_bench.py``.
"""

from __future__ import annotations

import json
import random
from typing import Any

from benchlib import best_of, report
from tradecore.streams.polygon import PolygonDecoder

SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "META", "GOOGL", "TSLA", "AMD", "NFLX", "INTC",
           "SPY", "QQQ", "IWM", "BAC", "JPM", "XOM", "KO", "PFE", "DIS", "BA"]
START_MS = 1_700_000_000_000


def synthetic_frames(n_messages: int = 200_000, seed: int = 7) -> list[str]:
    """JSON frames of 10-100 messages in the vendor's shapes."""
    rng = random.Random(seed)
    ts = START_MS
    trade_id = 1
    frames: list[str] = []
    made = 0
    while made < n_messages:
        frame: list[dict[str, Any]] = []
        for _ in range(rng.randint(10, 100)):
            ts += rng.randint(0, 2)
            symbol = rng.choice(SYMBOLS)
            price = round(100 + rng.random() * 50, 2)
            draw = rng.random()
            if draw < 0.70:
                frame.append({"ev": "Q", "sym": symbol, "bx": 15, "bp": price,
                              "bs": rng.randint(1, 9), "ax": 19,
                              "ap": round(price + 0.01 * rng.randint(1, 5), 2),
                              "as": rng.randint(1, 9), "c": 1, "i": [], "t": ts,
                              "q": made, "z": 3})
            elif draw < 0.99:
                frame.append({"ev": "T", "sym": symbol, "x": 4, "i": str(trade_id), "z": 3,
                              "p": price, "s": rng.randint(1, 500),
                              "c": rng.choice([[0], [0, 37], [14, 12, 37]]), "t": ts,
                              "q": made})
                trade_id += 1
            else:
                start = ts - ts % 60_000
                frame.append({"ev": "AM", "sym": symbol, "v": 10_000, "av": 90_000,
                              "op": price, "vw": price, "o": price, "c": price,
                              "h": price + 0.5, "l": price - 0.5, "a": price, "z": 100,
                              "s": start, "e": start + 60_000})
            made += 1
        frames.append(json.dumps(frame))
    return frames


def main() -> None:
    frames = synthetic_frames()

    def parse_only() -> int:
        return sum(len(json.loads(f)) for f in frames)

    def decode() -> int:
        decoder = PolygonDecoder()  # fresh: duplicates are not what is measured
        count = 0
        for frame in frames:
            count += sum(len(b) for b in decoder.decode(frame, 0).batches)
        return count

    total = parse_only()
    assert decode() == total, "the decoder dropped messages of clean frames"
    baseline = total / best_of(parse_only, 3)
    decoded = total / best_of(decode, 3)
    report("polygon_json_loads", baseline, "msgs/s")
    report("polygon_decode", decoded, "msgs/s")
    report("polygon_decode_vs_json_loads", decoded / baseline, "x")


if __name__ == "__main__":
    main()
