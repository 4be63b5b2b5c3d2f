"""The provider-independent half of a live WebSocket market-data client.

:class:`WebSocketStream` owns what every vendor's stream needs and none of the wire format: the
connection loop with :class:`Backoff` and jitter (fatal errors end it, the rest are retried, the
backoff resets after each session that got live), replies awaited with a timeout while data keeps
flowing, resubscription of the whole wanted set after a reconnect, :class:`Gap` reports,
keepalive pings, bounded per-symbol queues and a logger that blanks credentials. A provider
subclass (:class:`~tradecore.streams.alpaca.AlpacaStream`,
:class:`~tradecore.streams.polygon.PolygonStream`) brings a sans-I/O decoder and these hooks:

``_handshake(ws)``
    Authenticate after the upgrade, with :meth:`WebSocketStream._await_control`.
``_headers()``
    Extra upgrade headers (none by default).
``_encode_request(action, delta)``
    The ``"subscribe"``/``"unsubscribe"`` message for ``{channel: [symbols]}``.
``_reply_acceptor(action, delta)``
    A function fed each control message while the request waits: it returns True once the
    request is confirmed, False to keep waiting, and raises if the reply contradicts it.
``_error_of(control)``
    The exception a control message stands for, or None. Exceptions with ``fatal = True`` end
    the stream; instances of the provider's ``protocol_error`` end the session (retried);
    others answer a pending request, or are logged when unsolicited.

Policies shared by every provider (each provider's module documents its error codes)
-------------------------------------------------------------------------------------
Queues (slow consumer)
    Each symbol has its own queue, served round-robin, so per-symbol order is arrival order.
    Past ``queue_capacity`` events for a symbol a new quote replaces every quote still queued
    for it (``quotes_conflated``); trades and every other kind are never dropped: they queue up
    to ``max_backlog`` events, beyond which the receive loop stops reading the socket until the
    consumer catches up (``backpressure_waits``).
Gaps
    When a live session ends, the stream reconnects and, once authenticated again (before
    resubscribing, so before any event of the new session), appends a :class:`Gap` to
    :attr:`WebSocketStream.gaps` and calls ``on_gap``.
Bad input
    The decoder counts and logs it; with ``bad_input="raise"`` the iterator raises the
    provider's data error after the valid events of the same frame, then goes on.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TypeVar

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from tradecore import schema
from tradecore._version import __version__
from tradecore.errors import ConfigError, DataError
from tradecore.latency import LatencyStats
from tradecore.streams.base import (
    GROUPED_KINDS,
    EventBatch,
    EventKind,
    GroupedBatch,
    Instruments,
    MarketDataStream,
)
from tradecore.streams.native_ws import NativeClientConnection
from tradecore.tasks import start_task

if TYPE_CHECKING:
    from tradecore.streams.alpaca import DecodedFrame

__all__ = ["Backoff", "Decoder", "Gap", "RedactingAdapter", "WebSocketStream"]

_Self = TypeVar("_Self", bound="WebSocketStream")


@dataclass(frozen=True, kw_only=True, slots=True)
class Backoff:
    """Reconnect delays: exponential with jitter, reset after every session that got live.

    The n-th consecutive failed attempt (from 0) waits
    ``min(maximum, initial * factor**n) * (1 - jitter * U[0, 1))`` seconds.
    ``max_attempts`` (``None`` = forever) bounds consecutive failures before the stream gives up
    with the last error.
    """

    initial: float = 1.0
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if not (0 <= self.initial <= self.maximum and self.factor >= 1 and 0 <= self.jitter <= 1):
            raise ConfigError(f"invalid backoff {self}: need 0 <= initial <= maximum, "
                              "factor >= 1, 0 <= jitter <= 1")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Return the delay in seconds before reconnect attempt ``attempt`` (0-based)."""
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return base * (1.0 - self.jitter * (rng or random).random())


@dataclass(frozen=True, slots=True)
class Gap:
    """Events may have been missed between a dropped session and the next one.

    The events missed for a symbol lie after ``last_seen_ts[symbol]`` and before the first event
    of that symbol the iterator yields after the gap; backfill from a history source over
    ``(last_seen_ts, reconnected_at]``.

    Attributes
    ----------
    symbols
        Symbols subscribed across the drop (all of them may have missed events).
    last_seen_ts
        Per symbol, ``ts_event`` (vendor time, ns UTC) of the last event received before the
        drop; a symbol without any event before the drop is absent.
    disconnected_at
        Local time (ns UTC) the drop was noticed.
    reconnected_at
        Local time (ns UTC) the new session authenticated, just before resubscribing.
    reason
        Why the session ended (exception text; never credentials).
    """

    symbols: frozenset[str]
    last_seen_ts: Mapping[str, int]
    disconnected_at: int
    reconnected_at: int
    reason: str

    def first_missed_ts_estimate(self, symbol: str) -> int:
        """Return the earliest vendor time (ns) that may be missing for ``symbol``.

        One nanosecond after its last seen event; ``disconnected_at`` if none was seen.
        """
        last = self.last_seen_ts.get(symbol)
        return self.disconnected_at if last is None else last + 1


