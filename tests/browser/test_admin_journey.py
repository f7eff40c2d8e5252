"""The admin pages in a real browser: review customers, tariffs with a preview,
a billing run with misbehaving and silent meters, meter replacement, defaulters
with the CSV export and an offline payment, and ticket filters."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from functions.core.accounts.sessions import issue_session
from functions.core.crypto import generate_private_key, public_key_b64
from functions.core.meters.models import METER_ACTIVE, METER_INACTIVE, MeterRecord
from tests.browser.conftest import Portal, screenshot, start_session
from tests.browser.journeys import (
    ADMIN_JOURNEY_MONTHS_AGO,
    emailed_link,
    find_meter,
    months_ago,
    row_of,
)
from tests.browser.simulated_meters import Simulator, simulated_meters
from tests.fixtures.stack import Stack, clear_rate_limits, create_user, unique_email, unique_mobile
from tests.integration.accounts_flow import sms_code
from tests.integration.billing_support import (
    a_customer,
    a_meter,
    a_property,
    decided,
    ensure_reference_tariffs,
    retire,
    send_readings,
    stored_reading,
)
from tests.integration.payments_support import bill_status, make_bill, today_ist

pytestmark = pytest.mark.browser


@pytest.fixture
def admin(page: Page, portal: Portal, stack: Stack) -> tuple[Page, Any]:
    """The page signed in as a new administrator, and an API client with the same session."""
    user = create_user("admin", name="Farhan Qureshi")
    token = issue_session(user)
    start_session(page, portal, token, user)
    return page, stack.api.as_(token)


def test_reject_a_customer_with_a_reason(admin, portal, stack):
    page, _ = admin
    waiting = create_user("customer", status="pending_review", name="Suresh Pillai")
    page.goto(portal.page_url("admin/customers.html"))
    row = row_of(page, waiting.email)
    row.get_by_role("button", name="Reject Suresh Pillai").click()
    reason = row.get_by_label("Reason (sent to Suresh Pillai)")
    row.get_by_role("button", name="Confirm reject").click()
    expect(reason).to_have_attribute("aria-invalid", "true")  # a reason is required
    reason.fill("The address proof does not match the property.")
    screenshot(page, "admin-customers-reject")
    row.get_by_role("button", name="Confirm reject").click()
    expect(page.get_by_text("Suresh Pillai is rejected")).to_be_visible()
    expect(row_of(page, waiting.email)).to_have_count(0)
    page.get_by_label("Status").select_option("rejected")
    expect(row_of(page, waiting.email)).to_contain_text("The address proof does not match")
    email = stack.wait_for_emails(waiting.email, "could not be verified")  # queued notice
    assert "The address proof does not match the property." in email[-1]["body"]


def test_tariff_version_preview_and_slab_errors(admin, portal, console):
    page, _ = admin
    console.expect_http(400)
    page.goto(portal.page_url("admin/tariffs.html"))
    form = page.locator("#tariff-form")
    form.get_by_role("button", name="Fill with the DERC 2019-20 example").click()
    form.get_by_label("Effective from").fill("2099-01-01")
    form.get_by_role("textbox", name="Name", exact=True).fill("DERC copy for the browser test")

    # A gap between slabs is refused, and the message is shown by the slabs.
    second_from = page.locator('[data-field="energy_slabs.1.from_units"]')
    second_from.fill("250")
    form.get_by_role("button", name="Create version").click()
    expect(page.locator("#energy-slabs-error")).to_contain_text("gap")
    screenshot(page, "admin-tariffs-slab-error")
    second_from.fill("200")

    # The DERC worked example: 3 kW and 300 units cost ₹1,380.00 with the draft.
    preview = page.locator("#preview-form")
    preview.get_by_label("Units (kWh)").fill("300")
    preview.get_by_label("Load (kW)").fill("3")
    preview.get_by_label("Price with").select_option("draft")
    preview.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-total")).to_have_text("₹1,380.00")
    lines = page.get_by_role("table", name="Preview line items")
    expect(lines).to_contain_text("₹600.00")
    expect(lines).to_contain_text("₹1,200.00")  # the surcharges' base: energy + fixed

    form.get_by_role("button", name="Create version").click()
    expect(page.get_by_text("takes effect on 1 Jan 2099")).to_be_visible()
    row = row_of(page, "DERC copy for the browser test")
    expect(row).to_contain_text("Editable")
    screenshot(page, "admin-tariffs-created")
    row.get_by_role("button", name="Delete").click()
    row.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_text("DERC copy for the browser test is deleted")).to_be_visible()
    expect(row_of(page, "DERC copy for the browser test")).to_have_count(0)


def fit(as_admin: Any, sim: Simulator, serial: str, property_id: str, initial_wh: int) -> str:
    meter = next(m for m in sim.meters if m["serial"] == serial)
    registered = as_admin.post("/admin/meters", json={
        "serial": serial, "public_key": meter["public_key"], "model": "SIM",
        "firmware": "sim-1", "endpoint_url": meter["endpoint_url"],
        "initial_register_wh": initial_wh})
    assert registered.status_code == 201, registered.text
    meter_id = str(registered.json()["meter_id"])
    assigned = as_admin.post(f"/admin/meters/{meter_id}/assign", json={"property_id": property_id})
    assert assigned.status_code == 200, assigned.text
    assert as_admin.post(f"/admin/meters/{meter_id}/activate").status_code == 200
    sim.provision(serial, assigned.json()["provisioning"])
    return meter_id


def properties_of_a_customer(stack: Stack, count: int) -> list[str]:
    owner = create_user("customer", name="Lakshmi Narayan")
    as_owner = stack.api.as_(issue_session(owner))
    ids = []
    for number in range(count):
        created = as_owner.post("/properties", json={
            "line1": f"{number + 1} Residency Road", "city": "Bengaluru", "state": "Karnataka",
            "pincode": "560025", "category": "residential", "sanctioned_load_kw": "3"})
        assert created.status_code == 201, created.text
        ids.append(created.json()["property_id"])
    return ids


def current_phase(page: Page) -> Any:
    """The step of the run page's phase indicator that is the current one."""
    return page.get_by_role("list", name="Phases of the run").locator('[aria-current="step"]')


