"""
Strategies, the per-symbol engine and the fill simulator
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import tradecore._core.bars
import tradecore._core.indicators
import typing
__all__: list[str] = ['AdoptResult', 'Adoption', 'Bar', 'EmaCross', 'EmaCrossParams', 'EngineConfig', 'EntryMode', 'EntryOrder', 'Fill', 'FillModel', 'FillSimulator', 'OrderReason', 'OrderStatus', 'OrderType', 'OrderUpdate', 'PremarketMomentum', 'PremarketMomentumParams', 'PullbackTo', 'Quote', 'RuleInfo', 'Side', 'Sizing', 'StopMode', 'StopReason', 'Strategy', 'SymbolEngine', 'TargetMode', 'TimeInForce', 'Trade', 'Trigger', 'VwapReclaim', 'VwapReclaimParams', 'run_groups']
class Side:
    """
    Members:
    
      BUY
    
      SELL
    """
    BUY: typing.ClassVar[Side]
    SELL: typing.ClassVar[Side]
    __members__: typing.ClassVar[dict[str, Side]]
    @typing.overload
    def __eq__(self, other: Side) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: Side) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class OrderType:
    """
    Members:
    
      MARKET
    
      LIMIT
    
      STOP
    
      STOP_LIMIT
    """
    LIMIT: typing.ClassVar[OrderType]
    MARKET: typing.ClassVar[OrderType]
    STOP: typing.ClassVar[OrderType]
    STOP_LIMIT: typing.ClassVar[OrderType]
    __members__: typing.ClassVar[dict[str, OrderType]]
    @typing.overload
    def __eq__(self, other: OrderType) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: OrderType) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class TimeInForce:
    """
    Members:
    
      DAY
    
      GTC
    
      IOC
    """
    DAY: typing.ClassVar[TimeInForce]
    GTC: typing.ClassVar[TimeInForce]
    IOC: typing.ClassVar[TimeInForce]
    __members__: typing.ClassVar[dict[str, TimeInForce]]
    @typing.overload
    def __eq__(self, other: TimeInForce) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: TimeInForce) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class OrderStatus:
    """
    Members:
    
      SUBMITTED
    
      LIVE
    
      PARTIALLY_FILLED
    
      FILLED
    
      CANCELED
    
      REJECTED
    
      TRIGGERED
    """
    CANCELED: typing.ClassVar[OrderStatus]
    FILLED: typing.ClassVar[OrderStatus]
    LIVE: typing.ClassVar[OrderStatus]
    PARTIALLY_FILLED: typing.ClassVar[OrderStatus]
    REJECTED: typing.ClassVar[OrderStatus]
    SUBMITTED: typing.ClassVar[OrderStatus]
    TRIGGERED: typing.ClassVar[OrderStatus]
    __members__: typing.ClassVar[dict[str, OrderStatus]]
    @typing.overload
    def __eq__(self, other: OrderStatus) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: OrderStatus) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class Sizing:
    """
    Members:
    
      SHARES
    
      NOTIONAL
    
      PERCENT_EQUITY
    
      RISK_PER_TRADE
    
      CLOSE_POSITION
    """
    CLOSE_POSITION: typing.ClassVar[Sizing]
    NOTIONAL: typing.ClassVar[Sizing]
    PERCENT_EQUITY: typing.ClassVar[Sizing]
    RISK_PER_TRADE: typing.ClassVar[Sizing]
    SHARES: typing.ClassVar[Sizing]
    __members__: typing.ClassVar[dict[str, Sizing]]
    @typing.overload
    def __eq__(self, other: Sizing) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: Sizing) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class Trigger:
    """
    Members:
    
      BAR
    
      QUOTE
    
      TRADE
    
      FILL
    
      ORDER_UPDATE
    
      CLOCK
    
      RESUME
    """
    BAR: typing.ClassVar[Trigger]
    CLOCK: typing.ClassVar[Trigger]
    FILL: typing.ClassVar[Trigger]
    ORDER_UPDATE: typing.ClassVar[Trigger]
    QUOTE: typing.ClassVar[Trigger]
    RESUME: typing.ClassVar[Trigger]
    TRADE: typing.ClassVar[Trigger]
    __members__: typing.ClassVar[dict[str, Trigger]]
    @typing.overload
    def __eq__(self, other: Trigger) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: Trigger) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class StopReason:
    """
    Members:
    
      EXHAUSTED
    
      INTENT
    
      FILL
    
      TRANSITION
    
      BAR
    """
    BAR: typing.ClassVar[StopReason]
    EXHAUSTED: typing.ClassVar[StopReason]
    FILL: typing.ClassVar[StopReason]
    INTENT: typing.ClassVar[StopReason]
    TRANSITION: typing.ClassVar[StopReason]
    __members__: typing.ClassVar[dict[str, StopReason]]
    @typing.overload
    def __eq__(self, other: StopReason) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: StopReason) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class OrderReason:
    """
    Why an order update happened (OrderUpdate.reason).
    
    Members:
    
      NONE
    
      USER_CANCEL
    
      IOC_REMAINDER
    
      INVALID_ORDER
    
      UNKNOWN_ORDER
    
      DUPLICATE_ID
    
      REFUSED
    """
    DUPLICATE_ID: typing.ClassVar[OrderReason]
    INVALID_ORDER: typing.ClassVar[OrderReason]
    IOC_REMAINDER: typing.ClassVar[OrderReason]
    NONE: typing.ClassVar[OrderReason]
    REFUSED: typing.ClassVar[OrderReason]
    UNKNOWN_ORDER: typing.ClassVar[OrderReason]
    USER_CANCEL: typing.ClassVar[OrderReason]
    __members__: typing.ClassVar[dict[str, OrderReason]]
    @typing.overload
    def __eq__(self, other: OrderReason) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.SupportsInt | typing.SupportsIndex) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: OrderReason) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.SupportsInt | typing.SupportsIndex) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class Bar:
    pass
class Quote:
    pass
class Trade:
    pass
class Fill:
    pass
class OrderUpdate:
    pass
class RuleInfo:
    def __init__(self, name: str, from_state: typing.SupportsInt | typing.SupportsIndex, to_state: typing.SupportsInt | typing.SupportsIndex, trigger: Trigger) -> None:
        ...
    @property
    def from_state(self) -> int:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def to_state(self) -> int:
        ...
    @property
    def trigger(self) -> Trigger:
        ...
class Adoption:
    """
    A position restored by a resume, offered to a strategy's on_adopt.
    """
    @property
    def average_price(self) -> float:
        ...
    @property
    def entry_pending(self) -> bool:
        ...
    @property
    def entry_ts(self) -> int:
        ...
    @property
    def exit_pending(self) -> bool:
        ...
    @property
    def highest(self) -> float:
        ...
    @property
    def now(self) -> int:
        ...
    @property
    def quantity(self) -> float:
        ...
    @property
    def stop_price(self) -> float:
        ...
class AdoptResult:
    """
    Whether a strategy took a restored position over, and why.
    """
    def __init__(self, adopted: bool, reason: str) -> None:
        ...
    @property
    def adopted(self) -> bool:
        ...
    @property
    def reason(self) -> str:
        ...
class Strategy:
    def __init__(self, name: str, states: collections.abc.Sequence[str], rules: collections.abc.Sequence[RuleInfo], value_names: collections.abc.Sequence[str]) -> None:
        ...
    def _emit(self, arg0: typing.SupportsInt | typing.SupportsIndex, arg1: Side, arg2: typing.SupportsFloat | typing.SupportsIndex, arg3: Sizing, arg4: OrderType, arg5: typing.SupportsFloat | typing.SupportsIndex, arg6: typing.SupportsFloat | typing.SupportsIndex, arg7: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def _fire(self, arg0: typing.SupportsInt | typing.SupportsIndex, arg1: typing.SupportsInt | typing.SupportsIndex, arg2: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], arg3: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> int:
        ...
    def rule_id(self, arg0: str) -> int:
        ...
    def value_id(self, arg0: str) -> int:
        ...
    @property
    def instrument_id(self) -> int:
        ...
    @property
    def is_ready(self) -> bool:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def position(self) -> float:
        ...
    @property
    def rules(self) -> list[RuleInfo]:
        ...
    @property
    def state(self) -> int:
        ...
    @property
    def state_names(self) -> list[str]:
        ...
    @property
    def strategy_id(self) -> int:
        ...
    @property
    def value_names(self) -> list[str]:
        ...
class EmaCrossParams:
    def __init__(self, *, fast: typing.SupportsInt | typing.SupportsIndex = 10, slow: typing.SupportsInt | typing.SupportsIndex = 30, quantity: typing.SupportsFloat | typing.SupportsIndex = 100.0) -> None:
        ...
    @property
    def fast(self) -> int:
        ...
    @fast.setter
    def fast(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def quantity(self) -> float:
        ...
    @quantity.setter
    def quantity(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def slow(self) -> int:
        ...
    @slow.setter
    def slow(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class EmaCross(Strategy):
    def __init__(self, params: EmaCrossParams = ...) -> None:
        ...
    @property
    def fast(self) -> float:
        ...
    @property
    def slow(self) -> float:
        ...
class FillModel:
    limit_needs_trade_through: bool
    partial_fills: bool
    def __init__(self) -> None:
        ...
    @property
    def cancel_latency_ns(self) -> int:
        ...
    @cancel_latency_ns.setter
    def cancel_latency_ns(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def commission_minimum(self) -> float:
        ...
    @commission_minimum.setter
    def commission_minimum(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def commission_per_share(self) -> float:
        ...
    @commission_per_share.setter
    def commission_per_share(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def slippage(self) -> float:
        ...
    @slippage.setter
    def slippage(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def submit_latency_ns(self) -> int:
        ...
    @submit_latency_ns.setter
    def submit_latency_ns(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class FillSimulator:
    def __init__(self, model: FillModel = ...) -> None:
        ...
    def cancel(self, order_id: typing.SupportsInt | typing.SupportsIndex, ts: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.void], numpy.typing.NDArray[numpy.void]]:
        ...
    def on_clock(self, now: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.void], numpy.typing.NDArray[numpy.void]]:
        ...
    def on_quotes(self, quotes: numpy.typing.NDArray[numpy.void]) -> tuple[numpy.typing.NDArray[numpy.void], numpy.typing.NDArray[numpy.void]]:
        """
        Feed QUOTE rows; return (fills, updates).
        """
    def on_statuses(self, statuses: numpy.typing.NDArray[numpy.void]) -> tuple[numpy.typing.NDArray[numpy.void], numpy.typing.NDArray[numpy.void]]:
        """
        Feed STATUS rows; return (fills, updates).
        """
    def on_trades(self, trades: numpy.typing.NDArray[numpy.void]) -> tuple[numpy.typing.NDArray[numpy.void], numpy.typing.NDArray[numpy.void]]:
        """
        Feed TRADE rows; return (fills, updates).
        """
    def reset(self) -> None:
        ...
    def submit(self, *, order_id: typing.SupportsInt | typing.SupportsIndex, ts: typing.SupportsInt | typing.SupportsIndex, side: typing.SupportsInt | typing.SupportsIndex, type: typing.SupportsInt | typing.SupportsIndex, quantity: typing.SupportsFloat | typing.SupportsIndex, limit_price: typing.SupportsFloat | typing.SupportsIndex = 0.0, stop_price: typing.SupportsFloat | typing.SupportsIndex = 0.0, time_in_force: typing.SupportsInt | typing.SupportsIndex = 0, instrument_id: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.void], numpy.typing.NDArray[numpy.void]]:
        """
        Submit an order; return (fills, updates) as arrays.
        """
    @property
    def halted(self) -> bool:
        ...
    @property
    def open_orders(self) -> int:
        ...
class EngineConfig:
    aggregate_trades: bool
    bars: tradecore._core.bars.AggregatorConfig
    fill_model: FillModel
    last_price_as_book: bool
    simulate_fills: bool
    stop_on_bar: bool
    stop_on_transition: bool
    def __init__(self) -> None:
        ...
    @property
    def instrument_id(self) -> int:
        ...
    @instrument_id.setter
    def instrument_id(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class SymbolEngine:
    def __init__(self, config: EngineConfig) -> None:
        ...
    def add_strategy(self, strategy: Strategy) -> int:
        ...
    def adopt(self, *, strategy_id: typing.SupportsInt | typing.SupportsIndex, quantity: typing.SupportsFloat | typing.SupportsIndex, average_price: typing.SupportsFloat | typing.SupportsIndex, entry_ts: typing.SupportsInt | typing.SupportsIndex, now: typing.SupportsInt | typing.SupportsIndex, stop_price: typing.SupportsFloat | typing.SupportsIndex = 0.0, highest: typing.SupportsFloat | typing.SupportsIndex = 0.0, exit_pending: bool = False, entry_pending: bool = False) -> AdoptResult:
        """
        Offer a position restored by a resume to a strategy; its Resume transition is in the output.
        """
    def assign_order(self, order_id: typing.SupportsInt | typing.SupportsIndex, strategy_id: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        Let fills of an externally placed order reach the strategy that asked for it.
        """
    def cancel(self, order_id: typing.SupportsInt | typing.SupportsIndex, ts: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def drain(self) -> dict[str, typing.Any]:
        """
        Take the output produced since the last drain, as arrays.
        """
    def load(self, *, trades: typing.Any = None, quotes: typing.Any = None, bars: typing.Any = None, statuses: typing.Any = None, clock: typing.Any = None) -> None:
        ...
    def load_bars(self, bars: typing.Any) -> None:
        ...
    def load_quotes(self, quotes: typing.Any) -> None:
        ...
    def load_statuses(self, statuses: typing.Any) -> None:
        ...
    def load_trades(self, trades: typing.Any) -> None:
        ...
    def new_intents(self) -> numpy.typing.NDArray[numpy.void]:
        """
        The intents that stopped the last run() (a copy; they also stay in the output).
        """
    def on_clock(self, now: typing.SupportsInt | typing.SupportsIndex) -> StopReason:
        ...
    def on_external_fill(self, *, ts: typing.SupportsInt | typing.SupportsIndex, order_id: typing.SupportsInt | typing.SupportsIndex, side: typing.SupportsInt | typing.SupportsIndex, price: typing.SupportsFloat | typing.SupportsIndex, quantity: typing.SupportsFloat | typing.SupportsIndex, leaves_quantity: typing.SupportsFloat | typing.SupportsIndex, commission: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> StopReason:
        ...
    def on_external_update(self, *, ts: typing.SupportsInt | typing.SupportsIndex, order_id: typing.SupportsInt | typing.SupportsIndex, status: typing.SupportsInt | typing.SupportsIndex, filled_quantity: typing.SupportsFloat | typing.SupportsIndex, leaves_quantity: typing.SupportsFloat | typing.SupportsIndex, reason: typing.SupportsInt | typing.SupportsIndex = 0) -> StopReason:
        ...
    def run(self) -> StopReason:
        """
        Process loaded events until an intent, a fill (or an observed transition/bar) needs the caller, or the events run out.
        """
    def submit(self, *, order_id: typing.SupportsInt | typing.SupportsIndex, ts: typing.SupportsInt | typing.SupportsIndex, side: typing.SupportsInt | typing.SupportsIndex, type: typing.SupportsInt | typing.SupportsIndex, quantity: typing.SupportsFloat | typing.SupportsIndex, limit_price: typing.SupportsFloat | typing.SupportsIndex = 0.0, stop_price: typing.SupportsFloat | typing.SupportsIndex = 0.0, time_in_force: typing.SupportsInt | typing.SupportsIndex = 0, strategy_id: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def warm_up(self, bars: numpy.typing.NDArray[numpy.void]) -> None:
        ...
    @property
    def aggregator_stats(self) -> dict[str, typing.Any]:
        ...
    @property
    def book(self) -> typing.Any:
        """
        (bid, ask, last trade) as the engine sees them now (0 = not seen); None without a venue.
        """
    @property
    def events_processed(self) -> int:
        ...
    @property
    def exhausted(self) -> bool:
        ...
    @property
    def fault(self) -> str:
        ...
    @property
    def faulted(self) -> bool:
        ...
    @property
    def has_output(self) -> bool:
        """
        Whether drain() has anything to return (cheaper than draining nothing).
        """
    @property
    def last_price(self) -> float:
        """
        The last trade price the engine saw (0 = none yet).
        """
    @property
    def now(self) -> int:
        ...
    @property
    def ready(self) -> bool:
        ...
    @property
    def strategies(self) -> list[Strategy]:
        ...
class EntryMode:
    """
    How premarket_momentum enters once armed.
    
    Members:
    
      PREMARKET_HIGH_BREAK
    
      VWAP_RECLAIM
    """
    PREMARKET_HIGH_BREAK: typing.ClassVar[EntryMode]
    VWAP_RECLAIM: typing.ClassVar[EntryMode]
    __members__: typing.ClassVar[dict[str, EntryMode]]
    @typing.overload
    def __eq__(self, other: EntryMode) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: EntryMode) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class StopMode:
    """
    Where premarket_momentum puts its stop.
    
    Members:
    
      PULLBACK_LOW
    
      FIXED_PERCENT
    """
    FIXED_PERCENT: typing.ClassVar[StopMode]
    PULLBACK_LOW: typing.ClassVar[StopMode]
    __members__: typing.ClassVar[dict[str, StopMode]]
    @typing.overload
    def __eq__(self, other: StopMode) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: StopMode) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class EntryOrder:
    """
    The order type of premarket_momentum's entry intent.
    
    Members:
    
      MARKET
    
      MARKETABLE_LIMIT
    """
    MARKET: typing.ClassVar[EntryOrder]
    MARKETABLE_LIMIT: typing.ClassVar[EntryOrder]
    __members__: typing.ClassVar[dict[str, EntryOrder]]
    @typing.overload
    def __eq__(self, other: EntryOrder) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: EntryOrder) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class PullbackTo:
    """
    The level a vwap_reclaim pullback has to reach.
    
    Members:
    
      VWAP
    
      LOWER_BAND
    """
    LOWER_BAND: typing.ClassVar[PullbackTo]
    VWAP: typing.ClassVar[PullbackTo]
    __members__: typing.ClassVar[dict[str, PullbackTo]]
    @typing.overload
    def __eq__(self, other: PullbackTo) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: PullbackTo) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class TargetMode:
    """
    vwap_reclaim's profit target.
    
    Members:
    
      UPPER_BAND
    
      R_MULTIPLE
    """
    R_MULTIPLE: typing.ClassVar[TargetMode]
    UPPER_BAND: typing.ClassVar[TargetMode]
    __members__: typing.ClassVar[dict[str, TargetMode]]
    @typing.overload
    def __eq__(self, other: TargetMode) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: TargetMode) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class PremarketMomentumParams:
    """
    premarket_momentum parameters. Prices in dollars, percentages in percent (20 = 20 %), times of day in minutes after New York midnight.
    """
    entry_mode: EntryMode
    entry_order: EntryOrder
    exit_on_vwap_loss: bool
    sizing: Sizing
    stop_mode: StopMode
    def __init__(self, **kwargs: typing.Any) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def cooldown_minutes(self) -> int:
        ...
    @cooldown_minutes.setter
    def cooldown_minutes(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def entry_until_minutes(self) -> int:
        ...
    @entry_until_minutes.setter
    def entry_until_minutes(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def flat_by_minutes(self) -> int:
        ...
    @flat_by_minutes.setter
    def flat_by_minutes(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def limit_offset(self) -> float:
        ...
    @limit_offset.setter
    def limit_offset(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def max_minutes_in_trade(self) -> int:
        ...
    @max_minutes_in_trade.setter
    def max_minutes_in_trade(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def max_spread(self) -> float:
        ...
    @max_spread.setter
    def max_spread(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def min_gap_percent(self) -> float:
        ...
    @min_gap_percent.setter
    def min_gap_percent(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def min_relative_volume(self) -> float:
        ...
    @min_relative_volume.setter
    def min_relative_volume(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def prior_close(self) -> float:
        ...
    @prior_close.setter
    def prior_close(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def pullback_bars(self) -> int:
        ...
    @pullback_bars.setter
    def pullback_bars(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def quantity(self) -> float:
        ...
    @quantity.setter
    def quantity(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def relative_volume_sessions(self) -> int:
        ...
    @relative_volume_sessions.setter
    def relative_volume_sessions(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def stop_percent(self) -> float:
        ...
    @stop_percent.setter
    def stop_percent(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def target_percent(self) -> float:
        ...
    @target_percent.setter
    def target_percent(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def trailing_stop_percent(self) -> float:
        ...
    @trailing_stop_percent.setter
    def trailing_stop_percent(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class PremarketMomentum(Strategy):
    def __init__(self, params: PremarketMomentumParams) -> None:
        ...
    @property
    def entry_price(self) -> float:
        ...
    @property
    def params(self) -> PremarketMomentumParams:
        ...
    @property
    def premarket_high(self) -> float:
        ...
    @property
    def relative_volume(self) -> float:
        ...
    @property
    def spread(self) -> float:
        ...
    @property
    def stop(self) -> float:
        ...
    @property
    def target(self) -> float:
        ...
    @property
    def vwap(self) -> float:
        ...
class VwapReclaimParams:
    """
    vwap_reclaim parameters. Prices in dollars, bands in standard deviations, the target in R multiples.
    """
    anchor: tradecore._core.indicators.VWAPAnchor
    exit_on_vwap_loss: bool
    pullback_to: PullbackTo
    sizing: Sizing
    target_mode: TargetMode
    volume_confirmation: bool
    def __init__(self, **kwargs: typing.Any) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def band_multiplier(self) -> float:
        ...
    @band_multiplier.setter
    def band_multiplier(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def max_pullback_bars(self) -> int:
        ...
    @max_pullback_bars.setter
    def max_pullback_bars(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def quantity(self) -> float:
        ...
    @quantity.setter
    def quantity(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def stop_offset(self) -> float:
        ...
    @stop_offset.setter
    def stop_offset(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def target_r(self) -> float:
        ...
    @target_r.setter
    def target_r(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def trend_bars(self) -> int:
        ...
    @trend_bars.setter
    def trend_bars(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def volume_factor(self) -> float:
        ...
    @volume_factor.setter
    def volume_factor(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def volume_period(self) -> int:
        ...
    @volume_period.setter
    def volume_period(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class VwapReclaim(Strategy):
    def __init__(self, params: VwapReclaimParams = ...) -> None:
        ...
    @property
    def bars_above(self) -> int:
        ...
    @property
    def entry_price(self) -> float:
        ...
    @property
    def lower_band(self) -> float:
        ...
    @property
    def params(self) -> VwapReclaimParams:
        ...
    @property
    def pullback_low(self) -> float:
        ...
    @property
    def stop(self) -> float:
        ...
    @property
    def upper_band(self) -> float:
        ...
    @property
    def vwap(self) -> float:
        ...
def run_groups(engines: list[SymbolEngine | None], kind: typing.SupportsInt | typing.SupportsIndex, events: numpy.ndarray, cuts: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], start: typing.SupportsInt | typing.SupportsIndex, at: numpy.typing.NDArray[numpy.int64], keep_bars: bool = True, ids: typing.Annotated[numpy.typing.ArrayLike, numpy.int64] | None = None) -> tuple[int, StopReason | None, int]:
    """
    Run groups ``start``.. of a frame through their engines in order: engines[i] (a SymbolEngine, or None for a group the caller handles) gets events[cuts[i]:cuts[i+1]]. Stops at the first group whose engine stopped or has output, or that is None, and returns (i, stop reason or None, the engine's events_processed before the group); (number of groups, EXHAUSTED, 0) when every group ran. While a group runs, at[0] is its index (the group that raised, if one does; -1 when the frame's arrays were refused before any group ran). Kinds: 0 trades, 1 quotes, 2 bars, 3 statuses. ``keep_bars=False``: an engine whose output is only closed bars drops them and goes on (for a caller that reads no bars). ``ids`` (int64, one per group): group i's engine is engines[ids[i]] instead, None when that is outside the list (a table of engines by instrument id).
    """
