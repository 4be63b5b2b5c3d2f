"""A strategy written in Python: ema_cross on the native indicators.

It runs in the same engine as the built-in strategies and produces the same transition records
and intents (tests/python/test_engine.py checks it trade for trade against the C++ one)::

    from tradecore import engine
    run = engine.SymbolEngine("spy", [EmaCrossPy()], bar_period=None).backtest(bars=minute_bars)
    print(run.fills)
"""

from __future__ import annotations

from tradecore.indicators import EMA
from tradecore.strategies import Rule, Strategy


class EmaCrossPy(Strategy):
    """Long when EMA(fast) crosses above EMA(slow) on a bar close; flat on the reverse cross."""

    name = "ema_cross_py"
    states = ("FLAT", "PENDING_ENTRY", "LONG", "PENDING_EXIT")
    rules = (
        Rule("cross_above", "FLAT", "PENDING_ENTRY", on="bar"),
        Rule("entry_filled", "PENDING_ENTRY", "LONG", on="fill"),
        Rule("cross_below", "LONG", "PENDING_EXIT", on="bar"),
        Rule("exit_filled", "PENDING_EXIT", "FLAT", on="fill"),
    )
    values = ("close", "fast", "slow", "fast_prev", "slow_prev", "position")

    def __init__(self, fast: int = 10, slow: int = 30, quantity: float = 100) -> None:
        super().__init__()
        self.fast, self.slow, self.quantity = EMA(fast), EMA(slow), quantity
        self.fast_prev = self.slow_prev = float("nan")

    def warm_up(self, bar) -> None:  # noqa: ANN001 - the engine's Bar view
        self._update(bar.close)

    def ready(self) -> bool:
        return self.slow.initialized

    def _update(self, close: float) -> tuple[float, float]:
        """Update both EMAs; return their values (NaN until warmed up)."""
        fast, slow = self.fast, self.slow
        if slow.initialized:
            self.fast_prev, self.slow_prev = fast.value, slow.value
        fast.update(close)
        slow.update(close)
        return fast.value, slow.value

    def on_bar(self, bar) -> None:  # noqa: ANN001
        close = bar.close
        fast, slow = self._update(close)
        fast_prev, slow_prev = self.fast_prev, self.slow_prev
        if fast_prev != fast_prev:  # NaN until both EMAs have a previous value
            return
        state = self.state
        if state == self.FLAT and fast_prev <= slow_prev and fast > slow:
            ts = bar.ts_end
            self.transition("cross_above", ts, close=close, fast=fast, slow=slow,
                            fast_prev=fast_prev, slow_prev=slow_prev)
            self.buy(ts, self.quantity, reference_price=close)
        elif state == self.LONG and fast_prev >= slow_prev and fast < slow:
            ts = bar.ts_end
            self.transition("cross_below", ts, close=close, fast=fast, slow=slow,
                            fast_prev=fast_prev, slow_prev=slow_prev, position=self.position)
            self.close_position(ts, reference_price=close)

    def on_fill(self, fill) -> None:  # noqa: ANN001
        if self.state == self.PENDING_ENTRY and fill.leaves_quantity == 0:
            self.transition("entry_filled", fill.ts_event, position=self.position)
        elif self.state == self.PENDING_EXIT and self.position == 0:
            self.transition("exit_filled", fill.ts_event, position=self.position)
