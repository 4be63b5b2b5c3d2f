"""The one float -> Decimal conversion of the execution layer, and the native prices on it."""

from __future__ import annotations

from decimal import Decimal as D
from decimal import InvalidOperation

import numpy as np
import pytest
from tradecore.execution.market import price, to_decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),  # the shortest decimal that reads back as the float, not 0.1000000000000000055...
        (np.float64(0.1), "0.1"),
        (np.float32(2.5), "2.5"),
        (np.int64(7), "7"),
        (10, "10"),
        (1e-07, "1E-7"),
        ("3.140", "3.140"),
    ],
)
def test_numbers_become_the_decimal_they_stand_for(value: object, expected: str) -> None:
    result = to_decimal(value)
    assert isinstance(result, D) and str(result) == expected


def test_a_decimal_is_returned_as_it_is() -> None:
    value = D("1.50")
    assert to_decimal(value) is value


def test_text_that_is_no_number_raises_an_arithmetic_error() -> None:
    with pytest.raises(InvalidOperation):
        to_decimal("ten")


def test_native_prices_keep_six_places() -> None:
    assert price(5.1234567) == D("5.123457") and price(np.float64(2.02)) == D("2.02")
