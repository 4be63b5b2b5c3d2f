"""The simulator's market-data REST endpoints (aiohttp), shaped like Alpaca's (protocols.md 3).

Routes (all need the ``APCA-API-KEY-ID`` and ``APCA-API-SECRET-KEY`` headers; any keys unless
the simulator was given its own; 401 otherwise):

``GET /v2/stocks/snapshots?symbols=A,B``
    ``{SYM: {latestTrade, latestQuote, minuteBar, dailyBar, prevDailyBar}}``; unknown symbols
    are left out. ``dailyBar`` is today's bar (all prints so far, premarket included) once the
    symbol has printed today, else the last prior session's; ``prevDailyBar`` is the session
    before ``dailyBar``'s (the vendor does not document this case, protocols.md 8.4).
``GET /v2/stocks/{symbol}/snapshot``
    One snapshot, with ``symbol``; 404 if not listed.
``GET /v1beta1/screener/stocks/most-actives?by=volume|trades&top=N``
    Today's volume or trade count so far (``top`` <= 100).
``GET /v1beta1/screener/stocks/movers?top=N``
    **Differs from the vendor on purpose**: the real endpoint keeps showing the previous
    session's movers until the open (protocols.md 3.1), which is useless to a premarket
    scanner; the simulator ranks the latest print against the prior close at all times
    (``percent_change`` in percent). ``top`` <= 50.
``GET /v2/stocks/bars``, ``GET /v2/stocks/{symbol}/bars``
    ``timeframe`` ``NMin``/``NHour``/``1Day`` (also ``NT``/``NH``/``1D``), ``start``, ``end``
    (RFC 3339 or a date), ``limit`` (default 1,000, at most 10,000), ``sort`` ``asc``/``desc``,
    ``page_token``: ``{bars: {SYM: [...]}, next_page_token}``.
``GET /v2/stocks/trades``, ``GET /v2/stocks/{symbol}/trades``
    The same for prints: ``{trades: {SYM: [...]}, next_page_token}``.
``GET /v2/stocks/quotes/latest``, ``GET /v2/stocks/trades/latest``
    ``{quotes|trades: {SYM: {...}}}``.
``GET /v2/assets``, ``GET /v2/assets/{symbol}``
    Alpaca's asset object plus the scanner's reference data under non-vendor names:
    ``asset_type`` (common, etf, warrant, unit, right, preferred), ``shares_outstanding``,
    ``float_shares``, ``prior_close``.

Errors are JSON ``{"code", "message"}`` with the HTTP status (400, 401, 404, 422).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from aiohttp import web

from tradecore.sim.market import Asset, AssetType, Market
from tradecore.streams.alpaca import QUOTE_CONDITION_BITS, TRADE_CONDITION_BITS, format_timestamp

__all__ = ["MARKET_KEY", "create_app", "install", "parse_query_time"]

MARKET_KEY: web.AppKey[Market] = web.AppKey("market", Market)
_KEYS: web.AppKey[tuple[str | None, str | None]] = web.AppKey("keys", tuple)

_NS = 1_000_000_000
_MINUTE = 60 * _NS
_DAY = 86_400 * _NS
_FAR = np.iinfo(np.int64).max
_TAPES = {"NASDAQ": "C", "NYSE": "A"}
_TRADE_CODES = {bit: code for code, bit in TRADE_CONDITION_BITS.items()}
_QUOTE_CODES = {bit: code for code, bit in QUOTE_CONDITION_BITS.items()}
_NAMESPACE = uuid.UUID("6c1d5d1e-3b7a-4c55-9a55-0d7d3f5c0001")


class _Problem(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


# -- encoding ----------------------------------------------------------------------------------


def _codes(word: int, table: dict[int, str]) -> list[str]:
    return [code for bit, code in table.items() if word & bit]


def _tape(market: Market, symbol: str) -> str:
    asset = market.asset(symbol)
    return _TAPES.get(asset.exchange if asset else "", "B")


def trade_json(row: Any, tape: str) -> dict[str, Any]:
    return {"t": format_timestamp(int(row["ts_event"])), "x": chr(int(row["exchange"]) or 86),
            "p": float(row["price"]), "s": int(row["size"]), "c": _codes(int(row["conditions"]), _TRADE_CODES),
            "i": int(row["trade_id"]), "z": tape}


def quote_json(row: Any, tape: str) -> dict[str, Any]:
    return {"t": format_timestamp(int(row["ts_event"])),
            "ax": chr(int(row["ask_exchange"]) or 86), "ap": float(row["ask_price"]),
            "as": int(row["ask_size"]), "bx": chr(int(row["bid_exchange"]) or 86),
            "bp": float(row["bid_price"]), "bs": int(row["bid_size"]),
            "c": _codes(int(row["conditions"]), _QUOTE_CODES), "z": tape}


def bar_json(row: Any) -> dict[str, Any]:
    return {"t": format_timestamp(int(row["ts_event"]), 0), "o": float(row["open"]),
            "h": float(row["high"]), "l": float(row["low"]), "c": float(row["close"]),
            "v": int(row["volume"]), "n": int(row["trade_count"]),
            "vw": _finite(float(row["vwap"]))}


def _finite(value: float) -> float:
    """JSON has no NaN: an unknown VWAP (e.g. LEAN daily bars) is sent as 0."""
    return round(value, 6) if math.isfinite(value) else 0.0


def asset_json(asset: Asset) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(_NAMESPACE, asset.symbol)), "class": "us_equity",
        "exchange": asset.exchange, "symbol": asset.symbol, "name": asset.name,
        "status": "active", "tradable": asset.tradable, "marginable": asset.tradable,
        "shortable": asset.shortable, "easy_to_borrow": asset.easy_to_borrow,
        "fractionable": asset.asset_type is AssetType.COMMON and asset.prior_close > 1.0,
        "maintenance_margin_requirement": 100 if asset.prior_close < 2.5 else 30,
        "attributes": [],
        # Not in the vendor's asset object: what a premarket scanner filters on.
        "asset_type": asset.asset_type.value, "shares_outstanding": asset.shares_outstanding,
        "float_shares": asset.float_shares, "prior_close": asset.prior_close,
    }


# -- parsing -----------------------------------------------------------------------------------


def parse_query_time(text: str) -> int:
    """Return a time query parameter as int ns UTC, exactly: RFC 3339 with any number of
    fraction digits (nanoseconds kept), a date (midnight UTC), or a date and time without an
    offset (UTC). An offset's ``+`` that URL decoding turned into a space is read as ``+``.

    Raises ``ValueError`` for anything else.
    """
    text = text.strip()
    fraction = 0
    match = re.search(r"\.(\d+)", text)
    if match:  # fromisoformat keeps microseconds at most
        fraction = int(match.group(1)[:9].ljust(9, "0"))
        text = text[: match.start()] + text[match.end():]
    when = dt.datetime.fromisoformat(re.sub("[Zz]$", "+00:00", text).replace(" ", "+"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return int(when.timestamp()) * _NS + fraction


def _parse_time(text: str | None, default: int) -> int:
    if not text:
        return default
    try:
        return parse_query_time(text)
    except ValueError:
        raise _Problem(400, 40010001, f"invalid time {text!r}") from None


def _parse_timeframe(text: str | None) -> int:
    match = re.fullmatch(r"(\d+)(Min|T|Hour|H|Day|D|Week|W)", text or "")
    if not match:
        raise _Problem(400, 40010001, f"invalid timeframe {text!r}")
    amount = int(match.group(1))
    unit = {"Min": _MINUTE, "T": _MINUTE, "Hour": 60 * _MINUTE, "H": 60 * _MINUTE,
            "Day": _DAY, "D": _DAY, "Week": 7 * _DAY, "W": 7 * _DAY}[match.group(2)]
    if amount < 1 or (unit == _MINUTE and amount > 59) or (unit >= _DAY and amount != 1):
        raise _Problem(400, 40010001, f"invalid timeframe {text!r}")
    return amount * unit


def _int(query: Any, name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _Problem(400, 40010001, f"invalid {name} {raw!r}") from None
    if not low <= value <= high:
        raise _Problem(400, 40010001, f"{name} must be between {low} and {high}")
    return value


def _symbols(request: web.Request) -> list[str]:
    symbol = request.match_info.get("symbol")
    if symbol:
        return [symbol.upper()]
    raw = request.query.get("symbols", "")
    symbols = [s.strip().upper() for s in raw.split(",") if s.strip()]
    if not symbols:
        raise _Problem(400, 40010001, "symbols is required")
    return symbols


def _token(symbol: str, offset: int, end: int) -> str:
    """Opaque page token: where the next page starts, and the query's end fixed at page one."""
    return base64.urlsafe_b64encode(json.dumps([symbol, offset, end]).encode()).decode()