def test_billing_run_with_rejected_and_silent_meters(admin, portal, stack, console,
                                                     tmp_path: Path):
    page, as_admin = admin
    console.expect_http(400)  # the month that is not over yet
    ensure_reference_tariffs(as_admin)
    start_wh = 3_000_000
    # A run asks every active meter of the fleet: meters earlier tests left active would
    # change its counts, whatever order the suite runs in.
    retire(MeterRecord.scan(MeterRecord.status == METER_ACTIVE))
    with simulated_meters(tmp_path,
                          ["normal", "normal", "tamper", "silent"], start_wh) as sim:
        serials = [m["serial"] for m in sim.meters]
        homes = properties_of_a_customer(stack, 4)
        good = fit(as_admin, sim, serials[0], homes[0], start_wh)
        # Fitted with a register typed wrongly: the first reading is below it.
        fit(as_admin, sim, serials[1], homes[1], start_wh + 50_000_000)
        tampered = fit(as_admin, sim, serials[2], homes[2], start_wh)
        silent = fit(as_admin, sim, serials[3], homes[3], start_wh)

        page.goto(portal.page_url("admin/runs.html"))
        run_form = page.locator("#run-form")
        # This month is not over: refused, with the reason next to the form.
        run_form.get_by_label("Billing month").fill(months_ago(0))
        run_form.get_by_role("button", name="Start run").click()
        expect(run_form.get_by_text("is not over yet")).to_be_visible()

        period = months_ago(ADMIN_JOURNEY_MONTHS_AGO)
        run_form.get_by_label("Billing month").fill(period)
        run_form.get_by_label("Answer window (hours)").fill("1")
        run_form.get_by_role("button", name="Start run").click()
        # 202: the run is listed and asked in the background; the page follows it.
        expect(page.locator("#page-alerts")).to_contain_text("The run has started")
        expect(page).not_to_have_url(re.compile("started="))  # said once, not at a reload
        expect(current_phase(page)).to_contain_text("Asking", timeout=60_000)
        expect(page.locator('[data-counter="Asked"]')).to_have_text("4")
        # The month is long over and these meters keep no billing snapshot: the good
        # meter's live register is held for review, and the admin bills it.
        held = page.get_by_role("table", name="Readings held for review").locator("tbody tr")
        expect(held.filter(has_text=good)).to_contain_text("Read long after period",
                                                           timeout=60_000)
        held.filter(has_text=good).get_by_role("button", name=re.compile("^Bill it")).click()
        expect(page.locator("#page-alerts")).to_contain_text("The reading is billed (1 bill(s))")
        expect(page.locator('[data-counter="Bills issued"]')).to_have_text("1", timeout=30_000)

        # The rejected reading shows up without a reload: the page polls.
        rejected = page.get_by_role("table", name="Rejected readings").locator("tbody tr")
        expect(rejected.filter(has_text="Decrease without replacement")).to_have_count(
            1, timeout=60_000)
        screenshot(page, "admin-run-rejected")

        page.get_by_role("button", name="Close run").click()
        page.get_by_role("button", name="Yes, close").click()
        # 202: the close works in the background; the page shows it done.
        alerts = page.locator("#page-alerts")
        expect(alerts).to_contain_text("The run is closing")
        expect(current_phase(page)).to_contain_text("Closed", timeout=60_000)
        expect(alerts).to_contain_text("The run is closed")
        silent_rows = page.get_by_role("table", name="Silent meters").locator("tbody tr")
        expect(silent_rows.filter(has_text=silent)).to_have_count(1)
        # The tampered meter's reading never counted: it is silent for the run too.
        expect(silent_rows.filter(has_text=tampered)).to_have_count(1)
        expect(page.get_by_role("button", name="Close run")).to_have_count(0)
        screenshot(page, "admin-run-closed")
        page.set_viewport_size({"width": 390, "height": 844})
        screenshot(page, "admin-run-closed-narrow")
        page.set_viewport_size({"width": 1280, "height": 900})

        # Silent meters a page at a time, through the API's cursor.
        page.goto(portal.page_url(f"admin/run.html?id={period}&rows=1"))
        pages = page.get_by_role("navigation", name="Pages of silent meters")
        first = silent_rows.first.locator("td").first.inner_text()
        expect(silent_rows).to_have_count(1)
        pages.get_by_role("button", name="Next page").click()
        expect(pages).to_contain_text("Page 2")
        expect(silent_rows).to_have_count(1)
        expect(silent_rows.first).not_to_contain_text(first)
        pages.get_by_role("button", name="Previous page").click()
        expect(silent_rows.first).to_contain_text(first)

        # Started again: only the meters still missing a bill are asked.
        page.get_by_role("button", name="Start again").click()
        page.get_by_role("button", name="Yes, start again").click()
        expect(page.locator("#page-alerts")).to_contain_text("The run is started again")
        expect(current_phase(page)).to_contain_text("Asking", timeout=60_000)
        expect(page.locator("#run-summary")).to_contain_text("started again 1 time(s)")
        expect(page.locator('[data-counter="Bills issued"]')).to_have_text("1")

        # The meter with the good reading is replaced by a spare, which is then deactivated;
        # the old meter is kept as "replaced".
        spare = as_admin.post("/admin/meters", json={
            "serial": f"SPARE-{uuid.uuid4().hex[:8]}", "public_key": fresh_public_key(),
            "model": "SIM", "firmware": "sim-1", "endpoint_url": "http://127.0.0.1:9/none"})
        assert spare.status_code == 201, spare.text
        page.goto(portal.page_url("admin/meters.html?status=active"))
        refused = page.get_by_role("table", name="Refused messages, newest first")
        expect(refused.locator("tbody tr").filter(has_text=tampered).first).to_be_visible()
        # The admin finds each meter by the serial printed on it, however many the fleet has.
        find_meter(page, serials[0])
        row = row_of(page, good)
        row.get_by_role("button", name=re.compile("^Replace")).click()
        row.get_by_label("Find the new meter by serial").fill(spare.json()["serial"])
        row.get_by_label("Replacement meter").select_option(spare.json()["meter_id"])
        row.get_by_label("Old meter's final register (Wh)").fill(str(start_wh + 400_000))
        row.get_by_label("New meter's first register (Wh)").fill("0")
        screenshot(page, "admin-meters-replace")
        row.get_by_role("button", name="Replace", exact=True).click()
        expect(page.get_by_text(f"is replaced by {spare.json()['serial']}")).to_be_visible()
        # The spare took the old meter's place: assigned and active.
        find_meter(page, spare.json()["serial"])
        spare_row = row_of(page, spare.json()["meter_id"])
        expect(spare_row).to_contain_text("Active")
        spare_row.get_by_role("button", name=re.compile("^Deactivate")).click()
        expect(page.get_by_text("is deactivated")).to_be_visible()
        page.get_by_label("Status").select_option("replaced")
        find_meter(page, serials[0])
        expect(row_of(page, good)).to_contain_text("Replaced")


