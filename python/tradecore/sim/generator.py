"""The seeded premarket model: a universe of quiet names and a handful of low-float gappers.

Everything here is a pure function of the seed and the simulated clock: :class:`Generator`
advances in fixed steps of simulated time and returns the events of each step, so the same
seed and step give the same events whatever the wall-clock pacing.

The model, per symbol
---------------------
*Latent price.* A log-price ``x`` moves as a random walk (``sigma`` per square-root second).
A gapper's news arrives at ``news_ns``: the first print jumps to ``prior_close * (1 + jump)``,
then ``x`` follows a Brownian bridge to ``log(prior_close * (1 + gap))`` at 09:30 (so the gap at
the open is drawn directly), plus a hump (a spike after the news that fades) and, after the
open, a downward drift (the fade).

*Activity.* Trades arrive as a Poisson process. A quiet name trades at a base rate shaped by
the time of day; a gapper prints almost nothing before its news, then a burst decaying from
the news time on top of the time-of-day curve, scaled so its premarket trade count matches a
drawn total (calibrated against real 30 %+ gappers, see ``benchmarks/sim_calibration.py``).
Quotes update at a multiple of the trade rate.

*Book.* The NBBO spread is a fraction of price that widens when the book is thin (low trade
rate) and when the price has just moved, never under one tick; sizes are small in thin books.
Trades print at the bid or the ask (buyers dominate while a gapper runs up).

*Pauses.* A LULD-style reference price (an exponential average of prints) and band (by price
tier) are kept per symbol; a print that would cross the band pauses the symbol for
``pause_s`` seconds (status ``P``/``LUDP``, then ``Q`` for quotes and ``T`` to trade again).
Real LULD bands apply only in regular hours; the simulator applies them all day so that
premarket scanners and strategies see halts.

Prices are on a penny grid (0.0001 under $1). Times are int64 ns UTC.
"""

from __future__ import annotations

import datetime as dt
import math
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from tradecore import schema
from tradecore.calendar import is_early_close
from tradecore.sim.market import Asset, AssetType
from tradecore.streams.alpaca import QUOTE_CONDITION_BITS, TRADE_CONDITION_BITS
from tradecore.streams.base import EventBatch, EventKind

__all__ = [
    "ActivityParams",
    "BookParams",
    "GapperParams",
    "Generator",
    "HaltParams",
    "ModelParams",
    "UniverseParams",
    "default_start",
    "new_york_ns",
    "penny",
]

NEW_YORK = ZoneInfo("America/New_York")
NS = 1_000_000_000
MINUTE_NS = 60 * NS


# -- parameters --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class UniverseParams:
    """The listed symbols.

    Attributes
    ----------
    symbols
        How many symbols (gappers included).
    gappers
        How many of them gap 30 %+ on news this session.
    type_shares
        Share of the non-gapper symbols per asset type (the rest are common stock), so that
        scanners have ETFs, warrants, units, rights and preferreds to exclude.
    price_log_median, price_log_sigma
        Prior close of quiet names: lognormal, median ``exp(price_log_median)`` dollars.
    gapper_price_log_median, gapper_price_log_sigma
        Prior close of gappers (real 30 %+ gappers: median $9.50, quartiles $3.2 and $44, the
        top inflated by split adjustment; the model: median $6).
    float_log_median, float_log_sigma
        Float of quiet names, shares (lognormal).
    gapper_float_range
        Float of gappers, shares (log-uniform between the two).
    history_days
        Prior daily bars per symbol (weekdays before the session).
    """

    symbols: int = 300
    gappers: int = 6
    type_shares: dict[AssetType, float] = field(default_factory=lambda: {
        AssetType.ETF: 0.08, AssetType.WARRANT: 0.04, AssetType.UNIT: 0.02,
        AssetType.RIGHT: 0.02, AssetType.PREFERRED: 0.01})
    price_log_median: float = math.log(25.0)
    price_log_sigma: float = 1.1
    gapper_price_log_median: float = math.log(6.0)
    gapper_price_log_sigma: float = 1.0
    float_log_median: float = math.log(60e6)
    float_log_sigma: float = 1.2
    gapper_float_range: tuple[float, float] = (1.5e6, 20e6)
    history_days: int = 30