def _untoken(text: str | None) -> tuple[str, int, int] | None:
    if not text:
        return None
    try:
        symbol, offset, end = json.loads(base64.urlsafe_b64decode(text.encode()))
        return str(symbol), int(offset), int(end)
    except Exception:  # noqa: BLE001 - any bad token is the client's error
        raise _Problem(400, 40010001, "invalid page_token") from None


# -- handlers ----------------------------------------------------------------------------------


def _market(request: web.Request) -> Market:
    return request.app[MARKET_KEY]


def _daily_pair(market: Market, symbol: str) -> tuple[Any, Any]:
    """(dailyBar, prevDailyBar): today's running bar if any, and the session before it."""
    now = market.now()
    daily = market.bars(symbol, 0, now + _DAY, _DAY)
    if not len(daily):
        return None, None
    latest = daily[-1]
    before = daily[-2] if len(daily) > 1 else None
    return latest, before


def snapshot(market: Market, symbol: str) -> dict[str, Any] | None:
    """The snapshot object of ``symbol`` (None if not listed)."""
    if market.asset(symbol) is None:
        return None
    tape = _tape(market, symbol)
    trade = market.last_trade(symbol)
    quote = market.last_quote(symbol)
    now = market.now()
    minutes = market.bars(symbol, now - _DAY, now + 1)
    daily, previous = _daily_pair(market, symbol)
    return {
        "latestTrade": trade_json(trade, tape) if trade is not None else None,
        "latestQuote": quote_json(quote, tape) if quote is not None else None,
        "minuteBar": bar_json(minutes[-1]) if len(minutes) else None,
        "dailyBar": bar_json(daily) if daily is not None else None,
        "prevDailyBar": bar_json(previous) if previous is not None else None,
    }


