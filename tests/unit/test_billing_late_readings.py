"""Issue 16, item 2: a live register read long after its period ended is held
for review, not billed as that period's consumption."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.core.billing_rules import BillingPeriod, RegisterReading, validate_reading
from functions.core.billing_rules.readings import MAX_LIVE_READING_DELAY

MARCH = BillingPeriod.parse("2025-03")
PREVIOUS = RegisterReading(100_000, datetime(2025, 3, 1, tzinfo=UTC))


def check(read_at: datetime, period_end: datetime | None = MARCH.end_utc):
    return validate_reading(RegisterReading(250_000, read_at), PREVIOUS,
                            now=datetime(2026, 1, 1, tzinfo=UTC), period_end=period_end)


def test_a_reading_soon_after_the_period_is_billed():
    assert check(MARCH.end_utc + timedelta(hours=3)).accepted
    assert check(MARCH.end_utc + MAX_LIVE_READING_DELAY).accepted


def test_a_reading_long_after_the_period_is_held_with_its_units():
    late = check(MARCH.end_utc + MAX_LIVE_READING_DELAY + timedelta(minutes=1))
    assert (late.status.value, late.reason.value) == ("held", "read_long_after_period")
    assert late.units == 150
    assert "31 days after the period ended" in late.detail


def test_months_later_is_held_and_no_period_means_no_such_check():
    assert check(datetime(2025, 9, 1, tzinfo=UTC)).status.value == "held"
    assert check(datetime(2025, 9, 1, tzinfo=UTC), period_end=None).accepted
