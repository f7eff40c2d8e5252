"""Billing periods and Indian Standard Time.

A billing period is one calendar month in IST, written "YYYY-MM". It starts at
00:00 IST on the 1st (18:30 UTC the day before) and ends, exclusive, at 00:00 IST
on the 1st of the next month. Instants are stored in UTC; IST is only for
deciding which day/month an instant belongs to and for showing it to people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from pydantic import AfterValidator, Field

from functions.core.billing_rules.errors import InvalidPeriod
from functions.core.clock import IST

_PERIOD_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})")  # not \d: it also matches non-ASCII digits
FIRST_YEAR, LAST_YEAR = 2000, 2100  # a sanity range: catches typos like 0226-10
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # not %b: that depends on the locale


@dataclass(frozen=True, order=True)
class BillingPeriod:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not FIRST_YEAR <= self.year <= LAST_YEAR:
            raise InvalidPeriod(f"billing period year {self.year} is outside "
                                f"{FIRST_YEAR}-{LAST_YEAR}")
        if not 1 <= self.month <= 12:
            raise InvalidPeriod(f"billing period month {self.month} is not 01-12")

    @classmethod
    def parse(cls, text: str) -> BillingPeriod:
        match = _PERIOD_TEXT.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidPeriod(f"billing period must look like 2026-10, got {text!r}")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    @property
    def days(self) -> int:
        return self.last_day.day

    @property
    def start_utc(self) -> datetime:
        return ist_midnight_utc(self.first_day)

    @property
    def end_utc(self) -> datetime:
        """Exclusive end: the start of the next period."""
        return self.next().start_utc

    def contains(self, moment: datetime) -> bool:
        return self.start_utc <= _require_aware(moment) < self.end_utc

    def next(self) -> BillingPeriod:
        if self.month == 12:
            return BillingPeriod(self.year + 1, 1)
        return BillingPeriod(self.year, self.month + 1)

    def previous(self) -> BillingPeriod:
        if self.month == 1:
            return BillingPeriod(self.year - 1, 12)
        return BillingPeriod(self.year, self.month - 1)


def parse_period(text: str) -> BillingPeriod:
    return BillingPeriod.parse(text)


def period_of(moment: datetime) -> BillingPeriod:
    """The billing period an instant falls in, by its IST calendar month."""
    local = to_ist(moment)
    return BillingPeriod(local.year, local.month)


def ist_midnight_utc(day: date) -> datetime:
    """00:00 IST on `day`, as a UTC datetime."""
    return datetime.combine(day, time(0, 0), tzinfo=IST).astimezone(UTC)


def to_ist(moment: datetime) -> datetime:
    return _require_aware(moment).astimezone(IST)


def ist_date(moment: datetime) -> date:
    """The IST calendar date of an instant (what a customer would call 'that day')."""
    return to_ist(moment).date()


def format_ist(moment: datetime) -> str:
    """'05 Oct 2026, 02:30 PM IST' for bills and pages."""
    local = to_ist(moment)
    return f"{format_ist_date(local.date())}, {local:%I:%M %p} IST"


def format_ist_date(day: date) -> str:
    """'05 Oct 2026'."""
    return f"{day.day:02d} {_MONTHS[day.month - 1]} {day.year}"


def due_date(issued_at: datetime, due_days: int) -> date:
    """The last day to pay without surcharge: the IST issue date plus `due_days`."""
    if due_days < 0:
        raise ValueError("due_days must not be negative")
    return ist_date(issued_at) + timedelta(days=due_days)


def is_overdue(due: date, now: datetime) -> bool:
    """Unpaid is overdue once the IST calendar day after the due date has begun."""
    return ist_date(now) > due


def _require_aware(moment: datetime) -> datetime:
    # A naive datetime is a bug upstream: we cannot know whether it meant UTC or IST.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware (UTC in storage)")
    return moment


def _validate_period_text(text: str) -> str:
    return str(BillingPeriod.parse(text))


# Pydantic field type for request bodies: a "YYYY-MM" string, checked.
PeriodText = Annotated[str, AfterValidator(_validate_period_text),
                       # for /openapi.json; the validator above is the check
                       Field(json_schema_extra={"pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])$",
                                                "examples": ["2026-05"]})]
