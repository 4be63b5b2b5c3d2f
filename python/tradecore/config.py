"""Run configuration: TOML, validated once at the edge (the CLI), immutable afterwards.

Every section rejects unknown keys with a message naming the key and the section; units are in
the field names or their descriptions. Secrets never live here: vendor keys come from the
environment (``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY``).

A complete file with every default::

    [market]
    provider = "sim"            # "sim": the embedded simulator; "alpaca": the vendor
    stream_url = ""             # vendor WebSocket URL (provider = "alpaca")
    rest_url = ""               # vendor data REST URL
    trading_url = ""            # trading REST URL (broker = "alpaca"); "" = the embedded
                                # simulator's (provider = "sim") or Alpaca paper

    [sim]
    seed = 7
    symbols = 300
    speed = 60.0                # simulated seconds per wall second
    start = ""                  # session start, e.g. "2026-11-27 04:00" New York; "" = next weekday 04:00

    [scanner]
    kind = "premarket"          # "fixed", "top_gainers", "premarket"
    symbols = []                # for "fixed"
    interval_seconds = 60.0     # simulated seconds between scans
    filters = {}                # premarket: min_gap_percent, max_price, max_float, ... (ScanFilters)

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

    [run]
    runs_dir = "runs"
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tradecore.errors import ConfigError

__all__ = ["Config", "load_config"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarketConfig(_Section):
    provider: Literal["sim", "alpaca"] = "sim"
    stream_url: str = ""
    rest_url: str = ""
    trading_url: str = ""


class SimConfig(_Section):
    seed: int = 7
    symbols: int = Field(300, ge=1, le=5000)
    speed: float = Field(60.0, gt=0, description="simulated seconds per wall second")
    start: str = ""


class ScannerConfig(_Section):
    kind: Literal["fixed", "top_gainers", "premarket"] = "premarket"
    symbols: tuple[str, ...] = ()
    interval_seconds: float = Field(60.0, gt=0, description="simulated seconds between scans")
    filters: dict[str, Any] = Field(default_factory=dict)


class StrategyConfig(_Section):
    name: Literal["ema_cross", "premarket_momentum", "vwap_reclaim"] = "premarket_momentum"
    params: dict[str, Any] = Field(default_factory=dict)
    bar_period: str = "1min"


class ExecutionConfig(_Section):
    broker: Literal["paper", "alpaca"] = "paper"
    starting_cash: float = Field(100_000.0, gt=0)
    risk: dict[str, Any] = Field(default_factory=dict)
    router: dict[str, Any] = Field(default_factory=dict)
    slippage: float = Field(0.0, ge=0)
    commission_per_share: float = Field(0.0, ge=0)
    commission_minimum: float = Field(0.0, ge=0)
    flatten_on_exit: bool = True


class RunConfig(_Section):
    runs_dir: str = "runs"


class Config(_Section):
    """The whole run configuration (see the module docstring)."""

    market: MarketConfig = MarketConfig()
    sim: SimConfig = SimConfig()
    scanner: ScannerConfig = ScannerConfig()
    strategy: StrategyConfig = StrategyConfig()
    execution: ExecutionConfig = ExecutionConfig()
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