class Decoder(Protocol):
    """What :class:`WebSocketStream` needs of a provider's sans-I/O decoder."""

    instruments: Instruments
    stats: collections.Counter[str]

    def decode(self, frame: bytes | str, ts_received: int | None = None) -> DecodedFrame:
        """Decode one frame into batches, controls and problems; never raise for bad input."""
        ...

    def reset_symbol(self, symbol: str) -> None:
        """Forget the per-symbol state of ``symbol`` (after an unsubscribe)."""
        ...

    def newest_ts(self, symbol: str) -> int | None:
        """The newest trade or quote time decoded for ``symbol`` (None: none)."""
        ...


class RedactingAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Pass records on with the credentials (and frames carrying them) blanked out.

    ``websockets`` logs handshake headers and frame excerpts at DEBUG; an excerpt may hold a
    prefix of the secret, so any record mentioning an auth message or header is reduced.
    """

    def __init__(self, target: logging.Logger, secrets: tuple[str, ...], *,
                 frames: bool = False) -> None:
        super().__init__(target, {})
        self._secrets = tuple(s for s in secrets if s)
        # Frame and header excerpts may be cut inside a credential: drop any that could hold
        # one, recognised by the auth message's and headers' own words.
        self._markers = ("secret", "SECRET", "APCA-API", "auth", "Authorization") if frames else ()

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        if self._markers and text.startswith(("> TEXT", "> BINARY", "> CONT")):
            # Frames the client sends are auth and (un)subscribe requests: log their size only.
            text = text.split(" ", 2)[1] + " frame sent " + text.rsplit(" ", 2)[-2].lstrip("[")
            text += " bytes" if text[-1].isdigit() else ""
        elif any(m in text for m in self._markers) or any(s[:6] in text for s in self._secrets):
            text = text.split(" ", 1)[0] + " <redacted: may carry credentials>"
        self.logger.log(level, "%s", text, **kwargs)


class _SymbolQueue:
    __slots__ = ("batches", "pending", "scheduled")

    def __init__(self) -> None:
        self.batches: collections.deque[EventBatch] = collections.deque()
        self.pending = 0  # events queued
        self.scheduled = False  # the symbol is in the ready order


class _SessionEnded(Exception):
    """Internal: a request's session ended before the reply; the request is replayed later."""


class _Reply:
    """A request waiting for the server: ``accept`` sees each control until it returns True."""

    __slots__ = ("accept", "future")

    def __init__(self, accept: Callable[[Any], bool]) -> None:
        self.accept = accept
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()


_NEVER = -(2**63)  # no event time seen


def _first(control: Any) -> bool:
    return True


def _is_fatal(error: BaseException) -> bool:
    return bool(getattr(error, "fatal", False))