def fresh_public_key() -> str:
    """A real key nobody holds: the spare meter never answers in this test."""
    return str(public_key_b64(generate_private_key().public_key))


def test_defaulters_csv_and_an_offline_payment(admin, portal, stack):
    page, _ = admin
    payer = create_user("customer", name="Devika Rao")
    bill = make_bill(payer.user_id, total="2345.60", period="2018-07",
                     due=today_ist() - timedelta(days=20))
    page.goto(portal.page_url("admin/payments.html"))
    page.get_by_role("tab", name="Payments").click()
    page.get_by_role("button", name="Mark overdue bills now").click()
    expect(page.get_by_text(re.compile(r"Overdue sweep queued \(32 slices\)"))).to_be_visible()
    deadline = time.monotonic() + 60  # the sweep runs a page per shard on the queue
    while bill_status(bill.bill_id).status != "overdue":
        assert time.monotonic() < deadline, "the overdue sweep did not reach the bill"
        time.sleep(0.2)

    page.get_by_role("tab", name="Defaulters").click()
    filters = page.locator("#defaulter-filter")
    filters.get_by_label("Owes at least (₹)").fill("2392.51")
    filters.get_by_label("Days overdue, at least").fill("20")
    filters.get_by_role("button", name="Filter").click()
    listing = page.locator("#defaulter-list")
    for _ in range(20):  # a page at a time, shard after shard: "More" until she is listed
        expect(listing.locator("p").first).to_contain_text("as of")
        if listing.get_by_text("Devika Rao").count():
            break
        listing.get_by_role("button", name="More").click()
    payer_row = row_of(page, "Devika Rao")
    # ₹2,345.60 plus the 2% late-payment surcharge.
    expect(payer_row).to_contain_text("₹2,392.51")
    payer_row.get_by_role("button", name="Bills (1)").click()
    row = payer_row.locator("table tr", has_text=bill.bill_id)  # her bills, in her row
    # Read on demand from the API: give a busy CI more than the default 5 s.
    expect(row).to_contain_text("Overdue", timeout=20_000)
    expect(row).to_contain_text("₹2,392.51")
    screenshot(page, "admin-defaulters")
    with page.expect_download() as download:
        filters.get_by_role("button", name="Download CSV").click()
    csv = Path(download.value.path()).read_text(encoding="utf-8")
    assert bill.bill_id in csv and "Devika Rao" in csv

    page.get_by_role("tab", name="Record offline payment").click()
    offline = page.locator("#offline-form")
    offline.get_by_label("Bill number").fill(bill.bill_id)
    offline.get_by_label("Method").select_option("cheque")
    offline.get_by_label("Reference (receipt or cheque number)").fill("CHQ 004512")
    offline.get_by_role("button", name="Record payment").click()
    expect(page.get_by_text(f"Recorded ₹2,392.51 by cheque for {bill.bill_id}")).to_be_visible()

    page.get_by_role("tab", name="Defaulters").click()
    filters.get_by_role("button", name="Filter").click()
    expect(listing.locator("p").first).to_contain_text("as of")
    expect(listing.get_by_text("Devika Rao")).to_have_count(0)


