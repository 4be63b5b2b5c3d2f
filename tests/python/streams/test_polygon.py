"""The Polygon/Massive stocks-stream client against a real WebSocket server on loopback (no mocks).

Synchronisation is by awaited conditions with timeouts, never by sleeping.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from tradecore import schema
from tradecore.errors import ConfigError, DataError
from tradecore.streams.alpaca import CONDITION_OTHER, QUOTE_CONDITION_BITS, TRADE_CONDITION_BITS
from tradecore.streams.base import EVENT_DTYPES, EventBatch, EventKind, GroupedBatch
from tradecore.streams.polygon import (
    PolygonAuthError,
    PolygonConnectionLimitError,
    PolygonDataError,
    PolygonDecoder,
    PolygonRequestError,
    PolygonStream,
    timestamp_ns,
)
from tradecore.streams.testing import (
    PolygonTestServer,
    polygon_aggregate,
    polygon_quote,
    polygon_trade,
)
from tradecore.streams.websocket import Backoff, Gap

MS = 1_000_000
T0_MS = 1_700_000_000_123  # 2023-11-14T22:13:20.123Z, a Tuesday, 17:13 New York
T0 = T0_MS * MS
FAST = Backoff(initial=0.01, maximum=0.05, jitter=0.5)

MakeStream = Callable[..., PolygonStream]


@pytest_asyncio.fixture
async def server() -> AsyncIterator[PolygonTestServer]:
    async with PolygonTestServer() as running:
        yield running


@pytest_asyncio.fixture
async def make_stream(server: PolygonTestServer) -> AsyncIterator[MakeStream]:
    """Return ``make(**options)`` building a stream on ``server``; all are closed afterwards."""
    streams: list[PolygonStream] = []

    def make(**options: Any) -> PolygonStream:
        options.setdefault("url", server.url)
        options.setdefault("api_key", server.api_key)
        options.setdefault("backoff", FAST)
        options.setdefault("reply_timeout", 5.0)
        stream = PolygonStream(**options)
        streams.append(stream)
        return stream

    yield make
    for stream in streams:
        await stream.close()


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for ``predicate`` by yielding to the loop; fail after ``timeout`` seconds."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.001)

    await asyncio.wait_for(poll(), timeout)


async def take(stream: PolygonStream, events: int, timeout: float = 5.0) -> list[EventBatch]:
    """Read batches until ``events`` events arrived."""
    batches: list[EventBatch] = []

    async def read() -> None:
        while sum(len(b) for b in batches) < events:
            batches.append(await stream.__anext__())

    await asyncio.wait_for(read(), timeout)
    return batches


def rows(batches: list[EventBatch], kind: EventKind, symbol: str | None = None) -> np.ndarray:
    chosen = [b.events for b in batches if b.kind is kind and symbol in (None, b.symbol)]
    return schema.concatenate(chosen, EVENT_DTYPES[kind]) if chosen else schema.empty(
        EVENT_DTYPES[kind])


# -- handshake and auth --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_handshake_sends_the_key_in_the_auth_message(
    server: PolygonTestServer, make_stream: MakeStream
) -> None:
    stream = make_stream()
    await stream.connect()
    session = await server.wait_for_session(1)
    assert session.authenticated and session.path == "/stocks"
    assert session.received == [{"action": "auth", "params": "test-api-key"}]
    assert "test-api-key" not in repr(stream)


@pytest.mark.asyncio
async def test_auth_failure_is_fatal_plain_and_never_logs_the_key(
    server: PolygonTestServer, make_stream: MakeStream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = "pk-Never-Log-Me-0123456789"
    stream = make_stream(api_key=key)
    with pytest.raises(PolygonAuthError) as raised:
        await stream.connect()
    assert "authentication failed" in str(raised.value)
    assert "POLYGON_API_KEY" in str(raised.value) and key[:6] not in str(raised.value)
    assert len(server.history) == 1  # fatal: no retry
    with pytest.raises(PolygonAuthError):
        await stream.__anext__()  # the iterator reports the same fatal error
    client = [r for r in caplog.records if not r.name.startswith("tradecore.streams.testing")]
    logged = "\n".join(r.getMessage() for r in client)
    assert key[:6] not in logged and key.encode()[-8:].hex(" ") not in logged
    assert any(r.name.startswith("tradecore.streams.polygon.websocket") for r in client)
    assert any(r.name == "tradecore.streams.polygon" and r.levelno == logging.ERROR
               for r in client)


@pytest.mark.asyncio
async def test_the_key_comes_from_the_environment(
    server: PolygonTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MASSIVE_API_KEY", raising=False)
    monkeypatch.setenv("POLYGON_API_KEY", server.api_key)
    async with PolygonStream(url=server.url) as stream:
        assert (await server.wait_for_session(1)).received[0]["params"] == server.api_key
        assert stream.subscribed == frozenset()
    monkeypatch.setenv("MASSIVE_API_KEY", "massive-key-wins")  # the newer name comes first
    refused = PolygonStream(url=server.url)
    with pytest.raises(PolygonAuthError):
        await refused.connect()
    await refused.close()
    assert server.history[-1].received[0]["params"] == "massive-key-wins"
    monkeypatch.delenv("MASSIVE_API_KEY")
    monkeypatch.delenv("POLYGON_API_KEY")
    with pytest.raises(ConfigError, match="POLYGON_API_KEY"):
        PolygonStream(url=server.url)


@pytest.mark.asyncio
async def test_second_connection_with_the_key_is_fatal(
    server: PolygonTestServer, make_stream: MakeStream
) -> None:
    await make_stream().connect()
    second = make_stream()
    with pytest.raises(PolygonConnectionLimitError, match="Maximum number"):
        await second.connect()
    assert len(server.history) == 2


@pytest.mark.asyncio
async def test_refused_upgrade_429_is_retried(server: PolygonTestServer, make_stream: MakeStream
                                              ) -> None:
    server.refuse_upgrades(429, count=2)
    await make_stream().connect()
    assert server.refused_upgrades == 2 and len(server.history) == 1


# -- subscriptions ---------------------------------------------------------------------------


@pytest.mark.parametrize("combined", [False, True])
@pytest.mark.asyncio
async def test_subscribe_changes_are_confirmed_topic_by_topic(
    make_stream: MakeStream, combined: bool
) -> None:
    async with PolygonTestServer(combined_confirmations=combined) as server:
        stream = make_stream(url=server.url)
        await stream.subscribe(["aapl", "MSFT"])
        session = await server.wait_for_session(1)
        assert session.received[-1] == {"action": "subscribe",
                                        "params": "T.AAPL,T.MSFT,Q.AAPL,Q.MSFT"}
        assert session.subscriptions["T"] == session.subscriptions["Q"] == {"AAPL", "MSFT"}
        await stream.subscribe(["AAPL"], channels=["AM", "A"])
        assert session.received[-1] == {"action": "subscribe", "params": "AM.AAPL,A.AAPL"}
        await stream.subscribe(["AAPL"])  # idempotent: nothing sent
        assert len(session.received) == 3

        await server.publish([polygon_trade("MSFT", T0_MS, 10.0, 1, trade_id="1")])
        (first,) = await take(stream, 1)
        assert first.symbol == "MSFT"

        await stream.unsubscribe(["MSFT"])
        assert session.received[-1] == {"action": "unsubscribe", "params": "T.MSFT,Q.MSFT"}
        assert session.subscriptions["T"] == {"AAPL"} and stream.subscribed == {"AAPL"}
        # The server no longer sends MSFT; a stray one is not delivered.
        await server.send_raw(json.dumps([polygon_trade("MSFT", T0_MS + 5, 10.0, 1,
                                                        trade_id="2")]))
        await server.publish([polygon_trade("AAPL", T0_MS + 6, 20.0, 1, trade_id="3")])
        (batch,) = await take(stream, 1)
        assert batch.symbol == "AAPL" and stream.stats["dropped_unsubscribed"] == 1
        await stream.close()


@pytest.mark.asyncio
async def test_refused_subscribe_raises_and_keeps_the_subscriptions(
    make_stream: MakeStream
) -> None:
    async with PolygonTestServer(symbol_limit=2) as limited:
        stream = make_stream(url=limited.url)
        await stream.subscribe(["AAPL", "MSFT"])
        with pytest.raises(PolygonRequestError, match="symbol limit"):
            await stream.subscribe(["NVDA"])
        assert stream.subscribed == {"AAPL", "MSFT"}
        await limited.publish([polygon_trade("AAPL", T0_MS, 1.0, 1)])
        (batch,) = await take(stream, 1)  # the session went on
        assert batch.symbol == "AAPL" and len(limited.history) == 1
        await stream.close()


# -- decoding every message type --------------------------------------------------------------


@pytest.mark.asyncio
async def test_every_message_type_decodes_to_its_dtype_with_exact_timestamps(
    server: PolygonTestServer, make_stream: MakeStream
) -> None:
    stream = make_stream(channels=["T", "Q", "A", "AM"])
    await stream.subscribe(["AAPL"])
    minute_ms = T0_MS - T0_MS % 60_000
    ns_stamp = T0 + 456_789  # a nanosecond stamp (as REST sends) is kept exactly
    sent = [
        polygon_trade("AAPL", T0_MS, 189.5, 100, trade_id="42", exchange=12,
                      conditions=[14, 37, 12]),
        polygon_trade("AAPL", ns_stamp, 189.55, 7, trade_id="X7-abc", exchange=99,
                      conditions=[41]),
        polygon_quote("AAPL", T0_MS + 1, 189.4, 189.6, bid_size=3, ask_size=4,
                      bid_exchange=19, ask_exchange=11, condition=1),
        polygon_aggregate("AAPL", T0_MS - 1_123, T0_MS - 123, 189.0, 189.6, 188.9, 189.5, 300,
                          vwap=189.3, minute=False),
        polygon_aggregate("AAPL", minute_ms, minute_ms + 60_000, 189.0, 190.0, 188.5, 189.5,
                          1200, vwap=189.25),
    ]
    assert await server.publish(sent) == len(sent)
    batches = await take(stream, len(sent))
    assert {b.kind for b in batches} == {EventKind.TRADE, EventKind.QUOTE, EventKind.BAR}
    for batch in batches:
        assert batch.events.dtype == EVENT_DTYPES[batch.kind] and batch.symbol == "AAPL"
        assert batch.ts_received is not None and len(batch.ts_received) == len(batch)
    iid = stream.instruments.id_of("AAPL")

    first, second = rows(batches, EventKind.TRADE)
    assert first["ts_event"] == T0 and second["ts_event"] == ns_stamp
    assert (first["price"], first["size"], first["trade_id"]) == (189.5, 100, 42)
    assert first["exchange"] == ord("Q") and first["instrument_id"] == iid
    assert first["conditions"] == (TRADE_CONDITION_BITS["F"] | TRADE_CONDITION_BITS["I"]
                                   | TRADE_CONDITION_BITS["T"])
    assert second["trade_id"] >= 2**63  # a non-numeric id is hashed, top bit set
    assert second["exchange"] == 0 and second["conditions"] == CONDITION_OTHER
    (q,) = rows(batches, EventKind.QUOTE)
    assert q["ts_event"] == T0 + MS and (q["bid_price"], q["ask_price"]) == (189.4, 189.6)
    assert (q["bid_size"], q["ask_size"]) == (3, 4)
    assert (q["bid_exchange"], q["ask_exchange"]) == (ord("Z"), ord("P"))
    assert q["conditions"] == QUOTE_CONDITION_BITS["R"]
    second_bar, minute_bar = rows(batches, EventKind.BAR)
    assert second_bar["ts_event"] == T0 - 1_123 * MS and second_bar["ts_end"] == T0 - 123 * MS
    assert minute_bar["ts_event"] == minute_ms * MS
    assert minute_bar["ts_end"] - minute_bar["ts_event"] == 60_000_000_000
    assert (minute_bar["open"], minute_bar["high"], minute_bar["low"], minute_bar["close"]) == (
        189.0, 190.0, 188.5, 189.5)
    assert minute_bar["volume"] == 1200 and minute_bar["vwap"] == 189.25
    assert minute_bar["trade_count"] == 0 and minute_bar["session"] == schema.Session.AFTER_HOURS


def test_timestamps_are_recognised_by_magnitude_and_converted_exactly() -> None:
    assert timestamp_ns(1_536_036_818_784) == 1_536_036_818_784_000_000  # ms (the stream)
    assert timestamp_ns(1_601_316_752_683_746) == 1_601_316_752_683_746_000  # us (LULD example)
    assert timestamp_ns(1_700_000_000_123_456_789) == 1_700_000_000_123_456_789  # ns (REST)
    for bad in (0, -5, 1.7e12, "1700000000123", True, None, 2**63,
                1_700_000_000):  # seconds: by magnitude they would be milliseconds of 1970
        with pytest.raises(ValueError):
            timestamp_ns(bad)


def test_a_trade_without_conditions_is_a_regular_trade() -> None:
    """Polygon leaves ``c`` out of (or empties it in) a trade that has no conditions."""
    plain = polygon_trade("A", T0_MS, 1.0, 1, trade_id="1")
    messages = [{k: v for k, v in plain.items() if k != "c"}, plain | {"c": [], "i": "2"},
                plain | {"c": None, "i": "3"}, plain | {"c": "12", "i": "4"}]
    decoded = PolygonDecoder().decode(json.dumps(messages))
    assert rows(decoded.batches, EventKind.TRADE)["conditions"].tolist() == [0, 0, 0]
    assert [(p.category, p.index) for p in decoded.problems] == [("bad_field", 3)]


def test_numbers_out_of_range_or_of_the_wrong_type_are_bad_fields_and_the_frame_keeps_the_rest() -> None:
    """A bad number is refused with its message; it must not fail the frame's batch (which
    would lose the valid messages, already remembered as seen)."""
    decoder = PolygonDecoder()
    good = polygon_trade("A", T0_MS, 1.0, 1, trade_id="1")
    bad = [good | {"p": 10**400, "i": "2"}, good | {"s": True, "i": "3"}, good | {"p": "1.5", "i": "4"},
           polygon_quote("A", T0_MS, 1.0, 10**400), polygon_quote("A", T0_MS, False, 1.0),
           polygon_aggregate("A", T0_MS - 60_000, T0_MS, 1.0, 10**400, 1.0, 1.0, 1),
           polygon_aggregate("A", T0_MS // 1000 - 60, T0_MS // 1000, 1.0, 1.0, 1.0, 1.0, 1)]  # seconds
    decoded = decoder.decode(json.dumps([*bad, good | {"i": "5"}]))
    assert [(p.category, p.index) for p in decoded.problems] == [
        *[("bad_field", i) for i in range(6)], ("bad_timestamp", 6)]
    assert rows(decoded.batches, EventKind.TRADE)["trade_id"].tolist() == [5]
    again = decoder.decode(json.dumps([good | {"i": "5"}, good | {"i": "2"}]))  # 2 was never taken
    assert [p.category for p in again.problems] == ["duplicate_trade"]
    assert rows(again.batches, EventKind.TRADE)["trade_id"].tolist() == [2]


def test_a_frame_nested_too_deep_is_a_malformed_frame_not_a_crash() -> None:
    decoded = PolygonDecoder().decode("[" * 100_000 + "]" * 100_000)
    assert [p.category for p in decoded.problems] == ["malformed_frame"]


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_malformed_input_is_counted_logged_once_and_nothing_valid_is_lost(
    server: PolygonTestServer, make_stream: MakeStream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tradecore.streams.polygon")
    stream = make_stream(channels=["T", "Q", "AM"])
    await stream.subscribe(["AAPL"])
    session = await server.wait_for_session(1)
    await server.send_raw("this is not json{", session=session)
    await server.send_raw('{"ev": "T"}', session=session)  # not an array
    await server.send_raw('["not an object"]', session=session)
    good = polygon_trade("AAPL", T0_MS, 10.0, 5, trade_id="1")
    await server.publish([
        {"ev": "T", "sym": "AAPL", "p": 1.0, "t": T0_MS},  # no size
        {"ev": "LULD", "T": "AAPL", "h": 11.0, "l": 9.0, "t": T0_MS},  # not decoded: unknown
        good | {"t": 1.7e12},  # a float time
        good | {"t": "2023-11-14T22:13:20Z"},  # a string time
        good | {"p": -1.0, "i": "7"},  # bad price
        good | {"c": "0"},  # conditions not a list
        polygon_quote("AAPL", T0_MS, 10.2, 10.1),  # crossed
        polygon_quote("AAPL", T0_MS, 0.0, 0.0),  # zero
        polygon_aggregate("AAPL", T0_MS, T0_MS + 1000, 10.0, 9.0, 11.0, 10.0, 5),  # high < low
        good,
        good,  # duplicate
        polygon_trade("AAPL", T0_MS - 1, 9.0, 1, trade_id="2"),  # out of order: kept
        polygon_quote("AAPL", T0_MS + 1, 0.0, 10.1),  # one-sided: kept
    ], session=session)
    await server.send_raw('[{"ev": "T", "sym": "AAPL"', session=session)  # truncated
    await server.publish([polygon_trade("AAPL", T0_MS + 5, 11.0, 1, trade_id="3")],
                         session=session)
    batches = await take(stream, 4)
    trades = rows(batches, EventKind.TRADE)
    assert list(trades["trade_id"]) == [1, 2, 3]
    assert list(trades["ts_event"]) == [T0, T0 - MS, T0 + 5 * MS]
    assert list(rows(batches, EventKind.QUOTE)["ask_price"]) == [10.1]
    stats = stream.stats
    assert stats["malformed_frame"] == 4
    assert stats["bad_timestamp"] == 2 and stats["bad_field"] == 3
    for category in ("missing_field", "unknown_type", "crossed_quote", "zero_quote",
                     "duplicate_trade", "out_of_order_trade"):
        assert stats[category] == 1, category
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum(m.startswith("malformed_frame at frame") for m in warnings) == 1
    assert any(m.startswith("crossed_quote at frame") and "(AAPL)" in m for m in warnings)


@pytest.mark.asyncio
async def test_raise_policy_delivers_valid_events_first_then_raises_and_continues(
    server: PolygonTestServer, make_stream: MakeStream
) -> None:
    stream = make_stream(bad_input="raise")
    await stream.subscribe(["AAPL"])
    await server.publish([polygon_trade("AAPL", T0_MS, 1.0, 1, trade_id="1"),
                          polygon_quote("AAPL", T0_MS, 2.0, 1.0)])
    (batch,) = await take(stream, 1)
    assert batch.events["trade_id"][0] == 1
    with pytest.raises(PolygonDataError, match="crossed_quote") as raised:
        await asyncio.wait_for(stream.__anext__(), 5.0)
    assert isinstance(raised.value, DataError) and raised.value.problem.symbol == "AAPL"
    await server.publish([polygon_trade("AAPL", T0_MS + 1, 1.0, 1, trade_id="2")])
    (batch,) = await take(stream, 1)
    assert batch.events["trade_id"][0] == 2


def test_decoder_turns_status_messages_into_controls_and_dedups_across_frames() -> None:
    decoder = PolygonDecoder()
    frame = json.dumps([{"ev": "status", "status": "success", "message": "subscribed to: T.X"},
                        polygon_trade("X", T0_MS, 1.0, 1, trade_id="9")])
    first = decoder.decode(frame)
    assert [(c.type, c.message) for c in first.controls] == [("success",
                                                              "subscribed to: T.X")]
    assert len(first.batches) == 1 and first.batches[0].ts_received is None
    again = decoder.decode(frame)
    assert not again.batches and [p.category for p in again.problems] == ["duplicate_trade"]
    decoder.reset_symbol("X")  # after an unsubscribe the same trade is new again
    assert len(decoder.decode(frame).batches) == 1


# -- queues, reconnects and gaps ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_slow_consumer_gets_conflated_quotes_and_every_trade(
    server: PolygonTestServer, make_stream: MakeStream
) -> None:
    stream = make_stream(queue_capacity=5, max_backlog=1_000)
    await stream.subscribe(["AAPL"])
    for k in range(10):
        frame: list[dict[str, Any]] = [
            polygon_quote("AAPL", T0_MS + 100 * k + j, 10.0 + k + j / 10, 11.0 + k)
            for j in range(5)]
        frame.append(polygon_trade("AAPL", T0_MS + 100 * k + 50, 10.5, 1, trade_id=str(k)))
        await server.publish(frame)
    await until(lambda: stream.stats.get("messages", 0) >= 60)  # all received, none consumed
    batches = []
    while stream._ready:  # noqa: SLF001 - drain exactly what is queued
        batches.append(await stream.__anext__())
    assert list(rows(batches, EventKind.TRADE)["trade_id"]) == list(range(10))
    quotes = rows(batches, EventKind.QUOTE)
    assert 0 < len(quotes) < 50 and len(quotes) + stream.stats["quotes_conflated"] == 50
    assert quotes["ts_event"][-1] == (T0_MS + 904) * MS  # the newest quote is kept


@pytest.mark.asyncio
async def test_dropped_connection_reconnects_resubscribes_and_reports_the_gap(
    server: PolygonTestServer, make_stream: MakeStream
) -> None:
    gaps: list[Gap] = []
    stream = make_stream(on_gap=gaps.append)
    await stream.subscribe(["AAPL", "MSFT"])
    await stream.subscribe(["AAPL"], channels=["AM"])
    first = await server.wait_for_session(1)
    before = [polygon_trade("AAPL", T0_MS + k, 10.0 + k, 1, trade_id=str(k)) for k in range(3)]
    await server.publish(before + [polygon_quote("MSFT", T0_MS + 10, 5.0, 5.1)])
    got = await take(stream, 4)

    await server.drop(session=first)
    second = await server.wait_for_session(2)
    await server.wait_for(lambda: second.subscriptions["T"] == {"AAPL", "MSFT"})
    await stream.wait_live(5.0)
    assert second.received == [{"action": "auth", "params": "test-api-key"},
                               {"action": "subscribe",
                                "params": "T.AAPL,T.MSFT,Q.AAPL,Q.MSFT,AM.AAPL"}]
    assert len(gaps) == 1 and stream.gaps == gaps
    gap = gaps[0]
    assert gap.symbols == {"AAPL", "MSFT"}
    assert gap.last_seen_ts == {"AAPL": T0 + 2 * MS, "MSFT": T0 + 10 * MS}
    assert gap.disconnected_at <= gap.reconnected_at
    assert gap.first_missed_ts_estimate("AAPL") == T0 + 2 * MS + 1
    assert stream.stats["reconnects"] == 1 and stream.stats["gaps"] == 1

    # The new session overlaps the old one by a trade: it is not delivered twice.
    await server.publish([before[-1], polygon_trade("AAPL", T0_MS + 100, 20.0, 1,
                                                    trade_id="100")])
    got += await take(stream, 1)
    assert list(rows(got, EventKind.TRADE, "AAPL")["trade_id"]) == [0, 1, 2, 100]
    assert stream.stats["duplicate_trade"] == 1


@pytest.mark.asyncio
async def test_server_closing_the_session_is_retried_and_an_unsolicited_error_only_logged(
    server: PolygonTestServer, make_stream: MakeStream, caplog: pytest.LogCaptureFixture
) -> None:
    stream = make_stream()
    await stream.subscribe(["AAPL"])
    await server.send_status("error", "something odd")  # not fatal, not an answer: logged
    await server.publish([polygon_trade("AAPL", T0_MS, 1.0, 1)])
    await take(stream, 1)
    assert stream.stats["unsolicited_errors"] == 1
    assert any("unsolicited" in r.getMessage() and "something odd" in r.getMessage()
               for r in caplog.records)
    await server.send_status("error", "internal error", close=True)
    second = await server.wait_for_session(2)
    await server.wait_for(lambda: "AAPL" in second.subscriptions["T"])
    await server.publish([polygon_trade("AAPL", T0_MS + 1, 1.0, 1, trade_id="2")])
    (batch,) = await take(stream, 1)
    assert batch.events["trade_id"][0] == 2 and len(stream.gaps) == 1


def test_a_frames_trades_and_quotes_come_grouped_by_symbol_for_the_native_dispatch() -> None:
    """Trades and quotes of a frame go to the pipeline as one GroupedBatch per kind (run in one
    native call, as an Alpaca clean frame's); per-symbol batches stay available."""
    decoder = PolygonDecoder()
    frame = json.dumps([polygon_trade("B", T0_MS, 2.0, 1, trade_id="1"),
                        polygon_trade("A", T0_MS, 1.0, 1, trade_id="1"),
                        polygon_quote("A", T0_MS, 1.0, 1.01),
                        polygon_trade("B", T0_MS + 1, 2.1, 1, trade_id="2"),
                        polygon_aggregate("A", T0_MS - 1_000, T0_MS, 1.0, 1.0, 1.0, 1.0, 1, vwap=1.0,
                                          minute=False)])
    decoded = decoder.decode(frame, 7)
    grouped = {p.kind: p for p in decoded.parts if isinstance(p, GroupedBatch)}
    assert set(grouped) == {EventKind.TRADE, EventKind.QUOTE}
    trades = grouped[EventKind.TRADE]
    assert trades.symbols == ["B", "A"]  # by instrument (first seen first), arrival order within
    assert trades.cuts.tolist() == [0, 2, 3] and trades.ts_received == 7
    assert trades.events["trade_id"].tolist() == [1, 2, 1]
    assert [(b.kind, b.symbol, len(b)) for b in decoded.batches] == [
        (EventKind.TRADE, "B", 2), (EventKind.TRADE, "A", 1), (EventKind.QUOTE, "A", 1),
        (EventKind.BAR, "A", 1)]
    assert all(b.ts_received is not None and b.ts_received.tolist() == [7] * len(b)
               for b in decoded.batches)