class WebSocketStream(MarketDataStream):
    """A live vendor stream over WebSocket; subclasses speak the vendor's protocol.

    Parameters
    ----------
    url
        Stream URL, ``ws://`` or ``wss://``.
    decoder
        The provider's sans-I/O decoder (it also holds the ``instrument_id`` registry).
    secrets
        Credentials to blank out of every log record.
    logger
        The provider's logger; ``websockets`` logs under ``<logger>.websocket``.
    channels
        Channels :meth:`subscribe` uses when none are given, from the class's ``CHANNELS``.
    bad_input
        ``"skip"`` (count, log once, go on) or ``"raise"`` (also raise the provider's data
        error from the iterator, after the valid events of the frame).
    queue_capacity
        Events per symbol above which quotes are conflated.
    max_backlog
        Events per symbol above which the receive loop waits for the consumer.
    backoff
        Reconnect policy.
    ping_interval, ping_timeout
        Keepalive in seconds: a ping every ``ping_interval``; no pong within ``ping_timeout``
        drops the session (then it reconnects).
    reply_timeout
        Seconds to wait for the upgrade, each handshake reply and each subscription reply.
    on_gap
        Called with each :class:`Gap` (from the stream's task; must not block).
    latency
        Where to record ``receive_to_decoded`` per frame (a :class:`tradecore.latency.LatencyStats`).
    native_receive
        Receive with the native WebSocket reader (:mod:`tradecore.streams.native_ws`); False
        receives with websockets' own parser. Either way websockets does the handshake and sends.

    Notes
    -----
    ``async with stream`` connects and authenticates (fatal errors raise there);
    :meth:`subscribe` waits for the server's confirmation and checks it. While the stream is
    reconnecting, (un)subscribe only updates the wanted set, which the next session sends in
    full.
    """

    CHANNELS: ClassVar[tuple[str, ...]]
    """Channels a client can subscribe to (the vendor's names)."""
    provider: ClassVar[str]
    """Vendor name for messages."""
    provider_error: ClassVar[type[Exception]]
    """Base of the provider's errors: raised as they are, never reclassified."""
    protocol_error: ClassVar[type[Exception]]
    """Raised for retryable failures (timeouts, broken sessions, refused upgrades)."""
    permission_error: ClassVar[type[Exception]]
    """Raised (fatal) when the upgrade is refused for good or the URL is invalid."""
    request_error: ClassVar[type[Exception]]
    """Raised by (un)subscribe when the server refused it; subscriptions stay as they were."""

    def __init__(
        self,
        *,
        url: str,
        decoder: Decoder,
        secrets: tuple[str, ...],
        logger: logging.Logger,
        channels: Iterable[str],
        bad_input: Literal["skip", "raise"] = "skip",
        queue_capacity: int = 1_000,
        max_backlog: int = 100_000,
        backoff: Backoff = Backoff(),
        ping_interval: float | None = 10.0,
        ping_timeout: float | None = 20.0,
        reply_timeout: float = 10.0,
        on_gap: Callable[[Gap], None] | None = None,
        latency: LatencyStats | None = None,
        native_receive: bool = True,
    ) -> None:
        if not url.startswith(("ws://", "wss://")):
            raise ConfigError(f"url must start with ws:// or wss://, not {url[:40]!r}")
        if bad_input not in ("skip", "raise"):
            raise ConfigError(f"bad_input must be 'skip' or 'raise', not {bad_input!r}")
        if not 1 <= queue_capacity <= max_backlog:
            raise ConfigError("need 1 <= queue_capacity <= max_backlog")
        self._channels = self._check_channels(channels)
        self.url = url
        self._decoder = decoder
        self._bad_input = bad_input
        self._capacity = queue_capacity
        self._max_backlog = max_backlog
        self._backoff = backoff
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._reply_timeout = reply_timeout
        self._on_gap = on_gap
        self.latency = latency
        self._native_receive = native_receive
        self._log = RedactingAdapter(logger, secrets)
        self._ws_log = RedactingAdapter(logging.getLogger(f"{logger.name}.websocket"), secrets,
                                        frames=True)

        self._wanted: dict[str, set[str]] = {c: set() for c in self.CHANNELS}
        self._wanted_all: frozenset[str] | None = None  # their union, rebuilt after a change
        self._queues: dict[str, _SymbolQueue] = {}
        self._ready: collections.deque[str | BaseException] = collections.deque()
        # Whole frames, in arrival order, for a consumer of parts() that keeps up (see _handle_frame).
        self._frames: collections.deque[EventBatch | GroupedBatch] = collections.deque()
        self._frame_events = 0  # events in _frames
        self._grouped = False  # a parts() consumer is iterating
        self._waiting = False  # ... and waits in _next (nothing for it is queued)
        self._sink: Callable[[EventBatch | GroupedBatch], None] | None = None  # see push_parts
        self._sink_error: BaseException | None = None  # what the sink raised, for the consumer
        self._loose: collections.deque[EventBatch] = collections.deque()  # the rest of a frame, for __anext__
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._live = asyncio.Event()  # a session is authenticated and subscribed
        self._request_lock = asyncio.Lock()
        self._reply: _Reply | None = None
        self._ws: ClientConnection | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._started: asyncio.Future[None] | None = None
        self._fatal: BaseException | None = None
        self._closing = False
        self._close_task: asyncio.Task[None] | None = None
        self._last_seen: dict[str, int] = {}  # of kinds the decoder does not remember (see _seen)
        self._stats: collections.Counter[str] = collections.Counter()
        self.gaps: list[Gap] = []
        """Every :class:`Gap` reported so far, oldest first."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r})"

    # -- provider hooks ---------------------------------------------------------------------

    @abc.abstractmethod
    async def _handshake(self, ws: ClientConnection) -> None:
        """Authenticate the new session; raise the provider's errors on refusal."""

    @abc.abstractmethod
    def _encode_request(self, action: str, delta: Mapping[str, list[str]]) -> bytes | str:
        """Return the wire message asking to ``action`` the ``{channel: symbols}`` in ``delta``."""

    @abc.abstractmethod
    def _reply_acceptor(self, action: str, delta: Mapping[str, list[str]]
                        ) -> Callable[[Any], bool]:
        """Return the check fed each control message until the request is confirmed."""

    @abc.abstractmethod
    def _error_of(self, control: Any) -> Exception | None:
        """Return the exception ``control`` stands for, or None if it is not an error."""

    def _headers(self) -> dict[str, str]:
        """Extra upgrade headers."""
        return {}

    # -- MarketDataStream -------------------------------------------------------------------

    @property
    def subscribed(self) -> frozenset[str]:
        return self._wanted_symbols()

    @property
    def stats(self) -> dict[str, int]:
        """Counters: decoder (frames, messages, events, problem categories) and stream ones
        (``batches_delivered``, ``events_delivered``, ``quotes_conflated``,
        ``backpressure_waits``, ``sessions``, ``reconnects``, ``gaps``, ``dropped_unsubscribed``,
        ``unsolicited_errors``)."""
        merged = collections.Counter(self._decoder.stats)
        merged.update(self._stats)
        return dict(merged)

    @property
    def instruments(self) -> Instruments:
        """The registry assigning ``instrument_id``."""
        return self._decoder.instruments

    async def __aenter__(self: _Self) -> _Self:
        await self.connect()
        return self

    async def connect(self) -> None:
        """Connect and authenticate; return once live (idempotent).

        Raises
        ------
        Exception
            The provider's fatal error (bad credentials, connection limit, plan), or the last
            error once ``backoff.max_attempts`` consecutive attempts failed.
        """
        if self._closing:
            raise self.protocol_error("the stream is closed")
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            self._supervisor = self._start_task(
                self._run(), f"{self.provider.lower()}-stream-supervisor")
        await asyncio.shield(self._started)

    async def subscribe(self, symbols: Iterable[str], *, channels: Iterable[str] | None = None
                        ) -> None:
        """Subscribe ``symbols`` on ``channels`` (the stream's default channels if ``None``).

        Waits for the server's confirmation and checks that it covers the symbols.

        Raises
        ------
        Exception
            The provider's ``request_error`` (or a subclass) if the server refused; the
            subscriptions are as before the call.
        """
        await self._change("subscribe", symbols, channels)

    async def unsubscribe(self, symbols: Iterable[str], *, channels: Iterable[str] | None = None
                          ) -> None:
        """Unsubscribe ``symbols`` from ``channels`` (all channels if ``None``).

        Events of a symbol unsubscribed from every channel that are still queued are dropped
        when this returns, and later ones are not delivered.
        """
        await self._change("unsubscribe", symbols, channels)

    def __aiter__(self) -> AsyncIterator[EventBatch]:
        return self

    async def __anext__(self) -> EventBatch:
        if self._loose:
            return self._loose.popleft()
        part = await self._next()
        if isinstance(part, GroupedBatch):  # queued whole for a parts() consumer that stopped
            batches = part.batches()
            self._loose.extend(batches[1:])
            return batches[0]
        return part

    async def parts(self) -> AsyncIterator[EventBatch | GroupedBatch]:
        """Iterate whole frames' groups while the consumer keeps up, else per-symbol batches.

        A frame that arrives while nothing is queued goes to the consumer as it was decoded,
        one :class:`GroupedBatch` per kind: no per-symbol queue, no per-symbol object. Once the
        consumer falls behind (``queue_capacity`` events waiting), frames go to the per-symbol
        queues as for plain iteration, with their conflation and backpressure, until those
        are empty again. Per-symbol order is arrival order throughout.
        """
        self._grouped = True
        try:
            while True:
                while self._loose:  # what plain iteration left of a frame comes first
                    yield self._loose.popleft()
                try:
                    yield await self._next()
                except StopAsyncIteration:
                    return
        finally:
            self._grouped = False

    def push_parts(self, sink: Callable[[EventBatch | GroupedBatch], None] | None) -> bool:
        self._sink, self._sink_error = sink, None
        return True

    async def _next(self) -> EventBatch | GroupedBatch:
        if self._started is None and not self._closing:
            await self.connect()
        while True:
            if self._sink_error is not None:  # before anything queued after it
                error, self._sink_error = self._sink_error, None
                raise error
            if self._frames:  # older than anything in the per-symbol queues
                part = self._frames.popleft()
                self._frame_events -= len(part)
                self._count_delivered(part)
                return part
            if self._grouped and self._ready and self._take_round():
                continue  # the round waits in _frames
            while self._ready:
                item = self._ready.popleft()
                if isinstance(item, BaseException):
                    raise item
                batch = self._pop_batch(item)
                if batch is None:
                    continue
                self._count_delivered(batch)
                return batch
            if self._fatal is not None:
                raise self._fatal
            if self._closing:
                raise StopAsyncIteration
            self._wakeup.clear()
            self._waiting = True
            try:
                await self._wakeup.wait()
            finally:
                self._waiting = False

    def _pop_batch(self, symbol: str) -> EventBatch | None:
        """The next queued batch of a ready ``symbol`` (None if it has none); the symbol is
        scheduled again at the end of ``_ready`` while it has more."""
        queue = self._queues.get(symbol)
        if queue is None or not queue.batches:
            if queue is not None:
                queue.scheduled = False
            return None
        batch = queue.batches.popleft()
        queue.pending -= len(batch)
        if queue.batches:
            self._ready.append(symbol)
        else:
            queue.scheduled = False
        self._drained.set()
        return batch

    def _take_round(self) -> bool:
        """Behind, for a parts() consumer: the next batch of every ready symbol at once, those of
        one frame and kind joined as a :class:`GroupedBatch` (dispatched natively, as a frame is)
        and queued in front of ``_frames``. A symbol gives one batch a round, so per-symbol order
        stays arrival order. False if no symbol had a batch (or an error is next)."""
        taken: dict[tuple[int, EventKind] | int, list[EventBatch]] = {}
        for _ in range(len(self._ready)):
            item = self._ready[0]
            if isinstance(item, BaseException):
                break  # raised once what was taken before it is delivered
            self._ready.popleft()
            batch = self._pop_batch(item)
            if batch is None:
                continue
            received = batch.ts_received
            joinable = (batch.kind in GROUPED_KINDS and received is not None and len(received)
                        and received[0] == received[-1])
            key = (int(received[0]), batch.kind) if joinable else len(taken)  # type: ignore[index]
            taken.setdefault(key, []).append(batch)
        parts: list[EventBatch | GroupedBatch] = []
        for key, batches in taken.items():
            if len(batches) == 1 or isinstance(key, int):
                parts.extend(batches)
                continue
            ts_received, kind = key
            lengths = np.fromiter((len(b) for b in batches), np.int64, len(batches))
            parts.append(GroupedBatch(kind, schema.concatenate([b.events for b in batches], batches[0].events.dtype),
                                      np.concatenate(([0], np.cumsum(lengths))),
                                      [b.symbol for b in batches], ts_received, self.instruments))
        self._frames.extendleft(reversed(parts))
        self._frame_events += sum(len(part) for part in parts)
        return bool(parts)

    async def close(self) -> None:
        """Close the connection and end iteration; queued events are dropped. Idempotent."""
        self._closing = True
        if self._close_task is None:
            self._close_task = asyncio.get_running_loop().create_task(
                self._close(), name=f"{self.provider.lower()}-stream-close")
        await asyncio.shield(self._close_task)

    async def wait_live(self, timeout: float | None = None) -> None:
        """Wait until a session is authenticated and subscribed (e.g. after a reconnect)."""
        await asyncio.wait_for(self._live.wait(), timeout)

    # -- task helper ------------------------------------------------------------------------

    def _start_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        return start_task(coro, name, owner=self._tasks, log=self._log)

    # -- supervisor: connect, authenticate, subscribe, receive, reconnect --------------------

    async def _run(self) -> None:
        attempt = 0
        pending_gap: tuple[dict[str, int], int, str] | None = None
        rng = random.Random()
        while not self._closing:
            was_live = False
            delay = 0.0
            try:
                async with connect(
                    self.url,
                    additional_headers=self._headers(),
                    user_agent_header=f"tradecore/{__version__}",
                    ping_interval=self._ping_interval,
                    ping_timeout=self._ping_timeout,
                    open_timeout=self._reply_timeout,
                    close_timeout=2.0,
                    max_size=2**24,
                    logger=self._ws_log,
                    create_connection=NativeClientConnection if self._native_receive else None,
                ) as ws:
                    self._stats["sessions"] += 1
                    await self._handshake(ws)
                    if pending_gap is not None:
                        self._report_gap(*pending_gap)
                        pending_gap = None
                    await self._resubscribe(ws)
                    self._ws = ws
                    was_live = True
                    attempt = 0
                    self._live.set()
                    if self._started is not None and not self._started.done():
                        self._started.set_result(None)
                    await self._receive(ws)
                    raise self.protocol_error("the server closed the stream")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below
                error = self._classify(exc)
                if _is_fatal(error):
                    self._fail(error)
                    return
                reason = f"{type(exc).__name__}: {exc}"
                if was_live:
                    self._stats["reconnects"] += 1
                    pending_gap = (self._seen(), time.time_ns(), reason)
                attempt += 1
                if self._backoff.max_attempts is not None and attempt > self._backoff.max_attempts:
                    self._fail(error)
                    return
                delay = self._backoff.delay(attempt - 1, rng)
                self._log.warning("%s stream session %s (%s); reconnecting in %.2f s",
                                  self.provider, "lost" if was_live else "failed", reason, delay)
            finally:
                self._ws = None
                self._live.clear()
                if self._reply is not None and not self._reply.future.done():
                    self._reply.future.set_exception(_SessionEnded())
                    self._reply.future.exception()  # retrieved: the requester may be gone
            await asyncio.sleep(delay)

    def _classify(self, exc: Exception) -> Exception:
        if isinstance(exc, self.provider_error):
            return exc
        if isinstance(exc, InvalidStatus):
            status = exc.response.status_code
            if status == 429 or status >= 500:
                return self.protocol_error(f"the upgrade was refused with HTTP {status}")
            return self.permission_error(
                f"the upgrade was refused with HTTP {status}: check the URL {self.url!r}")
        if isinstance(exc, InvalidURI):
            return self.permission_error(f"invalid stream URL {self.url!r}")
        if isinstance(exc, (ConnectionClosed, OSError, InvalidHandshake, TimeoutError,
                            _SessionEnded)):
            return self.protocol_error(f"{type(exc).__name__}: {exc}")
        return self.protocol_error(f"unexpected {type(exc).__name__}: {exc}")

    def _fail(self, error: BaseException) -> None:
        """End the stream with a fatal error: raised by connect() and after queued events."""
        self._log.error("%s stream stopped: %s", self.provider, error)
        self._fatal = error
        if self._started is not None and not self._started.done():
            self._started.set_exception(error)
            self._started.exception()
        self._wakeup.set()

    async def _resubscribe(self, ws: ClientConnection) -> None:
        request = {c: sorted(s) for c, s in self._wanted.items() if s}
        if not request:
            return
        async with self._request_lock:
            await self._await_control(ws, self._encode_request("subscribe", request),
                                      self._reply_acceptor("subscribe", request))

    async def _await_control(self, ws: ClientConnection, message: bytes | str | None,
                             accept: Callable[[Any], bool] = _first) -> Any:
        """Send ``message`` (if any) and read frames until ``accept`` takes a control message.

        Data arriving meanwhile is delivered. Returns the control that completed the reply
        (by default the first one).
        """
        reply = self._reply = _Reply(accept)
        try:
            if message is not None:
                await ws.send(message)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._reply_timeout
            while not reply.future.done():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise self.protocol_error(
                        f"no reply from the server in {self._reply_timeout} s")
                # Cancelling recv() loses no data (websockets guarantees it).
                frame = await asyncio.wait_for(ws.recv(), remaining)
                await self._handle_frame(frame)
        except TimeoutError:
            raise self.protocol_error(f"no reply from the server in {self._reply_timeout} s"
                                      ) from None
        finally:
            self._reply = None
            if reply.future.done() and not reply.future.cancelled():
                reply.future.exception()  # mark retrieved; result() below re-raises it
        return reply.future.result()

    async def _receive(self, ws: ClientConnection) -> None:
        if isinstance(ws, NativeClientConnection):
            # Each frame is handled as it arrives (in data_received); what must wait (the
            # per-symbol queues' back-pressure) runs as a task while the socket is not read.
            # Raises when the connection ends.
            await ws.deliver_to(self._take_frame)
        # Cancel-safe: websockets' recv() loses nothing when cancelled, and a frame is handled
        # completely before the next await on the socket.
        while True:
            await self._handle_frame(await ws.recv())

    async def _handle_frame(self, frame: bytes | str) -> None:
        rest = self._take_frame(frame)
        if rest is not None:
            await rest

    def _take_frame(self, frame: bytes | str) -> Coroutine[Any, Any, None] | None:
        """Decode and deliver ``frame`` as far as that goes without waiting; return the rest
        (the per-symbol queues' back-pressure) or None."""
        received = time.time_ns()
        decoded = self._decoder.decode(frame, received)
        if self.latency is not None:
            self.latency.add("receive_to_decoded", time.time_ns() - received)
        for control in decoded.controls:
            self._on_control(control)
        if decoded.parts:
            # While a parts() consumer keeps up, the frame goes to it whole (straight into its
            # sink when it waits with nothing queued); else per symbol.
            if not (self._grouped and not self._ready and self._frame_events < self._capacity
                    and self._deliver_frame(decoded.parts)):
                return self._enqueue_then_check(decoded)
        self._check_problems(decoded)
        return None

    async def _enqueue_then_check(self, decoded: DecodedFrame) -> None:
        await self._enqueue(decoded.batches)
        self._check_problems(decoded)

    def _check_problems(self, decoded: DecodedFrame) -> None:
        if self._bad_input == "raise" and decoded.problems:
            try:
                decoded.raise_for_problems()
            except DataError as exc:
                self._ready.append(exc)
                self._wakeup.set()

    def _on_control(self, control: Any) -> None:
        reply = self._reply
        waiting = reply is not None and not reply.future.done()
        error = self._error_of(control)
        if error is not None:
            if waiting:
                assert reply is not None
                reply.future.set_exception(error)
                if _is_fatal(error):
                    raise error
                return
            self._stats["unsolicited_errors"] += 1
            if _is_fatal(error) or isinstance(error, self.protocol_error):
                raise error
            self._log.warning("%s stream: unsolicited %s", self.provider, error)
            return
        if waiting:
            assert reply is not None
            try:
                done = reply.accept(control)
            except Exception as exc:  # noqa: BLE001 - the reply contradicts the request
                reply.future.set_exception(exc)
            else:
                if done:
                    reply.future.set_result(control)
        else:
            self._log.debug("%s stream: unsolicited %r", self.provider, control)

    async def _enqueue(self, batches: list[EventBatch]) -> None:
        wanted_all = self._wanted_symbols()
        for batch in batches:
            symbol = batch.symbol
            if symbol not in wanted_all and "*" not in wanted_all:
                self._stats["dropped_unsubscribed"] += len(batch)
                continue
            self._note_seen(batch)
            queue = self._queues.get(symbol)
            if queue is None:
                queue = self._queues[symbol] = _SymbolQueue()
            if batch.kind is EventKind.QUOTE and queue.pending + len(batch) > self._capacity:
                batch = self._conflate(queue, batch)
            queue.batches.append(batch)
            queue.pending += len(batch)
            if not queue.scheduled:
                queue.scheduled = True
                self._ready.append(symbol)
            self._wakeup.set()
            while queue.pending > self._max_backlog and not self._closing:
                self._stats["backpressure_waits"] += 1
                self._drained.clear()
                await self._drained.wait()

    def _deliver_frame(self, parts: Sequence[EventBatch | GroupedBatch]) -> bool:
        """Hand a frame whole to parts(): to its sink when the consumer waits with nothing
        queued, else into ``_frames``; False (nothing done) if it holds an unwanted symbol."""
        wanted = self._wanted_symbols()
        if "*" not in wanted:
            for part in parts:
                symbols = part.symbols if isinstance(part, GroupedBatch) else (part.symbol,)
                if not wanted.issuperset(symbols):
                    return False
        for part in parts:
            if isinstance(part, EventBatch):
                self._note_seen(part)
        sink = self._sink
        if sink is None or not self._waiting or self._frames or self._loose or self._sink_error is not None:
            self._frames.extend(parts)
            self._frame_events += sum(len(part) for part in parts)
            self._wakeup.set()
            return True
        for index, part in enumerate(parts):
            self._count_delivered(part)
            try:
                sink(part)
            except BaseException as error:  # noqa: BLE001 - the consumer's, raised there
                self._sink_error = error
                rest = parts[index + 1:]
                self._frames.extend(rest)  # kept for whoever iterates next
                self._frame_events += sum(len(part) for part in rest)
                self._wakeup.set()
                if not isinstance(error, Exception):
                    raise  # KeyboardInterrupt, SystemExit: not the consumer's to handle
                break
        return True

    def _count_delivered(self, part: EventBatch | GroupedBatch) -> None:
        """Count ``part`` as handed to the consumer (its batches: one per symbol)."""
        self._stats["events_delivered"] += len(part)
        self._stats["batches_delivered"] += len(part.symbols) if isinstance(part, GroupedBatch) else 1

    def _note_seen(self, batch: EventBatch) -> None:
        """The newest event time of a batch of a kind its decoder does not remember (bars,
        statuses: it remembers trades and quotes, see :meth:`_seen`); gap reports start there."""
        if batch.kind in GROUPED_KINDS or not len(batch):
            return
        last = int(batch.events["ts_event"].max())  # late events may come last
        if last > self._last_seen.get(batch.symbol, _NEVER):
            self._last_seen[batch.symbol] = last

    def _seen(self) -> dict[str, int]:
        """The newest event time delivered of each wanted symbol: its trades' and quotes' as
        its decoder remembers them, its other kinds' as noted (:meth:`_note_seen`)."""
        seen = dict(self._last_seen)
        for symbol in self._wanted_symbols():
            newest = self._decoder.newest_ts(symbol)
            if newest is not None and newest > seen.get(symbol, _NEVER):
                seen[symbol] = newest
        return seen

    def _conflate(self, queue: _SymbolQueue, batch: EventBatch) -> EventBatch:
        kept: collections.deque[EventBatch] = collections.deque()
        dropped = 0
        for queued in queue.batches:
            if queued.kind is EventKind.QUOTE:
                dropped += len(queued)
            else:
                kept.append(queued)
        queue.batches = kept
        queue.pending -= dropped
        dropped += len(batch) - 1
        self._stats["quotes_conflated"] += dropped
        received = None if batch.ts_received is None else batch.ts_received[-1:]
        return EventBatch(batch.kind, batch.symbol, batch.events[-1:].copy(), received)

    def _wanted_symbols(self) -> frozenset[str]:
        """Every symbol wanted on any channel (asked for each frame: kept, not rebuilt)."""
        if self._wanted_all is None:
            self._wanted_all = frozenset().union(*self._wanted.values())
        return self._wanted_all

    # -- subscriptions ----------------------------------------------------------------------

    @classmethod
    def _check_channels(cls, channels: Iterable[str]) -> tuple[str, ...]:
        result = (channels,) if isinstance(channels, str) else tuple(channels)
        unknown = [c for c in result if c not in cls.CHANNELS]
        if unknown or not result:
            raise ConfigError(f"unknown or no channels {unknown}; choose from {cls.CHANNELS}")
        return result

    async def _change(self, action: str, symbols: Iterable[str], channels: Iterable[str] | None
                      ) -> None:
        if isinstance(symbols, str):
            symbols = [symbols]
        wanted = set()
        for symbol in symbols:
            if not isinstance(symbol, str) or not symbol.strip():
                raise ConfigError(f"symbols must be non-empty strings, not {symbol!r}")
            wanted.add(symbol.strip().upper())
        if action == "subscribe":
            chosen = self._channels if channels is None else self._check_channels(channels)
        else:
            chosen = self.CHANNELS if channels is None else self._check_channels(channels)
        await self.connect()
        async with self._request_lock:
            if action == "subscribe":
                delta = {c: sorted(wanted - self._wanted[c]) for c in chosen}
            else:
                delta = {c: sorted(wanted & self._wanted[c]) for c in chosen}
            delta = {c: s for c, s in delta.items() if s}
            if not delta:
                return
            for c, s in delta.items():
                if action == "subscribe":
                    self._wanted[c].update(s)
                else:
                    self._wanted[c].difference_update(s)
            self._wanted_all = None
            try:
                await self._request(action, delta)
            except self.request_error:
                for c, s in delta.items():  # the server keeps the old set, and so do we
                    if action == "subscribe":
                        self._wanted[c].difference_update(s)
                    else:
                        self._wanted[c].update(s)
                self._wanted_all = None
                raise
            finally:
                if action == "unsubscribe":
                    self._purge(set().union(*delta.values()))

    async def _request(self, action: str, delta: dict[str, list[str]]) -> None:
        ws = self._ws
        if ws is None:  # reconnecting: the next session sends the whole wanted set
            return
        reply = self._reply = _Reply(self._reply_acceptor(action, delta))
        try:
            await ws.send(self._encode_request(action, delta))
            await asyncio.wait_for(asyncio.shield(reply.future), self._reply_timeout)
        except (_SessionEnded, ConnectionClosed):
            return  # resent in full by the next session
        except TimeoutError:
            raise self.protocol_error(f"no {action} reply in {self._reply_timeout} s") from None
        finally:
            if self._reply is reply:
                self._reply = None
            if reply.future.done() and not reply.future.cancelled():
                reply.future.exception()

    def _purge(self, symbols: set[str]) -> None:
        still = self._wanted_symbols()
        for symbol in symbols - still:
            queue = self._queues.pop(symbol, None)
            if queue is not None:
                self._stats["dropped_unsubscribed"] += queue.pending
            self._decoder.reset_symbol(symbol)
            self._last_seen.pop(symbol, None)
        dropped = symbols - still
        if dropped and self._frames:
            kept: collections.deque[EventBatch | GroupedBatch] = collections.deque()
            for part in self._frames:
                batches = part.batches() if isinstance(part, GroupedBatch) else [part]
                if any(b.symbol in dropped for b in batches):
                    self._stats["dropped_unsubscribed"] += sum(len(b) for b in batches if b.symbol in dropped)
                    kept.extend(b for b in batches if b.symbol not in dropped)
                else:
                    kept.append(part)
            self._frames = kept
            self._frame_events = sum(len(part) for part in kept)
        if dropped and self._loose:
            self._stats["dropped_unsubscribed"] += sum(len(b) for b in self._loose if b.symbol in dropped)
            self._loose = collections.deque(b for b in self._loose if b.symbol not in dropped)
        self._drained.set()

    def _report_gap(self, last_seen: dict[str, int], disconnected_at: int, reason: str) -> None:
        symbols = frozenset(self._wanted_symbols())
        gap = Gap(symbols, {s: last_seen[s] for s in symbols if s in last_seen},
                  disconnected_at, time.time_ns(), reason)
        self.gaps.append(gap)
        self._stats["gaps"] += 1
        self._log.warning("%s stream reconnected after %.3f s; %d symbols may have missed "
                          "events (see stream.gaps)", self.provider,
                          (gap.reconnected_at - disconnected_at) / 1e9, len(symbols))
        if self._on_gap is not None:
            try:
                self._on_gap(gap)
            except Exception:  # noqa: BLE001 - a callback bug must not kill the stream
                self._log.exception("on_gap callback failed")

    # -- close ------------------------------------------------------------------------------

    async def _close(self) -> None:
        supervisor = self._supervisor
        if supervisor is not None and not supervisor.done():
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        if self._started is not None and not self._started.done():
            self._started.set_exception(self.protocol_error("the stream was closed"))
            self._started.exception()
        self._queues.clear()
        self._ready.clear()
        self._frames.clear()
        self._frame_events = 0
        self._loose.clear()
        self._drained.set()
        self._wakeup.set()
