"""Run configuration: TOML, validated once at the edge (the CLI), immutable afterwards.

Every section rejects unknown keys with a message naming the key and the section; units are in
the field names or their descriptions. Secrets never live here: vendor keys come from the
environment (``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY``; Polygon's ``MASSIVE_API_KEY`` or
``POLYGON_API_KEY``).

A complete file with every default::

    [market]
    provider = "sim"            # "sim": the embedded simulator; "alpaca": the vendor
    stream = "alpaca"           # the stream's protocol: "alpaca", or "polygon" (Polygon/Massive,
                                # provider = "alpaca"; key from MASSIVE_API_KEY or POLYGON_API_KEY;
                                # REST stays Alpaca's at rest_url)
    stream_url = ""             # vendor WebSocket URL (provider = "alpaca"; "" with polygon:
                                # wss://socket.massive.com/stocks)
    rest_url = ""               # vendor data REST URL
    trading_url = ""            # trading REST URL (broker = "alpaca"); "" = the embedded
                                # simulator's (provider = "sim") or Alpaca paper

    [sim]
    seed = 7
    symbols = 300
    speed = 60.0                # simulated seconds per wall second
    start = ""                  # session start, e.g. "2026-11-27 04:00" New York; "" = next weekday 04:00
    live_from = "05:30"         # New York time `tradecore live` joins the session: the premarket
                                # before it is generated at once (a few seconds), so scans and
                                # warm-ups see it as history; "" = from the session start. 05:30:
                                # the default seed's first gapper in the price band (YRRS) is
                                # scanned in about 10 minutes later and trades soon after

    [scanner]
    kind = "premarket"          # "fixed", "top_gainers", "premarket"
    symbols = []                # "fixed": the list; others: what to snapshot ([] = discovered)
    interval_seconds = 60.0     # simulated seconds between scans
    drop_after_seconds = 300.0  # a symbol leaves the universe once it has failed every scan
                                # for this long (market seconds; 0 = at the first failed scan)
                                # while max_symbols leaves room, so one hovering at a filter's
                                # edge is not restarted each scan
    filters = {}                # premarket and top_gainers: min_gap_percent, max_price,
                                # min_premarket_volume, exclude_types, deny, ... (ScanFilters)

    [strategy]
    name = "premarket_momentum" # "ema_cross", "premarket_momentum", "vwap_reclaim"
    params = {}                 # the strategy's parameters (prior_close comes from the scanner)
    bar_period = "1min"

    [execution]
    broker = "paper"            # "paper": the native fill simulator; "alpaca": the trading API
                                # (keys from APCA_API_KEY_ID / APCA_API_SECRET_KEY)
    starting_cash = 100000.0    # dollars (paper)
    risk = {}                   # RiskLimits: max_shares_per_symbol, daily_loss_limit, ...
    router = {}                 # RouterConfig: lot_size, extended_hours, ...
    slippage = 0.0              # dollars per share (paper)
    commission_per_share = 0.0  # dollars (paper)
    commission_minimum = 0.0    # dollars per order (paper)
    flatten_on_exit = true      # close positions on shutdown
    shutdown_timeout_seconds = 30.0  # flattening and draining at shutdown take at most this long

    [health]                    # feed health (tradecore.health); seconds are wall-clock
    enabled = true
    stale_multiple = 4.0        # stale after this many usual intervals without data
    interval_quantile = 0.95    # the usual interval: this quantile of recent gaps
    interval_window = 512       # recent gaps kept per symbol
    min_samples = 16            # gaps needed before the learned interval is used
    min_stale_seconds = 10.0    # never stale sooner than this
    max_stale_seconds = 1800.0  # always stale after this (also the threshold until learned)
    connection_silence_seconds = 60.0  # no frames at all for this long: every symbol stale
    check_interval_seconds = 0.5

    [clock]                     # clock ticks to every symbol's engine (tradecore.clock)
    interval_seconds = 1.0      # market seconds between ticks; 0 = no ticks
    delay_seconds = 0.2         # wall seconds a live tick waits for events still on their way

    [run]
    runs_dir = ""               # "": $TRADECORE_RUNS, else ./runs (as `tradecore runs` reads them)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tradecore.errors import ConfigError

__all__ = ["SCANNER_KINDS", "Config", "load_config"]

ScannerKind = Literal["fixed", "premarket", "top_gainers"]
SCANNER_KINDS: tuple[str, ...] = get_args(ScannerKind)
"""The scanner names, the same in the config (``[scanner] kind``) and every command's ``--scanner``."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarketConfig(_Section):
    provider: Literal["sim", "alpaca"] = "sim"
    stream: Literal["alpaca", "polygon"] = Field(
        "alpaca", description="protocol of the WebSocket stream at stream_url")
    stream_url: str = ""
    rest_url: str = ""
    trading_url: str = ""

    @model_validator(mode="after")
    def _polygon_is_a_vendor_stream(self) -> MarketConfig:
        if self.stream == "polygon" and self.provider == "sim":
            raise ValueError('stream = "polygon" needs provider = "alpaca" (a vendor): the '
                             "embedded simulator's feed speaks the Alpaca protocol only")
        return self


class SimConfig(_Section):
    seed: int = 7
    symbols: int = Field(300, ge=1, le=5000)
    speed: float = Field(60.0, gt=0, description="simulated seconds per wall second")
    start: str = ""
    live_from: str = Field("05:30", pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d$",
                           description='New York time "HH:MM" the live run joins the session, "" = its start')


