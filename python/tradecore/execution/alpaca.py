"""The Alpaca Trading API as a :class:`~tradecore.execution.broker.Broker`.

REST (aiohttp) for orders, positions and the account; the ``trade_updates`` WebSocket for
order events (protocols.md section 2). The base URL is configurable: Alpaca paper
(``https://paper-api.alpaca.markets``), live, or the built-in simulator's trading endpoints.
Credentials come from ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY`` unless passed; they are
sent only in the auth headers and the stream's authenticate message and never logged.

Errors (REST)
    ``{"code", "message"}`` bodies become exceptions by HTTP status: 401
    :class:`AlpacaUnauthorizedError`, 403 :class:`AlpacaForbiddenError` (buying power, shares),
    404 :class:`AlpacaNotFoundError`, 422 :class:`AlpacaUnprocessableError` (also an
    ``OrderRejectedError``; on a cancel, :class:`AlpacaNotCancelableError`), 429
    :class:`AlpacaRateLimitError`, 5xx :class:`AlpacaServerUnavailableError`. 429, 5xx and
    transport failures are retried with :class:`~tradecore.streams.alpaca.Backoff` (honouring
    ``Retry-After``) up to ``max_retries`` times. An order POST is only resent after checking
    by ``client_order_id`` that the first attempt did not reach the server.

Stream
    Client speaks first: ``authenticate`` then ``listen`` to ``trade_updates``; frames may be
    text or binary JSON. An ``unauthorized`` reply is fatal. Any other end of a session is
    retried with backoff (reset after a session that got live); after a reconnect, before the
    new session's updates are applied, every order known to be open is fetched over REST and
    what changed during the gap is published as synthetic events with
    ``reason="resync after stream gap"`` (fills with the quantity and average price implied by
    the change of ``filled_qty`` / ``filled_avg_price``). Updates that do not advance an order
    (already seen, or already covered by the resync) are dropped, so nothing is counted twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Self

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tradecore._version import __version__
from tradecore.errors import ConfigError
from tradecore.execution.broker import (
    EVENT_OF_STATUS,
    Account,
    Broker,
    BrokerError,
    BrokerEvent,
    BrokerEventType,
    Order,
    OrderAck,
    OrderNotCancelableError,
    OrderRejectedError,
    OrderRequest,
    OrderState,
    Position,
    UnknownOrderError,
    implied_fill_price,
)
from tradecore.execution.market import to_decimal
from tradecore.execution.router import parse_client_order_id
from tradecore.schema import OrderType, Side, TimeInForce
from tradecore.streams.alpaca import (
    AlpacaError,
    Backoff,
    format_timestamp,
    parse_timestamp,
)
from tradecore.streams.websocket import RedactingAdapter

__all__ = [
    "PAPER_URL",
    "AlpacaBroker",
    "AlpacaForbiddenError",
    "AlpacaNotCancelableError",
    "AlpacaNotFoundError",
    "AlpacaRateLimitError",
    "AlpacaServerUnavailableError",
    "AlpacaStreamGap",
    "AlpacaTradingError",
    "AlpacaUnauthorizedError",
    "AlpacaUnprocessableError",
    "order_from_json",
]

PAPER_URL = "https://paper-api.alpaca.markets"
RESYNC_REASON = "resync after stream gap"
_log = logging.getLogger("tradecore.execution.alpaca")

# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class AlpacaTradingError(AlpacaError, BrokerError):
    """A refused Trading API request: ``status`` (HTTP), ``code`` and ``message`` (the body's)."""

    retryable = False

    def __init__(self, message: str, *, status: int = 0, code: int | None = None,
                 api_message: str = "") -> None:
        Exception.__init__(self, message)
        self.status = status
        self.code = code
        self.api_message = api_message
        self.reason = api_message or message


class AlpacaUnauthorizedError(AlpacaTradingError):
    """401 or a stream ``unauthorized``: check APCA_API_KEY_ID / APCA_API_SECRET_KEY (fatal)."""

    fatal = True


class AlpacaForbiddenError(AlpacaTradingError, OrderRejectedError):
    """403: buying power or shares are not sufficient, or the account may not trade."""


class AlpacaNotFoundError(AlpacaTradingError, UnknownOrderError):
    """404: no such order or position."""


class AlpacaUnprocessableError(AlpacaTradingError, OrderRejectedError):
    """422: the request's parameters were refused (sub-penny price, extended-hours rules...)."""


class AlpacaNotCancelableError(AlpacaUnprocessableError, OrderNotCancelableError):
    """422 on a cancel: the order is no longer cancelable."""


class AlpacaRateLimitError(AlpacaTradingError):
    """429 after every retry: more than the account's request rate (200/min)."""

    retryable = True


class AlpacaServerUnavailableError(AlpacaTradingError):
    """5xx or no connection after every retry."""

    retryable = True


_BY_STATUS: dict[int, type[AlpacaTradingError]] = {
    401: AlpacaUnauthorizedError, 403: AlpacaForbiddenError, 404: AlpacaNotFoundError,
    422: AlpacaUnprocessableError, 429: AlpacaRateLimitError,
}


def _error(status: int, body: str, what: str, *, cancel: bool = False) -> AlpacaTradingError:
    code: int | None = None
    message = body.strip()[:300]
    try:
        document = json.loads(body)
        if isinstance(document, dict):
            code = document.get("code") if isinstance(document.get("code"), int) else None
            message = str(document.get("message", message))
    except ValueError:
        pass
    if status >= 500:
        cls: type[AlpacaTradingError] = AlpacaServerUnavailableError
    elif cancel and status == 422:
        cls = AlpacaNotCancelableError
    else:
        cls = _BY_STATUS.get(status, AlpacaTradingError)
    hint = " (check APCA_API_KEY_ID and APCA_API_SECRET_KEY)" if status == 401 else ""
    return cls(f"{what}: HTTP {status}{f' code {code}' if code else ''}: {message}{hint}",
               status=status, code=code, api_message=message)


# --------------------------------------------------------------------------------------------
# JSON <-> values
# --------------------------------------------------------------------------------------------

_SIDES = {"buy": Side.BUY, "sell": Side.SELL}
_TYPES = {"market": OrderType.MARKET, "limit": OrderType.LIMIT, "stop": OrderType.STOP,
          "stop_limit": OrderType.STOP_LIMIT}
_TIFS = {"day": TimeInForce.DAY, "gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC}


def _dec(value: Any) -> Decimal | None:
    return None if value is None or value == "" else to_decimal(value)


def _ts(value: Any) -> int:
    return parse_timestamp(value) if isinstance(value, str) and value else 0


def order_from_json(document: Mapping[str, Any]) -> Order:
    """Return the :class:`Order` of an Alpaca order object (protocols.md 2.4)."""
    try:
        status = OrderState(document["status"])
        kind = str(document.get("type") or document.get("order_type") or "")
        client_order_id = str(document.get("client_order_id") or "")
        return Order(
            order_id=str(document["id"]), client_order_id=client_order_id,
            symbol=str(document["symbol"]), side=_SIDES[document["side"]],
            type=_TYPES.get(kind, OrderType.MARKET),
            qty=_dec(document.get("qty")) or Decimal(0),
            filled_qty=_dec(document.get("filled_qty")) or Decimal(0),
            filled_avg_price=_dec(document.get("filled_avg_price")),
            limit_price=_dec(document.get("limit_price")),
            stop_price=_dec(document.get("stop_price")),
            time_in_force=_TIFS.get(document.get("time_in_force", "day"), TimeInForce.DAY),
            extended_hours=bool(document.get("extended_hours", False)), status=status,
            created_at=_ts(document.get("created_at")),
            updated_at=_ts(document.get("updated_at")) or _ts(document.get("created_at")),
            replaces=document.get("replaces"), replaced_by=document.get("replaced_by"),
            intent=parse_client_order_id(client_order_id),
            reason="" if kind in _TYPES else f"unsupported order type {kind!r}")
    except (KeyError, ValueError, ArithmeticError) as exc:
        raise AlpacaTradingError(f"malformed order object: {exc!r}") from exc


def _request_json(request: OrderRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "symbol": request.symbol, "qty": str(request.qty), "side": request.side.name.lower(),
        "type": {v: k for k, v in _TYPES.items()}[request.type],
        "time_in_force": request.time_in_force.name.lower(),
        "client_order_id": request.client_order_id, "extended_hours": request.extended_hours,
    }
    if request.limit_price is not None:
        body["limit_price"] = str(request.limit_price)
    if request.stop_price is not None:
        body["stop_price"] = str(request.stop_price)
    return body


def _position_from_json(document: Mapping[str, Any]) -> Position:
    qty = _dec(document["qty"]) or Decimal(0)
    if document.get("side") == "short" and qty > 0:
        qty = -qty
    return Position(
        symbol=str(document["symbol"]), qty=qty,
        avg_entry_price=_dec(document.get("avg_entry_price")) or Decimal(0),
        cost_basis=_dec(document.get("cost_basis")) or Decimal(0),
        market_value=_dec(document.get("market_value")) or Decimal(0),
        current_price=_dec(document.get("current_price")),
        unrealized_pl=_dec(document.get("unrealized_pl")) or Decimal(0))


@dataclass(frozen=True, slots=True)
class AlpacaStreamGap:
    """The trade-updates stream was down between these local times (ns UTC)."""

    disconnected_at: int
    reconnected_at: int
    reason: str
    resynced_orders: int


# --------------------------------------------------------------------------------------------
# The broker
# --------------------------------------------------------------------------------------------


class AlpacaBroker(Broker):
    """Alpaca Trading API client.

    Parameters
    ----------
    base_url
        REST base without ``/v2`` (default Alpaca paper; the simulator's ``http://host:port``).
    stream_url
        ``trade_updates`` WebSocket; default derived from ``base_url`` (``wss://host/stream``).
    key_id, secret_key
        Default from ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY``.
    backoff
        Delays of REST retries and stream reconnects.
    max_retries
        Retries of a REST call on 429 / 5xx / transport errors (default 3).
    timeout
        Seconds per REST request and per stream handshake reply.
    stream
        Connect the ``trade_updates`` stream on :meth:`connect` (default True).
    """

    def __init__(self, *, base_url: str = PAPER_URL, stream_url: str | None = None,
                 key_id: str | None = None, secret_key: str | None = None,
                 backoff: Backoff | None = None, max_retries: int = 3, timeout: float = 10.0,
                 stream: bool = True) -> None:
        super().__init__()
        key_id = key_id if key_id is not None else os.environ.get("APCA_API_KEY_ID")
        secret_key = secret_key if secret_key is not None else os.environ.get("APCA_API_SECRET_KEY")
        if not key_id or not secret_key:
            raise ConfigError("Alpaca credentials missing: set APCA_API_KEY_ID and "
                              "APCA_API_SECRET_KEY, or pass key_id= and secret_key=")
        self.base_url = base_url.rstrip("/")
        if stream_url is None:
            scheme, rest = self.base_url.split("://", 1)
            stream_url = ("wss" if scheme == "https" else "ws") + "://" + rest + "/stream"
        self.stream_url = stream_url
        self._key_id = key_id
        self._secret_key = secret_key
        self._backoff = backoff or Backoff()
        self._max_retries = max_retries
        self._timeout = timeout
        self._want_stream = stream
        # websockets logs frames at DEBUG; the authenticate message carries the secret.
        self._ws_log = RedactingAdapter(logging.getLogger("tradecore.execution.alpaca.websocket"),
                                  (key_id, secret_key), frames=True)
        self._log = RedactingAdapter(_log, (key_id, secret_key))
        self._session: aiohttp.ClientSession | None = None
        self._orders: dict[str, Order] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._live = asyncio.Event()
        self._started: asyncio.Future[None] | None = None
        self._ws: ClientConnection | None = None
        self.gaps: list[AlpacaStreamGap] = []
        self.stats: dict[str, int] = {"requests": 0, "retries": 0, "sessions": 0,
                                      "reconnects": 0, "updates": 0, "duplicates": 0,
                                      "resync_events": 0, "unknown_events": 0}

    def __repr__(self) -> str:  # never shows the credentials
        return f"AlpacaBroker(base_url={self.base_url!r}, stream_url={self.stream_url!r})"

    # -- lifecycle ----------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the REST session and, if wanted, the stream; return once it listens.

        Raises
        ------
        AlpacaUnauthorizedError
            The stream refused the credentials.
        """
        self._http()
        if not self._want_stream:
            return
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            self._supervisor = self._start_task(self._run_stream(), "alpaca-trade-updates")
        await asyncio.shield(self._started)

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def wait_live(self, timeout: float | None = None) -> None:
        """Wait until the stream is authenticated, listening and resynced."""
        await asyncio.wait_for(self._live.wait(), timeout)

    async def close(self) -> None:
        if self._closed:
            return
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        if self._session is not None:
            await asyncio.shield(self._session.close())
        await super().close()

    # -- REST ---------------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"APCA-API-KEY-ID": self._key_id, "APCA-API-SECRET-KEY": self._secret_key,
                         "User-Agent": f"tradecore/{__version__}"},
                timeout=aiohttp.ClientTimeout(total=self._timeout))
        return self._session

    async def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    body: Mapping[str, Any] | None = None, cancel: bool = False,
                    before_retry: Any = None) -> Any:
        """Send one request with retries; return the parsed JSON (``None`` for an empty body)."""
        url = f"{self.base_url}/v2{path}"
        what = f"{method} /v2{path}"
        rng = random.Random()
        attempt = 0
        while True:
            self.stats["requests"] += 1
            delay: float | None = None
            try:
                async with self._http().request(method, url, params=params, json=body,
                                                allow_redirects=False) as response:
                    text = await response.text()
                    if response.status < 300:
                        return json.loads(text) if text.strip() else None
                    error = _error(response.status, text, what, cancel=cancel)
                    retry_after = response.headers.get("Retry-After")
                    if retry_after is not None:
                        try:
                            delay = float(retry_after)
                        except ValueError:
                            delay = None
            except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
                error = AlpacaServerUnavailableError(f"{what}: {type(exc).__name__}: {exc}")
            if not error.retryable or attempt >= self._max_retries:
                raise error
            delay = min(delay if delay is not None else self._backoff.delay(attempt, rng),
                        self._backoff.maximum)
            attempt += 1
            self.stats["retries"] += 1
            self._log.warning("%s failed (%s); retry %d/%d in %.2f s", what, error, attempt,
                         self._max_retries, delay)
            await asyncio.sleep(delay)
            if before_retry is not None:
                found = await before_retry()
                if found is not None:
                    return found

    async def submit(self, request: OrderRequest) -> OrderAck:
        async def already_there() -> Any:
            # A POST that failed in transit may still have reached the server: look before
            # sending it again (client_order_id is unique per account).
            try:
                return await self._call("GET", "/orders:by_client_order_id",
                                        params={"client_order_id": request.client_order_id})
            except AlpacaNotFoundError:
                return None

        document = await self._call("POST", "/orders", body=_request_json(request),
                                    before_retry=already_there)
        order = order_from_json(document)
        order = order.evolve(intent=request.intent or order.intent, reason=request.reason)
        self._remember(order)
        return OrderAck(order.order_id, order.client_order_id, order.status,
                        order.updated_at or order.created_at)

    async def cancel(self, order_id: str) -> None:
        await self._call("DELETE", f"/orders/{order_id}", cancel=True)

    async def replace(self, order_id: str, *, qty: Decimal | None = None,
                      limit_price: Decimal | None = None, stop_price: Decimal | None = None,
                      time_in_force: TimeInForce | None = None,
                      client_order_id: str | None = None) -> OrderAck:
        body: dict[str, Any] = {}
        if qty is not None:
            body["qty"] = str(qty)
        if limit_price is not None:
            body["limit_price"] = str(limit_price)
        if stop_price is not None:
            body["stop_price"] = str(stop_price)
        if time_in_force is not None:
            body["time_in_force"] = TimeInForce(time_in_force).name.lower()
        if client_order_id is not None:
            body["client_order_id"] = client_order_id
        order = order_from_json(await self._call("PATCH", f"/orders/{order_id}", body=body))
        self._remember(order)
        return OrderAck(order.order_id, order.client_order_id, order.status, order.updated_at)

    async def cancel_all(self) -> list[str]:
        results = await self._call("DELETE", "/orders") or []
        return [str(r.get("id")) for r in results if isinstance(r, dict)]

    async def get_order(self, order_id: str) -> Order:
        order = order_from_json(await self._call("GET", f"/orders/{order_id}"))
        known = self._orders.get(order.order_id)
        return order if known is None else order.evolve(intent=known.intent, reason=known.reason)

    async def get_order_by_client_id(self, client_order_id: str) -> Order:
        """Return the broker's view of the order sent with ``client_order_id``.

        Raises
        ------
        AlpacaNotFoundError
            No order with that client order id reached the broker.
        """
        return order_from_json(await self._call("GET", "/orders:by_client_order_id",
                                                params={"client_order_id": client_order_id}))

    async def open_orders(self) -> list[Order]:
        documents = await self._call("GET", "/orders", params={"status": "open", "limit": "500",
                                                               "direction": "asc"})
        return [order_from_json(d) for d in documents or []]

    async def orders(self, *, status: str = "all", after: int | None = None) -> list[Order]:
        """Orders of any ``status`` ("open", "closed", "all") submitted after ``after`` (ns UTC),
        oldest first, paging through the API's 500-order limit."""
        found: dict[str, Order] = {}
        since = after
        while True:
            params = {"status": status, "limit": "500", "direction": "asc"}
            if since is not None:
                params["after"] = format_timestamp(since)
            page = [order_from_json(d) for d in await self._call("GET", "/orders", params=params) or []]
            fresh = [o for o in page if o.order_id not in found]
            found.update((o.order_id, o) for o in fresh)
            if len(page) < 500 or not fresh:
                return list(found.values())
            # "after" is strict: step back a nanosecond so orders sharing the last time are kept.
            since = page[-1].created_at - 1

    def track(self, order: Order) -> None:
        """Take ``order`` as known in this state (an order a previous process placed, as a
        resume reconciled it): later updates count only what goes beyond it."""
        self._orders[order.order_id] = order

    async def resync(self) -> int:
        """Publish what changed in the tracked open orders since they were last seen (after
        :meth:`track` and :meth:`connect`, this closes the gap between the two); return how
        many events that made."""
        return await self._resync()

    async def positions(self) -> list[Position]:
        return [_position_from_json(d) for d in await self._call("GET", "/positions") or []]

    async def account(self) -> Account:
        d = await self._call("GET", "/account")
        zero = Decimal(0)
        return Account(cash=_dec(d.get("cash")) or zero, equity=_dec(d.get("equity")) or zero,
                       buying_power=_dec(d.get("buying_power")) or zero,
                       long_market_value=_dec(d.get("long_market_value")) or zero,
                       short_market_value=_dec(d.get("short_market_value")) or zero,
                       currency=str(d.get("currency", "USD")),
                       shorting_enabled=bool(d.get("shorting_enabled", False)),
                       trading_blocked=bool(d.get("trading_blocked", False)),
                       account_id=str(d.get("id", "")))

    # -- stream -------------------------------------------------------------------------------

    def _start_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Start ``coro`` as a named task, keep a reference, log how it ended."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)

        def ended(done: asyncio.Task[Any]) -> None:
            self._tasks.discard(done)
            if done.cancelled():
                _log.debug("task %s cancelled", name)
            elif (exc := done.exception()) is not None:
                _log.error("task %s failed: %r", name, exc)

        task.add_done_callback(ended)
        return task

    async def _run_stream(self) -> None:
        attempt = 0
        rng = random.Random()
        dropped: tuple[int, str] | None = None
        while True:
            was_live = False
            try:
                async with connect(self.stream_url, open_timeout=self._timeout,
                                   user_agent_header=f"tradecore/{__version__}",
                                   close_timeout=2.0, logger=self._ws_log) as ws:
                    self.stats["sessions"] += 1
                    await self._handshake(ws)
                    self._ws = ws
                    if dropped is not None:
                        resynced = await self._resync()
                        self.gaps.append(AlpacaStreamGap(dropped[0], time.time_ns(), dropped[1],
                                                         resynced))
                        dropped = None
                    was_live = True
                    attempt = 0
                    self._live.set()
                    if self._started is not None and not self._started.done():
                        self._started.set_result(None)
                    async for frame in ws:  # cancel-safe: recv loses nothing when cancelled
                        self._on_frame(frame)
                    raise ConnectionError("the server closed the stream")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - refused keys end the stream, the rest is retried
                refused = _refused_keys(exc)
                if refused is not None:
                    self._log.error("trade_updates stream stopped: %s", refused)
                    if self._started is not None and not self._started.done():
                        self._started.set_exception(refused)
                    return
                reason = f"{type(exc).__name__}: {exc}"
                if was_live:
                    self.stats["reconnects"] += 1
                    dropped = (time.time_ns(), reason)
                delay = self._backoff.delay(attempt, rng)
                attempt += 1
                self._log.warning("trade_updates session %s (%s); reconnecting in %.2f s",
                             "lost" if was_live else "failed", reason, delay)
                if self._backoff.max_attempts is not None and attempt > self._backoff.max_attempts:
                    if self._started is not None and not self._started.done():
                        self._started.set_exception(AlpacaServerUnavailableError(reason))
                    return
            finally:
                self._ws = None
                self._live.clear()
            await asyncio.sleep(delay)

    async def _handshake(self, ws: ClientConnection) -> None:
        async def reply() -> dict[str, Any]:
            while True:
                frame = await asyncio.wait_for(ws.recv(), self._timeout)
                message = json.loads(frame)
                if isinstance(message, dict) and message.get("stream") in ("authorization",
                                                                            "listening"):
                    return message
                if isinstance(message, dict) and message.get("stream") == "error":
                    raise ConnectionError(f"stream error: {message.get('data')}")

        await ws.send(json.dumps({"action": "authenticate",
                                  "data": {"key_id": self._key_id, "secret_key": self._secret_key}}))
        answer = await reply()
        if (answer.get("data") or {}).get("status") != "authorized":
            raise AlpacaUnauthorizedError("trade_updates stream: unauthorized (check "
                                          "APCA_API_KEY_ID and APCA_API_SECRET_KEY)", status=401)
        await ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        answer = await reply()
        if answer.get("stream") != "listening" or \
                "trade_updates" not in ((answer.get("data") or {}).get("streams") or []):
            raise ConnectionError(f"trade_updates not in the listen ack: {answer}")

    def _on_frame(self, frame: str | bytes) -> None:
        try:
            message = json.loads(frame)
        except ValueError:
            self._log.warning("trade_updates: undecodable frame skipped")
            return
        if not isinstance(message, dict) or message.get("stream") != "trade_updates":
            return
        data = message.get("data") or {}
        self.stats["updates"] += 1
        try:
            kind = BrokerEventType(data["event"])
            order = order_from_json(data["order"])
        except (KeyError, ValueError, AlpacaTradingError) as exc:
            self.stats["unknown_events"] += 1
            self._log.warning("trade_updates: update skipped (%r)", exc)
            return
        ts = _ts(data.get("timestamp")) or order.updated_at
        fill_qty = _dec(data.get("qty")) if kind in (BrokerEventType.FILL,
                                                     BrokerEventType.PARTIAL_FILL) else None
        fill_price = _dec(data.get("price")) if fill_qty is not None else None
        self._apply(kind, order, ts, fill_qty=fill_qty, fill_price=fill_price,
                    position_qty=_dec(data.get("position_qty")),
                    execution_id=str(data.get("execution_id") or ""), reason="")

    def _apply(self, kind: BrokerEventType, order: Order, ts: int, *, fill_qty: Decimal | None,
               fill_price: Decimal | None, position_qty: Decimal | None, execution_id: str,
               reason: str) -> bool:
        """Publish an update if it advances what is known of the order; return whether it did."""
        known = self._orders.get(order.order_id)
        if known is not None:
            order = order.evolve(intent=known.intent or order.intent,
                                 reason=known.reason if not order.reason else order.reason)
        is_fill = kind in (BrokerEventType.FILL, BrokerEventType.PARTIAL_FILL)
        if known is not None and kind not in _ALWAYS_NEWS:
            stale = (order.filled_qty <= known.filled_qty if is_fill
                     else known.status.is_final or (order.status == known.status
                                                    and order.filled_qty == known.filled_qty))
            if stale:
                self.stats["duplicates"] += 1
                return False
        if is_fill:
            before = known.filled_qty if known is not None else Decimal(0)
            delta = order.filled_qty - before
            if fill_qty is None or fill_qty != delta:
                # Fills missed (gap) or no per-execution figures: take what the order implies.
                fill_qty = delta
                fill_price = implied_fill_price(order, delta, _filled_value(known))
        self._orders[order.order_id] = order
        event = BrokerEvent(type=kind, order=order, ts_event=ts, fill_qty=fill_qty,
                            fill_price=fill_price, position_qty=position_qty,
                            execution_id=execution_id, reason=reason)
        self._publish(event)
        return True

    def _remember(self, order: Order) -> None:
        known = self._orders.get(order.order_id)
        if known is None:
            self._orders[order.order_id] = order.evolve(status=OrderState.PENDING_NEW,
                                                        filled_qty=Decimal(0),
                                                        filled_avg_price=None)
        if order.replaces and order.replaces in self._orders:
            old = self._orders[order.replaces]
            self._orders[order.order_id] = self._orders[order.order_id].evolve(
                intent=old.intent, reason=old.reason)

    async def _resync(self) -> int:
        """Publish what happened to known open orders while the stream was down."""
        changed = 0
        seen: set[str] = set()
        for order in await self.open_orders():
            seen.add(order.order_id)
            changed += self._resync_one(order)
        for order_id, known in list(self._orders.items()):
            if order_id in seen or known.status.is_final:
                continue
            try:
                changed += self._resync_one(await self.get_order(order_id))
            except AlpacaNotFoundError:
                continue
        self.stats["resync_events"] += changed
        return changed

    def _resync_one(self, order: Order) -> int:
        """Publish the fill (if ``filled_qty`` grew) and then the status change of one order."""
        known = self._orders.get(order.order_id)
        count = 0
        ts = order.updated_at
        if order.filled_qty > (known.filled_qty if known is not None else 0):
            done = order.status == OrderState.FILLED
            # A partial fill followed by a cancel in the gap: the fill first, as it happened.
            snapshot = order if done else order.evolve(status=OrderState.PARTIALLY_FILLED)
            count += self._apply(BrokerEventType.FILL if done else BrokerEventType.PARTIAL_FILL,
                                 snapshot, ts, fill_qty=None, fill_price=None, position_qty=None,
                                 execution_id="", reason=RESYNC_REASON)
        known = self._orders.get(order.order_id)
        kind = EVENT_OF_STATUS.get(order.status)
        if kind is not None and (known is None or order.status != known.status):
            count += self._apply(kind, order, ts, fill_qty=None, fill_price=None,
                                 position_qty=None, execution_id="", reason=RESYNC_REASON)
        return count


_ALWAYS_NEWS = frozenset({BrokerEventType.ORDER_CANCEL_REJECTED,
                          BrokerEventType.ORDER_REPLACE_REJECTED, BrokerEventType.RESTATED})
"""Events that leave the order's status as it was: never taken for repeats."""


def _refused_keys(exc: Exception) -> AlpacaUnauthorizedError | None:
    """The stream's keys refused (an ``unauthorized`` reply, or HTTP 401/403 at the upgrade):
    no retry changes that, so it is fatal; None for anything else (retried)."""
    if isinstance(exc, AlpacaUnauthorizedError):
        return exc
    if isinstance(exc, InvalidStatus) and exc.response.status_code in (401, 403):
        status = exc.response.status_code
        return AlpacaUnauthorizedError(f"trade_updates stream: the upgrade was refused with HTTP {status} "
                                       "(check APCA_API_KEY_ID / APCA_API_SECRET_KEY)", status=status)
    return None


def _filled_value(known: Order | None) -> Decimal:
    """Dollars ``known`` had filled (0 for an order not seen before)."""
    if known is None:
        return Decimal(0)
    return (known.filled_avg_price or Decimal(0)) * known.filled_qty


