"""The per-symbol engine: aggregation, strategies and the fill simulator in one native loop.

:class:`SymbolEngine` runs a symbol's events natively until something needs Python (an intent,
a fill, a transition the caller observes), hands it over, and resumes. :meth:`SymbolEngine.backtest`
is that loop over whole arrays with a minimal order router (sizing only; risk checks belong to
the execution layer); live, the arrays are a single event.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from tradecore import bars as bar_module
from tradecore import schema
from tradecore._native import _core
from tradecore.errors import ConfigError, DataError, StrategyError

__all__ = ["EngineRun", "FillModel", "SymbolEngine"]

_engine = _core.engine
FillModel = _engine.FillModel
Sizing = _engine.Sizing


@dataclass
class EngineRun:
    """Everything one run produced, as structured arrays (see :mod:`tradecore.schema`)."""

    transitions: np.ndarray
    intents: np.ndarray
    fills: np.ndarray
    updates: np.ndarray
    bars: np.ndarray
    events: int = 0
    stops: int = 0  # times the native loop handed control back to Python
    orders: list[dict[str, object]] = field(default_factory=list)


class SymbolEngine:
    """One symbol's engine.

    Parameters
    ----------
    symbol
        Ticker, for messages.
    strategies
        Strategy objects (native or Python); each gets ``strategy_id`` = its position.
    bar_period
        Period of the bars built from trades (``"1min"``); ``None`` to feed bars only.
    simulate_fills
        Own a native fill simulator (backtests, the paper broker).
    fill_model
        Latency, slippage, partial fills, commissions (:class:`FillModel`).
    observe_transitions
        Return to Python after every transition (for live visibility); intents and fills
        always return.
    equity
        Account equity in dollars used to size ``PERCENT_EQUITY`` intents in backtests.
    """

    def __init__(
        self,
        symbol: str,
        strategies: Iterable[object],
        *,
        bar_period: str | None = "1min",
        bar_options: dict[str, object] | None = None,
        simulate_fills: bool = True,
        fill_model: object | None = None,
        observe_transitions: bool = False,
        instrument_id: int = 0,
        equity: float = 100_000.0,
    ) -> None:
        config = _engine.EngineConfig()
        config.instrument_id = instrument_id
        config.aggregate_trades = bar_period is not None
        if bar_period is not None:
            config.bars = bar_module.BarAggregator(bar_period, **(bar_options or {})).config
        config.simulate_fills = simulate_fills
        if fill_model is not None:
            config.fill_model = fill_model
        config.stop_on_transition = observe_transitions
        self.symbol = symbol.upper()
        self.equity = equity
        self._native = _engine.SymbolEngine(config)
        self.strategies = list(strategies)
        for strategy in self.strategies:
            self._native.add_strategy(strategy)
        self._next_order_id = 1

    @property
    def native(self) -> object:
        """The bound C++ engine (``tradecore._core.engine.SymbolEngine``)."""
        return self._native

    def warm_up(self, bars: np.ndarray) -> bool:
        """Feed history bars through every strategy's indicators; return whether all are ready."""
        self._native.warm_up(np.ascontiguousarray(bars))
        return bool(self._native.ready)

    def backtest(
        self,
        *,
        trades: np.ndarray | None = None,
        quotes: np.ndarray | None = None,
        bars: np.ndarray | None = None,
        statuses: np.ndarray | None = None,
        clock: np.ndarray | None = None,
        on_output: Callable[[dict[str, np.ndarray]], None] | None = None,
    ) -> EngineRun:
        """Replay whole arrays at full speed through the same loop live uses.

        Each intent becomes an order (sized as its ``sizing`` says) submitted to the native fill
        simulator at the engine's current time. ``on_output`` sees every drained output.
        """
        self._native.load(trades=trades, quotes=quotes, bars=bars, statuses=statuses, clock=clock)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("transitions", "intents", "fills", "updates", "bars")}
        result = EngineRun(*(np.empty(0, d) for d in (schema.TRANSITION, schema.TRADE_INTENT, schema.FILL,
                                                      schema.ORDER_UPDATE, schema.BAR)))
        while True:
            try:
                reason = self._native.run()
            except (StrategyError, DataError) as error:
                raise type(error)(f"{self.symbol}: {error}") from error
            output = self._native.drain()
            self._route(output, result)
            if on_output is not None:
                on_output(output)
            for key in parts:
                if len(output[key]):
                    parts[key].append(output[key])
            if reason == _engine.StopReason.EXHAUSTED:
                break
            result.stops += 1
        # Orders submitted after the last event may have produced output of their own.
        tail = self._native.drain()
        for key in parts:
            if len(tail[key]):
                parts[key].append(tail[key])
        for key, dtype in (("transitions", schema.TRANSITION), ("intents", schema.TRADE_INTENT),
                           ("fills", schema.FILL), ("updates", schema.ORDER_UPDATE), ("bars", schema.BAR)):
            setattr(result, key, schema.concatenate(parts[key], dtype))
        result.events = int(self._native.events_processed)
        return result

    def _route(self, output: dict[str, np.ndarray], result: EngineRun) -> None:
        """Turn intents into simulator orders: sizing only, no risk checks."""
        for intent in output["intents"]:
            strategy = self.strategies[int(intent["strategy_id"])]
            quantity = self._shares(intent, strategy)
            if quantity <= 0:
                continue
            order = {
                "order_id": self._next_order_id,
                "ts": int(self._native.now),
                "side": _engine.Side(int(intent["side"])),
                "type": _engine.OrderType(int(intent["order_type"])),
                "quantity": quantity,
                "limit_price": float(intent["limit_price"]),
                "stop_price": float(intent["stop_price"]) if intent["order_type"] >= 2 else 0.0,
                "strategy_id": int(intent["strategy_id"]),
            }
            self._next_order_id += 1
            self._native.submit(**order)
            result.orders.append(order)

    def _shares(self, intent: np.void, strategy: object) -> float:
        sizing = Sizing(int(intent["sizing"]))
        quantity = float(intent["quantity"])
        price = float(intent["reference_price"])
        if sizing == Sizing.SHARES:
            return quantity
        if sizing == Sizing.CLOSE_POSITION:
            return abs(float(strategy.position))  # type: ignore[attr-defined]
        if price <= 0:
            raise ConfigError(f"{self.symbol}: {sizing.name} sizing needs the intent's reference_price")
        if sizing == Sizing.NOTIONAL:
            return math.floor(quantity / price)
        if sizing == Sizing.PERCENT_EQUITY:
            return math.floor(quantity * self.equity / price)
        risk = abs(price - float(intent["stop_price"]))
        if risk <= 0:
            raise ConfigError(f"{self.symbol}: RISK_PER_TRADE sizing needs a stop_price away from the price")
        return math.floor(quantity / risk)