def test_ticket_filters(admin, portal, stack):
    page, _ = admin
    customer = create_user("customer", name="Imran Sheikh")
    subject = f"Meter blinking red {uuid.uuid4().hex[:6]}"
    raised = stack.api.as_(issue_session(customer)).post("/tickets", json={
        "category": "meter", "subject": subject, "description": "It blinks red at night."})
    assert raised.status_code == 201, raised.text
    page.goto(portal.page_url("admin/tickets.html"))
    filters = page.locator("#ticket-filter")
    filters.get_by_label("Category").select_option("meter")
    filters.get_by_label("Status").select_option("open")
    filters.get_by_role("button", name="Filter").click()
    expect(row_of(page, subject)).to_have_count(1)
    expect(page).to_have_url(re.compile(r"category=meter"))
    screenshot(page, "admin-tickets-filtered")
    filters.get_by_label("Category").select_option("payment")
    filters.get_by_role("button", name="Filter").click()
    expect(row_of(page, subject)).to_have_count(0)


def test_a_held_reading_is_billed_by_the_admin(admin, portal, stack):
    """A spike against the meter's history is held for review; the admin bills it."""
    page, as_admin = admin
    ensure_reference_tariffs(as_admin)
    owner = a_customer(name="Gopal Krishnan")
    prop = a_property(owner)
    meter = a_meter(prop)
    try:
        for month, register in ((9, 100_000), (10, 200_000), (11, 300_000)):
            reading = stored_reading(meter, f"2019-{month:02d}", register,
                                     at(f"2019-{month + 1:02d}-01T00:00:00"))
            send_readings([reading])
            assert decided(reading).status == "accepted"
        started = as_admin.post("/admin/runs", json={"period": "2019-12"})
        assert started.status_code == 202, started.text
        spike = stored_reading(meter, "2019-12", 2_300_000, at("2020-01-01T00:00:00"))
        send_readings([spike])
        assert decided(spike).status == "held"
    finally:
        retire([meter])

    page.goto(portal.page_url("admin/run.html?id=2019-12"))
    held = page.get_by_role("table", name="Readings held for review").locator("tbody tr")
    expect(held).to_have_count(1)
    expect(held).to_contain_text("Spike")
    expect(held).to_contain_text("2300 kWh")
    screenshot(page, "admin-run-held")
    held.get_by_role("button", name=re.compile("^Bill it")).click()
    expect(page.get_by_text("The reading is billed (1 bill(s))")).to_be_visible()
    expect(page.get_by_text("No readings are waiting for review.")).to_be_visible()
    bill = as_admin.get(f"/bills/BILL-{prop.property_id}-2019-12")
    assert bill.status_code == 200 and bill.json()["units"] == 2000


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_invite_an_administrator_who_confirms_by_email_and_sms(admin, portal, stack, context):
    page, _ = admin
    clear_rate_limits()
    email, mobile = unique_email("newadmin"), unique_mobile()
    page.goto(portal.page_url("admin/customers.html"))
    form = page.locator("#invite-admin-form")
    form.get_by_label("Full name").fill("Zoya Akhtar")
    form.get_by_label("Email address").fill(email)
    form.get_by_label("Mobile number").fill(mobile)
    form.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Zoya Akhtar is invited as an administrator")).to_be_visible()

    invited = context.new_page()
    invited.goto(emailed_link(stack, email, "verify-email.html"))
    expect(invited.get_by_role("heading", name="Confirm your mobile number")).to_be_visible()
    invited.locator("#mobile-form").get_by_label("SMS code").fill(sms_code(stack, mobile))
    invited.get_by_role("button", name="Confirm mobile").click()
    expect(invited.get_by_text("Your account is ready. You can sign in now.")).to_be_visible()