@dataclass(frozen=True, kw_only=True)
class ActivityParams:
    """Trade and quote rates.

    Attributes
    ----------
    quiet_trades_per_minute
        Median premarket trade rate of a quiet name at time-of-day weight 1, trades/minute.
    quiet_rate_log_sigma
        Spread of that rate across names (lognormal).
    time_of_day
        Relative activity by New York time: ``(hh:mm, weight)`` points, linear in between.
        Shaped after the real gappers' premarket volume profile (little before 07:00, a step at
        08:00, rising into 09:30), then the regular session and after hours.
    quotes_per_trade
        Quote updates per trade.
    quotes_per_minute_floor
        Quote updates per minute even without trades (market makers refreshing), per symbol.
    regular_multiplier
        Rate multiplier of quiet names in the regular session (relative to premarket).
    """

    quiet_trades_per_minute: float = 0.6
    quiet_rate_log_sigma: float = 1.0
    time_of_day: tuple[tuple[str, float], ...] = (
        ("04:00", 0.02), ("06:00", 0.04), ("07:00", 0.3), ("07:59", 0.55), ("08:00", 1.6),
        ("08:30", 2.2), ("09:00", 3.0), ("09:20", 4.2), ("09:29", 9.0), ("09:30", 20.0), ("10:00", 12.0),
        ("12:00", 6.0), ("15:30", 9.0), ("16:00", 1.0), ("20:00", 0.3))
    quotes_per_trade: float = 2.0
    quotes_per_minute_floor: float = 0.5
    regular_multiplier: float = 1.0


@dataclass(frozen=True, kw_only=True)
class GapperParams:
    """The news-driven gap (calibrated against polygon2's 30 %+ gappers).

    Attributes
    ----------
    gap_floor
        Smallest gap at the open (fraction: 0.30 = 30 %).
    excess_log_median, excess_log_sigma
        Gap above the floor: lognormal (real: median gap 46 %, quartiles 36 % and 73 %).
    news_minutes_quantiles
        News time as minutes after 04:00 at cumulative probabilities 0, .1, .25, .5, .75, .9, 1
        (real first premarket prints).
    jump_fraction_range
        The first print after the news takes this fraction of the gap (uniform; real: the
        premarket open is at a median 43 % of the gap, prints before the news included).
    sigma_per_minute
        Log-price volatility after the news, per square-root minute.
    hump_fraction_range
        Size of the post-news spike as a fraction of the gap (uniform).
    hump_minutes
        Time from the news to the top of the spike, minutes.
    fade_per_hour
        Log-price drift after 09:30, per hour (negative: gappers fade).
    premarket_trades_log_median, premarket_trades_log_sigma
        Premarket trade count (lognormal; real median 1,264).
    burst_multiplier
        Extra activity at the news relative to the time-of-day curve.
    burst_half_life_minutes
        Half-life of that extra activity.
    buy_share
        Share of prints at the ask while the latent price rises.
    """

    gap_floor: float = 0.30
    excess_log_median: float = math.log(0.16)
    excess_log_sigma: float = 1.45
    news_minutes_quantiles: tuple[float, ...] = (0.0, 5.0, 120.0, 200.0, 245.0, 285.0, 325.0)
    jump_fraction_range: tuple[float, float] = (0.2, 0.95)
    sigma_per_minute: float = 0.010
    hump_fraction_range: tuple[float, float] = (0.0, 0.6)
    hump_minutes: float = 12.0
    fade_per_hour: float = -0.03
    premarket_trades_log_median: float = math.log(1300.0)
    premarket_trades_log_sigma: float = 1.5
    burst_multiplier: float = 6.0
    burst_half_life_minutes: float = 8.0
    buy_share: float = 0.62


@dataclass(frozen=True, kw_only=True)
class BookParams:
    """Spreads and sizes.

    Attributes
    ----------
    spread_floor
        Narrowest spread, fraction of price (before the one-tick minimum).
    spread_thin
        Extra spread of a thin book (fraction of price at zero trade rate).
    thin_rate_per_minute
        Trade rate at which the thin-book extra halves, trades/minute.
    spread_move
        Extra spread per unit of recent absolute log return (moving prices widen books).
    trade_dollars_log_median, trade_dollars_log_sigma
        Trade size in dollars (lognormal), converted to shares.
    quote_lots_mean
        Mean displayed size in round lots (100 shares), geometric; thin books show less.
    quiet_sigma_per_minute
        Log-price volatility of quiet names per square-root minute.
    quiet_gap_sigma
        Overnight gap of quiet names at 04:00 (normal, fraction).
    """

    spread_floor: float = 0.0005
    spread_thin: float = 0.012
    thin_rate_per_minute: float = 5.0
    spread_move: float = 1.5
    trade_dollars_log_median: float = math.log(600.0)
    trade_dollars_log_sigma: float = 1.0
    quote_lots_mean: float = 4.0
    quiet_sigma_per_minute: float = 0.0012
    quiet_gap_sigma: float = 0.012


