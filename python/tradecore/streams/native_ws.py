"""A native receive path under websockets' client: :class:`NativeClientConnection`.

websockets keeps what it does well and what is rare: the opening handshake (HTTP, TLS, headers,
extension negotiation), sending, keepalive pings and the closing handshake. The bytes the
server sends after the handshake go to the native :class:`~tradecore._core.streams.WsReader`
instead of websockets' Python frame parser, inflater and message assembler, and each message
goes to a synchronous callback from ``data_received``: no queue, no task hop.

Why a connection subclass (``connect(create_connection=...)``) rather than swapping the
transport's protocol after ``connect()`` returned: by then websockets' parser may hold part of
a frame (it consumes a frame's header before its payload has arrived), which cannot be taken
back from its generator. Routing the bytes at the end of the HTTP response instead starts the
native reader exactly on a frame boundary.

Control frames are handed to websockets' sans-I/O protocol (``recv_frame``), so it answers pings,
matches pongs to its keepalive pings and completes the close handshake as it always does; its
state (and so ``send()``, ``close()``, ``close_exc``) stays right.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ProtocolError
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import CONNECTING, OPEN

from tradecore._native import _core
from tradecore.errors import Error

__all__ = ["MessageSink", "NativeClientConnection", "WebSocketProtocolError"]

WsReader = _core.streams.WsReader
if TYPE_CHECKING:  # defined by the native core, so the reader's violations arrive as it
    class WebSocketProtocolError(Error):
        """The server broke the WebSocket protocol; the connection must be dropped."""

        messages: list[tuple[int, str | bytes]]  # completed in the same chunk, before it
        close_code: int  # 1009: a message above max_size; else 1002
else:
    WebSocketProtocolError = _core.streams.WebSocketProtocolError
_TEXT, _BINARY = _core.streams.OP_TEXT, _core.streams.OP_BINARY
_CONTROL = {_core.streams.OP_CLOSE: Opcode.CLOSE, _core.streams.OP_PING: Opcode.PING,
            _core.streams.OP_PONG: Opcode.PONG}

MessageSink = Callable[[str | bytes], Awaitable[Any] | None]
"""Takes one message; returns None when done with it, or an awaitable when it must wait (the
socket is not read until that completes: back-pressure)."""

_END_OF_HEAD = b"\r\n\r\n"


class NativeClientConnection(ClientConnection):
    """websockets' client connection with tradecore's native receive path.

    Use it with ``websockets.asyncio.client.connect(..., create_connection=NativeClientConnection)``.
    Until :meth:`deliver_to` attaches a callback, messages queue for ``recv()`` as usual (for
    authentication and replies); after, each goes to the callback as it arrives.
    :attr:`native` is False when the server negotiated an extension other than
    permessage-deflate: then websockets receives as usual.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head: bytearray | None = bytearray()  # the HTTP response so far: where frames start
        self._reader: Any = None  # WsReader once the handshake succeeded
        self._pending: collections.deque[str | bytes] = collections.deque()
        self._sink: MessageSink | None = None
        self._sink_busy: asyncio.Future[Any] | None = None  # the callback's awaitable
        self._reading_paused = False
        self._arrived: asyncio.Future[None] | None = None  # a recv() waiting for a message
        self._delivered: asyncio.Future[None] | None = None  # deliver_to(): all delivered
        self._failure: BaseException | None = None  # the callback raised this
        self._discarding = False  # a close frame came, or the connection failed: read no more

    @property
    def native(self) -> bool:
        """The native reader receives (decided when the handshake completed)."""
        return self._reader is not None

    # -- bytes in ---------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        if reader is not None:
            if self._discarding:
                return  # after a close frame or a failure, as websockets does
            try:
                messages = reader.feed(data)
            except WebSocketProtocolError as exc:
                self._on_messages(exc.messages)
                self._fail(exc)
                return
            self._on_messages(messages)
            return
        if self._head is None or self.protocol.state is not CONNECTING:
            super().data_received(data)
            return
        # The handshake: websockets gets the response up to the end of its headers; if it
        # accepted the upgrade, what follows is frames, for the native reader.
        start = len(self._head)
        self._head += data
        end = self._head.find(_END_OF_HEAD, max(0, start - 3))
        if end < 0:
            super().data_received(data)
            return
        split = end + len(_END_OF_HEAD) - start
        self._head = None
        super().data_received(data[:split])
        if self.protocol.state is OPEN:
            self._reader = self._new_reader()
        if data[split:]:
            self.data_received(data[split:])

    def _new_reader(self) -> Any:
        extensions = self.protocol.extensions
        max_size = self.protocol.max_message_size or 2**62
        if not extensions:
            return WsReader(max_size)
        if len(extensions) == 1 and isinstance(extensions[0], PerMessageDeflate):
            deflate = extensions[0]
            return WsReader(max_size, True, deflate.remote_no_context_takeover,
                            deflate.remote_max_window_bits)
        return None  # an extension the native reader does not know: websockets receives

    def _on_messages(self, messages: list[tuple[int, str | bytes]]) -> None:
        for opcode, payload in messages:
            if self._discarding:
                break
            if opcode == _BINARY or opcode == _TEXT:
                sink = self._sink
                if sink is None or self._pending or self._sink_busy is not None:
                    self._pending.append(payload)  # for recv(), or behind a waiting callback
                    self._wake()
                else:
                    self._call_sink(sink, payload)
            else:
                assert isinstance(payload, bytes)  # control frames are bytes
                self._on_control(_CONTROL[opcode], payload)
        self._update_reading()

    def _on_control(self, opcode: Opcode, payload: bytes) -> None:
        # websockets' protocol answers pings, completes the close handshake, and its connection
        # matches pongs to keepalive pings (process_event).
        self._discarding = opcode is Opcode.CLOSE
        try:
            self.protocol.recv_frame(Frame(opcode, payload))
        except ProtocolError as exc:  # e.g. a close code that does not exist
            self._fail(WebSocketProtocolError(f"bad {opcode.name.lower()} frame from the server: {exc}"))
            return
        self.send_data()
        for event in self.protocol.events_received():
            self.process_event(event)

    def _fail(self, exc: BaseException) -> None:
        """Fail the connection as websockets does on a protocol violation: close frame, then
        wait for the server to close TCP (abort if it does not)."""
        self._discarding = True
        self.set_connection_exc(exc)
        if self.protocol.state is OPEN:
            reason = str(exc).encode()[:120].decode(errors="ignore")
            self.protocol.fail(CloseCode(getattr(exc, "close_code", CloseCode.PROTOCOL_ERROR)), reason)
            self.send_data()
        if self.close_timeout is not None:
            self.loop.call_later(self.close_timeout, self.transport.abort)
        else:  # pragma: no cover - we always set a close timeout
            self.transport.abort()

    # -- messages out -----------------------------------------------------------------------

    async def recv(self, decode: bool | None = None) -> Any:
        """The next message, as websockets' ``recv()`` (cancel-safe: nothing is lost)."""
        if self._reader is None:
            return await super().recv(decode)
        if self._sink is not None:
            raise RuntimeError("recv() while deliver_to() owns the messages")
        while not self._pending:
            if self.connection_lost_waiter.done():
                raise self.close_exc
            self._arrived = self.loop.create_future()
            await self._arrived
        message = self._pending.popleft()
        self._update_reading()
        if decode is None or decode is isinstance(message, str):
            return message
        return message.decode() if decode else message.encode()  # type: ignore[union-attr]

    async def deliver_to(self, sink: MessageSink) -> None:
        """Call ``sink`` with each message, in order, until the connection ends; then raise
        what ``recv()`` would (``ConnectionClosed``), or what ``sink`` raised."""
        if self._reader is None:
            while True:  # websockets receives: same contract over its recv()
                result = sink(await super().recv())
                if result is not None:
                    await result
        self._sink = sink
        self._delivered = self.loop.create_future()
        try:
            self._pump()
            await self._delivered
        finally:
            self._sink = None
            if self._sink_busy is not None:
                self._sink_busy.cancel()
                self._sink_busy = None

    def _call_sink(self, sink: MessageSink, message: str | bytes) -> None:
        try:
            result = sink(message)
        except Exception as exc:  # noqa: BLE001 - ends the session with it (deliver_to raises it)
            self._end_delivery(exc)
            return
        if result is not None:
            busy = self._sink_busy = asyncio.ensure_future(result)
            busy.add_done_callback(self._sink_done)

    def _sink_done(self, busy: asyncio.Future[Any]) -> None:
        if busy is not self._sink_busy:
            return  # cancelled by deliver_to's end
        self._sink_busy = None
        if not busy.cancelled() and busy.exception() is not None:
            self._end_delivery(busy.exception())
            return
        self._pump()

    def _pump(self) -> None:
        """Deliver what waited (for the callback to be attached or to finish), in order."""
        sink = self._sink
        while sink is not None and self._pending and self._sink_busy is None and self._failure is None:
            self._call_sink(sink, self._pending.popleft())
        self._update_reading()
        if not self._pending and self.connection_lost_waiter.done():
            self._end_delivery(None)

    def _end_delivery(self, failure: BaseException | None) -> None:
        if failure is not None and self._failure is None:
            self._failure = failure
            self.transport.abort()  # the session ends with the callback's error
        delivered = self._delivered
        if delivered is None or delivered.done():
            return
        if self._failure is not None:
            delivered.set_exception(self._failure)
        else:
            delivered.set_exception(self.close_exc)

    def _wake(self) -> None:
        arrived = self._arrived
        if arrived is not None and not arrived.done():
            arrived.set_result(None)

    def _update_reading(self) -> None:
        # Stop reading while the callback waits, or while recv()'s queue is full (max_queue).
        high = self.max_queue_high
        pause = self._sink_busy is not None or (
            self._sink is None and high is not None and len(self._pending) >= high)
        if pause != self._reading_paused and not self.transport.is_closing():
            self._reading_paused = pause
            if pause:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self._reader is not None:
            self._wake()
            if self._sink_busy is None:
                self._pump()
