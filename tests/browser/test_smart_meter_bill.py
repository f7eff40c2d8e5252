"""A bill of a protocol v2 (smart) meter shows consumption per time-of-day zone (a table
and a chart), the export register and the maximum demand with its time, in IST; a v1 meter's
bill shows no such section. The bill is what billing stores for a v2 snapshot (issue 15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from functions.core.accounts.sessions import issue_session
from functions.core.bills.models import BillRecord
from functions.core.clock import iso, utcnow
from functions.core.meters.models import REJECTED_PREFIX, RejectionRecord
from tests.browser.conftest import screenshot, start_session
from tests.browser.journeys import find_meter
from tests.fixtures.stack import create_user
from tests.integration.payments_support import make_bill

pytestmark = pytest.mark.browser


def test_a_smart_meter_bill_shows_zones_export_and_demand(page, portal, stack):
    customer = create_user("customer", name="Kavya Menon")
    bill = make_bill(customer.user_id, total="2345.00", period="2017-03")
    bill.update(actions=[
        BillRecord.register_source.set("snapshot"),
        BillRecord.current_register_wh.set(1_486_250),
        BillRecord.current_read_at.set(datetime(2017, 3, 31, 18, 30, tzinfo=UTC)),
        BillRecord.current_tod_wh.set([301_200, 402_650, 250_100, 532_300]),
        BillRecord.tod_units.set([31, 42, 25, 53]),
        BillRecord.current_export_wh.set(212_400),
        BillRecord.export_units.set(118),
        BillRecord.md_w.set(4_380),
        BillRecord.md_at.set(datetime(2017, 3, 14, 14, 0, tzinfo=UTC)),
    ])
    start_session(page, portal, issue_session(customer), customer)
    page.goto(portal.page_url(f"bill.html?id={bill.bill_id}"))
    card = page.locator("#smart-meter")
    expect(card.get_by_role("heading", name="Time of day, export and demand")).to_be_visible()
    rows = card.locator("table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(3)).to_contain_text("18:00-24:00")
    expect(rows.nth(3)).to_contain_text("532.300 kWh")
    expect(rows.nth(3)).to_contain_text("53")
    expect(card.get_by_role("img", name="Units by time of day")).to_be_visible()
    expect(page.locator("#smart-export")).to_contain_text("212.400 kWh")
    expect(page.locator("#smart-export")).to_contain_text("118")
    expect(page.locator("#smart-demand")).to_contain_text("4.38 kW")
    expect(page.locator("#smart-demand")).to_contain_text("14 Mar 2017, 7:30 pm IST")  # 14:00 UTC
    expect(card).to_contain_text("Billing-date snapshot")
    screenshot(page, "bill-smart-meter")
    # the print view keeps the section (it is not marked no-print)
    page.emulate_media(media="print")
    expect(card).to_be_visible()


def test_a_v1_meter_bill_has_no_smart_meter_section(page, portal, stack):
    customer = create_user("customer", name="Rohan Das")
    bill = make_bill(customer.user_id, total="990.00", period="2017-04")
    start_session(page, portal, issue_session(customer), customer)
    page.goto(portal.page_url(f"bill.html?id={bill.bill_id}"))
    expect(page.get_by_role("heading", name="Meter readings")).to_be_visible()
    expect(page.locator("#smart-meter")).to_have_count(0)


def test_the_admin_meter_page_shows_capabilities_and_refusals_with_their_sha256(
        page, portal, stack):
    import hashlib

    from device_client import crypto as meter_crypto

    admin = create_user("admin", name="Farah Khan")
    as_admin = stack.api.as_(issue_session(admin))
    serial = f"V2-{meter_crypto.key_id(meter_crypto.generate_private_key())[:10]}"
    registered = as_admin.post("/admin/meters", json={
        "serial": serial, "public_key": meter_crypto.public_key_b64(
            meter_crypto.generate_private_key()), "model": "SM-2", "firmware": "2.0",
        "endpoint_url": "http://127.0.0.1:9/meters/x/read-requests",
        "capabilities": {"protocol_version": 2, "tod_zones": 4, "export": True,
                         "demand": True}})
    assert registered.status_code == 201, registered.text
    body = b'{"v":1,"sender":"' + serial.encode() + b'"'  # not even JSON: refused, recorded
    assert stack.api.post("/device/readings", data=body,
                          headers={"Content-Type": "application/json"}).status_code == 400
    # 20 newer refusals fill the list's first page: this one is on the next.
    newer = [RejectionRecord(f"mtr-later-{i}", f"{REJECTED_PREFIX}{iso(later)}#{i:012x}",
                             reason="bad_mac", received_at=later)
             for i in range(20) for later in [utcnow() + timedelta(seconds=i + 1)]]
    for record in newer:
        record.save()
    try:
        start_session(page, portal, issue_session(admin), admin)
        page.goto(portal.page_url("admin/meters.html?status=registered"))
        find_meter(page, serial)  # among however many meters other tests registered
        row = page.locator("#meter-list tr", has_text=serial)
        expect(row).to_contain_text("v2 · billing snapshot")
        expect(row).to_contain_text("4 ToD zones · export · max demand")
        refused = page.locator("#refused-list")
        expect(refused.locator("tbody tr")).to_have_count(20)
        refused.get_by_role("button", name="More refused messages").click()
        expect(refused).to_contain_text(f"SHA-256 {hashlib.sha256(body).hexdigest()}")
    finally:
        for record in newer:
            record.delete()


def test_the_bills_page_charts_consumption_per_zone_and_month(page, portal, stack):
    customer = create_user("customer", name="Ishaan Gupta")
    for period, zones in (("2016-11", [30, 40, 25, 55]), ("2016-12", [35, 38, 20, 61])):
        bill = make_bill(customer.user_id, total="1500.00", period=period)
        bill.update(actions=[BillRecord.register_source.set("snapshot"),
                             BillRecord.tod_units.set(zones),
                             BillRecord.current_tod_wh.set([z * 1000 for z in zones])])
    make_bill(customer.user_id, total="700.00", period="2016-10")  # a v1 meter's month
    start_session(page, portal, issue_session(customer), customer)
    page.goto(portal.page_url("bills.html"))
    chart = page.locator("#zone-history")
    expect(chart.get_by_role("heading", name="Consumption by time of day")).to_be_visible()
    expect(chart.get_by_role("img")).to_have_count(2)
    expect(chart.get_by_role("img", name="December 2016: 00:00-06:00 35 kWh, 06:00-10:00 38 kWh, "
                                          "10:00-18:00 20 kWh, 18:00-24:00 61 kWh")).to_be_visible()
    expect(chart).to_contain_text("18:00-24:00")
    screenshot(page, "bills-zone-history")
    # A page at a time, newest first: "More bills" reads on with the API's cursor.
    page.goto(portal.page_url("bills.html?rows=2"))
    rows = page.locator("#bill-list tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_role("button", name="More bills").click()
    expect(rows).to_have_count(3)
    expect(rows.last).to_contain_text("October 2016")
    expect(page.get_by_role("button", name="More bills")).to_have_count(0)
