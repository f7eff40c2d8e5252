"""The billing function, fed verified readings on the readings queue as the
reading endpoint sends them; bills observed through the API and the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from functions.core.meters.repositories import MeterRepository
from tests.integration.billing_support import (
    a_customer,
    a_meter,
    a_property,
    a_tenancy,
    commercial_total,
    decided,
    derc_total,
    ensure_reference_tariffs,
    send_readings,
    stored_reading,
    wait_for,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def tariffs(admin):
    ensure_reference_tariffs(admin[1])


def test_an_accepted_reading_becomes_one_priced_bill_and_an_email(stack, tariffs, admin):
    owner = a_customer()
    prop = a_property(owner, load_kw="3")
    meter = a_meter(prop, initial_register_wh=1_000_500)
    reading = stored_reading(meter, "2024-01", 1_301_200, at("2024-02-01T02:00:00"))
    send_readings([reading])

    assert decided(reading).status == "accepted"
    bills = admin[1].get(f"/admin/bills?property_id={prop.property_id}").json()["bills"]
    assert [b["bill_id"] for b in bills] == [f"BILL-{prop.property_id}-2024-01"]
    detail = admin[1].get(f"/bills/{bills[0]['bill_id']}").json()
    # kWh are whole kWh of each register: 1301 - 1000 = 301 units.
    assert detail["units"] == 301
    assert Decimal(detail["total"]) == derc_total(301, Decimal(3))
    assert detail["tariff_version"] == "residential@2019-08-01"
    # The first bill's previous register is the one recorded when the meter was fitted.
    assert detail["previous_reading"]["register_wh"] == 1_000_500
    assert detail["current_reading"]["register_wh"] == 1_301_200
    assert detail["current_reading"]["read_at_display"] == "01 Feb 2024, 07:30 AM IST"
    assert detail["payer_id"] == owner.user_id and detail["status"] == "issued"
    assert [line["label"] for line in detail["line_items"]][:3] == [
        "Energy 0-200 kWh", "Energy 201-400 kWh", "Fixed charge (above 2 kW up to 5 kW)"]
    issued_ist = datetime.fromisoformat(detail["issued_at"]).astimezone(
        timezone_ist()).date()
    assert detail["due_date"] == (issued_ist + timedelta(days=15)).isoformat()

    mails = wait_for(lambda: stack.emails_to(owner.email))
    assert len(mails) == 1
    body = mails[0]["body"]
    assert "\u20b9" + f"{derc_total(301, Decimal(3)):,.2f}" in body  # < 1 lakh: same grouping
    assert detail["due_date_display"] in body
    assert f"/bill.html?id={detail['bill_id']}" in body

    # The owner sees it; another customer gets a 404.
    mine = admin[1].as_(None)
    assert mine.get(f"/bills/{detail['bill_id']}").status_code == 401


def timezone_ist():
    from functions.core.clock import IST

    return IST


def test_redelivered_reading_makes_no_second_bill_or_email(stack, tariffs, admin):
    owner = a_customer()
    prop = a_property(owner, category="commercial", load_kw="7.5")
    meter = a_meter(prop)
    reading = stored_reading(meter, "2024-02", 2_345_678, at("2024-03-01T04:00:00"))
    send_readings([reading])
    decided(reading)
    send_readings([reading, reading])
    # Let the copies be processed: a later reading of another meter is decided after them.
    marker_meter = a_meter(a_property(a_customer()))
    marker = stored_reading(marker_meter, "2024-02", 1000, at("2024-03-01T04:00:00"))
    send_readings([marker])
    decided(marker)
    bills = admin[1].get(f"/admin/bills?property_id={prop.property_id}").json()
    assert bills["totals"]["bills"] == 1
    assert Decimal(bills["totals"]["total"]) == commercial_total(2345, Decimal("7.5"))
    # The email is sent after the bill (notification sender): once it is handed over,
    # the count is final.
    key = f"bill_issued#{bills['bills'][0]['bill_id']}"
    # One message in the outbox (keyed by the bill), handed to SES once, one at SES.
    assert stack.wait_until_handed_over([key])[key].attempts == 1
    assert len(stack.emails_to(owner.email)) == 1


def test_bad_readings_are_kept_with_reasons_and_never_billed(stack, tariffs, admin):
    owner = a_customer()
    prop = a_property(owner)
    meter = a_meter(prop)
    first = stored_reading(meter, "2024-03", 500_000, at("2024-04-01T00:00:00"))
    send_readings([first])
    assert decided(first).status == "accepted"

    backwards = stored_reading(meter, "2024-04", 400_000, at("2024-05-01T00:00:00"))
    future = stored_reading(meter, "2024-05", 900_000, datetime.now(UTC) + timedelta(hours=2))
    send_readings([backwards, future])
    assert (decided(backwards).status, decided(backwards).validation_reason) == (
        "rejected", "decrease_without_replacement")
    assert (decided(future).status, decided(future).validation_reason) == (
        "rejected", "future_reading")
    assert "400000" in decided(backwards).validation_detail
    bills = admin[1].get(f"/admin/bills?property_id={prop.property_id}").json()["bills"]
    assert [b["period"] for b in bills] == ["2024-03"]


def test_a_spike_is_held_for_review_not_billed(stack, tariffs, admin):
    owner = a_customer()
    prop = a_property(owner)
    meter = a_meter(prop)
    register = 0
    for month in (1, 2, 3, 4):  # four ordinary months of about 150 kWh
        register += 150_000
        reading = stored_reading(meter, f"2023-{month:02d}", register,
                                 at(f"2023-{month + 1:02d}-01T00:00:00"))
        send_readings([reading])
        assert decided(reading).status == "accepted"
    spike = stored_reading(meter, "2023-05", register + 900_000, at("2023-06-01T00:00:00"))
    send_readings([spike])
    held = decided(spike)
    assert (held.status, held.validation_reason) == ("held", "spike")
    assert "900 kWh" in held.validation_detail
    periods = [b["period"] for b in
               admin[1].get(f"/admin/bills?property_id={prop.property_id}").json()["bills"]]
    assert periods == ["2023-01", "2023-02", "2023-03", "2023-04"]
    # Each ordinary month was billed against the previous register.
    april = admin[1].get(f"/bills/BILL-{prop.property_id}-2023-04").json()
    assert april["units"] == 150 and april["previous_reading"]["register_wh"] == 450_000


def test_a_tenant_change_inside_the_month_splits_the_bill_by_days(stack, tariffs, admin):
    owner, tenant = a_customer(), a_customer()
    prop = a_property(owner, load_kw="4")
    meter = a_meter(prop)
    # The tenant moves in on 11 Jan 2022 (IST): the owner pays 10 days, the tenant 21.
    a_tenancy(prop, tenant, start=at("2022-01-10T20:00:00"))  # 11 Jan 01:30 IST
    reading = stored_reading(meter, "2022-01", 410_000, at("2022-02-01T00:00:00"))
    send_readings([reading])
    assert decided(reading).status == "accepted"

    bills = {b["payer_id"]: b for b in admin[1].get(
        f"/admin/bills?property_id={prop.property_id}").json()["bills"]}
    assert set(bills) == {owner.user_id, tenant.user_id}
    whole = derc_total(410, Decimal(4))
    owner_bill = admin[1].get(f"/bills/{bills[owner.user_id]['bill_id']}").json()
    tenant_bill = admin[1].get(f"/bills/{bills[tenant.user_id]['bill_id']}").json()
    assert owner_bill["bill_id"] == f"BILL-{prop.property_id}-2022-01"
    assert tenant_bill["bill_id"] == f"BILL-{prop.property_id}-2022-01-2"
    assert (owner_bill["days_fraction"], tenant_bill["days_fraction"]) == ("10/31", "21/31")
    assert Decimal(owner_bill["total"]) + Decimal(tenant_bill["total"]) == whole
    assert abs(Decimal(tenant_bill["total"]) - whole * 21 / 31) < Decimal("0.05")
    assert tenant_bill["property_total"] == f"{whole:.2f}"
    assert tenant_bill["share_days_display"] == "11 Jan 2022 to 31 Jan 2022"
    # Each sees their own share only.
    assert wait_for(lambda: stack.emails_to(tenant.email))
    assert "21/31" in stack.emails_to(tenant.email)[0]["body"]


def test_a_recorded_meter_replacement_bills_across_the_swap(stack, tariffs, admin):
    owner = a_customer()
    prop = a_property(owner)
    old = a_meter(prop)
    first = stored_reading(old, "2021-01", 1_000_000, at("2021-02-01T00:00:00"))
    send_readings([first])
    assert decided(first).status == "accepted"
    # The old meter ends at 1,120 kWh; the new one starts at 5 kWh and reads 305 kWh.
    new = a_meter(None, initial_register_wh=5_000)
    MeterRepository().replace(old, new, property_id=prop.property_id, owner_id=owner.user_id,
                              final_register_wh=1_120_000, first_register_wh=5_000,
                              at=at("2021-02-15T00:00:00"))
    reading = stored_reading(new, "2021-02", 305_000, at("2021-03-01T00:00:00"))
    send_readings([reading])
    assert decided(reading).status == "accepted"
    bill = admin[1].get(f"/bills/BILL-{prop.property_id}-2021-02").json()
    assert bill["units"] == 120 + 300
    assert Decimal(bill["total"]) == derc_total(420, Decimal(3))


def test_a_reading_after_a_long_silence_bills_from_the_last_actual_register(
        stack, tariffs, admin):
    # Billed for September 2019; no bill again until March 2021, 18 months later.
    owner = a_customer()
    prop = a_property(owner, created_at=at("2019-08-15T00:00:00"))
    meter = a_meter(prop)
    first = stored_reading(meter, "2019-09", 400_000, at("2019-10-01T00:00:00"))
    send_readings([first])
    assert decided(first).status == "accepted"
    later = stored_reading(meter, "2021-03", 1_600_000, at("2021-04-01T00:00:00"))
    send_readings([later])
    assert decided(later).status == "accepted"
    bill = admin[1].get(f"/bills/BILL-{prop.property_id}-2021-03").json()
    assert bill["units"] == 1200 and bill["previous_reading"]["register_wh"] == 400_000


def test_a_live_register_read_months_after_the_period_is_held_not_billed(
        stack, tariffs, admin):
    # Issue 16 item 2: a run for June 2020 answered in October 2020 would bill four
    # months of use as June's. Held for review; an answer in time is billed.
    owner = a_customer()
    prop = a_property(owner)
    meter = a_meter(prop)
    first = stored_reading(meter, "2020-05", 100_000, at("2020-06-01T00:00:00"))
    send_readings([first])
    assert decided(first).status == "accepted"
    late = stored_reading(meter, "2020-06", 700_000, at("2020-10-02T00:00:00"))
    send_readings([late])
    held = decided(late)
    assert (held.status, held.validation_reason) == ("held", "read_long_after_period")
    assert "600 kWh" in held.validation_detail
    assert admin[1].get(f"/bills/BILL-{prop.property_id}-2020-06").status_code == 404
    in_time = stored_reading(meter, "2020-07", 300_000, at("2020-08-03T00:00:00"))
    send_readings([in_time])
    assert decided(in_time).status == "accepted"
    assert admin[1].get(f"/bills/BILL-{prop.property_id}-2020-07").json()["units"] == 200
