"""Splitting a property's bill between the occupants of a billing period.

The property's consumption is priced once, for the whole period, with the full
slabs (tariff.price). The priced bill is then divided line by line in
proportion to the days each occupant held the property, so the shares always
add up to the bill exactly.

Rounding of shares: each line is split by cumulative rounding. With cumulative
days C_1 < C_2 < ... < C_n = D (days in the period), occupant i gets
    round_paise(amount x C_i / D) - round_paise(amount x C_(i-1) / D).
Each share is within one paisa of its exact value, the shares of a line add up to
the line exactly, and the paise left over by rounding the earlier shares go
to the last one. (Rounding each earlier share on its own and giving the last
"the rest" can leave the last occupant a negative share of a small line.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

from functions.core.billing_rules.errors import InvalidOccupancy
from functions.core.billing_rules.periods import BillingPeriod
from functions.core.billing_rules.tariff import LineItem, PricedBill
from functions.core.money import round_paise, sum_money

_MILLI = Decimal("0.001")


@dataclass(frozen=True)
class OccupancySpan:
    """Who occupied the property, from first_day to last_day inclusive (IST dates).
    Vacant days belong to the owner: the caller lists the owner for them."""

    occupant_id: str
    first_day: date
    last_day: date

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


class BillShare(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    occupant_id: str
    first_day: date
    last_day: date
    days: int
    days_fraction: str  # "12/31"
    units: Decimal  # share of the period's units, to 0.001 kWh (for display)
    lines: tuple[LineItem, ...]  # each line of the bill, this occupant's amount
    total: Decimal


def split_by_days(bill: PricedBill, spans: Sequence[OccupancySpan],
                  period: BillingPeriod) -> list[BillShare]:
    """One share per span, in date order. The spans must cover every day of the
    period exactly once (InvalidOccupancy otherwise)."""
    ordered = sorted(spans, key=lambda span: span.first_day)
    _check_tiles_period(ordered, period)
    day_counts = [span.days for span in ordered]

    split_lines = [_split(Fraction(line.amount), day_counts, round_paise) for line in bill.lines]
    split_units = _split(Fraction(bill.units), day_counts, _round_milli)

    shares = []
    for i, span in enumerate(ordered):
        lines = tuple(
            LineItem(kind=line.kind, label=line.label, amount=amounts[i])
            for line, amounts in zip(bill.lines, split_lines, strict=True)
        )
        shares.append(BillShare(
            occupant_id=span.occupant_id,
            first_day=span.first_day,
            last_day=span.last_day,
            days=span.days,
            days_fraction=f"{span.days}/{period.days}",
            units=split_units[i],
            lines=lines,
            total=sum_money(line.amount for line in lines),
        ))
    return shares


def _split(total: Fraction, weights: Sequence[int],
           rounder: Callable[[Fraction], Decimal]) -> list[Decimal]:
    """Cumulative rounding (see the module docstring): the parts add up to total."""
    whole = sum(weights)
    parts = []
    cumulative, rounded_so_far = 0, rounder(Fraction(0))
    for weight in weights:
        cumulative += weight
        rounded_upto_here = rounder(total * cumulative / whole)
        parts.append(rounded_upto_here - rounded_so_far)
        rounded_so_far = rounded_upto_here
    return parts


def _round_milli(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(_MILLI, rounding=ROUND_HALF_UP)


def _check_tiles_period(spans: Sequence[OccupancySpan], period: BillingPeriod) -> None:
    if not spans:
        raise InvalidOccupancy(f"no occupant for billing period {period}")
    expected_start = period.first_day
    for span in spans:
        if span.last_day < span.first_day:
            raise InvalidOccupancy(f"occupancy of {span.occupant_id} ends "
                                   f"{span.last_day} before it starts {span.first_day}")
        if span.first_day < expected_start:
            raise InvalidOccupancy(f"occupancy of {span.occupant_id} from {span.first_day} "
                                   f"overlaps the previous one or starts before {period}")
        if span.first_day > expected_start:
            raise InvalidOccupancy(f"nobody is recorded as occupant from {expected_start} "
                                   f"to {span.first_day - timedelta(days=1)}")
        expected_start = span.last_day + timedelta(days=1)
    if expected_start - timedelta(days=1) != period.last_day:
        raise InvalidOccupancy(f"occupancy must end on {period.last_day}, the last day of "
                               f"{period}, not {expected_start - timedelta(days=1)}")
