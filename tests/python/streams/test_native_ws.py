"""The native receive path (streams.native_ws) against real servers on loopback.

Two kinds of server: websockets' own (pings, the close handshake, the stream's reconnects) and
a raw TCP server that upgrades and then writes a scripted byte stream in uneven chunks, so the
native reader and websockets' client can be fed exactly the same bytes and compared.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from tradecore.streams.alpaca import AlpacaStream
from tradecore.streams.native_ws import NativeClientConnection, WebSocketProtocolError
from tradecore.streams.testing import AlpacaTestServer, trade
from tradecore.streams.websocket import Gap
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK
from websockets.extensions.permessage_deflate import (
    PerMessageDeflate,
)
from websockets.frames import Frame, Opcode
from websockets.utils import accept_key

T0 = 1_700_000_000_000_000_000

# -- a raw server: handshake, then the script's bytes verbatim --------------------------------


class RawServer:
    """Accepts WebSocket upgrades and writes ``script`` (server frames) in random chunks."""

    def __init__(self, script: bytes, extension: str | None, seed: int = 1) -> None:
        self.script = script
        self.extension = extension
        self.rng = random.Random(seed)
        self.received: list[list[tuple[int, bytes]]] = []  # each client's frames (opcode, payload)
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        accept = accept_key(key.decode()).encode()
        head = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n")
        if self.extension:
            head += b"Sec-WebSocket-Extensions: " + self.extension.encode() + b"\r\n"
        # The first frames ride in the same segment as the response, as they may in real life.
        data = head + b"\r\n" + self.script
        at = 0
        while at < len(data):
            size = self.rng.choice((1, 2, 7, 100, 1500, 70000))
            writer.write(data[at:at + size])
            at += size
            await writer.drain()
            if self.rng.random() < 0.3:
                await asyncio.sleep(0)
        try:  # the client answers pings and the close frame (or fails the connection)
            self.received.append(await asyncio.wait_for(client_frames(reader), 2.0))
        finally:
            writer.close()


async def client_frames(reader: asyncio.StreamReader) -> list[tuple[int, bytes]]:
    """Read the (masked) frames a client sends, up to its close frame or EOF."""
    got: list[tuple[int, bytes]] = []
    while not got or got[-1][0] != Opcode.CLOSE:
        try:
            head = await reader.readexactly(2)
        except asyncio.IncompleteReadError:
            break
        assert head[1] & 0x80, "client frames are masked"
        size = head[1] & 0x7F
        if size >= 126:
            size = int.from_bytes(await reader.readexactly(2 if size == 126 else 8), "big")
        mask = await reader.readexactly(4)
        payload = await reader.readexactly(size)
        got.append((head[0] & 0x0F, bytes(b ^ mask[k % 4] for k, b in enumerate(payload))))
    return got


def frames(messages: list[tuple[Opcode, bytes, bool]], deflate: PerMessageDeflate | None) -> bytes:
    """Serialize (opcode, payload, fin) frames as a server does (unmasked, maybe compressed)."""
    extensions = [deflate] if deflate is not None else []
    return b"".join(Frame(op, data, fin).serialize(mask=False, extensions=extensions)
                    for op, data, fin in messages)


def script_messages(seed: int) -> list[tuple[Opcode, bytes, bool]]:
    rng = random.Random(seed)
    out: list[tuple[Opcode, bytes, bool]] = []
    for k in range(40):
        size = rng.choice((0, 5, 125, 126, 1000, 65535, 65536, 200_000))
        if k % 3 == 0:
            text = ("trade é€😀 " * (size // 10 + 1))[:size]
            out.append((Opcode.TEXT, text.encode(), True))
        elif k % 7 == 0:  # fragmented, with a ping between the fragments
            body = rng.randbytes(size)
            out += [(Opcode.BINARY, body[:size // 2], False), (Opcode.PING, b"p%d" % k, True),
                    (Opcode.CONT, body[size // 2:], True)]
        else:
            out.append((Opcode.BINARY, bytes(rng.choice(b"abc") for _ in range(size)), True))
    return out + [(Opcode.CLOSE, b"\x03\xe8done", True)]


EXTENSIONS = {
    "none": (None, None),
    "takeover": ("permessage-deflate", (False, 15)),
    "no_takeover": ("permessage-deflate; server_no_context_takeover", (True, 15)),
    "window_10": ("permessage-deflate; server_max_window_bits=10", (False, 10)),
}


def server_deflate(params: tuple[bool, int] | None) -> PerMessageDeflate | None:
    if params is None:
        return None
    no_takeover, bits = params
    return PerMessageDeflate(False, no_takeover, 15, bits)  # the server compresses with these


async def receive_all(url: str, native: bool) -> tuple[list[Any], ClientConnection]:
    got: list[Any] = []
    async with connect(url, compression="deflate", ping_interval=None,
                       create_connection=NativeClientConnection if native else None) as ws:
        assert isinstance(ws, NativeClientConnection) == native
        if native:
            assert ws.native
        try:
            while True:
                got.append(await ws.recv())
        except ConnectionClosed as exc:
            got.append(("closed", type(exc).__name__, exc.rcvd and exc.rcvd.code))
    return got, ws


@pytest.mark.parametrize("extension", sorted(EXTENSIONS))
@pytest.mark.asyncio
async def test_native_gets_the_same_messages_as_websockets_from_the_same_bytes(extension: str) -> None:
    header, params = EXTENSIONS[extension]
    script = frames(script_messages(7), server_deflate(params))
    results = []
    for native in (False, True):
        async with RawServer(script, header) as server:
            got, _ = await receive_all(server.url, native)
            # Each ping answered in order, then the close echoed.
            assert server.received[0] == [(Opcode.PONG, data) for op, data, _ in script_messages(7)
                                          if op is Opcode.PING] + [(Opcode.CLOSE, b"\x03\xe8done")]
        results.append(got)
    expected = [data.decode() if op is Opcode.TEXT else data
                for op, data, fin in script_messages(7) if op in (Opcode.TEXT, Opcode.BINARY)]
    assert len(results[1]) == 1 + sum(1 for op, _, fin in script_messages(7)
                                      if op in (Opcode.TEXT, Opcode.BINARY))
    assert results[1] == results[0]
    assert results[1][-1] == ("closed", "ConnectionClosedOK", 1000)
    assert results[1][0] == expected[0]


def test_the_scripts_compress_with_context_takeover_as_a_server_does() -> None:
    # The "takeover" script really refers back into earlier messages: a fresh inflater per
    # message could not read it (so the takeover case tests what it claims).
    messages = [(Opcode.BINARY, b"AAPL 189.25 100 " * 20, True)] * 2
    takeover = frames(messages, server_deflate((False, 15)))
    reset = frames(messages, server_deflate((True, 15)))
    assert len(takeover) < len(reset)


GOOD = (Opcode.BINARY, b"before", True)
VIOLATIONS = {
    "masked": (Frame(Opcode.BINARY, b"x").serialize(mask=True), "masked"),
    "rsv1_without_extension": (b"\xc2\x01x", "RSV1 set but permessage-deflate was not negotiated"),
    "rsv2": (b"\xa2\x01x", "RSV2/RSV3"),
    "long_control": (b"\x89\x7e\x00\x7e" + b"p" * 126, "control frame of 126 bytes"),
    "fragmented_control": (b"\x09\x01p", "fragmented control frame"),
    "continuation_without_start": (b"\x80\x01c", "continuation frame without"),
    "new_frame_inside_fragmented": (b"\x01\x01a\x81\x01b", "inside a fragmented message"),
    "oversized": (b"\x82\x7f" + (2**20 + 1).to_bytes(8, "big"), "larger than max_size"),
    "invalid_utf8": (b"\x81\x04caf\xc3", "invalid UTF-8"),
}


@pytest.mark.parametrize("name", sorted(VIOLATIONS))
@pytest.mark.asyncio
async def test_each_violation_fails_the_connection_clearly_after_the_messages_before_it(name: str) -> None:
    bad, words = VIOLATIONS[name]
    script = frames([GOOD, GOOD], None) + bad
    async with RawServer(script, None) as server:
        got: list[Any] = []
        async with connect(server.url, compression=None, ping_interval=None, max_size=2**20,
                           create_connection=NativeClientConnection, close_timeout=1) as ws:
            with pytest.raises(ConnectionClosedError) as raised:
                await ws.deliver_to(got.append)
        assert got == [b"before", b"before"]
        cause = raised.value.__cause__
        assert isinstance(cause, WebSocketProtocolError) and words in str(cause)
        code = {"oversized": 1009, "invalid_utf8": 1007}.get(name, 1002)  # RFC 6455 7.4.1
        assert raised.value.sent is not None and raised.value.sent.code == code
        # The close frame the server got carries the code and says what was wrong.
        [(opcode, payload)] = server.received[0]
        assert opcode == Opcode.CLOSE and int.from_bytes(payload[:2], "big") == code
        assert words[:20] in payload[2:].decode()


@pytest.mark.asyncio
async def test_bad_compressed_data_and_a_bad_close_code_are_violations_too() -> None:
    async with RawServer(frames([GOOD], None) + b"\xc2\x04\xff\xff\xff\xff",
                         "permessage-deflate") as server:
        got: list[Any] = []
        async with connect(server.url, ping_interval=None, create_connection=NativeClientConnection,
                           close_timeout=1) as ws:
            with pytest.raises(ConnectionClosedError) as raised:
                await ws.deliver_to(got.append)
        assert got == [b"before"]
        assert "bad compressed data" in str(raised.value.__cause__)
    async with RawServer(frames([GOOD], None) + b"\x88\x02\x00\x01", None) as server:  # code 1
        got = []
        async with connect(server.url, ping_interval=None, create_connection=NativeClientConnection,
                           close_timeout=1) as ws:
            with pytest.raises(ConnectionClosedError) as raised:
                await ws.deliver_to(got.append)
        assert got == [b"before"]
        assert str(raised.value.__cause__) == "bad close frame from the server: invalid status code"


# -- websockets' server: pings, keepalive, close handshake ------------------------------------


@pytest_asyncio.fixture
async def ws_server() -> AsyncIterator[tuple[str, asyncio.Queue[ServerConnection]]]:
    connections: asyncio.Queue[ServerConnection] = asyncio.Queue()

    async def handler(connection: ServerConnection) -> None:
        await connections.put(connection)
        await connection.wait_closed()

    async with serve(handler, "127.0.0.1", 0, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/", connections


@contextlib.asynccontextmanager
async def native_session(ws_server: tuple[str, asyncio.Queue[ServerConnection]]
                         ) -> AsyncIterator[tuple[NativeClientConnection, ServerConnection]]:
    """A client on the native receive path connected to the fixture's server, and the server's
    side of it."""
    url, connections = ws_server
    async with connect(url, ping_interval=None, create_connection=NativeClientConnection) as ws:
        assert isinstance(ws, NativeClientConnection)
        yield ws, await connections.get()


@pytest.mark.asyncio
async def test_pings_are_answered_and_our_pings_matched_to_pongs(
    ws_server: tuple[str, asyncio.Queue[ServerConnection]]
) -> None:
    async with native_session(ws_server) as (ws, server_side):
        assert ws.native
        got: list[Any] = []
        delivering = asyncio.ensure_future(ws.deliver_to(got.append))
        pong = await server_side.ping(b"are you there")
        assert await asyncio.wait_for(pong, 2.0) >= 0  # answered by the native path
        ours = await ws.ping()
        assert await asyncio.wait_for(ours, 2.0) >= 0  # the server's pong reached websockets
        await server_side.send(b"still works")
        await ws.send("and sending too")
        assert await asyncio.wait_for(server_side.recv(), 2.0) == "and sending too"
        await asyncio.sleep(0.05)
        assert got == [b"still works"]
        delivering.cancel()


@pytest.mark.asyncio
async def test_server_close_completes_the_handshake_after_delivering_everything(
    ws_server: tuple[str, asyncio.Queue[ServerConnection]]
) -> None:
    async with native_session(ws_server) as (ws, server_side):
        for k in range(100):
            await server_side.send(f"message {k}")
        # The client stopped reading once recv()'s queue was full: the close waits for it.
        closing = asyncio.ensure_future(server_side.close(1001, "maintenance"))
        got: list[Any] = []
        with pytest.raises(ConnectionClosedOK) as raised:
            await ws.deliver_to(got.append)
        await asyncio.wait_for(closing, 2.0)
    assert got == [f"message {k}" for k in range(100)]
    assert raised.value.rcvd is not None and raised.value.rcvd.code == 1001
    assert server_side.close_code == 1001 and server_side.protocol.close_rcvd is not None


@pytest.mark.asyncio
async def test_our_close_gets_the_servers_echo_and_messages_sent_before_it(
    ws_server: tuple[str, asyncio.Queue[ServerConnection]]
) -> None:
    async with native_session(ws_server) as (ws, server_side):
        await server_side.send("in flight")
        await ws.close(1000, "bye")
        assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000
        assert await ws.recv() == "in flight"
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()


@pytest.mark.asyncio
async def test_a_waiting_callback_stops_reading_and_nothing_is_lost_or_reordered(
    ws_server: tuple[str, asyncio.Queue[ServerConnection]]
) -> None:
    async with native_session(ws_server) as (ws, server_side):
        release = asyncio.Event()
        got: list[Any] = []

        def sink(message: Any) -> Any:
            got.append(message)
            return release.wait() if len(got) == 1 else None  # the first one must wait

        delivering = asyncio.ensure_future(ws.deliver_to(sink))
        for k in range(50):
            await server_side.send(b"%d" % k)
        await asyncio.sleep(0.05)
        assert got == [b"0"] and ws._reading_paused
        release.set()
        while len(got) < 50:
            await asyncio.sleep(0.01)
        assert got == [b"%d" % k for k in range(50)] and not ws._reading_paused
        await server_side.close()
        with pytest.raises(ConnectionClosedOK):
            await delivering


@pytest.mark.asyncio
async def test_a_callback_error_ends_the_session_with_that_error(
    ws_server: tuple[str, asyncio.Queue[ServerConnection]]
) -> None:
    async with native_session(ws_server) as (ws, server_side):

        def sink(message: Any) -> None:
            raise KeyError(message)

        await server_side.send(b"boom")
        with pytest.raises(KeyError):
            await ws.deliver_to(sink)


# -- the stream on the native path ------------------------------------------------------------


MakeStream = Callable[..., AlpacaStream]


@pytest.mark.asyncio
async def test_stream_receives_natively_and_a_violation_reconnects_with_a_gap(
    server: AlpacaTestServer, make_stream: MakeStream
) -> None:
    gaps: list[Gap] = []
    stream = make_stream(on_gap=gaps.append)
    await stream.subscribe(["AAPL"])
    assert isinstance(stream._ws, NativeClientConnection) and stream._ws.native
    first = await server.wait_for_session(1)
    await server.publish([trade("AAPL", T0 + k, 10.0, 1, trade_id=k) for k in range(3)])
    got = [await asyncio.wait_for(stream.__anext__(), 5.0)]
    # A masked frame from the server: the session is dropped and the stream reconnects.
    first.connection.transport.write(Frame(Opcode.BINARY, b"x").serialize(mask=True))
    await server.wait_for_session(2)
    await stream.wait_live(5.0)
    assert len(stream.gaps) == 1 and gaps == stream.gaps
    assert "1002" in gaps[0].reason and "masked" in gaps[0].reason
    assert gaps[0].last_seen_ts == {"AAPL": T0 + 2}
    assert sum(len(b) for b in got) == 3


@pytest.mark.asyncio
async def test_native_receive_can_be_turned_off(server: AlpacaTestServer, make_stream: MakeStream
                                                ) -> None:
    stream = make_stream(native_receive=False)
    await stream.subscribe(["AAPL"])
    assert not isinstance(stream._ws, NativeClientConnection)
    await server.publish([trade("AAPL", T0, 10.0, 1)])
    batch = await asyncio.wait_for(stream.__anext__(), 5.0)
    assert len(batch) == 1
