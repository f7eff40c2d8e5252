"""Billing runs through the admin API: start (once per period, restarts fill
gaps), progress, close with the run's policy for silent meters, held readings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from functions.core.meters.models import MeterRecord
from tests.integration.billing_support import (
    a_customer,
    a_meter,
    a_property,
    decided,
    derc_total,
    ensure_reference_tariffs,
    retire,
    send_readings,
    stored_reading,
    wait_run,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def meters(admin):
    ensure_reference_tariffs(admin[1])
    created: list[MeterRecord] = []
    yield created
    retire(created)


def with_history(meters: list[MeterRecord], registers: list[int], year: int = 2025):
    """A property whose meter was billed for months 1..n of `year` with these registers."""
    owner = a_customer()
    prop = a_property(owner)
    meter = a_meter(prop)
    meters.append(meter)
    for month, register in enumerate(registers, start=1):
        reading = stored_reading(meter, f"{year}-{month:02d}", register,
                                 at(f"{year}-{month + 1:02d}-01T00:00:00"))
        send_readings([reading])
        assert decided(reading).status == "accepted"
    return owner, prop, meter


def close_and_wait(as_admin, run_id: str) -> dict:
    """Ask for the close (202, done in the background) and wait until it is closed."""
    asked = as_admin.post(f"/admin/runs/{run_id}/close")
    assert asked.status_code == 202, asked.text
    assert asked.json()["phase"] in ("closing", "closed")
    return wait_run(as_admin, run_id, lambda v: v["status"] == "closed")


def listed(as_admin, run_id: str) -> dict:
    """Wait until the run's listing slices are done (every meter asked is counted)."""
    return wait_run(as_admin, run_id, lambda v: v["phase"] != "listing")


def silent_meters(as_admin, run_id: str, limit: int = 100) -> dict[str, dict]:
    """Every silent meter of the run, page by page."""
    found: dict[str, dict] = {}
    cursor = None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = as_admin.get(f"/admin/runs/{run_id}/silent-meters{query}")
        assert page.status_code == 200, page.text
        for item in page.json()["meters"]:
            assert item["meter_id"] not in found  # no meter on two pages
            found[item["meter_id"]] = item
        cursor = page.json()["cursor"]
        if cursor is None:
            return found


def test_start_checks_its_input_and_access(admin, customer, stack):
    _, as_admin = admin
    assert as_admin.post("/admin/runs", json={"period": "2099-01"}).status_code == 400
    this_month = datetime.now(UTC).strftime("%Y-%m")
    unfinished = as_admin.post("/admin/runs", json={"period": this_month})
    assert unfinished.status_code == 400 and "not over" in unfinished.text
    assert as_admin.post("/admin/runs", json={"period": "2025-13"}).status_code == 400
    assert as_admin.post("/admin/runs", json={"period": "2025-02", "policy": "guess"}
                         ).status_code == 400
    assert as_admin.post("/admin/runs", json={"period": "2025-02", "extra": 1}
                         ).status_code == 400
    assert customer[1].post("/admin/runs", json={"period": "2025-02"}).status_code == 403
    assert customer[1].get("/admin/runs").status_code == 403
    assert as_admin.get("/admin/runs/2019-01").status_code == 404
    assert as_admin.post("/admin/runs/2019-01/close").status_code == 404


def test_one_run_per_period_and_a_restart_asks_only_the_gaps(admin, meters):
    _, as_admin = admin
    prop_a, prop_b = a_property(a_customer()), a_property(a_customer())
    meter_a, meter_b = a_meter(prop_a), a_meter(prop_b)
    meters += [meter_a, meter_b]

    started = as_admin.post("/admin/runs", json={"period": "2025-06", "policy": "no_bill"})
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["first_start"] is True and body["run"]["run_id"] == "2025-06"
    assert body["run"]["policy"] == "no_bill" and body["listing_slices"] == 32
    asked = listed(as_admin, "2025-06")["progress"]["meters_asked"]
    assert asked >= 2

    # The fan-out tries every meter; these test meters cannot be reached.
    wait_run(as_admin, "2025-06", lambda v: v["progress"]["delivery_failures"]
             + v["progress"]["requests_sent"] >= asked)
    # Meter A answers (its reading is billed), meter B stays silent.
    reading = stored_reading(meter_a, "2025-06", 250_000, at("2025-07-01T00:00:00"))
    send_readings([reading])
    assert decided(reading).status == "accepted"

    again = as_admin.post("/admin/runs", json={"period": "2025-06"}).json()
    assert again["first_start"] is False
    assert again["run"]["restarts"] == 1 and again["run"]["policy"] == "no_bill"
    # Meter A's property has its bill and meter B was asked before: nobody new to ask.
    assert listed(as_admin, "2025-06")["progress"]["meters_asked"] == asked
    assert [r["run_id"] for r in as_admin.get("/admin/runs").json()].count("2025-06") == 1


