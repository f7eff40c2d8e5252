from decimal import Decimal
from fractions import Fraction

import pytest
from pydantic import BaseModel, ValidationError

from functions.core.money import (
    ExactDecimal,
    format_inr,
    from_paise,
    percent_of,
    round_paise,
    rupees,
    sum_money,
    to_paise,
)


class TestRupees:
    @pytest.mark.parametrize(("given", "expected"), [
        ("4.50", Decimal("4.50")),
        (" 12 ", Decimal("12")),
        (7, Decimal("7")),
        (Decimal("0.125"), Decimal("0.125")),  # exact: rates may have more than 2 places
        ("1E+2", Decimal("100")),  # never kept in exponent form
    ])
    def test_parses_exactly(self, given, expected):
        amount = rupees(given)
        assert amount == expected
        assert str(amount) == str(expected)

    @pytest.mark.parametrize("given", [4.5, 0.1, True, None, [1]])
    def test_refuses_float_and_other_types(self, given):
        with pytest.raises(TypeError):
            rupees(given)

    @pytest.mark.parametrize("given", ["abc", "", "NaN", "Infinity", "-inf"])
    def test_refuses_non_numbers(self, given):
        with pytest.raises(ValueError, match="number"):
            rupees(given)


class TestRoundPaise:
    @pytest.mark.parametrize(("given", "expected"), [
        ("1.005", "1.01"),  # half a paisa rounds up (ROUND_HALF_UP, not banker's)
        ("1.015", "1.02"),
        ("1.025", "1.03"),  # banker's rounding would give 1.02
        ("1.0049", "1.00"),
        ("-1.005", "-1.01"),  # half away from zero
        ("-1.0049", "-1.00"),
        ("7", "7.00"),
    ])
    def test_half_up_to_two_places(self, given, expected):
        assert str(round_paise(Decimal(given))) == expected

    def test_rounds_fractions_from_their_exact_value(self):
        assert round_paise(Fraction(15000, 31)) == Decimal("483.87")  # 483.8709...
        assert round_paise(Fraction(201, 200)) == Decimal("1.01")  # exactly 1.005
        assert round_paise(Fraction(-201, 200)) == Decimal("-1.01")
        assert round_paise(Fraction(1, 3)) == Decimal("0.33")

    def test_refuses_float(self):
        with pytest.raises(TypeError):
            round_paise(1.005)  # type: ignore[arg-type]


class TestPaise:
    def test_round_trip(self):
        assert to_paise(Decimal("1380.00")) == 138000
        assert to_paise(Decimal("-0.05")) == -5
        assert to_paise(Decimal("12")) == 1200
        assert from_paise(138000) == Decimal("1380.00")
        assert str(from_paise(-5)) == "-0.05"

    def test_unrounded_amount_is_a_bug_not_rounded_silently(self):
        with pytest.raises(ValueError, match="fraction of a paisa"):
            to_paise(Decimal("1.005"))

    def test_types(self):
        with pytest.raises(TypeError):
            to_paise(1.5)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            from_paise(Decimal(5))  # type: ignore[arg-type]


class TestTheRoundingRule:
    def test_percentage_is_on_rounded_items_and_total_is_sum_of_rounded_items(self):
        # Two line items of 0.125 each round to 0.13 (half up); the exact sum 0.25
        # would give another total. The bill total is the sum of rounded items: 0.26.
        items = [round_paise(Decimal("0.125")), round_paise(Decimal("0.125"))]
        assert items == [Decimal("0.13"), Decimal("0.13")]
        assert sum_money(items) == Decimal("0.26")
        # A 10% surcharge on those items is on 0.26, not on the exact 0.25.
        assert percent_of(sum_money(items), Decimal(10)) == Decimal("0.03")  # 0.026 -> 0.03

    def test_percent_of(self):
        assert percent_of(Decimal("1200.00"), Decimal(7)) == Decimal("84.00")
        assert percent_of(Decimal("1333.87"), Decimal(8)) == Decimal("106.71")  # 106.7096
        assert percent_of(Decimal("0.50"), Decimal(1)) == Decimal("0.01")  # 0.005 -> 0.01

    def test_sum_of_nothing_is_zero_with_paise(self):
        assert str(sum_money([])) == "0.00"


class TestFormatInr:
    @pytest.mark.parametrize(("amount", "text"), [
        ("123456.78", "₹1,23,456.78"),
        ("1380", "₹1,380.00"),
        ("12345678.9", "₹1,23,45,678.90"),
        ("999", "₹999.00"),
        ("1000", "₹1,000.00"),
        ("100000", "₹1,00,000.00"),
        ("0", "₹0.00"),
        ("0.004", "₹0.00"),
        ("0.005", "₹0.01"),
        ("-1500", "-₹1,500.00"),
        ("-123456.785", "-₹1,23,456.79"),
        ("-0.001", "₹0.00"),  # no "minus zero"
    ])
    def test_indian_grouping(self, amount, text):
        assert format_inr(Decimal(amount)) == text


class _Body(BaseModel):
    amount: ExactDecimal


class TestExactDecimalField:
    def test_accepts_numeric_strings_and_ints(self):
        assert _Body.model_validate_json('{"amount": "4.50"}').amount == Decimal("4.50")
        assert _Body.model_validate_json('{"amount": 4}').amount == Decimal(4)
        assert _Body.model_validate({"amount": Decimal("1.25")}).amount == Decimal("1.25")

    def test_rejects_json_float(self):
        with pytest.raises(ValidationError, match="must be sent as strings"):
            _Body.model_validate_json('{"amount": 4.5}')
        with pytest.raises(ValidationError, match="must be sent as strings"):
            _Body.model_validate({"amount": 4.5})

    @pytest.mark.parametrize("raw", ['"NaN"', '"Infinity"', "true", '"four"'])
    def test_rejects_non_numbers(self, raw):
        with pytest.raises(ValidationError):
            _Body.model_validate_json(f'{{"amount": {raw}}}')