async def snapshots(request: web.Request) -> web.Response:
    market = _market(request)
    out = {}
    for symbol in _symbols(request):
        found = snapshot(market, symbol)
        if found is not None:
            out[symbol] = found
    return web.json_response(out)


async def one_snapshot(request: web.Request) -> web.Response:
    symbol = _symbols(request)[0]
    found = snapshot(_market(request), symbol)
    if found is None:
        raise _Problem(404, 40410000, f"symbol {symbol} not found")
    return web.json_response({"symbol": symbol, **found})


def _today(market: Market) -> list[tuple[str, float, int, float]]:
    """(symbol, volume, trade count, last price) of every symbol that printed today."""
    out = []
    for asset in market.assets():
        trade = market.last_trade(asset.symbol)
        if trade is None:
            continue
        daily, _ = _daily_pair(market, asset.symbol)
        volume, count = (float(daily["volume"]), int(daily["trade_count"])) if daily is not None else (0.0, 0)
        out.append((asset.symbol, volume, count, float(trade["price"])))
    return out


async def most_actives(request: web.Request) -> web.Response:
    market = _market(request)
    by = request.query.get("by", "volume")
    if by not in ("volume", "trades"):
        raise _Problem(400, 40010001, f"invalid by {by!r}: volume or trades")
    top = _int(request.query, "top", 10, 1, 100)
    rows = _today(market)
    rows.sort(key=lambda r: (-(r[1] if by == "volume" else r[2]), r[0]))
    return web.json_response({
        "most_actives": [{"symbol": s, "volume": v, "trade_count": n} for s, v, n, _ in rows[:top]],
        "last_updated": format_timestamp(market.now())})


async def movers(request: web.Request) -> web.Response:
    market = _market(request)
    if request.match_info.get("market_type", "stocks") != "stocks":
        raise _Problem(400, 40010001, "the simulator has stocks only")
    top = _int(request.query, "top", 10, 1, 50)
    changes: list[dict[str, Any]] = []
    for symbol, _, _, price in _today(market):
        asset = market.asset(symbol)
        if asset is None or asset.prior_close <= 0:
            continue
        change = round(price - asset.prior_close, 4)
        changes.append({"symbol": symbol, "percent_change": round(100 * change / asset.prior_close, 2),
                        "change": change, "price": price})
    changes.sort(key=lambda m: (-m["percent_change"], m["symbol"]))
    gainers = [m for m in changes if m["percent_change"] > 0][:top]
    losers = [m for m in reversed(changes) if m["percent_change"] < 0][:top]
    return web.json_response({"gainers": gainers, "losers": losers, "market_type": "stocks",
                              "last_updated": format_timestamp(market.now())})


def _history(request: web.Request, key: str,
             fetch: Callable[[Market, str, int, int], np.ndarray],
             encode: Callable[[Any, str], dict[str, Any]]) -> web.Response:
    market = _market(request)
    query = request.query
    symbols = sorted(set(_symbols(request)))
    now = market.now()
    start = _parse_time(query.get("start"), now - _DAY if key == "trades" else 0)
    end = min(_parse_time(query.get("end"), now + 1), now + 1)
    limit = _int(query, "limit", 1000, 1, 10_000)
    descending = query.get("sort", "asc") == "desc"
    after = _untoken(query.get("page_token"))
    if after is not None:
        end = after[2]  # later pages see the same window as the first
    out: dict[str, list[dict[str, Any]]] = {}
    left = limit
    next_token = None
    for symbol in symbols:
        if market.asset(symbol) is None or (after is not None and symbol < after[0]):
            continue
        rows = fetch(market, symbol, start, end)
        rows = rows[np.argsort(rows["ts_event"], kind="stable")]  # late prints arrive late
        if descending:
            rows = rows[::-1]
        offset = after[1] if after is not None and symbol == after[0] else 0
        rows = rows[offset:]
        if not len(rows):
            continue
        if left == 0:
            next_token = _token(symbol, offset, end)
            break
        page = rows[:left]
        left -= len(page)
        tape = _tape(market, symbol)
        out[symbol] = [encode(row, tape) for row in page]
        if len(page) < len(rows):
            next_token = _token(symbol, offset + len(page), end)
            break
    if request.match_info.get("symbol"):
        symbol = symbols[0]
        return web.json_response({key: out.get(symbol, []), "symbol": symbol,
                                  "next_page_token": next_token})
    return web.json_response({key: out, "next_page_token": next_token})