def test_close_lists_silent_meters_and_estimates_then_the_next_reading_trues_up(
        admin, meters):
    _, as_admin = admin
    # Actual months: 100, 200, 300 kWh -> estimate 200 kWh.
    _owner, prop, meter = with_history(meters, [100_000, 300_000, 600_000])
    started = as_admin.post("/admin/runs", json={"period": "2025-04"})
    assert started.status_code == 202
    asked = listed(as_admin, "2025-04")["progress"]["meters_asked"]
    wait_run(as_admin, "2025-04", lambda v: v["progress"]["delivery_failures"]
             + v["progress"]["requests_sent"] >= asked)
    run = close_and_wait(as_admin, "2025-04")
    silent = silent_meters(as_admin, "2025-04", limit=1)
    assert silent[meter.meter_id]["outcome"] == "estimated"
    assert silent[meter.meter_id]["why"] in ("unreachable", "no_answer")
    assert run["progress"]["no_response"] == len(silent)
    estimate = as_admin.get(f"/bills/BILL-{prop.property_id}-2025-04").json()
    assert estimate["estimated"] is True and estimate["units"] == 200
    assert estimate["current_reading"] is None
    assert Decimal(estimate["total"]) == derc_total(200, Decimal(3))

    # Closing again bills nothing twice.
    again = close_and_wait(as_admin, "2025-04")
    assert silent_meters(as_admin, "2025-04")[meter.meter_id]["outcome"] == "estimated"
    assert again["progress"]["estimated_bills"] == run["progress"]["estimated_bills"]
    assert len(as_admin.get(f"/admin/bills?property_id={prop.property_id}&period=2025-04"
                            ).json()["bills"]) == 1

    # May's actual reading: 1,000 kWh on the register, 400 kWh since March's
    # actual reading, 200 of them already billed on April's estimate.
    reading = stored_reading(meter, "2025-05", 1_000_000, at("2025-06-01T00:00:00"))
    send_readings([reading])
    assert decided(reading).status == "accepted"
    may = as_admin.get(f"/bills/BILL-{prop.property_id}-2025-05").json()
    assert (may["units"], may["actual_units"], may["trued_up_periods"]) == (
        200, 400, ["2025-04"])
    assert may["previous_reading"]["register_wh"] == 600_000
    assert Decimal(may["total"]) == derc_total(200, Decimal(3))


def test_an_over_estimate_is_credited_on_the_next_actual_bill(admin, meters):
    _, as_admin = admin
    _owner, prop, meter = with_history(meters, [100_000, 300_000, 600_000], year=2024)
    # The meter is fitted in 2024; its silent month is 2024-04 (a run of its own).
    as_admin.post("/admin/runs", json={"period": "2024-04"})
    listed(as_admin, "2024-04")
    close_and_wait(as_admin, "2024-04")
    assert as_admin.get(f"/bills/BILL-{prop.property_id}-2024-04").json()["units"] == 200
    # Only 100 kWh were used over April and May: 100 of April's 200 estimated kWh
    # come back at the 3.00/kWh April charged, before the surcharges.
    reading = stored_reading(meter, "2024-05", 700_000, at("2024-06-01T00:00:00"))
    send_readings([reading])
    assert decided(reading).status == "accepted"
    may = as_admin.get(f"/bills/BILL-{prop.property_id}-2024-05").json()
    assert may["units"] == 0
    lines = {line["kind"]: Decimal(line["amount"]) for line in may["line_items"]}
    assert lines["credit"] == Decimal("-300.00")
    base = Decimal("-300.00") + Decimal("150.00")
    expected = base + (base * 7 / 100).quantize(Decimal("0.01")) \
        + (base * 8 / 100).quantize(Decimal("0.01"))
    assert Decimal(may["charges"]) == expected == Decimal("-172.50")
    # Issue 16: the credit is netted against the open April estimate, never a negative bill.
    assert may["total"] == "0.00" and may["credit_to_open_bills"] == "172.50"
    april = as_admin.get(f"/bills/BILL-{prop.property_id}-2024-04").json()
    assert Decimal(april["amount_due"]) == derc_total(200, Decimal(3)) - Decimal("172.50")