@dataclass(frozen=True, kw_only=True)
class HaltParams:
    """LULD-style pauses.

    Attributes
    ----------
    pause_s
        Length of a pause, seconds (LULD: 5 minutes).
    quote_lead_s
        Quotes resume this long before trading does, seconds.
    reference_half_life_s
        Half-life of the reference price's exponential average, seconds (LULD averages 5
        minutes of prints).
    band_tiers
        ``(price floor $, band fraction)``: 10 % at $3 and up, 20 % from $0.75, 75 % below
        (Tier 2 securities).
    band_republish
        Republish the band when it moved by more than this fraction.
    """

    pause_s: float = 300.0
    quote_lead_s: float = 15.0
    reference_half_life_s: float = 120.0
    band_tiers: tuple[tuple[float, float], ...] = ((3.0, 0.10), (0.75, 0.20), (0.0, 0.75))
    band_republish: float = 0.01


@dataclass(frozen=True, kw_only=True)
class ModelParams:
    """Everything the model needs; immutable, keyword-only."""

    universe: UniverseParams = field(default_factory=UniverseParams)
    activity: ActivityParams = field(default_factory=ActivityParams)
    gapper: GapperParams = field(default_factory=GapperParams)
    book: BookParams = field(default_factory=BookParams)
    halt: HaltParams = field(default_factory=HaltParams)
    correction_rate: float = 2e-4
    """Share of prints later corrected or cancelled (half each)."""
    late_rate: float = 5e-4
    """Share of prints reported late (stamped up to 9 s before they are published)."""
    step_s: float = 0.25
    """Simulated seconds per generation step (events of a step are published together)."""


# -- helpers -----------------------------------------------------------------------------------


def new_york_ns(day: dt.date, hhmm: str) -> int:
    """Return ns UTC of ``hh:mm`` New York time on ``day``."""
    hour, minute = (int(p) for p in hhmm.split(":"))
    local = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK)
    return int(local.timestamp()) * NS


def default_start(now: dt.datetime | None = None) -> int:
    """The next weekday's 04:00 New York (today's if it is a weekday before 04:00), ns UTC."""
    local = (now or dt.datetime.now(dt.timezone.utc)).astimezone(NEW_YORK)
    day = local.date()
    if local.hour >= 4:
        day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return new_york_ns(day, "04:00")


def penny(prices: np.ndarray | float, how: str = "nearest") -> np.ndarray:
    """Round dollar prices to the tick grid: $0.01, or $0.0001 under $1."""
    p = np.asarray(prices, dtype=np.float64)
    tick = np.where(p < 1.0, 1e-4, 1e-2)
    units = p / tick
    rounded = {"nearest": np.rint, "down": np.floor, "up": np.ceil}[how](units + 0.0)
    return np.round(np.maximum(rounded, 1.0) * tick, 4)


def _ticker(rng: np.random.Generator, taken: set[str], length: int) -> str:
    while True:
        name = "".join(rng.choice(list(string.ascii_uppercase), size=length))
        if name not in taken:
            taken.add(name)
            return name


_SUFFIX = {AssetType.WARRANT: "W", AssetType.UNIT: "U", AssetType.RIGHT: "R"}
_NAMES = {  # the way listings name them, for scanners that classify by name
    AssetType.COMMON: "{base} Holdings Inc. Common Stock",
    AssetType.ETF: "{base} Sector ETF",
    AssetType.WARRANT: "{base} Acquisition Corp. Warrant",
    AssetType.UNIT: "{base} Acquisition Corp. Unit",
    AssetType.RIGHT: "{base} Acquisition Corp. Right",
    AssetType.PREFERRED: "{base} Corp. 6.25% Series A Preferred Stock",
}
_PREMARKET_CONDITIONS = TRADE_CONDITION_BITS["@"] | TRADE_CONDITION_BITS["T"]
_ODD_LOT = TRADE_CONDITION_BITS["I"]
_REGULAR = TRADE_CONDITION_BITS["@"]
_QUOTE_REGULAR = QUOTE_CONDITION_BITS["R"]
_VENUES = np.frombuffer(b"QKPZVNJXYH", dtype=np.uint8)  # Nasdaq, EDGX, Arca, BZX, IEX, ...
_VENUE_WEIGHTS = np.array([0.30, 0.15, 0.13, 0.12, 0.06, 0.08, 0.05, 0.04, 0.04, 0.03])


# -- the generator -----------------------------------------------------------------------------


