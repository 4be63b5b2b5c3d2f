"""The Polygon.io/Massive stocks stream, served over WebSocket on the shared :class:`FeedServer`.

The protocol as protocols.md section 4 describes it: the ``connected`` status first; auth by
``{"action": "auth", "params": KEY}`` answered ``auth_success``, or ``auth_failed`` and a close;
one connection per key by default (``max_connections`` and a close beyond); subscriptions as
``<EV>.<TICKER>`` topics in a comma-separated ``params`` string, each confirmed by a ``success``
status ``"subscribed to: T.AAPL"`` / ``"unsubscribed to: T.AAPL"``; data as JSON arrays of
objects keyed by ``ev``, with ``ev`` written first. What the sources leave open is chosen here
and marked in the code (inference): the wording of ``error`` statuses, the auth deadline, and
whether confirmations come one per topic (the vendor client's mock server, the default) or as
one status listing every topic (``combined_confirmations=True``, as a third-party example
shows). :class:`tradecore.streams.testing.PolygonTestServer` adds scripting hooks for tests.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request

from tradecore.sim.feed import FeedServer, FeedSession

__all__ = ["POLYGON_CHANNELS", "PolygonFeedServer", "PolygonSession", "status"]

POLYGON_CHANNELS = ("T", "Q", "A", "AM")
"""Event codes this server carries: trades, quotes, second and minute aggregates."""

_TOPIC = re.compile(r"(T|Q|A|AM)\.(\*|[A-Z][A-Z0-9.\-/]{0,15})")


def status(state: str, message: str) -> dict[str, Any]:
    """Return a status message (``ev`` = ``status``)."""
    return {"ev": "status", "status": state, "message": message}


@dataclass(eq=False)
class PolygonSession(FeedSession):
    """One client connection; ``subscriptions`` maps event codes to tickers."""

    __test__ = False  # not a pytest test class

    subscriptions: dict[str, set[str]] = field(
        default_factory=lambda: {c: set() for c in POLYGON_CHANNELS})

    def wants(self, message: Mapping[str, Any]) -> bool:
        """Whether this session subscribed to ``message``'s event code and ticker."""
        ev = message.get("ev")
        if ev not in self.subscriptions:
            return True  # status messages and unknown types are scripted on purpose: send them
        return self.wants_symbol(ev, message.get("sym"))


class PolygonFeedServer(FeedServer):
    """A Polygon/Massive stocks-stream server (the protocol; see the module docstring).

    Parameters
    ----------
    api_key
        The only key accepted; ``None`` accepts any non-empty key.
    combined_confirmations
        Confirm a request with one status listing every topic instead of one per topic.
    **options
        Those of :class:`~tradecore.sim.feed.FeedServer`.
    """

    def __init__(self, *, api_key: str | None = None, combined_confirmations: bool = False,
                 **options: Any) -> None:
        super().__init__(**options)
        self.api_key = api_key
        self.combined_confirmations = combined_confirmations

    @property
    def url(self) -> str:
        """``ws://host:port/stocks`` (any path is served)."""
        return f"ws://{self.host}:{self.port}/stocks"

    def _new_session(self, number: int, connection: ServerConnection, request: Request
                     ) -> PolygonSession:
        return PolygonSession(number=number, connection=connection, encoding="json",
                              path=request.path, headers=request.headers)

    async def send_status(self, state: str, message: str, *,
                          session: FeedSession | None = None, close: bool = False) -> None:
        """Send a status message to ``session`` (or every session); close it afterwards if asked."""
        for target in [session] if session is not None else list(self.sessions):
            await self._send(target, [status(state, message)])
            if close:
                await target.connection.close()

    async def _report_failure(self, session: FeedSession) -> None:
        await self.send_status("error", "internal error", session=session, close=True)

    async def _refuse_late_auth(self, session: FeedSession) -> None:
        # (inference) the vendor's wording is not documented
        await self.send_status("error", "authentication timeout", session=session, close=True)

    # -- protocol ------------------------------------------------------------------------

    async def _serve(self, session: FeedSession) -> None:
        await self._send(session, [status("connected", "Connected Successfully")])
        deadline = asyncio.get_running_loop().time() + self.auth_timeout
        while True:
            frame = await self._next_request(session, deadline)
            if frame is None:
                return
            try:
                message = json.loads(frame)
            except ValueError:
                message = None
            if self.record_received:
                session.received.append(message)
            await self._notify()
            action = message.get("action") if isinstance(message, dict) else None
            if action == "auth":
                if session.authenticated:
                    await self.send_status("error", "already authenticated", session=session)
                elif not await self._authenticate(session, message.get("params")):
                    return
            elif action in ("subscribe", "unsubscribe"):
                if not session.authenticated:
                    await self.send_status("error", "not authenticated", session=session)
                else:
                    await self._subscribe(session, action, message.get("params"))
            else:
                self.stats["client_errors"] += 1
                await self.send_status("error", "invalid message", session=session)

    async def _authenticate(self, session: FeedSession, key: Any) -> bool:
        accepted = key == self.api_key if self.api_key is not None else bool(key)
        if not isinstance(key, str) or not accepted:
            await self.send_status("auth_failed", "authentication failed", session=session,
                                   close=True)
            return False
        holders = [s for s in self.sessions if s.authenticated and s.key_id == key]
        if len(holders) >= self.connection_limit:
            await self.send_status(
                "max_connections", "Maximum number of websocket connections exceeded. You may "
                f"only use {self.connection_limit} connections at a time.", session=session,
                close=True)
            return False
        session.authenticated = session.ever_authenticated = True
        session.key_id = key
        await self._send(session, [status("auth_success", "authenticated")])
        await self._notify()
        return True

    async def _subscribe(self, session: FeedSession, action: str, params: Any) -> None:
        topics = [t.strip() for t in params.split(",") if t.strip()] if isinstance(
            params, str) else []
        matches = [_TOPIC.fullmatch(t) for t in topics]
        if not topics or not all(matches):
            self.stats["client_errors"] += 1
            bad = [t for t, m in zip(topics, matches) if not m] or [repr(params)]
            await self.send_status("error", f"invalid subscription: {','.join(bad)}",
                                   session=session)
            return
        new = {c: set(s) for c, s in session.subscriptions.items()}
        for match in matches:
            assert match is not None
            ev, ticker = match.groups()
            if action == "subscribe":
                new[ev].add(ticker)
            else:
                new[ev].discard(ticker)
        if self.symbol_limit is not None:
            distinct = set().union(*new.values()) - {"*"}
            if len(distinct) > self.symbol_limit:
                await self.send_status("error", "symbol limit exceeded", session=session)
                return
        session.subscriptions = new
        verb = "subscribed to" if action == "subscribe" else "unsubscribed to"
        if self.combined_confirmations:
            replies = [status("success", f"{verb}: {','.join(topics)}")]
        else:
            replies = [status("success", f"{verb}: {t}") for t in topics]
        await self._send(session, replies)
        await self._notify()

    async def _send(self, session: FeedSession, messages: Sequence[Mapping[str, Any]]) -> None:
        wire = [{"ev": m["ev"], **m} if "ev" in m else dict(m) for m in messages]
        await session.connection.send(json.dumps(wire))
