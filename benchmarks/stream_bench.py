"""Decode + normalise throughput of the Alpaca stream client, JSON and msgpack.

Frames are what the live feed sends: arrays of 10 to 100 messages (mostly quotes and trades,
a few bars) over 20 symbols, with 9-digit RFC 3339 stamps (JSON) or msgpack Timestamps. Each
figure is messages per second through :meth:`AlpacaDecoder.decode` (parse, validate,
timestamps to int ns, conditions to flag words, per-symbol NumPy batches), and its ratio
against a plain ``json.loads`` loop (and, for msgpack, a ``msgpack.unpackb`` loop) over the same
frames in the same run. Single-threaded.

These frames are clean, so the decoder takes its native fast path; the ``*_exact_path`` figures
turn that off to show what the per-message path (the one every frame with a problem, a control
message or a status takes) costs on the same frames.

Prints one line per figure as ``name: value unit``. Run ``python benchmarks/stream_bench.py``.
If ``benchmarks/stream_replay.py`` exposes ``figures() -> list[tuple[str, float, str]]``, its
figures are printed too.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
from benchlib import best_of
from tradecore.streams.alpaca import AlpacaDecoder, format_timestamp

SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "META", "GOOGL", "TSLA", "AMD", "NFLX", "INTC",
           "SPY", "QQQ", "IWM", "BAC", "JPM", "XOM", "KO", "PFE", "DIS", "BA"]
START = 1_700_000_000_000_000_000


def synthetic_frames(n_messages: int = 300_000, seed: int = 7) -> list[list[dict[str, Any]]]:
    """Frames of 10-100 messages: ~70% quotes, ~29% trades, ~1% minute bars."""
    rng = random.Random(seed)
    ts = START
    trade_id = 1
    frames: list[list[dict[str, Any]]] = []
    made = 0
    while made < n_messages:
        frame: list[dict[str, Any]] = []
        for _ in range(rng.randint(10, 100)):
            ts += rng.randint(1_000, 2_000_000)
            symbol = rng.choice(SYMBOLS)
            price = round(100 + rng.random() * 50, 2)
            draw = rng.random()
            if draw < 0.70:
                frame.append({"T": "q", "S": symbol, "bx": "V", "bp": price, "bs": rng.randint(1, 9),
                              "ax": "V", "ap": round(price + 0.01 * rng.randint(1, 5), 2),
                              "as": rng.randint(1, 9), "c": ["R"], "t": ts, "z": "C"})
            elif draw < 0.99:
                frame.append({"T": "t", "S": symbol, "i": trade_id, "x": "V", "p": price,
                              "s": rng.randint(1, 500), "c": rng.choice([["@"], ["@", "I"],
                                                                        ["@", "F", "T"]]),
                              "t": ts, "z": "C"})
                trade_id += 1
            else:
                frame.append({"T": "b", "S": symbol, "o": price, "h": price + 0.5,
                              "l": price - 0.5, "c": price, "v": 10_000, "t": ts - ts % (60 * 10**9),
                              "n": 100, "vw": price})
        frames.append(frame)
        made += len(frame)
    return frames


def encode_json(frames: list[list[dict[str, Any]]]) -> list[str]:
    return [json.dumps([m | {"t": format_timestamp(m["t"])} for m in f]) for f in frames]


def encode_msgpack(frames: list[list[dict[str, Any]]]) -> list[bytes]:
    return [msgpack.packb([m | {"t": msgpack.Timestamp.from_unix_nano(m["t"])} for m in f])
            for f in frames]


def stream_figures(n_messages: int = 300_000) -> list[tuple[str, float, str]]:
    """Measure decoding and the ``json.loads`` baseline on the same frames in the same run."""
    frames = synthetic_frames(n_messages)
    n = sum(len(f) for f in frames)
    as_json = encode_json(frames)
    as_msgpack = encode_msgpack(frames)

    def loads_only() -> None:
        for frame in as_json:
            json.loads(frame)

    def unpackb_only() -> None:
        for frame in as_msgpack:
            msgpack.unpackb(frame, timestamp=2)

    def decode(encoding: str, wire: list[Any], fast: bool = True) -> Callable[[], None]:
        def run() -> None:
            decoder = AlpacaDecoder(encoding=encoding)  # fresh: duplicates would be skipped
            if not fast:
                decoder._decode_clean = lambda frame, ts_received: None
            stamp = time.time_ns()
            for frame in wire:
                decoder.decode(frame, stamp)
            assert decoder.stats["events"] == n, decoder.stats
        return run

    baseline = best_of(loads_only)
    unpackb_baseline = best_of(unpackb_only)
    json_time = best_of(decode("json", as_json))
    msgpack_time = best_of(decode("msgpack", as_msgpack))
    json_exact_time = best_of(decode("json", as_json, fast=False), repeat=3)
    msgpack_exact_time = best_of(decode("msgpack", as_msgpack, fast=False), repeat=3)
    return [
        ("json_loads_baseline_msgs_per_s", n / baseline, "msgs/s"),
        ("msgpack_unpackb_baseline_msgs_per_s", n / unpackb_baseline, "msgs/s"),
        ("decode_json_msgs_per_s", n / json_time, "msgs/s"),
        ("decode_msgpack_msgs_per_s", n / msgpack_time, "msgs/s"),
        ("decode_json_vs_json_loads", baseline / json_time, "x"),
        ("decode_msgpack_vs_json_loads", baseline / msgpack_time, "x"),
        ("decode_msgpack_vs_msgpack_unpackb", unpackb_baseline / msgpack_time, "x"),
        ("decode_json_ns_per_msg", json_time / n * 1e9, "ns"),
        ("decode_msgpack_ns_per_msg", msgpack_time / n * 1e9, "ns"),
        ("decode_json_exact_path_msgs_per_s", n / json_exact_time, "msgs/s"),
        ("decode_msgpack_exact_path_msgs_per_s", n / msgpack_exact_time, "msgs/s"),
        ("decode_json_fast_vs_exact_path", json_exact_time / json_time, "x"),
        ("decode_msgpack_fast_vs_exact_path", msgpack_exact_time / msgpack_time, "x"),
        ("messages_per_frame_mean", n / len(frames), "msgs"),
    ]


def replay_figures() -> list[tuple[str, float, str]]:
    """Figures of ``benchmarks/stream_replay.py`` if that module exists, else none."""
    path = Path(__file__).with_name("stream_replay.py")
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location("stream_replay", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("stream_replay", module)
    spec.loader.exec_module(module)
    return list(module.figures())


def main() -> None:
    for name, value, unit in stream_figures() + replay_figures():
        print(f"{name}: {value:.6g} {unit}", flush=True)


if __name__ == "__main__":
    main()
