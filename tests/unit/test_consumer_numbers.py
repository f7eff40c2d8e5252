"""Consumer numbers: ten digits whose Verhoeff check digit refuses every single-digit
mistake and every swap of two adjacent digits, with a message a customer can act on."""

from __future__ import annotations

import pytest

from functions.core.errors import InvalidInput
from functions.core.payments.quick_pay import mask_name
from functions.core.properties.consumer_numbers import (
    check_digit,
    display,
    from_serial,
    is_valid,
    parse,
)


def test_known_verhoeff_check_digits():
    # The published example: 236 -> 3 (2363 is valid).
    assert check_digit("236") == "3" and is_valid("2363") and not is_valid("2364")


def test_numbers_are_ten_digits_valid_and_distinct():
    numbers = [from_serial(n) for n in range(1, 2001)]
    assert all(len(n) == 10 and is_valid(n) for n in numbers)
    assert len(set(numbers)) == len(numbers)


@pytest.mark.parametrize("serial", [1, 17, 4242, 999_999])
def test_every_single_digit_error_and_adjacent_swap_is_caught(serial):
    number = from_serial(serial)
    for i in range(10):
        for digit in "0123456789":
            if digit != number[i]:
                assert not is_valid(number[:i] + digit + number[i + 1:])
    for i in range(9):
        if number[i] != number[i + 1]:
            assert not is_valid(number[:i] + number[i + 1] + number[i] + number[i + 2:])


def test_parse_accepts_spaces_and_dashes_and_explains_refusals():
    number = from_serial(17)
    assert parse(display(number)) == number
    assert parse(f"{number[:4]}-{number[4:]}") == number
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(InvalidInput, match="a digit is wrong or two digits are swapped"):
        parse(wrong)
    with pytest.raises(InvalidInput, match="has 10 digits"):
        parse("12345")
    with pytest.raises(InvalidInput, match="has 10 digits"):
        parse("१२३४५६७८९०")  # Devanagari digits: not what is printed on the bill


def test_a_masked_name_keeps_only_initials():
    assert mask_name("Asha Rao") == "A*** R**"
    assert mask_name("  Kavya   Menon ") == "K**** M****"
