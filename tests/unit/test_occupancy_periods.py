"""occupants_for_period: who pays for which IST days of a billing period."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from functions.core.billing_rules.occupancy import split_by_days
from functions.core.billing_rules.periods import BillingPeriod
from functions.core.billing_rules.tariff import LineItem, PricedBill
from functions.core.properties.models import PropertyRecord, TenancyRecord
from functions.core.properties.occupancy import occupants_for_period

OCT = BillingPeriod(2026, 10)  # 31 days; starts 2026-09-30T18:30Z
OWNER = "usr_owner"


def prop() -> PropertyRecord:
    return PropertyRecord(property_id="prp_1", owner_id=OWNER)


def tenancy(tenant: str | None, start: datetime | None, end: datetime | None = None,
            tid: str = "ten_1") -> TenancyRecord:
    return TenancyRecord(property_id="prp_1", tenancy_id=tid, owner_id=OWNER,
                         invite_email=f"{tenant}@example.in", tenant_id=tenant,
                         start_date=start, end_date=end,
                         status="active" if end is None else "ended",
                         invited_at=datetime(2026, 1, 1, tzinfo=UTC))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def summary(result):
    return [(o.payer_id, o.start, o.end, o.days) for o in result]


def test_no_tenancy_the_owner_occupies_the_whole_period():
    result = occupants_for_period(prop(), [], OCT.start_utc, OCT.end_utc)
    assert summary(result) == [(OWNER, date(2026, 10, 1), date(2026, 10, 31), 31)]
    assert result[0].is_owner


def test_tenant_for_the_whole_period():
    lease = tenancy("usr_t", utc(2026, 3, 4, 10, 0))
    result = occupants_for_period(prop(), [lease], OCT.start_utc, OCT.end_utc)
    assert summary(result) == [("usr_t", date(2026, 10, 1), date(2026, 10, 31), 31)]
    assert not result[0].is_owner


def test_tenant_change_inside_the_period_splits_by_ist_days():
    # Tenant A leaves on 10 Oct 11:00 IST; B moves in on 20 Oct 00:10 IST
    # (19 Oct 18:40 UTC, still the 19th in UTC: the IST date decides).
    a = tenancy("usr_a", utc(2026, 5, 1, 6, 0), utc(2026, 10, 10, 5, 30), tid="ten_a")
    b = tenancy("usr_b", utc(2026, 10, 19, 18, 40), tid="ten_b")
    result = occupants_for_period(prop(), [b, a], OCT.start_utc, OCT.end_utc)
    assert summary(result) == [
        ("usr_a", date(2026, 10, 1), date(2026, 10, 9), 9),   # move-out day is not A's
        (OWNER, date(2026, 10, 10), date(2026, 10, 19), 10),
        ("usr_b", date(2026, 10, 20), date(2026, 10, 31), 12),  # move-in day is B's
    ]
    assert sum(o.days for o in result) == OCT.days


def test_handover_on_the_same_day_goes_to_the_incoming_tenant():
    a = tenancy("usr_a", utc(2026, 9, 1), utc(2026, 10, 15, 4, 0), tid="ten_a")
    b = tenancy("usr_b", utc(2026, 10, 15, 9, 0), tid="ten_b")
    result = occupants_for_period(prop(), [a, b], OCT.start_utc, OCT.end_utc)
    assert summary(result) == [("usr_a", date(2026, 10, 1), date(2026, 10, 14), 14),
                               ("usr_b", date(2026, 10, 15), date(2026, 10, 31), 17)]


def test_a_tenancy_within_one_day_and_unaccepted_invitations_cover_nothing():
    same_day = tenancy("usr_a", utc(2026, 10, 5, 4, 0), utc(2026, 10, 5, 12, 0), tid="ten_a")
    invited = tenancy(None, None, tid="ten_b")
    result = occupants_for_period(prop(), [same_day, invited], OCT.start_utc, OCT.end_utc)
    assert summary(result) == [(OWNER, date(2026, 10, 1), date(2026, 10, 31), 31)]


def test_tenancies_outside_the_period_are_ignored():
    before = tenancy("usr_a", utc(2026, 1, 1), utc(2026, 9, 30, 18, 29), tid="ten_a")  # 23:59 IST
    after = tenancy("usr_b", utc(2026, 10, 31, 18, 30), tid="ten_b")  # 1 Nov 00:00 IST
    result = occupants_for_period(prop(), [before, after], OCT.start_utc, OCT.end_utc)
    assert summary(result) == [(OWNER, date(2026, 10, 1), date(2026, 10, 31), 31)]


def test_result_tiles_the_period_and_feeds_the_bill_splitter():
    a = tenancy("usr_a", utc(2026, 5, 1), utc(2026, 10, 11, 6, 0), tid="ten_a")
    spans = [o.as_span() for o in occupants_for_period(prop(), [a], OCT.start_utc, OCT.end_utc)]
    line = LineItem(kind="energy", label="Energy", amount=Decimal("310.00"))
    zero = Decimal("0.00")
    bill = PricedBill(tariff_name="Test", category="residential",
                      tariff_effective_from=date(2026, 4, 1), units=Decimal("310"),
                      sanctioned_load_kw=Decimal("5"), lines=(line,),
                      energy_total=Decimal("310.00"), fixed_total=zero, percentage_total=zero,
                      flat_total=zero, total=Decimal("310.00"))
    shares = split_by_days(bill, spans, OCT)
    assert [(s.occupant_id, s.days, s.total) for s in shares] == [
        ("usr_a", 10, Decimal("100.00")), (OWNER, 21, Decimal("210.00"))]


def test_a_period_must_end_after_it_starts():
    with pytest.raises(ValueError):
        occupants_for_period(prop(), [], OCT.end_utc, OCT.start_utc)
