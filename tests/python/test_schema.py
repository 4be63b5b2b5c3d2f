"""The NumPy dtypes are the C++ structs, byte for byte."""

import numpy as np
import pytest

from tradecore import _core, schema
from tradecore.errors import ConfigError, DataError, Error


@pytest.mark.parametrize(
    ("name", "ours"),
    [
        ("Trade", schema.TRADE),
        ("Quote", schema.QUOTE),
        ("Bar", schema.BAR),
        ("QuoteBar", schema.QUOTE_BAR),
        ("Status", schema.STATUS),
        ("Luld", schema.LULD),
        ("Order", schema.ORDER),
        ("Fill", schema.FILL),
        ("OrderUpdate", schema.ORDER_UPDATE),
        ("TradeIntent", schema.TRADE_INTENT),
        ("TransitionRecord", schema.TRANSITION),
    ],
)
def test_python_dtype_matches_the_cpp_layout(name: str, ours: np.dtype) -> None:
    native = np.dtype(_core.native_dtypes[name])
    assert ours.itemsize == native.itemsize
    assert ours.names == native.names
    for field in ours.names:
        assert ours.fields[field][:2] == native.fields[field][:2], field


def test_timestamps_are_int64_nanoseconds() -> None:
    for dtype in (schema.TRADE, schema.QUOTE, schema.BAR, schema.QUOTE_BAR, schema.STATUS, schema.LULD):
        assert dtype["ts_event"] == np.dtype("<i8")


def test_sessions_match_the_native_enum() -> None:
    for member in schema.Session:
        assert int(getattr(_core.Session, member.name)) == member.value


def test_trading_states_match_the_native_enum() -> None:
    for member in schema.TradingState:
        assert int(getattr(_core.TradingState, member.name)) == member.value


def test_error_tree() -> None:
    assert issubclass(DataError, Error) and issubclass(DataError, ValueError)
    assert issubclass(ConfigError, Error) and issubclass(ConfigError, ValueError)


def test_empty_makes_zeroed_events() -> None:
    trades = schema.empty(schema.TRADE, 3)
    assert trades.shape == (3,) and trades.dtype == schema.TRADE
    assert not trades["price"].any()


def test_concatenate_keeps_the_c_layout() -> None:
    a, b = schema.empty(schema.BAR, 2), schema.empty(schema.BAR, 1)
    b["close"] = 5.0
    joined = schema.concatenate([a, b], schema.BAR)
    assert joined.dtype == schema.BAR and joined.dtype.itemsize == 80
    assert list(joined["close"]) == [0.0, 0.0, 5.0]
    assert np.concatenate([a, b]).dtype != schema.BAR  # the NumPy behaviour this guards against