class ScannerConfig(_Section):
    kind: ScannerKind = "premarket"
    symbols: tuple[str, ...] = ()
    interval_seconds: float = Field(60.0, gt=0, description="simulated seconds between scans")
    drop_after_seconds: float = Field(300.0, ge=0, description="market seconds a symbol must fail every "
                                      "scan before it leaves the universe")
    filters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("filters")
    @classmethod
    def _known_filters(cls, filters: dict[str, Any]) -> dict[str, Any]:
        from tradecore.scanners.filters import ScanFilters  # scanners import this module

        ScanFilters.from_mapping(filters)  # a ConfigError (ValueError) names what is wrong
        return filters


class StrategyConfig(_Section):
    name: Literal["ema_cross", "premarket_momentum", "vwap_reclaim"] = "premarket_momentum"
    params: dict[str, Any] = Field(default_factory=dict)
    bar_period: str = "1min"

    @model_validator(mode="after")
    def _strategy_builds(self) -> StrategyConfig:
        # Checked here, when the config loads: not once per symbol after a run has started.
        from tradecore.strategies import built_in

        built_in(self.name, self.params, prior_close=1.0)  # (each symbol's comes from the scanner)
        return self


class ExecutionConfig(_Section):
    broker: Literal["paper", "alpaca"] = "paper"
    starting_cash: float = Field(100_000.0, gt=0)
    risk: dict[str, Any] = Field(default_factory=dict)
    router: dict[str, Any] = Field(default_factory=dict)
    slippage: float = Field(0.0, ge=0)
    commission_per_share: float = Field(0.0, ge=0)
    commission_minimum: float = Field(0.0, ge=0)
    flatten_on_exit: bool = True
    shutdown_timeout_seconds: float = Field(30.0, gt=0, description="flattening and draining at "
                                            "shutdown take at most this long")


class HealthConfig(_Section):
    """Per-symbol feed health (:mod:`tradecore.health`); the defaults come from the LEAN
    premarket gap distribution (``benchmarks/feed_gaps.py``)."""

    enabled: bool = Field(True, description="watch feeds, block entries and backfill after gaps")
    stale_multiple: float = Field(4.0, gt=1, description="stale after this many usual intervals "
                                  "without data")
    interval_quantile: float = Field(0.95, gt=0, lt=1, description="the usual interval is this "
                                     "quantile of the recent gaps between arrivals")
    interval_window: int = Field(512, ge=8, le=10_000, description="recent gaps kept per symbol")
    min_samples: int = Field(16, ge=2, description="gaps needed before the learned interval is used")
    min_stale_seconds: float = Field(10.0, gt=0, description="wall seconds: never stale sooner")
    max_stale_seconds: float = Field(1800.0, gt=0, description="wall seconds: always stale after "
                                     "this; the threshold until the interval is learned")
    connection_silence_seconds: float = Field(60.0, gt=0, description="wall seconds without any "
                                              "frame after which every symbol is stale")
    check_interval_seconds: float = Field(0.5, gt=0, le=60, description="wall seconds between checks")

    @model_validator(mode="after")
    def _ordered(self) -> HealthConfig:
        if self.min_stale_seconds > self.max_stale_seconds:
            raise ValueError(f"min_stale_seconds ({self.min_stale_seconds}) must not exceed "
                             f"max_stale_seconds ({self.max_stale_seconds})")
        if self.min_samples > self.interval_window:
            raise ValueError(f"min_samples ({self.min_samples}) must not exceed interval_window "
                             f"({self.interval_window})")
        return self


class ClockConfig(_Section):
    """The market clock (:mod:`tradecore.clock`): closes quiet symbols' bars at their end and
    fires time rules (time stops, flat-by, cooldowns) without data."""

    interval_seconds: float = Field(1.0, ge=0, le=3600, description="market seconds between clock "
                                    "ticks (live: the market's clock; backtests: event time); 0 = no ticks")
    delay_seconds: float = Field(0.2, ge=0, le=10, description="wall seconds a live tick waits after "
                                 "its boundary, for events stamped before it still on their way")

    @field_validator("interval_seconds")
    @classmethod
    def _off_or_at_least_a_millisecond(cls, value: float) -> float:
        if 0 < value < 0.001:
            raise ValueError(f"{value} s: must be 0 (off) or at least 0.001")
        return value

    @property
    def interval_ns(self) -> int:
        """The interval in ns (0: no ticks)."""
        return round(self.interval_seconds * 1e9)


class RunConfig(_Section):
    runs_dir: str = Field("", description="where runs go; empty: $TRADECORE_RUNS, else ./runs")


class Config(_Section):
    """The whole run configuration (see the module docstring)."""

    market: MarketConfig = MarketConfig()
    sim: SimConfig = SimConfig()
    scanner: ScannerConfig = ScannerConfig()
    strategy: StrategyConfig = StrategyConfig()
    execution: ExecutionConfig = ExecutionConfig()
    health: HealthConfig = HealthConfig()
    clock: ClockConfig = ClockConfig()
    run: RunConfig = RunConfig()

    def with_overrides(self, **sections: dict[str, Any]) -> Config:
        """Return a copy with some fields of some sections replaced (CLI options), validated."""
        data = self.model_dump()
        for section, values in sections.items():
            data[section].update({k: v for k, v in values.items() if v is not None})
        return _validate(data, "command-line options")


def _validate(data: dict[str, Any], where: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise ConfigError(f"invalid configuration in {where}: {problems}") from None


def load_config(path: str | Path | None) -> Config:
    """Read and validate a TOML file; ``None`` gives the defaults."""
    if path is None:
        return Config()
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text())
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {file}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file} is not valid TOML: {error}") from None
    return _validate(data, str(file))