def reveal(region: Any, text: str) -> None:
    """An admin list is read shard after shard: "More" until `text` is in it."""
    for _ in range(20):
        expect(region.locator("table, .empty-state").first).to_be_visible()
        if region.get_by_text(text).count():
            return
        shown = region.locator("tbody tr").count()
        region.get_by_role("button", name="More").click()
        expect(region.locator("tbody tr")).not_to_have_count(shown)


def test_prepaid_lists_show_a_negative_balance_and_a_failed_command(admin, portal):
    from functions.core.meters.commands import MeterCommands
    from functions.core.prepaid.service import PrepaidService

    page, _ = admin
    connection = f"prop_neg_{uuid.uuid4().hex[:10]}"
    service = PrepaidService()  # no supply: no relay command of its own
    service.accounts.ensure(connection)
    service.adjust("usr_admin", connection, "use", -12345, "a month of use")
    gone = f"mtr_gone_{uuid.uuid4().hex[:8]}"
    MeterCommands().issue(gone, "disconnect")  # no such meter: failed at once

    page.goto(portal.page_url("admin/prepaid.html"))
    negatives = page.locator("#negative-list")
    reveal(negatives, connection)
    expect(negatives.locator("tr", has_text=connection)).to_contain_text("-₹123.45")
    page.get_by_label("Commands to show").select_option("failed")
    done = page.locator("#done-list")
    expect(done.get_by_role("table", name="Relay commands that failed")).to_be_visible()
    reveal(done, gone)
    expect(done.locator("tr", has_text=gone)).to_contain_text("unknown_meter")
    # The daily read rate of the last seven days, each against the 99%-by-06:00 target.
    week = page.get_by_role("table", name="Daily reads, last 7 days")
    expect(week.locator("tbody tr")).to_have_count(7)
    expect(week.locator("thead")).to_contain_text("By 06:00 IST")
    screenshot(page, "admin-prepaid-lists")