def test_no_bill_policy_lists_silent_meters_without_billing_them(admin, meters):
    _, as_admin = admin
    _owner, prop, meter = with_history(meters, [100_000, 200_000, 300_000], year=2023)
    as_admin.post("/admin/runs", json={"period": "2023-09", "policy": "no_bill"})
    listed(as_admin, "2023-09")
    close_and_wait(as_admin, "2023-09")
    silent = silent_meters(as_admin, "2023-09")
    assert silent[meter.meter_id]["outcome"] == "no_bill"
    assert silent[meter.meter_id]["bill_ids"] == []
    assert as_admin.get(f"/bills/BILL-{prop.property_id}-2023-09").status_code == 404


def test_held_readings_are_listed_and_an_admin_decides(admin, meters, stack):
    _, as_admin = admin
    _owner, prop, meter = with_history(meters, [100_000, 200_000, 300_000], year=2022)
    as_admin.post("/admin/runs", json={"period": "2022-04"})
    spike = stored_reading(meter, "2022-04", 2_300_000, at("2022-05-01T00:00:00"))
    send_readings([spike])
    assert decided(spike).status == "held"
    view = wait_run(as_admin, "2022-04", lambda v: v["progress"]["held"] >= 1)
    assert view["progress"]["bills_issued"] == 0

    held = as_admin.get("/admin/runs/2022-04/readings?status=held").json()["readings"]
    assert [(r["meter_id"], r["reason"]) for r in held] == [(meter.meter_id, "spike")]
    assert "2000 kWh" in held[0]["detail"]
    assert as_admin.get("/admin/runs/2022-04/readings?status=bogus").status_code == 400

    released = as_admin.post("/admin/runs/2022-04/readings/release", json={
        "meter_id": meter.meter_id, "reading_key": spike.reading_key, "decision": "bill"})
    assert released.status_code == 200, released.text
    assert released.json()["bill_ids"] == [f"BILL-{prop.property_id}-2022-04"]
    bill = as_admin.get(f"/bills/BILL-{prop.property_id}-2022-04").json()
    assert bill["units"] == 2000
    assert Decimal(bill["total"]) == derc_total(2000, Decimal(3))
    # Deciding twice is a conflict; the run no longer counts it as held.
    assert as_admin.post("/admin/runs/2022-04/readings/release", json={
        "meter_id": meter.meter_id, "reading_key": spike.reading_key,
        "decision": "reject"}).status_code == 409
    assert as_admin.get("/admin/runs/2022-04").json()["progress"]["held"] == 0


def test_a_tariff_that_priced_bills_cannot_change_only_be_superseded(admin, meters):
    _, as_admin = admin
    with_history(meters, [100_000], year=2020)
    derc = as_admin.get("/admin/tariffs/residential/2019-08-01").json()
    assert derc["locked"] is True and derc["last_priced_period"] >= "2020-01"
    edited = dict(derc["tariff"], name="Sneaky edit")
    assert as_admin.put("/admin/tariffs/residential/2019-08-01", json=edited).status_code == 409
    assert as_admin.delete("/admin/tariffs/residential/2019-08-01").status_code == 409
    # A new version may not take effect inside a period already billed ...
    back_dated = dict(derc["tariff"], name="Back-dated", effective_from="2020-01-01")
    assert as_admin.post("/admin/tariffs", json=back_dated).status_code == 409
    # ... but it can supersede it later.
    later = dict(derc["tariff"], name="Next year", effective_from="2090-04-01")
    assert as_admin.post("/admin/tariffs", json=later).status_code == 201
