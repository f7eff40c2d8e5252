"""A customer's journey through the portal in a real browser: sign up, verified
by an admin, a bill after a billing run read from a real (simulated) meter,
paid through the Razorpay adapter's checkout (against the local Razorpay
sandbox), a ticket raised and seen resolved. The admin does their part in a
second browser context."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from functions.core.accounts.sessions import issue_session
from tests.browser.conftest import Portal, screenshot, start_session, watch_console
from tests.browser.journeys import (
    CUSTOMER_JOURNEY_MONTHS_AGO,
    find_meter,
    months_ago,
    password_login,
    row_of,
    sign_up,
)
from tests.browser.simulated_meters import simulated_meters
from tests.fixtures.stack import Stack, create_user
from tests.integration.accounts_flow import new_person
from tests.integration.billing_support import ensure_reference_tariffs

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fresh_rate_limits")]

RUPEES = re.compile(r"₹[\d,]+\.\d\d")


@pytest.fixture
def admin_page(browser, console, portal, stack) -> Iterator[Page]:
    """An administrator signed in, in a browser context of their own."""
    user = create_user("admin", name="Kavita Menon")
    admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
    admin_context.set_default_timeout(15_000)
    admin_context.on("page", lambda page: watch_console(page, console))
    page = admin_context.new_page()
    start_session(page, portal, issue_session(user), user)
    yield page
    admin_context.close()


def register_property(page: Page, portal: Portal, pincode: str) -> str:
    page.goto(portal.page_url("properties.html"))
    expect(page.get_by_text("You have no properties yet")).to_be_visible()
    form = page.locator("#register-form")
    form.get_by_label("Address line 1").fill("7 Jor Bagh")
    form.get_by_label("City").fill("New Delhi")
    form.get_by_label("State").fill("Delhi")
    form.get_by_label("PIN code").fill(pincode)
    form.get_by_label("Sanctioned load (kW)").fill("3")
    form.get_by_role("button", name="Register property").click()
    expect(page.get_by_text("Your property is registered")).to_be_visible()
    screenshot(page, "journey-property-registered")
    return page.url.split("id=")[1].split("&")[0]


def fit_meter(admin: Page, portal: Portal, stack: Stack, sim: Any, pincode: str) -> str:
    """The admin registers the meter, assigns it to the property and activates it;
    the installer provisions it."""
    meter = sim.meters[0]
    admin.goto(portal.page_url("admin/meters.html"))
    form = admin.locator("#meter-form")
    form.get_by_label("Serial number").fill(meter["serial"])
    form.get_by_label("Public key").fill(meter["public_key"])
    form.get_by_label("Model").fill("SIM")
    form.get_by_label("Firmware").fill("sim-1")
    form.get_by_label("Endpoint URL").fill(meter["endpoint_url"])
    form.get_by_label("Register when fitted (Wh)").fill(str(sim.start_register_wh))
    form.get_by_role("button", name="Register meter").click()
    expect(admin.get_by_text(f"Meter {meter['serial']} is registered")).to_be_visible()

    assign = admin.locator("#assign-form")
    choice = assign.locator("option", has_text=meter["serial"]).get_attribute("value")
    assign.get_by_role("combobox", name="Meter", exact=True).select_option(choice)
    assign.get_by_label("Find the property").fill(pincode)
    found = assign.get_by_role("combobox", name="Property", exact=True)
    expect(found).to_contain_text("7 Jor Bagh")
    assign.get_by_label("Activate the meter now").check()
    screenshot(admin, "admin-meters-assign")
    assign.get_by_role("button", name="Assign meter").click()
    expect(admin.get_by_text(f"{meter['serial']} is assigned and active")).to_be_visible()
    # Found by its serial, as the admin would in a fleet of any size.
    find_meter(admin, meter["serial"])
    row = row_of(admin, meter["serial"])
    expect(row.get_by_text("Active", exact=True)).to_be_visible()
    meter_id = row.locator(".font-monospace").first.inner_text()

    provisioning = stack.api.as_(admin.evaluate("sessionStorage.getItem('iotbill.token')")).get(
        f"/admin/meters/{meter_id}/provisioning")
    assert provisioning.status_code == 200, provisioning.text
    sim.provision(meter["serial"], provisioning.json())
    return meter_id


def run_billing(admin: Page, portal: Portal, meter_id: str) -> str:
    """Start a month's run and watch its live progress until the bill is out. The run
    asks every active meter, so this journey looks only at its own meter's rows."""
    admin.goto(portal.page_url("admin/runs.html"))
    form = admin.locator("#run-form")
    # The page proposes last month; this test bills a month of its own (see journeys.py).
    expect(form.get_by_label("Billing month")).to_have_value(months_ago(1))
    period = months_ago(CUSTOMER_JOURNEY_MONTHS_AGO)
    form.get_by_label("Billing month").fill(period)
    form.get_by_role("button", name="Start run").click()
    # 202: the run lists and asks its meters in the background; its page follows it.
    expect(admin).to_have_url(re.compile(r"admin/run\.html\?id="))
    expect(admin.get_by_role("heading", name=re.compile("Billing run"))).to_be_visible()
    expect(admin.locator("#page-alerts")).to_contain_text("The run has started")
    # (No meter has answered yet while the meters are listed: the bar has no width.)
    bar = admin.get_by_role("progressbar", name="Meters that answered")
    expect(bar).to_be_attached()
    # The page polls: no reload needed to see the listing end, the meter answer and
    # the bill issued.
    phase = admin.get_by_role("list", name="Phases of the run").locator('[aria-current="step"]')
    expect(phase).to_contain_text(re.compile("Asking|Closing|Closed"), timeout=60_000)
    # The month is long over and the meter keeps no billing snapshot: its live register
    # is held for review, and the admin bills it.
    held = admin.get_by_role("table", name="Readings held for review").locator(
        "tbody tr").filter(has_text=meter_id)
    expect(held).to_contain_text("Read long after period", timeout=60_000)
    held.get_by_role("button", name=re.compile("^Bill it")).click()
    # Billing it prices, splits and writes the bill in that request: slow on a busy CI.
    expect(admin.locator("#page-alerts")).to_contain_text("The reading is billed (1 bill(s))",
                                                          timeout=30_000)
    # (A positive count, not "not 0": a negated check passes before the counters exist.)
    positive = re.compile(r"^[1-9][0-9]*$")
    expect(admin.locator('[data-counter="Bills issued"]')).to_have_text(positive, timeout=60_000)
    expect(admin.locator('[data-counter="Answered"]')).to_have_text(positive)
    expect(bar).to_have_attribute("aria-valuenow", positive)
    expect(bar).to_be_visible()
    screenshot(admin, "admin-run-progress")
    return period


