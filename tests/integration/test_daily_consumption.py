"""The consumption chart's API (issue 24 item 1): GET /meters/{id}/days over a range of IST
days gives the kWh of each day read in it (import, and export where the meter has it), one
range per chart view; a month with no reads is an empty list; ranges are bounded."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from functions.core.clock import IST, utcnow
from functions.core.properties.models import TENANCY_ACTIVE, PropertyRecord, TenancyRecord
from tests.fixtures.meter_days import daily_reads, metered_property


def test_a_range_gives_the_days_in_it_with_their_kwh(stack, customer, other_customer):
    _, meter_id = metered_property(customer[0].user_id)
    # 30 Nov to 31 Dec 2025 and 30 Nov to 5 Dec 2026: 4.5 kWh a day in, 1.25 kWh out.
    daily_reads(meter_id, date(2025, 11, 30), date(2025, 12, 31), export_wh_per_day=1250)
    daily_reads(meter_id, date(2026, 11, 30), date(2026, 12, 5), export_wh_per_day=1250)
    api = customer[1]

    december = api.get(f"/meters/{meter_id}/days?from=2026-12-01&to=2026-12-31")
    assert december.status_code == 200, december.text
    body = december.json()
    assert (body["from_day"], body["to_day"]) == ("2026-12-01", "2026-12-31")
    assert [d["day"] for d in body["days"]] == [f"2026-12-0{n}" for n in range(1, 6)]
    # The 1st's kWh comes from 30 Nov's closing register, outside the range.
    assert {(d["import_kwh"], d["export_kwh"]) for d in body["days"]} == {("4.500", "1.250")}

    last_year = api.get(f"/meters/{meter_id}/days?from=2025-12-01&to=2025-12-31").json()
    assert len(last_year["days"]) == 31 and last_year["days"][-1]["day"] == "2025-12-31"
    empty = api.get(f"/meters/{meter_id}/days?from=2024-12-01&to=2024-12-31").json()
    assert empty["days"] == []  # the chart says "no data for December 2024"

    # Without the day before, a day's kWh is unknown rather than guessed.
    first = api.get(f"/meters/{meter_id}/days?from=2025-11-30&to=2025-12-01").json()["days"]
    assert [(d["day"], d["import_kwh"]) for d in first] == \
        [("2025-11-30", None), ("2025-12-01", "4.500")]


def test_ranges_are_bounded_and_the_meter_is_the_owners_only(stack, customer, other_customer):
    _, meter_id = metered_property(customer[0].user_id)
    api = customer[1]
    for query in ("from=2025-01-01&to=2026-02-05",  # 401 days
                  "from=2026-12-05&to=2026-12-01", "from=2026-02-30", "from=",
                  "from=2020-01-01", "days=401", "since=2026-01-01"):
        answer = api.get(f"/meters/{meter_id}/days?{query}")
        assert answer.status_code == 400, (query, answer.text)
    assert api.get(f"/meters/{meter_id}/days?from=2025-01-01&to=2026-02-04").status_code == 200
    assert other_customer[1].get(f"/meters/{meter_id}/days").status_code == 404


def test_a_tenant_sees_the_days_from_moving_in_only(stack, customer, other_customer):
    property_id, meter_id = metered_property(customer[0].user_id)
    daily_reads(meter_id, date(2026, 10, 25), date(2026, 11, 5))
    tenancy_id = f"ten_{uuid.uuid4().hex[:12]}"
    TenancyRecord(property_id=property_id, tenancy_id=tenancy_id, owner_id=customer[0].user_id,
                  invite_email=other_customer[0].email, status=TENANCY_ACTIVE,
                  invited_at=utcnow(), tenant_id=other_customer[0].user_id,
                  tenant_name=other_customer[0].name,
                  start_date=datetime(2026, 11, 1, tzinfo=IST)).save()
    PropertyRecord.get(property_id).update(
        actions=[PropertyRecord.active_tenancy_id.set(tenancy_id)])
    query = f"/meters/{meter_id}/days?from=2026-10-01&to=2026-11-30"

    tenant_days = other_customer[1].get(query).json()["days"]
    assert [d["day"] for d in tenant_days][:2] == ["2026-11-01", "2026-11-02"]
    assert tenant_days[0]["import_kwh"] == "4.500"  # from 31 Oct's register, not shown
    assert len(customer[1].get(query).json()["days"]) == 12  # the owner sees them all
