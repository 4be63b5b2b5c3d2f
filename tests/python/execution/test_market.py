"""The one float -> Decimal conversion of the execution layer, and the native prices on it."""

from __future__ import annotations

from decimal import Decimal as D
from decimal import InvalidOperation

import numpy as np
import pytest
from tradecore.execution.market import price, to_decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),  # the shortest decimal that reads back as the float, not 0.1000000000000000055...
        (np.float64(0.1), "0.1"),
        (np.float32(2.5), "2.5"),
        (np.int64(7), "7"),
        (10, "10"),
        (1e-07, "1E-7"),
        ("3.140", "3.140"),
    ],
)
def test_numbers_become_the_decimal_they_stand_for(value: object, expected: str) -> None:
    result = to_decimal(value)
    assert isinstance(result, D) and str(result) == expected


def test_a_decimal_is_returned_as_it_is() -> None:
    value = D("1.50")
    assert to_decimal(value) is value


def test_text_that_is_no_number_raises_an_arithmetic_error() -> None:
    with pytest.raises(InvalidOperation):
        to_decimal("ten")


def test_native_prices_keep_six_places() -> None:
    assert price(5.1234567) == D("5.123457") and price(np.float64(2.02)) == D("2.02")


def _frames(registry: object) -> list[object]:
    """Trade, quote and status frames over four symbols (one new midway, one with a one-sided
    last quote, a late trade that must not move the book's time back), as a live decoder groups
    them; ``registry``: the ids' registry the frames name (None: by symbol)."""
    from tradecore import schema
    from tradecore.streams.base import EventKind, GroupedBatch, Instruments

    ids = registry if isinstance(registry, Instruments) else Instruments()
    rng = np.random.default_rng(3)
    frames = []
    t = 1_700_000_000_000_000_000
    for k in range(60):
        symbols = ["AAA", "BBB", "CCC"] + (["NEW"] if k >= 30 else [])
        kind = (EventKind.TRADE, EventKind.QUOTE, EventKind.STATUS)[k % 3]
        dtype = {EventKind.TRADE: schema.TRADE, EventKind.QUOTE: schema.QUOTE, EventKind.STATUS: schema.STATUS}[kind]
        events = schema.empty(dtype, 2 * len(symbols))
        for i, symbol in enumerate(symbols):
            rows = events[2 * i:2 * i + 2]
            rows["instrument_id"] = ids.id_of(symbol)
            rows["ts_event"] = [t + 10 * k, t + 10 * k + 1 - (25 if symbol == "BBB" and k % 7 == 0 else 0)]
            if kind is EventKind.TRADE:
                rows["price"] = 10 + rng.random(2)
            elif kind is EventKind.QUOTE:
                rows["bid_price"] = [9.5, 0.0 if symbol == "CCC" and k % 2 else 9.6]
                rows["ask_price"] = 10 + rng.random(2)
            else:
                rows["state"] = [1, 2 if k % 6 == 2 else 1]
        frames.append(GroupedBatch(kind, events, np.arange(0, len(events) + 1, 2, dtype=np.int64), symbols,
                                   t + 10 * k, registry if isinstance(registry, Instruments) else None))

    return frames


@pytest.mark.parametrize("by_id", [False, True])
def test_grouped_frames_fold_into_the_book_as_their_batches_do(by_id: bool) -> None:
    """update_grouped (a frame's symbols as a few array operations; natively by instrument id
    for a decoder's frames) leaves the book as update() batch by batch does, and returns the
    newest book time up to each group; a snapshot set by hand midway is continued from."""
    from tradecore.execution.market import MarketBook, MarketSnapshot
    from tradecore.streams.base import Instruments

    frames = _frames(Instruments() if by_id else None)
    grouped, batched = MarketBook(), MarketBook()
    for k, frame in enumerate(frames):
        if k == 40:
            for book in (grouped, batched):
                book.set(MarketSnapshot("AAA", bid=D("1.5"), ask=D("1.75"), last=D(2), ts_event=0))
        # Some frames fold all but one group (a busy symbol's goes the batch path, later).
        indices = [i for i in range(len(frame.symbols)) if not (k % 5 == 4 and i == 1)]
        newest = grouped.update_grouped(frame, indices)
        batches = frame.batches()
        times = [batched.update(batches[i])[0] if i in indices else 0 for i in range(len(batches))]
        assert newest == np.maximum.accumulate(times).tolist()  # the clock as the groups go
        for symbol in frame.symbols:
            assert grouped.get(symbol) == batched.get(symbol)
            assert grouped.reference(symbol) == batched.reference(symbol)
    assert grouped.symbols() == batched.symbols() == ["AAA", "BBB", "CCC", "NEW"]
    assert grouped.lasts(["AAA", "NEW", "ZZZ"]) == batched.lasts(["AAA", "NEW", "ZZZ"])


def test_fold_frame_writes_into_the_callers_arrays_or_refuses_them() -> None:
    """The native fold writes the book's columns in place: a column of another dtype is refused
    (a converted copy would take the writes and the book would never see them); index arrays
    that are views (here reversed) are read as the arrays they are, not as their memory."""
    from tradecore import schema
    from tradecore._native import _core

    trades = schema.empty(schema.TRADE, 3)
    trades["ts_event"], trades["price"] = [10, 11, 12], [1.5, 2.5, 3.5]
    cuts, ids = np.array([3, 1, 0], np.int64)[::-1], np.array([0, 1], np.int64)  # groups [0:1], [1:3]
    columns = {"bid": np.zeros(2), "ask": np.zeros(2), "last": np.zeros(2), "ts": np.zeros(2, np.int64),
               "state": np.zeros(2, np.int8), "fresh": np.ones(2, bool), "newest": np.zeros(2, np.int64)}

    def fold(**override: np.ndarray) -> bool:
        given = {**columns, **override}
        return bool(_core.book.fold_frame(0, trades, cuts, np.array([0, 1]), ids, np.array([1, 0]), **given))

    with pytest.raises(TypeError):
        fold(last=np.zeros(2, np.float32))
    with pytest.raises(TypeError):
        fold(newest=np.zeros(2, np.int32))
    assert not columns["last"].any() and columns["fresh"].all()  # nothing written
    assert fold()
    assert columns["last"].tolist() == [3.5, 1.5] and columns["ts"].tolist() == [12, 10]  # rows by id
    assert columns["newest"].tolist() == [10, 12] and not columns["fresh"].any()
