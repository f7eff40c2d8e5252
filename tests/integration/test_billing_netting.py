"""Issue 16, items 3 and 5 through the billing function and the bills API:
credits netted against what the payer owes, arrears brought forward, and the
registers a clerk expects on the bill."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from functions.core.billing_rules import parse_period
from functions.core.bills.repository import BillRepository
from functions.core.bills.service import BillingService
from functions.core.meters.models import MeterRecord
from functions.core.meters.repositories import MeterRepository
from tests.integration.billing_support import (
    a_customer,
    a_meter,
    a_property,
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


def bill_actual(meter, period: str, register_wh: int, read_at: str) -> None:
    reading = stored_reading(meter, period, register_wh, at(read_at))
    send_readings([reading])
    assert decided(reading).status == "accepted", decided(reading).validation_detail


def fitted(meter: MeterRecord) -> MeterRecord:
    record = MeterRepository().get(meter.meter_id)
    assert record is not None
    return record


def money(text: str) -> Decimal:
    return Decimal(text)


def test_an_over_estimate_is_a_credit_netted_against_the_open_estimate(
        stack, tariffs, admin):
    _, as_admin = admin
    owner = a_customer()
    prop = a_property(owner)
    meter = a_meter(prop)
    # Three actual months of 300 kWh; March is still unpaid.
    for month, register in ((1, 300_000), (2, 600_000), (3, 900_000)):
        bill_actual(meter, f"2023-{month:02d}", register, f"2023-{month + 1:02d}-01T01:00:00")
        if month < 3:
            BillRepository().mark_paid(f"BILL-{prop.property_id}-2023-{month:02d}", "test",
                                       at("2023-06-01T00:00:00"))
    march_id = f"BILL-{prop.property_id}-2023-03"
    # April: the meter is silent, 300 kWh estimated and left unpaid.
    outcome, _ = BillingService().estimate(fitted(meter), prop,
                                           "2023-04", parse_period("2023-04"))
    assert outcome == "estimated"
    april_id = f"BILL-{prop.property_id}-2023-04"
    april = as_admin.get(f"/bills/{april_id}").json()
    assert money(april["total"]) == derc_total(300, Decimal(3))
    # May: the meter reads only 100 kWh more than in March. 200 kWh were
    # over-estimated: May's charges are a credit.
    bill_actual(meter, "2023-05", 1_000_000, "2023-06-01T01:00:00")
    may = as_admin.get(f"/bills/BILL-{prop.property_id}-2023-05").json()
    credit = -money(may["charges"])
    assert credit > 0
    # The bill never asks for a negative amount, and there is nothing to pay on it.
    assert may["total"] == "0.00" and may["amount_due"] == "0.00"
    assert may["status"] == "paid" and may["payment_id"] is None
    assert may["credit_to_open_bills"] == f"{credit:.2f}"
    # The credit came off the open April estimate, which now owes the rest ...
    april = as_admin.get(f"/bills/{april_id}").json()
    assert money(april["amount_due"]) == derc_total(300, Decimal(3)) - credit
    assert money(april["credit_applied"]) == credit
    assert april["credit_applied_from"] == [may["bill_id"]]
    assert money(april["charges"]) == derc_total(300, Decimal(3))
    # (the over-estimated April first: the older unpaid March keeps its amount) ...
    assert money(as_admin.get(f"/bills/{march_id}").json()["amount_due"]) == derc_total(
        300, Decimal(3))
    # ... and May brings both forward as arrears: the total payable.
    assert may["arrears_bill_ids"] == [march_id, april_id]
    owed = derc_total(300, Decimal(3)) + money(april["amount_due"])
    assert money(may["arrears"]) == owed == money(may["total_payable"])
    mails = wait_for(lambda: [m for m in stack.emails_to(owner.email)
                              if "May 2023" in m["subject"]])
    assert "Credit taken off your unpaid earlier bills" in mails[0]["body"]
    assert "Total payable" in mails[0]["body"]


def test_a_credit_larger_than_what_is_owed_is_carried_to_the_next_bill_once(
        stack, tariffs, admin):
    _, as_admin = admin
    owner = a_customer()
    prop = a_property(owner)
    meter = a_meter(prop)
    for month, register in ((1, 400_000), (2, 800_000), (3, 1_200_000)):
        bill_actual(meter, f"2022-{month:02d}", register, f"2022-{month + 1:02d}-01T01:00:00")
    for month in (1, 2, 3):
        BillRepository().mark_paid(f"BILL-{prop.property_id}-2022-{month:02d}", "test",
                                   at("2022-06-01T00:00:00"))
    BillingService().estimate(fitted(meter), prop, "2022-04",
                              parse_period("2022-04"))
    BillRepository().mark_paid(f"BILL-{prop.property_id}-2022-04", "test",
                               at("2022-06-01T00:00:00"))
    # May reads 10 kWh since March: 390 kWh over-estimated, and nothing is open.
    bill_actual(meter, "2022-05", 1_210_000, "2022-06-01T01:00:00")
    may = as_admin.get(f"/bills/BILL-{prop.property_id}-2022-05").json()
    carried = money(may["credit_carried_forward"])
    assert carried == -money(may["charges"]) > 0 and may["total"] == "0.00"
    assert may["arrears"] == "0.00" and may["total_payable"] == "0.00"
    # June's 300 kWh bill takes the credit off; the credit is used up.
    bill_actual(meter, "2022-06", 1_510_000, "2022-07-01T01:00:00")
    june = as_admin.get(f"/bills/BILL-{prop.property_id}-2022-06").json()
    assert money(june["credit_brought_forward"]) == carried
    assert money(june["charges"]) == derc_total(300, Decimal(3))
    assert money(june["total"]) == max(Decimal(0), derc_total(300, Decimal(3)) - carried)
    source = BillRepository().get(may["bill_id"])
    assert source is not None and source.credit_taken_by == june["bill_id"]


def test_each_bill_brings_forward_unpaid_bills_with_their_late_surcharge(
        stack, tariffs, admin):
    _, as_admin = admin
    owner = a_customer()
    prop = a_property(owner)
    meter = a_meter(prop)
    bill_actual(meter, "2021-01", 200_000, "2021-02-01T01:00:00")
    january_id = f"BILL-{prop.property_id}-2021-01"
    assert BillRepository().mark_overdue(january_id, 1_234, at("2021-03-01T00:00:00"))
    bill_actual(meter, "2021-02", 500_000, "2021-03-01T01:00:00")
    february = as_admin.get(f"/bills/BILL-{prop.property_id}-2021-02").json()
    january_due = derc_total(200, Decimal(3)) + Decimal("12.34")
    assert february["arrears_bill_ids"] == [january_id]
    assert money(february["arrears"]) == january_due
    assert february["arrears_surcharge"] == "12.34"
    assert money(february["total"]) == derc_total(300, Decimal(3))
    assert money(february["total_payable"]) == derc_total(300, Decimal(3)) + january_due
    listed = as_admin.get(f"/admin/bills?property_id={prop.property_id}").json()["bills"]
    assert [b["arrears"] for b in listed] == ["0.00", f"{january_due:.2f}"]


def test_a_first_bill_prints_the_installation_register_as_previous(stack, tariffs, admin):
    owner = a_customer()
    prop = a_property(owner)
    meter = a_meter(prop, initial_register_wh=1_000_500)
    bill_actual(meter, "2020-01", 1_301_200, "2020-02-01T02:00:00")
    bill = admin[1].get(f"/bills/BILL-{prop.property_id}-2020-01").json()
    [row] = bill["registers"]
    assert row["meter_id"] == meter.meter_id and row["units"] == 301 == bill["units"]
    assert row["previous"]["register_wh"] == 1_000_500
    assert row["previous"]["note"] == "installation register"
    assert row["current"]["register_wh"] == 1_301_200
    assert bill["previous_reading"]["register_wh"] == 1_000_500


def test_after_a_meter_replacement_the_bill_shows_both_meters_registers(
        stack, tariffs, admin):
    owner = a_customer()
    prop = a_property(owner)
    old = a_meter(prop)
    bill_actual(old, "2020-03", 1_000_000, "2020-04-01T00:00:00")
    new = a_meter(None, initial_register_wh=5_000)
    MeterRepository().replace(old, new, property_id=prop.property_id, owner_id=owner.user_id,
                              final_register_wh=1_120_000, first_register_wh=5_000,
                              at=at("2020-04-15T00:00:00"))
    bill_actual(new, "2020-04", 305_000, "2020-05-01T00:00:00")
    bill = admin[1].get(f"/bills/BILL-{prop.property_id}-2020-04").json()
    assert bill["units"] == 120 + 300
    old_row, new_row = bill["registers"]
    assert (old_row["meter_id"], old_row["role"]) == (old.meter_id, "replaced_meter")
    assert old_row["previous"]["register_wh"] == 1_000_000
    assert (old_row["current"]["register_wh"], old_row["current"]["note"]) == (
        1_120_000, "final register (meter replaced)")
    assert old_row["units"] == 120
    assert (new_row["meter_id"], new_row["role"]) == (new.meter_id, "new_meter")
    assert (new_row["previous"]["register_wh"], new_row["previous"]["note"]) == (
        5_000, "first register (meter fitted)")
    assert new_row["current"]["register_wh"] == 305_000 and new_row["units"] == 300