async def bars(request: web.Request) -> web.Response:
    period = _parse_timeframe(request.query.get("timeframe"))
    return _history(request, "bars",
                    lambda m, s, a, b: m.bars(s, a, b, period), lambda row, _: bar_json(row))


async def trades(request: web.Request) -> web.Response:
    return _history(request, "trades", lambda m, s, a, b: m.trades(s, a, b), trade_json)


async def latest_trades(request: web.Request) -> web.Response:
    market = _market(request)
    out = {}
    for symbol in _symbols(request):
        row = market.last_trade(symbol)
        if row is not None:
            out[symbol] = trade_json(row, _tape(market, symbol))
    return web.json_response({"trades": out})


async def latest_quotes(request: web.Request) -> web.Response:
    market = _market(request)
    out = {}
    for symbol in _symbols(request):
        row = market.last_quote(symbol)
        if row is not None:
            out[symbol] = quote_json(row, _tape(market, symbol))
    return web.json_response({"quotes": out})


async def assets(request: web.Request) -> web.Response:
    market = _market(request)
    query = request.query
    status = query.get("status", "active")
    asset_class = query.get("asset_class", "us_equity")
    exchange = query.get("exchange")
    if status not in ("active", "inactive") or asset_class not in ("us_equity", "us_option", "crypto"):
        raise _Problem(422, 42210000, "invalid status or asset_class")
    if status == "inactive" or asset_class != "us_equity":
        return web.json_response([])
    listed: Iterable[Asset] = market.assets()
    if exchange:
        listed = [a for a in listed if a.exchange == exchange]
    return web.json_response([asset_json(a) for a in listed])


async def one_asset(request: web.Request) -> web.Response:
    symbol = request.match_info["symbol"].upper()
    asset = _market(request).asset(symbol)
    if asset is None:
        raise _Problem(404, 40410000, f"asset not found for {symbol}")
    return web.json_response(asset_json(asset))


# -- app ---------------------------------------------------------------------------------------


@web.middleware
async def _guard(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    if request.path == "/stream":  # trade_updates: keys come in the first message, not headers
        stream: web.StreamResponse = await handler(request)
        return stream
    key_id, secret = request.app[_KEYS]
    given_key = request.headers.get("APCA-API-KEY-ID")
    given_secret = request.headers.get("APCA-API-SECRET-KEY")
    if not given_key or given_secret is None or (
            key_id is not None and (given_key != key_id or given_secret != secret)):
        return _error(401, 40110000, "request is not authorized")
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except _Problem as problem:
        return _error(problem.status, problem.code, problem.message)


def install(app: web.Application, market: Market) -> None:
    """Add the market-data routes to ``app`` (which must use :func:`create_app`'s guard)."""
    app.router.add_get("/v2/stocks/snapshots", snapshots)
    app.router.add_get("/v2/stocks/{symbol}/snapshot", one_snapshot)
    app.router.add_get("/v2/stocks/bars", bars)
    app.router.add_get("/v2/stocks/trades/latest", latest_trades)
    app.router.add_get("/v2/stocks/quotes/latest", latest_quotes)
    app.router.add_get("/v2/stocks/trades", trades)
    app.router.add_get("/v2/stocks/{symbol}/bars", bars)
    app.router.add_get("/v2/stocks/{symbol}/trades", trades)
    app.router.add_get("/v1beta1/screener/stocks/most-actives", most_actives)
    app.router.add_get("/v1beta1/screener/{market_type}/movers", movers)
    app.router.add_get("/v2/assets", assets)
    app.router.add_get("/v2/assets/{symbol}", one_asset)


def create_app(market: Market, *, key_id: str | None = None, secret_key: str | None = None,
               extra_routes: Iterable[Callable[[web.Application, Market], object]] = ()
               ) -> web.Application:
    """Return the REST application on ``market``; ``extra_routes`` add more (trading)."""
    app = web.Application(middlewares=[_guard], client_max_size=1 << 20)
    app[MARKET_KEY] = market
    app[_KEYS] = (key_id, secret_key)
    install(app, market)
    for add in extra_routes:
        add(app, market)
    return app
