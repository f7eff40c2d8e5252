"""Prepaid daily debits: the increment of the month-to-date charge.

A prepaid connection is charged every day, by the same tariff engine as a
postpaid bill, so that a month's debits add up to the postpaid bill of the same
consumption to the paisa:

    charge_to_date(d) = the bill of the month priced as if it ended on day d:
        consumption so far (slabs applied to it), and every per-period amount
        (fixed, demand, minimum, flat, slab widths, subsidy bands and caps)
        scaled by d / days-in-month, so fixed charges accrue per day;
    debit(d) = charge_to_date(d) - the debits already posted this month.

Slab widths and subsidy bands accrue by day too (the tariff engine scales them
with the same fraction), so a steady consumer is debited a steady amount.

On the month's last day charge_to_date is exactly `price_period` of the whole
month (the same segments, widths and shares), and the debits telescope to it:
sum(debits) = charge_to_date(last day) = the postpaid bill. A day that was
missed (the meter did not answer) is caught up by the next day's debit, since
each debit is measured against what was actually posted. A debit may be
negative (a subsidy band reached, net-metering export): it is then a credit.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from functions.core.billing_rules.errors import BillingRuleError
from functions.core.billing_rules.tariff import (
    PricedBill,
    TariffVersion,
    Usage,
    _price,
    versions_in_period,
)
from functions.core.money import ZERO


def month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    return first, day.replace(day=calendar.monthrange(day.year, day.month)[1])


def charge_to_date(versions: Iterable[TariffVersion], category: str, day: date,
                   units_to_date: int | Decimal, sanctioned_load_kw: int | Decimal, *,
                   usage: Usage | None = None, banked_units: int = 0) -> PricedBill:
    """The month's bill as if the month ended on `day` (see the module docstring)."""
    first, last = month_bounds(day)
    month_days = (last - first).days + 1
    elapsed = (day - first).days + 1
    segments = versions_in_period(list(versions), category, first, day)
    # width: the segment's share of the whole month (per-period amounts accrue by day);
    # share: its share of the units so far (as price_period splits a month's units).
    parts = [(s, Fraction(s.days, month_days), Fraction(s.days, elapsed)) for s in segments]
    return _price(parts, units_to_date, sanctioned_load_kw, ZERO, usage, banked_units,
                  dated=True)


@dataclass(frozen=True)
class DailyDebit:
    day: date
    amount: Decimal  # rupees, paise precision; may be negative (a credit)
    charge_to_date: Decimal
    posted_before: Decimal
    units_to_date: Decimal
    explanation: str


def daily_debit(versions: Iterable[TariffVersion], category: str, day: date,
                units_to_date: int | Decimal, sanctioned_load_kw: int | Decimal,
                posted_this_month: Decimal, *, usage: Usage | None = None,
                banked_units: int = 0) -> DailyDebit:
    """The debit of `day`: the month-to-date charge less what this month's
    earlier debits already took (`posted_this_month`, the ledger's sum)."""
    if units_to_date < 0:
        raise BillingRuleError("units so far this month cannot be negative")
    priced = charge_to_date(versions, category, day, units_to_date, sanctioned_load_kw,
                            usage=usage, banked_units=banked_units)
    amount = priced.total - posted_this_month
    first, last = month_bounds(day)
    explanation = (f"{priced.units} kWh since {first:%d %b}: charge to date "
                   f"{priced.total:.2f} ({(day - first).days + 1}/{last.day} of the month's "
                   f"fixed charges) less {posted_this_month:.2f} already debited")
    return DailyDebit(day=day, amount=amount, charge_to_date=priced.total,
                      posted_before=posted_this_month, units_to_date=priced.units,
                      explanation=explanation)


__all__ = ["DailyDebit", "charge_to_date", "daily_debit", "month_bounds"]