def test_more_meters_reads_the_next_page_by_keyboard(admin, portal):
    """51 meters of one serial prefix: a page of 50, then "More meters" (pressed with the
    keyboard) adds the last one and goes away; focus stays in the list."""
    page, _ = admin
    tag = uuid.uuid4().hex[:6].upper()
    start = datetime(2001, 1, 1, tzinfo=UTC)  # old: no other test's list is pushed down
    meters = [MeterRecord(  # straight to the table: cheap
        meter_id=f"mtr-more{tag.lower()}{number:04d}", serial=f"MORE{tag}-{number:03d}",
        public_key="unused", public_key_id=f"unused-more-{tag}-{number}", model="SIM",
        firmware="sim-1", endpoint_url="http://127.0.0.1:9/none", status=METER_INACTIVE,
        registered_at=start + timedelta(seconds=number)) for number in range(51)]
    with MeterRecord.batch_write() as batch:
        for meter in meters:
            batch.save(meter)
    try:
        page.goto(portal.page_url(f"admin/meters.html?serial=MORE{tag}"))
        region = page.locator("#meter-list")
        rows = region.locator("tbody tr")
        expect(rows).to_have_count(50)
        more = region.get_by_role("button", name="More meters")
        more.focus()
        page.keyboard.press("Enter")
        expect(rows).to_have_count(51)
        expect(rows.last).to_contain_text(f"MORE{tag}-050")
        expect(more).to_have_count(0)
        expect(region).to_be_focused()
    finally:
        with MeterRecord.batch_write() as batch:
            for meter in meters:
                batch.delete(meter)
