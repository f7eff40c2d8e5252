"""Money: `Decimal` rupees with paise precision. Never float.

The rounding rule (the only one in the platform):

1. Every line item of a bill is computed exactly (units x rate, load x rate,
   base x percent / 100, ...) and then rounded once to whole paise with
   ROUND_HALF_UP (a half paisa goes away from zero: 0.005 -> 0.01,
   -0.005 -> -0.01).
2. A percentage charge is computed on the sum of the *rounded* line items it
   is based on, never on unrounded intermediate values.
3. Subtotals and the bill total are plain sums of rounded line items, so they
   need no rounding of their own and always equal what the customer can add
   up from the printed bill.

Amounts are parsed from `str`, `int` or `Decimal`. A float is refused with
TypeError: 4.1 as a float is 4.0999999999999996447..., so it is ambiguous as
money. `rupees()` parses exactly and does not round (tariff rates may have
more than two decimals); `round_paise()` applies rule 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

PAISA = Decimal("0.01")
ZERO = Decimal("0.00")
RUPEE_SIGN = "\u20b9"


def rupees(value: str | int | Decimal) -> Decimal:
    """Parse an exact rupee amount. Floats (and bools) raise TypeError;
    text that is not a finite number raises ValueError."""
    return exact_decimal(value, what="money")


def exact_decimal(value: str | int | Decimal, what: str = "a number") -> Decimal:
    """The same parsing rules for any exact quantity (kW, kWh, percent)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(
            f"{what} must be given as str, int or Decimal, not {type(value).__name__}"
        )
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{what} is not a number: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return _plain(amount)


def round_paise(amount: Decimal | Fraction | int) -> Decimal:
    """Round to whole paise, half away from zero (rule 1 of the module docstring).

    Accepts a Fraction so that pro-rated amounts (x 15/31) are rounded from
    their exact value rather than from a truncated decimal expansion."""
    if isinstance(amount, float):
        raise TypeError("money must not be a float")
    if isinstance(amount, Fraction):
        return _round_fraction_to_paise(amount)
    return Decimal(amount).quantize(PAISA, rounding=ROUND_HALF_UP)


def to_paise(amount: Decimal) -> int:
    """Whole paise of an amount that is already rounded to paise.

    An amount with a fraction of a paisa means a rounding step was missed, so it
    raises ValueError instead of silently rounding a second time."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"expected Decimal, got {type(amount).__name__}")
    paise = amount * 100
    if paise != paise.to_integral_value():
        raise ValueError(f"{amount} has a fraction of a paisa; round_paise() it first")
    return int(paise)


def from_paise(paise: int) -> Decimal:
    """Rupees with two decimals from whole paise (the inverse of to_paise)."""
    if isinstance(paise, bool) or not isinstance(paise, int):
        raise TypeError(f"paise must be an int, got {type(paise).__name__}")
    return (Decimal(paise) / 100).quantize(PAISA)


def percent_of(base: Decimal, percent: Decimal) -> Decimal:
    """`percent`% of `base`, rounded to paise."""
    return round_paise(base * percent / 100)


def sum_money(amounts: Iterable[Decimal]) -> Decimal:
    """Sum of rounded amounts (rule 3); the result keeps two decimals even when empty."""
    return sum(amounts, ZERO).quantize(PAISA, rounding=ROUND_HALF_UP)


def format_inr(amount: Decimal) -> str:
    """`₹1,23,456.78`: the rupee sign and Indian digit grouping
    (last three digits, then groups of two). Negative: `-₹1,500.00`."""
    rounded = round_paise(amount)
    sign = "-" if rounded < 0 else ""  # -0.00 is shown as 0.00
    whole, fraction = f"{abs(rounded):.2f}".split(".")
    return f"{sign}{RUPEE_SIGN}{_indian_grouping(whole)}.{fraction}"


def _indian_grouping(digits: str) -> str:
    if len(digits) <= 3:
        return digits
    head, last_three = digits[:-3], digits[-3:]
    pairs: list[str] = []
    while len(head) > 2:
        head, pair = head[:-2], head[-2:]
        pairs.insert(0, pair)
    return ",".join([head, *pairs, last_three])


def _round_fraction_to_paise(amount: Fraction) -> Decimal:
    paise_exact = abs(amount) * 100
    paise = int(paise_exact + Fraction(1, 2))  # int() floors a non-negative Fraction
    signed = -paise if amount < 0 else paise
    return from_paise(signed)


def _plain(amount: Decimal) -> Decimal:
    """1E+2 -> 100, so amounts never print in exponent form."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return amount.quantize(Decimal(1), rounding=ROUND_DOWN)
    return amount


def _reject_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError(
            "numbers with a fraction must be sent as strings (for example \"4.50\"), "
            "a JSON float is not exact enough for money"
        )
    return value


# Pydantic field type for money and rates: accepts int, numeric strings and
# Decimal; rejects floats (JSON 4.5), bools, NaN and infinities.
ExactDecimal = Annotated[Decimal, BeforeValidator(_reject_float), AfterValidator(_plain)]
