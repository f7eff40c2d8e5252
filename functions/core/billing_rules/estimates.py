"""Estimated bills for meters that did not answer, and the true-up that
corrects them when an actual reading arrives.

Estimate: the mean of the property's last (up to) 3 ACTUAL monthly units,
rounded half-up to whole units; no estimate without any actual history.

True-up: an estimate is never a reading, so the next actual reading is checked
against the last ACTUAL one (readings.validate_reading with months_covered =
estimated periods + 1). Then
    units to bill = actual units since the last actual reading
                    - units already billed on the estimates in between,
never below 0. If the estimates billed more than was used, the excess is a
credit: valued at the average energy rate the estimated bills charged
(`credit_amount`) and passed to tariff.price(estimate_credit=...), which takes
it off the energy charge before the percentage charges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from functions.core.money import ZERO, round_paise

ESTIMATE_WINDOW_MONTHS = 3


@dataclass(frozen=True)
class TrueUp:
    units_to_bill: int
    credit_units: int  # over-estimated units to give back; 0 if none


def estimate_units(actual_history: Sequence[int]) -> int | None:
    """Estimated units for a period: mean of the last 3 actual months (oldest
    first in `actual_history`; estimated months must not be in it)."""
    recent = list(actual_history)[-ESTIMATE_WINDOW_MONTHS:]
    if not recent:
        return None
    if any(units < 0 for units in recent):
        raise ValueError("monthly units cannot be negative")
    mean = Decimal(sum(recent)) / len(recent)
    return int(mean.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def true_up(actual_units_since_last_actual: int,
            estimated_units_billed: Sequence[int]) -> TrueUp:
    if actual_units_since_last_actual < 0 or any(u < 0 for u in estimated_units_billed):
        raise ValueError("units cannot be negative")
    difference = actual_units_since_last_actual - sum(estimated_units_billed)
    if difference >= 0:
        return TrueUp(units_to_bill=difference, credit_units=0)
    return TrueUp(units_to_bill=0, credit_units=-difference)


def credit_amount(credit_units: int, estimated_units_total: int,
                  estimated_energy_total: Decimal) -> Decimal:
    """Rupees for `credit_units`, at the average energy rate the estimated bills
    charged (their energy charges / their units), rounded to paise."""
    if credit_units < 0 or credit_units > estimated_units_total:
        raise ValueError("credit_units must be between 0 and the units estimated")
    if credit_units == 0:
        return ZERO
    average_rate = Fraction(estimated_energy_total) / estimated_units_total
    return round_paise(credit_units * average_rate)
