"""The per-symbol engine: aggregation, strategies and the fill simulator in one native loop.

:class:`SymbolEngine` runs a symbol's events natively until something needs Python (an intent,
a fill, a transition the caller observes), hands it over, and resumes. :meth:`SymbolEngine.backtest`
is that loop over whole arrays with a minimal order router (sizing only; risk checks belong to
the execution layer); live, the arrays are a single event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tradecore import bars as bar_module
from tradecore import schema
from tradecore._native import _core
from tradecore.errors import ConfigError, DataError, StrategyError

__all__ = ["EngineRun", "FillModel", "SymbolEngine"]

_engine = _core.engine
FillModel = _engine.FillModel
Sizing = schema.Sizing


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
        strategies: Iterable[_engine.Strategy],
        *,
        bar_period: str | None = "1min",
        bar_options: dict[str, Any] | None = None,
        simulate_fills: bool = True,
        fill_model: _engine.FillModel | None = None,
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
    def native(self) -> _engine.SymbolEngine:
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
        simulator at the engine's current time. Output accumulates natively and is taken once at
        the end; with ``on_output``, it is drained and handed over at every stop instead.
        """
        self._native.load(trades=trades, quotes=quotes, bars=bars, statuses=statuses, clock=clock)
        keys = ("transitions", "intents", "fills", "updates", "bars")
        dtypes = (schema.TRANSITION, schema.TRADE_INTENT, schema.FILL, schema.ORDER_UPDATE, schema.BAR)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in keys}
        empty = [np.empty(0, d) for d in dtypes]
        result = EngineRun(empty[0], empty[1], empty[2], empty[3], empty[4])

        def collect() -> None:
            output = self._native.drain()
            if on_output is not None:
                on_output(output)
            for key in keys:
                if len(output[key]):
                    parts[key].append(output[key])

        while True:
            try:
                reason = self._native.run()
            except (StrategyError, DataError) as error:
                raise type(error)(f"{self.symbol}: {error}") from error
            if reason == _engine.StopReason.EXHAUSTED:
                break
            result.stops += 1
            if reason == _engine.StopReason.INTENT:
                self._route(self._native.new_intents(), result)
            if on_output is not None:
                collect()  # observers see output as it happens; otherwise it is taken once
        collect()
        for key, dtype in zip(keys, dtypes):
            setattr(result, key, schema.concatenate(parts[key], dtype))
        result.events = int(self._native.events_processed)
        return result

    def _route(self, intents: np.ndarray, result: EngineRun) -> None:
        """Turn intents into simulator orders: sizing only, no risk checks."""
        now = int(self._native.now)
        for intent in intents.tolist():
            (_, quantity, limit_price, stop_price, reference_price, _, _, strategy_id, _, side, order_type,
             sizing) = intent
            strategy = self.strategies[strategy_id]
            shares = self._shares(sizing, quantity, reference_price, stop_price, strategy)
            if shares <= 0:
                continue
            order = {
                "order_id": self._next_order_id,
                "ts": now,
                "side": side,
                "type": order_type,
                "quantity": shares,
                "limit_price": limit_price,
                "stop_price": stop_price if order_type >= schema.OrderType.STOP else 0.0,
                "strategy_id": strategy_id,
            }
            self._next_order_id += 1
            self._native.submit(**order)
            result.orders.append(order)

    def _shares(self, sizing: int, quantity: float, price: float, stop_price: float, strategy: object) -> float:
        """Shares for an intent, by the execution layer's sizing rules (prices in dollars)."""
        from tradecore.execution.market import to_decimal
        from tradecore.execution.router import SizingError, size_shares  # imports the engine

        sizing = schema.Sizing(sizing)
        if sizing == Sizing.CLOSE_POSITION:
            return abs(float(strategy.position))  # type: ignore[attr-defined]
        try:
            shares, _ = size_shares(
                sizing, to_decimal(quantity), to_decimal(price) if price > 0 else None,
                reference=to_decimal(price) if price > 0 else None,
                stop=to_decimal(stop_price) if stop_price > 0 else None,
                equity=lambda: to_decimal(self.equity))
        except SizingError as error:
            raise ConfigError(f"{self.symbol}: {error.reason}") from None
        return float(shares)