def pay_latest_bill(page: Page, portal: Portal, bill_total: str) -> None:
    page.goto(portal.page_url("dashboard.html"))
    expect(page.locator("#outstanding-amount")).to_have_text(bill_total)
    page.get_by_role("link", name="Pay now").click()
    expect(page.locator("#amount-due")).to_have_text(bill_total)
    screenshot(page, "journey-pay")
    page.get_by_label("UPI").check()
    page.get_by_role("button", name="Continue to secure checkout").click()
    # Our checkout page opens Razorpay's Standard Checkout (checkout.js) for the order
    # the adapter created with the Razorpay SDK; locally checkout.js and the hosted
    # checkout are the Razorpay sandbox's.
    expect(page.get_by_text("Razorpay sandbox: no real money moves.")).to_be_visible()
    expect(page.locator("#amount")).to_have_text(bill_total)
    screenshot(page, "journey-sandbox-checkout")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator("#outcome")).to_have_attribute("data-status", "captured")
    # Back to the merchant with razorpay_payment_id, razorpay_order_id and
    # razorpay_signature, which the adapter verifies before the bill page shows.
    page.get_by_role("button", name="Return to the merchant").click()
    expect(page).to_have_url(re.compile(r"/bill\.html\?id=.*&payment=paid"))
    expect(page.get_by_text("your payment is received")).to_be_visible()


