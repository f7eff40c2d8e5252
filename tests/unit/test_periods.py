from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from functions.core.billing_rules.errors import InvalidPeriod
from functions.core.billing_rules.periods import (
    BillingPeriod,
    PeriodText,
    due_date,
    format_ist,
    format_ist_date,
    is_overdue,
    ist_date,
    parse_period,
    period_of,
    to_ist,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


class TestParse:
    def test_valid(self):
        period = parse_period("2026-10")
        assert (period.year, period.month) == (2026, 10)
        assert str(period) == "2026-10"

    @pytest.mark.parametrize("text", [
        "2026-13", "2026-00", "2026-1", "26-10", "2026/10", "2026-10-01", " 2026-10",
        "", "1999-12", "2101-01", "\uff12\uff10\uff12\uff16-10"  # full-width digits,
    ])
    def test_invalid(self, text):
        with pytest.raises(InvalidPeriod):
            parse_period(text)

    def test_not_a_string(self):
        with pytest.raises(InvalidPeriod):
            parse_period(202610)  # type: ignore[arg-type]

    def test_invalid_period_is_a_400_value_error(self):
        with pytest.raises(ValueError) as caught:
            BillingPeriod(2026, 13)
        assert caught.value.status == 400  # type: ignore[attr-defined]


class TestBoundaries:
    def test_start_and_end_are_ist_midnights_in_utc(self):
        period = parse_period("2026-10")
        assert period.start_utc == utc(2026, 9, 30, 18, 30)
        assert period.end_utc == utc(2026, 10, 31, 18, 30)  # exclusive
        assert period.start_utc.tzinfo is UTC

    def test_december_ends_in_the_next_year(self):
        period = parse_period("2026-12")
        assert period.end_utc == utc(2026, 12, 31, 18, 30)
        assert period.next() == BillingPeriod(2027, 1)
        assert BillingPeriod(2027, 1).previous() == period

    @pytest.mark.parametrize(("text", "days"), [
        ("2026-10", 31), ("2026-11", 30), ("2026-02", 28), ("2028-02", 29), ("2000-02", 29),
    ])
    def test_days(self, text, days):
        period = parse_period(text)
        assert period.days == days
        assert period.last_day == date(period.year, period.month, days)
        assert period.first_day == date(period.year, period.month, 1)

    def test_contains_uses_ist(self):
        october = parse_period("2026-10")
        assert not october.contains(utc(2026, 9, 30, 18, 29, 59))  # 23:59:59 IST 30 Sep
        assert october.contains(utc(2026, 9, 30, 18, 30))  # 00:00 IST 1 Oct
        assert october.contains(utc(2026, 10, 31, 18, 29, 59))
        assert not october.contains(utc(2026, 10, 31, 18, 30))  # 00:00 IST 1 Nov

    def test_period_of_an_instant(self):
        assert str(period_of(utc(2026, 9, 30, 18, 30))) == "2026-10"
        assert str(period_of(utc(2026, 9, 30, 18, 29))) == "2026-09"
        assert str(period_of(utc(2026, 12, 31, 19, 0))) == "2027-01"

    def test_periods_order(self):
        assert parse_period("2026-09") < parse_period("2026-10") < parse_period("2027-01")

    def test_naive_datetimes_are_refused(self):
        with pytest.raises(ValueError, match="timezone-aware"):
            parse_period("2026-10").contains(datetime(2026, 10, 5))


class TestIst:
    def test_to_ist(self):
        local = to_ist(utc(2026, 10, 5, 9, 0))
        assert (local.hour, local.minute) == (14, 30)
        assert local.utcoffset() == timedelta(hours=5, minutes=30)

    def test_to_ist_from_another_zone(self):
        new_york = timezone(timedelta(hours=-4))
        assert to_ist(datetime(2026, 10, 5, 0, 0, tzinfo=new_york)).hour == 9  # 04:00 UTC

    def test_format(self):
        assert format_ist(utc(2026, 10, 5, 9, 0)) == "05 Oct 2026, 02:30 PM IST"
        assert format_ist(utc(2026, 10, 4, 19, 0)) == "05 Oct 2026, 12:30 AM IST"
        assert format_ist_date(date(2027, 1, 9)) == "09 Jan 2027"

    def test_ist_date(self):
        assert ist_date(utc(2026, 10, 31, 18, 30)) == date(2026, 11, 1)

    def test_naive_refused(self):
        with pytest.raises(ValueError):
            to_ist(datetime(2026, 10, 5))


class TestDueDate:
    def test_issue_date_in_ist_plus_due_days(self):
        # 20:00 UTC on 31 Oct is 01:30 IST on 1 Nov: the bill is dated 1 Nov
        assert due_date(utc(2026, 10, 31, 20, 0), 15) == date(2026, 11, 16)
        assert due_date(utc(2026, 10, 31, 12, 0), 15) == date(2026, 11, 15)

    def test_negative_due_days(self):
        with pytest.raises(ValueError):
            due_date(utc(2026, 10, 31), -1)

    def test_overdue_from_the_day_after_the_due_date_in_ist(self):
        due = date(2026, 11, 15)
        assert not is_overdue(due, utc(2026, 11, 15, 18, 29))  # 23:59 IST on the due date
        assert is_overdue(due, utc(2026, 11, 15, 18, 30))  # 00:00 IST the next day


class _Body(BaseModel):
    period: PeriodText


def test_period_text_field():
    assert _Body.model_validate({"period": "2026-10"}).period == "2026-10"
    with pytest.raises(ValidationError, match="billing period month 13 is not 01-12"):
        _Body.model_validate({"period": "2026-13"})
