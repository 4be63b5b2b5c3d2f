"""The NumPy dtypes are the C++ structs, byte for byte; the integer enums are the C++ enums."""

import enum

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


# Every integer enum and flag set in tradecore.schema mirrors a native one of the same name.
MIRRORS = [value for value in vars(schema).values()
           if isinstance(value, type) and issubclass(value, (enum.IntEnum, enum.IntFlag))]


def test_the_mirrors_include_every_enum_python_code_hard_codes() -> None:
    assert {"Side", "OrderType", "TimeInForce", "OrderStatus", "OrderReason", "Sizing", "TradingState",
            "Session", "TradeFlag", "BarFlag"} <= {m.__name__ for m in MIRRORS}


@pytest.mark.parametrize("mirror", MIRRORS, ids=lambda m: m.__name__)
def test_python_enum_has_the_native_enums_names_and_values(mirror: type[enum.IntEnum]) -> None:
    native = getattr(_core, mirror.__name__, None) or getattr(_core.engine, mirror.__name__)
    theirs = {name: int(value) for name, value in native.__members__.items()}
    ours = {name: int(value) for name, value in mirror.__members__.items()}
    assert ours == theirs


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
