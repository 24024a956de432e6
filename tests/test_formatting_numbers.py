"""Amounts and numbers are written as babel writes them for fr_FR, also on the fast path for integers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_decimal

from marketplace.formatting import NNBSP, money_fr, number_fr

VALUES = [0, 1, -1, 99, 100, 101, 999_99, 1_000_00, 1_234_56, -1_234_56, 12_345_678_90, 10**15, -(10**15)]


@pytest.mark.parametrize("cents", VALUES)
def test_integer_amounts_read_as_babel_writes_them(cents):
    expected = format_decimal(Decimal(cents) / 100, format="#,##0.00", locale="fr_FR").replace(
        "\u00a0", NNBSP
    )
    assert money_fr(cents) == f"{expected}\u00a0€"
    assert money_fr(cents, "HT") == f"{expected}\u00a0€ HT"
    assert number_fr(cents) == format_decimal(cents, locale="fr_FR").replace("\u00a0", NNBSP)


def test_examples():
    assert money_fr(123456) == "1\u202f234,56\u00a0€"
    assert money_fr(-5) == "-0,05\u00a0€"
    assert number_fr(1_000) == "1\u202f000"
    assert money_fr(Decimal("12.5")) == "0,12\u00a0€"  # not an integer: babel's rounding (half even)
