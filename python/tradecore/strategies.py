"""Strategies: explicit state machines that emit trade intents, never orders.

Built-ins run natively: :class:`EmaCross`, :class:`PremarketMomentum` (low-float gappers in
the premarket) and :class:`VwapReclaim` (pullbacks around session VWAP); their states and rules
are documented on their C++ headers and listed by ``strategy.rules``. A Python strategy subclasses :class:`Strategy`, declares its states, rules and the
values its guards report, and implements the handlers it needs::

    class Cross(Strategy):
        name = "py_ema_cross"
        states = ("FLAT", "LONG")
        rules = (Rule("cross_above", "FLAT", "LONG", on="bar"),
                 Rule("cross_below", "LONG", "FLAT", on="bar"))
        values = ("close", "fast", "slow")

        def __init__(self) -> None:
            super().__init__()
            self.fast, self.slow = EMA(10), EMA(30)

        def on_bar(self, bar) -> None:
            self.fast.update(bar.close)
            ...
            if self.state == self.FLAT and crossed_up:
                self.transition("cross_above", bar.ts_end, close=bar.close, fast=f, slow=s)
                self.buy(bar.ts_end, 100, reference_price=bar.close)

It runs in the same engine as the native ones and produces the same transition records and
intents. Handlers receive one event object that the engine reuses for the next call: copy the
fields you want to keep. An exception in a handler stops that symbol's engine with a
:class:`~tradecore.errors.StrategyError` naming the event; so does a transition whose values
hold NaN.

After ``tradecore live --resume`` a restored position is offered to the strategy that opened it
(:mod:`tradecore.resume`). A Python strategy adopts it by defining ``on_adopt(adoption)``: move
to its in-position state with a rule ``on="resume"`` (the :class:`Adoption` has the shares,
average price, entry time, the opening intent's stop and whether an exit order is working) and
return ``AdoptResult(True, why)``; or return ``AdoptResult(False, why not)``. Without it the
position is refused and held by the account. An entry order still working at the broker
(``Adoption.entry_pending``) is offered only to the built-ins that can wait on it
(premarket_momentum); a Python strategy is refused it with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from tradecore import schema
from tradecore._native import _core
from tradecore.errors import ConfigError

__all__ = [
    "AdoptResult",
    "Adoption",
    "EmaCross",
    "EmaCrossParams",
    "EntryMode",
    "EntryOrder",
    "PremarketMomentum",
    "PremarketMomentumParams",
    "PullbackTo",
    "Rule",
    "StopMode",
    "Strategy",
    "TargetMode",
    "VwapReclaim",
    "VwapReclaimParams",
    "describe_transitions",
]

_engine = _core.engine

Adoption = _engine.Adoption
AdoptResult = _engine.AdoptResult
EmaCross = _engine.EmaCross
EmaCrossParams = _engine.EmaCrossParams
PremarketMomentum = _engine.PremarketMomentum
PremarketMomentumParams = _engine.PremarketMomentumParams
VwapReclaim = _engine.VwapReclaim
VwapReclaimParams = _engine.VwapReclaimParams
EntryMode = _engine.EntryMode
EntryOrder = _engine.EntryOrder
StopMode = _engine.StopMode
PullbackTo = _engine.PullbackTo
TargetMode = _engine.TargetMode

_BUILT_IN = {"ema_cross": (EmaCross, EmaCrossParams), "premarket_momentum": (PremarketMomentum, PremarketMomentumParams),
             "vwap_reclaim": (VwapReclaim, VwapReclaimParams)}
_KINDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string"}


def built_in(name: str, params: dict[str, Any], prior_close: float | None = None) -> Any:
    """The built-in strategy ``name`` with ``params`` (``prior_close``: the symbol's, from the
    scanner, for premarket_momentum's gap rules unless ``params`` sets it). A ``ConfigError``
    names an unknown parameter (with the ones it takes), a value of the wrong type, or one out
    of range."""
    if name == "premarket_momentum":
        params = {"prior_close": prior_close, **params}
        # The scanner already selected the symbol on relative volume; the strategy's own
        # time-of-day relative volume needs ten prior sessions of minute bars, which a fresh
        # simulator session does not have. Set it in the config to require it anyway.
        params.setdefault("min_relative_volume", 0.0)
        if not params.get("prior_close"):
            raise ConfigError("premarket_momentum needs the prior close (from the scanner or params)")
    strategy, params_type = _BUILT_IN[name]
    defaults = params_type()
    known = sorted(field for field in dir(defaults) if not field.startswith("_"))
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(f"strategy.params: {name} has no parameter {', '.join(unknown)}; it takes {', '.join(known)}")
    try:
        values = params_type(**params)
    except TypeError:  # pybind11 lists every overload: name the parameter instead
        for key, value in params.items():
            try:
                params_type(**{key: value})
            except TypeError:
                expected = type(getattr(defaults, key)).__name__
                kind = _KINDS.get(expected, f"a {expected}")
                raise ConfigError(f"strategy.params.{key}: {value!r} is not {kind} ({name})") from None
        raise
    return strategy(values)


_TRIGGERS = {
    "bar": _engine.Trigger.BAR,
    "quote": _engine.Trigger.QUOTE,
    "trade": _engine.Trigger.TRADE,
    "fill": _engine.Trigger.FILL,
    "order_update": _engine.Trigger.ORDER_UPDATE,
    "clock": _engine.Trigger.CLOCK,
    "resume": _engine.Trigger.RESUME,
}


@dataclass(frozen=True)
class Rule:
    """A named transition: ``source`` state to ``target`` state, evaluated ``on`` an event kind."""

    name: str
    source: str
    target: str
    on: str = "bar"


class Strategy(_engine.Strategy):
    """Base of Python strategies (see the module docstring)."""

    name: ClassVar[str]
    states: ClassVar[Sequence[str]]
    rules: ClassVar[Sequence[Rule]]  # type: ignore[assignment]  # declared here; native reports RuleInfo
    values: ClassVar[Sequence[str]] = ()

    def __init__(self) -> None:
        cls = type(self)
        states = list(cls.states)
        index = {state: i for i, state in enumerate(states)}
        infos = []
        for rule in cls.rules:
            try:
                infos.append(_engine.RuleInfo(rule.name, index[rule.source], index[rule.target], _TRIGGERS[rule.on]))
            except KeyError as missing:
                raise ConfigError(f"{cls.__name__}: rule {rule.name!r} names unknown {missing}") from None
        super().__init__(cls.name, states, infos, list(cls.values))
        self._rule_ids = {rule.name: i for i, rule in enumerate(cls.rules)}
        self._value_ids = {value: i for i, value in enumerate(cls.values)}
        for state, i in index.items():
            setattr(self, state, i)  # self.FLAT == 0, ...

    def transition(self, rule: str, ts: int, **values: float) -> int:
        """Fire ``rule`` at ``ts`` (ns UTC) recording ``values``; return the record's index."""
        try:
            rule_id = self._rule_ids[rule]
            names = [self._value_ids[name] for name in values]
        except KeyError as missing:
            raise ConfigError(f"{self.name}: undeclared rule or value {missing}") from None
        return self._fire(rule_id, ts, names, list(values.values()))

    def buy(self, ts: int, quantity: float, **options: Any) -> None:
        """Emit a buy intent tied to the transition just fired (see :meth:`intent`)."""
        self.intent(ts, schema.Side.BUY, quantity, **options)

    def sell(self, ts: int, quantity: float, **options: Any) -> None:
        """Emit a sell intent tied to the transition just fired (see :meth:`intent`)."""
        self.intent(ts, schema.Side.SELL, quantity, **options)

    def close_position(self, ts: int, *, reference_price: float = 0.0) -> None:
        """Emit an intent to flatten whatever this strategy holds."""
        side = schema.Side.SELL if self.position > 0 else schema.Side.BUY
        self.intent(ts, side, abs(self.position), sizing=schema.Sizing.CLOSE_POSITION,
                    reference_price=reference_price)

    def intent(
        self,
        ts: int,
        side: schema.Side,
        quantity: float,
        *,
        sizing: schema.Sizing = schema.Sizing.SHARES,
        order_type: schema.OrderType = schema.OrderType.MARKET,
        limit_price: float = 0.0,
        stop_price: float = 0.0,
        reference_price: float = 0.0,
    ) -> None:
        """Emit a trade intent; prices in dollars, ``quantity`` as ``sizing`` says.

        ``side``, ``sizing`` and ``order_type`` take the enums of :mod:`tradecore.schema`.
        """
        self._emit(ts, _engine.Side(int(side)), quantity, _engine.Sizing(int(sizing)),
                   _engine.OrderType(int(order_type)), limit_price, stop_price, reference_price)


def describe_transitions(strategy: object, transitions: object) -> list[str]:
    """Render transition records of one strategy as ``FLAT -> LONG cross_above: close=5.43 ...``."""
    states = strategy.state_names  # type: ignore[attr-defined]
    rule_names = [r.name for r in strategy.rules]  # type: ignore[attr-defined]
    value_names = strategy.value_names  # type: ignore[attr-defined]
    lines = []
    for record in transitions:  # type: ignore[attr-defined]
        if record["strategy_id"] != strategy.strategy_id:  # type: ignore[attr-defined]
            continue
        values = " ".join(
            f"{value_names[record['value_names'][i]]}={record['values'][i]:.6g}"
            for i in range(record["value_count"])
        )
        lines.append(
            f"{states[record['from_state']]} -> {states[record['to_state']]} "
            f"{rule_names[record['rule']]}: {values}"
        )
    return lines