class Generator:
    """Build a universe from a seed and generate its session step by step.

    Parameters
    ----------
    params
        The model.
    seed
        Same seed and params: identical universe, history and events.
    start
        Session start, int ns UTC (the session date is its New York date).
    """

    def __init__(self, params: ModelParams, seed: int, start: int) -> None:
        self.params = params
        self.seed = int(seed)
        self.start = int(start)
        self.day = dt.datetime.fromtimestamp(start / NS, NEW_YORK).date()
        # An early-close day (the day after Thanksgiving, ...) closes at 13:00, after hours at 17:00.
        self.early_close = is_early_close(self.day)
        self.open_ns = new_york_ns(self.day, "09:30")
        self.close_ns = new_york_ns(self.day, "13:00" if self.early_close else "16:00")
        self.end_ns = new_york_ns(self.day, "17:00" if self.early_close else "20:00")
        self.step_ns = int(round(params.step_s * NS))
        self.clock = self.start
        self._events_rng = np.random.default_rng([self.seed, 2])
        self._build_universe(np.random.default_rng([self.seed, 0]))
        self.prior_daily = self._build_history(np.random.default_rng([self.seed, 1]))
        self._build_time_of_day()
        self._build_gappers()
        self._next_trade_id = 1

    # -- universe ----------------------------------------------------------------------------

    def _build_universe(self, rng: np.random.Generator) -> None:
        u = self.params.universe
        n = u.symbols
        taken: set[str] = set()
        types = [AssetType.COMMON] * n
        is_gapper = np.zeros(n, bool)
        is_gapper[rng.choice(n, size=min(u.gappers, n), replace=False)] = True
        others = np.flatnonzero(~is_gapper)
        draw = rng.random(len(others))
        edge = 0.0
        for asset_type, share in u.type_shares.items():
            for k in others[(draw >= edge) & (draw < edge + share)]:
                types[k] = asset_type
            edge += share
        price = np.exp(rng.normal(u.price_log_median, u.price_log_sigma, n))
        price = np.where(is_gapper, np.exp(rng.normal(u.gapper_price_log_median,
                                                      u.gapper_price_log_sigma, n)), price)
        price = np.clip(price, 0.2, 900.0)
        floats = np.exp(rng.normal(u.float_log_median, u.float_log_sigma, n))
        low, high = np.log(u.gapper_float_range)
        floats = np.where(is_gapper, np.exp(rng.uniform(low, high, n)), floats)
        outstanding = floats * rng.uniform(1.05, 2.5, n)
        exchanges = rng.choice(["NASDAQ", "NYSE", "AMEX", "ARCA"], size=n, p=[0.6, 0.3, 0.05, 0.05])
        self.assets: list[Asset] = []
        for k in range(n):
            kind = types[k]
            base = _ticker(rng, taken, int(rng.choice([3, 4], p=[0.4, 0.6])))
            if kind in _SUFFIX:
                symbol = base + _SUFFIX[kind]
                price[k] = min(price[k], rng.uniform(0.05, 1.5))
                exchange = "NASDAQ"
            elif kind is AssetType.PREFERRED:
                symbol = base + ".PR" + "ABCD"[k % 4]
                exchange = "NYSE"
            elif kind is AssetType.ETF:
                symbol, exchange = base, "ARCA"
            else:
                symbol, exchange = base, str(exchanges[k])
                if exchange == "ARCA":
                    exchange = "NASDAQ"
            close = float(penny(price[k]))
            self.assets.append(Asset(
                symbol=symbol, name=_NAMES[kind].format(base=base.title()), exchange=exchange,
                asset_type=kind, shares_outstanding=int(outstanding[k]),
                float_shares=int(floats[k]), prior_close=close,
                shortable=bool(not is_gapper[k] and kind is AssetType.COMMON),
                easy_to_borrow=bool(floats[k] > 50e6)))
        self.symbols = [a.symbol for a in self.assets]
        self.is_gapper = is_gapper
        self.prior_close = np.array([a.prior_close for a in self.assets])
        tapes = {"NASDAQ": ord("C"), "NYSE": ord("A")}
        self.tape = np.array([tapes.get(a.exchange, ord("B")) for a in self.assets], np.uint8)
        b = self.params.book
        a = self.params.activity
        self.sigma = np.full(n, b.quiet_sigma_per_minute / math.sqrt(60.0))
        self.base_rate = np.exp(rng.normal(math.log(a.quiet_trades_per_minute),
                                           a.quiet_rate_log_sigma, n)) / 60.0
        # Derivatives and preferreds trade rarely.
        self.base_rate *= np.array([0.25 if t is not AssetType.COMMON and t is not AssetType.ETF
                                    else 1.0 for t in types])
        opening_gap = rng.normal(0.0, b.quiet_gap_sigma, n)
        self.x = np.log(self.prior_close) + opening_gap
        self.abs_move = np.zeros(n)
        self.reference = self.prior_close.copy()
        self.band_published = np.zeros((n, 2))
        self.state = np.full(n, int(schema.TradingState.TRADING), np.uint8)
        self.resume_quotes_ns = np.zeros(n, np.int64)
        self.resume_trading_ns = np.zeros(n, np.int64)

    def _build_history(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Prior daily bars ending at each symbol's prior close."""
        days: list[dt.date] = []
        day = self.day
        while len(days) < self.params.universe.history_days:
            day -= dt.timedelta(days=1)
            if day.weekday() < 5:
                days.append(day)
        days.reverse()
        out: dict[str, np.ndarray] = {}
        m = len(days)
        starts = np.array([new_york_ns(d, "00:00") for d in days], np.int64)
        ends = np.array([new_york_ns(d + dt.timedelta(days=1), "00:00") for d in days], np.int64)
        for k, asset in enumerate(self.assets):
            returns = rng.normal(0.0, 0.03 if not self.is_gapper[k] else 0.06, m)
            # Walk back from the prior close: close[j] = prior_close / exp(sum of later returns).
            later = np.cumsum(returns[::-1])[::-1] - returns
            closes = asset.prior_close * np.exp(-later)
            closes = penny(closes)
            opens = penny(closes * np.exp(rng.normal(0, 0.01, m)))
            wick = np.abs(rng.normal(0, 0.015, (2, m)))
            highs = penny(np.maximum(opens, closes) * (1 + wick[0]), "up")
            lows = penny(np.minimum(opens, closes) * (1 - wick[1]), "down")
            shares_per_day = asset.float_shares * np.exp(rng.normal(math.log(0.004), 0.5, m))
            bars = schema.empty(schema.BAR, m)
            bars["ts_event"], bars["ts_end"] = starts, ends
            bars["open"], bars["high"], bars["low"], bars["close"] = opens, highs, lows, closes
            bars["volume"] = np.floor(shares_per_day)
            bars["vwap"] = penny((highs + lows + closes) / 3)
            bars["trade_count"] = np.maximum(1, bars["volume"] // 150).astype(np.uint32)
            bars["instrument_id"] = k
            bars["session"] = int(schema.Session.REGULAR)
            out[asset.symbol] = bars
        return out

    def _build_time_of_day(self) -> None:
        points = self.params.activity.time_of_day
        x = np.array([new_york_ns(self.day, t) for t, _ in points], np.float64)
        if self.early_close:  # the afternoon's shape, three hours earlier (its close at 13:00)
            x = np.where(x > new_york_ns(self.day, "12:00"), x - 3 * 3600 * NS, x)
        self._tod_x = x
        self._tod_y = np.array([w for _, w in points])

    def time_of_day(self, ts: np.ndarray | float) -> np.ndarray:
        """Relative activity at ``ts`` (ns UTC)."""
        activity: np.ndarray = np.interp(ts, self._tod_x, self._tod_y)
        return activity

    def _build_gappers(self) -> None:
        g = self.params.gapper
        rng = np.random.default_rng([self.seed, 3])
        n = len(self.assets)
        four = new_york_ns(self.day, "04:00")
        u = rng.random(n)
        minutes = np.interp(u, [0, .1, .25, .5, .75, .9, 1.0], g.news_minutes_quantiles)
        self.news_ns = (four + minutes * MINUTE_NS).astype(np.int64)
        self.gap = g.gap_floor + np.exp(rng.normal(g.excess_log_median, g.excess_log_sigma, n))
        self.jump = rng.uniform(*g.jump_fraction_range, n)
        self.hump = rng.uniform(*g.hump_fraction_range, n)
        self.target_x = np.log(self.prior_close * (1 + self.gap))
        self.news_done = ~self.is_gapper
        self.premarket_trades = np.exp(rng.normal(g.premarket_trades_log_median,
                                                  g.premarket_trades_log_sigma, n))
        # Normalise each gapper's intensity so its expected premarket trade count is drawn.
        grid = np.arange(four, self.open_ns, MINUTE_NS, dtype=np.float64)
        self.burst_norm = np.ones(n)
        for k in np.flatnonzero(self.is_gapper).tolist():
            w = self._gapper_weight(grid, k)
            total = w.sum() * 60.0  # weight x seconds
            self.burst_norm[k] = self.premarket_trades[k] / max(total, 1e-9)
        self.sigma = np.where(self.is_gapper, 0.0, self.sigma)  # until the news

    def _gapper_weight(self, ts: np.ndarray, k: int) -> np.ndarray:
        g = self.params.gapper
        after = ts >= self.news_ns[k]
        age_min = np.maximum(ts - self.news_ns[k], 0) / MINUTE_NS
        burst = g.burst_multiplier * np.exp2(-age_min / g.burst_half_life_minutes)
        return np.where(after, self.time_of_day(ts) * (1.0 + burst), 0.0)

    # -- stepping ----------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Whether the session (to 20:00 New York; 17:00 on an early-close day) is over."""
        return self.clock >= self.end_ns

    def step(self) -> list[EventBatch]:
        """Generate the next ``step_s`` of the session; return its batches in publish order."""
        p = self.params
        rng = self._events_rng
        t0 = self.clock
        t1 = t0 + self.step_ns
        self.clock = t1
        dt_s = self.step_ns / NS
        mid_t = (t0 + t1) / 2
        n = len(self.assets)
        out: list[EventBatch] = []
        statuses: list[tuple[int, int, int, bytes, bytes]] = []

        # News: the jump, then the bridge's volatility.
        fresh = (~self.news_done) & (self.news_ns < t1)
        if fresh.any():
            self.news_done |= fresh
            self.x = np.where(fresh, np.log(self.prior_close * (1 + self.gap * self.jump)), self.x)
            self.reference = np.where(fresh, np.exp(self.x), self.reference)
            self.sigma = np.where(fresh, p.gapper.sigma_per_minute / math.sqrt(60.0), self.sigma)

        # Latent log-price: random walk; gappers bridge to their gap at the open, then fade.
        noise = rng.standard_normal(n) * self.sigma * math.sqrt(dt_s)
        drift = np.zeros(n)
        active_gapper = self.is_gapper & self.news_done
        if active_gapper.any():
            if t1 < self.open_ns:
                left = (self.open_ns - t0) / NS
                drift = np.where(active_gapper, (self.target_x - self.x) * dt_s / left, 0.0)
            else:
                drift = np.where(active_gapper, p.gapper.fade_per_hour * dt_s / 3600.0, 0.0)
        step_move = drift + noise
        self.x = self.x + step_move
        hump = np.zeros(n)
        if active_gapper.any():
            age = np.maximum(mid_t - self.news_ns, 0) / (p.gapper.hump_minutes * MINUTE_NS)
            hump = np.where(active_gapper, self.hump * self.gap * age * np.exp(1 - age), 0.0)
            hump = np.log1p(hump / (1 + self.gap))
        mid = np.exp(self.x + hump)
        self.abs_move = 0.9 * self.abs_move + np.abs(step_move)

        # Activity.
        tod = float(self.time_of_day(mid_t))
        rate = self.base_rate * tod
        if mid_t >= self.open_ns:
            rate = rate * p.activity.regular_multiplier
        if active_gapper.any():
            g = p.gapper
            age_min = np.maximum(mid_t - self.news_ns, 0) / MINUTE_NS
            burst = g.burst_multiplier * np.exp2(-age_min / g.burst_half_life_minutes)
            rate = np.where(active_gapper, self.burst_norm * tod * (1 + burst), rate)
        rate = np.where(self.is_gapper & ~self.news_done, rate * 0.0 + 0.1 / 3600, rate)

        # Pauses end.
        resume_q = (self.state == schema.TradingState.PAUSED) & (self.resume_quotes_ns < t1)
        for k in np.flatnonzero(resume_q).tolist():
            self.state[k] = schema.TradingState.QUOTE_ONLY
            statuses.append((k, int(self.resume_quotes_ns[k]), int(schema.TradingState.QUOTE_ONLY),
                             b"Q", b"LUDP"))
        resume_t = (self.state == schema.TradingState.QUOTE_ONLY) & (self.resume_trading_ns < t1)
        for k in np.flatnonzero(resume_t).tolist():
            self.state[k] = schema.TradingState.TRADING
            self.reference[k] = mid[k]
            statuses.append((k, int(self.resume_trading_ns[k]), int(schema.TradingState.TRADING),
                             b"T", b"LUDP"))

        # Book.
        b = p.book
        per_minute = rate * 60.0
        thin = b.spread_thin / (1.0 + per_minute / b.thin_rate_per_minute)
        spread_frac = b.spread_floor + thin + b.spread_move * self.abs_move
        tick = np.where(mid < 1.0, 1e-4, 1e-2)
        bid = penny(mid * (1 - spread_frac / 2), "down")
        ask = np.maximum(penny(mid * (1 + spread_frac / 2), "up"), np.round(bid + tick, 4))

        # LULD-style band and pauses (a print beyond the band pauses instead).
        band = self._band(self.reference)
        upper = penny(self.reference * (1 + band), "down")
        lower = penny(self.reference * (1 - band), "up")
        trading = self.state == schema.TradingState.TRADING
        breach = trading & ((mid > upper) | (mid < lower)) & (self.reference > 0)
        for k in np.flatnonzero(breach).tolist():
            self.state[k] = schema.TradingState.PAUSED
            self.resume_quotes_ns[k] = t0 + int((p.halt.pause_s - p.halt.quote_lead_s) * NS)
            self.resume_trading_ns[k] = t0 + int(p.halt.pause_s * NS)
            statuses.append((k, t0, int(schema.TradingState.PAUSED), b"P", b"LUDP"))
        trading &= ~breach
        quoting = trading | (self.state == schema.TradingState.QUOTE_ONLY)

        n_trades = np.where(trading, rng.poisson(rate * dt_s), 0)
        q_rate = rate * p.activity.quotes_per_trade + p.activity.quotes_per_minute_floor / 60.0
        n_quotes = np.where(quoting, rng.poisson(q_rate * dt_s), 0)
        n_quotes = np.maximum(n_quotes, resume_q.astype(np.int64))  # reopening quote

        if statuses:
            statuses.sort(key=lambda s: (s[1], s[0]))
            for k, ts, state, code, reason in statuses:
                row = schema.empty(schema.STATUS, 1)
                row["ts_event"], row["instrument_id"], row["state"] = ts, k, state
                row["status_code"], row["reason_code"] = code, reason
                out.append(EventBatch(EventKind.STATUS, self.symbols[k], row))

        # Bands: republish when they moved (gappers and anything that is moving).
        moved = np.abs(upper - self.band_published[:, 0]) > p.halt.band_republish * upper
        moved &= quoting & (self.is_gapper | (self.abs_move > 0.004))
        for k in np.flatnonzero(moved).tolist():
            self.band_published[k] = (upper[k], lower[k])
            row = schema.empty(schema.LULD, 1)
            row["ts_event"], row["instrument_id"] = t0, k
            row["limit_up"], row["limit_down"], row["indicator"] = upper[k], lower[k], ord("B")
            out.append(EventBatch(EventKind.LULD, self.symbols[k], row))

        quotes = self._quotes(rng, n_quotes, t0, bid, ask, per_minute)
        trades = self._trades(rng, n_trades, t0, bid, ask, mid, step_move)
        if len(trades):
            # Reference price: exponential average of prints.
            last_idx = np.flatnonzero(np.r_[trades["instrument_id"][1:] != trades["instrument_id"][:-1], True])
            ids = trades["instrument_id"][last_idx]
            alpha = 1 - 0.5 ** (dt_s / p.halt.reference_half_life_s)
            self.reference[ids] += alpha * (trades["price"][last_idx] - self.reference[ids])
        out.extend(self._split(EventKind.QUOTE, quotes))
        out.extend(self._split(EventKind.TRADE, trades))
        out.extend(self._corrections(rng, trades))
        return out

    def _band(self, reference: np.ndarray) -> np.ndarray:
        band = np.zeros_like(reference)
        for floor, fraction in reversed(self.params.halt.band_tiers):
            band = np.where(reference >= floor, fraction, band)
        # Below $0.75: the lesser of $0.15 and 75 %.
        return np.where(reference < 0.75, np.minimum(band, 0.15 / np.maximum(reference, 1e-6)), band)

    def _times(self, rng: np.random.Generator, counts: np.ndarray, t0: int
               ) -> tuple[np.ndarray, np.ndarray]:
        """Instrument ids repeated by ``counts`` and sorted times within the step."""
        ids = np.repeat(np.arange(len(counts), dtype=np.uint32), counts)
        offsets = (rng.random(len(ids)) * self.step_ns).astype(np.int64)
        order = np.lexsort((offsets, ids))
        return ids[order], t0 + offsets[order]

    def _quotes(self, rng: np.random.Generator, counts: np.ndarray, t0: int, bid: np.ndarray,
                ask: np.ndarray, per_minute: np.ndarray) -> np.ndarray:
        ids, ts = self._times(rng, counts, t0)
        m = len(ids)
        q = schema.empty(schema.QUOTE, m)
        if not m:
            return q
        depth = self.params.book.quote_lots_mean * (0.3 + per_minute[ids] / (per_minute[ids] + 10))
        lots = rng.geometric(1.0 / np.maximum(depth, 1.0)[:, None].repeat(2, 1)) * 100
        # Jitter the book within the step: sometimes one side steps back a tick.
        tick = np.where(bid[ids] < 1.0, 1e-4, 1e-2)
        back = rng.random((m, 2)) < 0.25
        q["ts_event"], q["instrument_id"] = ts, ids
        q["bid_price"] = np.round(bid[ids] - back[:, 0] * tick, 4)
        q["ask_price"] = np.round(ask[ids] + back[:, 1] * tick, 4)
        q["bid_price"] = np.maximum(q["bid_price"], tick)
        q["bid_size"], q["ask_size"] = lots[:, 0], lots[:, 1]
        venues = rng.choice(_VENUES, size=(m, 2), p=_VENUE_WEIGHTS)
        q["bid_exchange"], q["ask_exchange"] = venues[:, 0], venues[:, 1]
        q["conditions"] = _QUOTE_REGULAR
        return q

    def _trades(self, rng: np.random.Generator, counts: np.ndarray, t0: int, bid: np.ndarray,
                ask: np.ndarray, mid: np.ndarray, move: np.ndarray) -> np.ndarray:
        ids, ts = self._times(rng, counts, t0)
        m = len(ids)
        t = schema.empty(schema.TRADE, m)
        if not m:
            return t
        b = self.params.book
        buy_share = np.where(move[ids] > 0, self.params.gapper.buy_share, 1 - self.params.gapper.buy_share)
        buy_share = np.where(self.is_gapper[ids], buy_share, 0.5)
        u = rng.random(m)
        at_ask = u < buy_share
        inside = rng.random(m) < 0.1
        price = np.where(at_ask, ask[ids], bid[ids])
        price = np.where(inside, penny(mid[ids]), price)
        dollars = np.exp(rng.normal(b.trade_dollars_log_median, b.trade_dollars_log_sigma, m))
        shares = np.maximum(1, np.floor(dollars / price))
        round_lot = (shares > 100) & (rng.random(m) < 0.7)
        shares = np.where(round_lot, np.round(shares / 100) * 100, shares)
        late = rng.random(m) < self.params.late_rate
        ts = np.where(late, ts - (rng.random(m) * 9 * NS).astype(np.int64), ts)
        t["ts_event"], t["instrument_id"], t["price"], t["size"] = ts, ids, price, shares
        t["trade_id"] = np.arange(self._next_trade_id, self._next_trade_id + m, dtype=np.uint64)
        self._next_trade_id += m
        extended = (ts < self.open_ns) | (ts >= self.close_ns)
        base = np.where(extended, _PREMARKET_CONDITIONS, _REGULAR)
        t["conditions"] = np.where(shares < 100, base | _ODD_LOT, base)
        t["exchange"] = rng.choice(_VENUES, size=m, p=_VENUE_WEIGHTS)
        return t

    def _corrections(self, rng: np.random.Generator, trades: np.ndarray) -> list[EventBatch]:
        if not len(trades):
            return []
        picked = np.flatnonzero(rng.random(len(trades)) < self.params.correction_rate)
        out = []
        for j in picked:
            row = trades[j]
            k = int(row["instrument_id"])
            if rng.random() < 0.5:
                c = schema.empty(schema.CANCEL_ERROR, 1)
                c["ts_event"], c["trade_id"], c["price"] = row["ts_event"], row["trade_id"], row["price"]
                c["size"], c["instrument_id"], c["exchange"] = row["size"], k, row["exchange"]
                c["action"] = ord("C")
                out.append(EventBatch(EventKind.CANCEL_ERROR, self.symbols[k], c))
            else:
                c = schema.empty(schema.CORRECTION, 1)
                tick = 1e-4 if row["price"] < 1 else 1e-2
                c["ts_event"], c["instrument_id"], c["exchange"] = row["ts_event"], k, row["exchange"]
                c["original_trade_id"], c["original_price"] = row["trade_id"], row["price"]
                c["original_size"], c["original_conditions"] = row["size"], row["conditions"]
                c["corrected_trade_id"] = self._next_trade_id
                self._next_trade_id += 1
                c["corrected_price"] = round(float(row["price"]) + tick, 4)
                c["corrected_size"], c["corrected_conditions"] = row["size"], row["conditions"]
                out.append(EventBatch(EventKind.CORRECTION, self.symbols[k], c))
        return out

    def _split(self, kind: EventKind, events: np.ndarray) -> Iterable[EventBatch]:
        if not len(events):
            return []
        ids = events["instrument_id"]
        cuts = np.flatnonzero(ids[1:] != ids[:-1]) + 1
        starts = np.r_[0, cuts]
        stops = np.r_[cuts, len(events)]
        symbols = self.symbols
        return [EventBatch(kind, symbols[ids[s]], events[s:e]) for s, e in zip(starts, stops)]