def test_customer_journey_from_sign_up_to_a_resolved_ticket(
        context, portal, stack, admin_page, tmp_path: Path):
    ensure_reference_tariffs(stack.api.as_(admin_page.evaluate(
        "sessionStorage.getItem('iotbill.token')")))
    person = new_person(password="monsoon-meter-2026")
    page = context.new_page()

    # Sign-up: details, the emailed link, the SMS code.
    sign_up(page, portal, stack, person, shots="journey")

    # An administrator verifies the new customer; the customer is emailed.
    admin_page.goto(portal.page_url("admin/customers.html"))
    row = row_of(admin_page, person.email)
    expect(row).to_be_visible()
    screenshot(admin_page, "admin-customers-waiting")
    row.get_by_role("button", name="Verify").click()
    expect(admin_page.get_by_text(f"{person.name} is verified")).to_be_visible()
    expect(row_of(admin_page, person.email)).to_have_count(0)
    assert stack.wait_for_emails(person.email, "verified")  # a queued notice: it follows

    # The customer signs in with the password chosen at sign-up.
    password_login(page, portal, person.email, person.password or "")
    expect(page).to_have_url(portal.page_url("dashboard.html"))
    expect(page.get_by_role("heading", name=f"Hello, {person.name}")).to_be_visible()
    expect(page.get_by_text("No bills yet")).to_be_visible()

    pincode = f"1{uuid.uuid4().int % 10**5:05d}"
    property_id = register_property(page, portal, pincode)

    with simulated_meters(tmp_path, ["normal"]) as sim:
        meter_id = fit_meter(admin_page, portal, stack, sim, pincode)
        period = run_billing(admin_page, portal, meter_id)

        # The bill appears for the customer.
        page.goto(portal.page_url("bills.html"))
        bill_row = page.locator("tbody tr").first  # a new customer: one bill, hers
        expect(bill_row).to_contain_text("7 Jor Bagh")
        bill_row.get_by_role("link", name="View").click()
        expect(page.get_by_role("heading", name=re.compile("Electricity bill"))).to_be_visible()
        bill_id = page.url.split("id=")[1]
        as_customer = stack.api.as_(page.evaluate("sessionStorage.getItem('iotbill.token')"))
        bill = as_customer.get(f"/bills/{bill_id}").json()
        assert bill["property_id"] == property_id and bill["period"] == period
        # The portal formats rupees (Intl, en-IN) exactly as the server does on emails.
        total = page.locator("#bill-total")
        expect(total).to_have_text(bill["total_display"])
        assert RUPEES.fullmatch(bill["total_display"])
        expect(page.get_by_role("table", name="Charges")).to_contain_text("Energy")
        expect(page.get_by_role("table", name="Meter registers")).to_contain_text(
            "Previous register")
        screenshot(page, "journey-bill")
        page.emulate_media(media="print")
        screenshot(page, "journey-bill-print")
        expect(page.get_by_role("button", name="Print")).to_be_hidden()
        page.emulate_media(media="screen")

        pay_latest_bill(page, portal, bill["total_display"])
        expect(page.locator(".badge", has_text="Paid").first).to_be_visible()
        expect(page.locator("#bill-amount-due")).to_have_text("₹0.00")
        screenshot(page, "journey-bill-paid")
        assert as_customer.get(f"/bills/{bill_id}").json()["status"] == "paid"

    # A question about the bill: raised from the bill page, answered by the admin.
    page.get_by_role("link", name="Question about this bill?").click()
    form = page.locator("#ticket-form")
    expect(form.get_by_label("Bill (optional)")).to_have_value(bill_id)
    form.get_by_label("Subject").fill("Why is the fixed charge there?")
    form.get_by_label("What happened?").fill("I paid, but I want to understand the fixed charge.")
    form.get_by_role("button", name="Send request").click()
    expect(page.get_by_text("Your request is raised")).to_be_visible()
    ticket_id = page.url.split("id=")[1].split("&")[0]
    assert re.fullmatch(r"TKT-\d{4}-\d{6}", ticket_id)
    screenshot(page, "journey-ticket-raised")

    admin_page.goto(portal.page_url("admin/tickets.html?status=open"))
    ticket_row = row_of(admin_page, ticket_id)
    ticket_row.get_by_role("button", name=f"Assign to me: {ticket_id}").click()
    expect(admin_page.get_by_text(f"{ticket_id} is assigned to you")).to_be_visible()
    row_of(admin_page, ticket_id).get_by_role("link", name=ticket_id).click()
    admin_page.get_by_label("Add a comment").fill(
        "The fixed charge is ₹50 per kW of sanctioned load for 2-5 kW.")
    admin_page.get_by_role("button", name="Send comment").click()
    expect(admin_page.get_by_text("Your comment is added")).to_be_visible()
    admin_page.get_by_label("Move to").select_option("completed")
    admin_page.get_by_label("Resolution note").fill("Explained the fixed charge.")
    admin_page.get_by_role("button", name="Update status").click()
    expect(admin_page.get_by_text("The ticket is resolved")).to_be_visible()
    screenshot(admin_page, "admin-ticket-resolved")

    # The customer sees it resolved, with the answer, and was emailed.
    page.reload()
    expect(page.locator(".badge", has_text="Completed").first).to_be_visible()
    expect(page.get_by_text("Explained the fixed charge.", exact=True)).to_be_visible()
    expect(page.get_by_text("The fixed charge is ₹50 per kW")).to_be_visible()
    expect(page.get_by_role("button", name="Reopen request")).to_be_visible()
    screenshot(page, "journey-ticket-resolved")
    assert stack.wait_for_emails(person.email, f"{ticket_id}: Completed")  # queued, it follows
    # Not satisfied after all: the customer reopens it within the 14 days.
    page.get_by_role("button", name="Reopen request").click()
    expect(page.get_by_text("Your request is open again.")).to_be_visible()
    expect(page.locator(".badge", has_text="Open").first).to_be_visible()

    page.goto(portal.page_url("dashboard.html"))
    expect(page.locator("#outstanding-amount")).to_have_text("₹0.00")
    screenshot(page, "journey-dashboard-after")


def test_sign_up_errors_show_next_to_the_fields(page, portal, console):
    console.expect_http(400)
    page.goto(portal.page_url("signup.html"))
    form = page.locator("#signup-form")
    form.get_by_label("Full name").fill("Ravi Kumar")
    form.get_by_label("Email address").fill("ravi@example.in")
    form.get_by_label("Mobile number").fill("12345")
    form.get_by_role("button", name="Create account").click()
    mobile = form.get_by_label("Mobile number")
    expect(mobile).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#signup-mobile-error")).to_contain_text("Indian mobile number")
    expect(page.locator("#signup-mobile-error")).not_to_contain_text("Value error")
    expect(page.get_by_role("alert").first).to_contain_text("Some fields are invalid")
    screenshot(page, "signup-field-errors")
