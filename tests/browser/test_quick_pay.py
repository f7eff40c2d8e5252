"""Quick pay in a real browser: a consumer number typed as printed on the bill shows
only the amount due, the due date and a masked name; the payment goes through the
gateway's checkout and comes back to the quick pay page paid; a mistyped number is
refused with a message that says what is wrong; one client's lookups are limited."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from functions.core.payments.quick_pay import LOOKUPS_PER_WINDOW
from functions.core.properties.consumer_numbers import display
from tests.browser.conftest import screenshot
from tests.fixtures.stack import clear_rate_limits, create_user
from tests.integration.test_quick_pay import bill_on

pytestmark = pytest.mark.browser


def test_quick_pay_by_consumer_number_end_to_end(page, portal, stack, console):
    from functions.core.accounts.sessions import issue_session

    console.expect_http(400, 404, 429)  # the refusals this test provokes on purpose
    clear_rate_limits()
    owner = create_user("customer", name="Meera Kulkarni")
    prop = stack.api.as_(issue_session(owner)).post("/properties", json={
        "line1": "14 FC Road", "city": "Pune", "state": "Maharashtra", "pincode": "411004",
        "category": "residential", "sanctioned_load_kw": "3"}).json()
    number = prop["consumer_number"]
    bill = bill_on(prop, owner.user_id, "2026-10", "1234.50")

    page.goto(portal.page_url("quick-pay.html"))
    field = page.get_by_label("Consumer number")
    # A mistyped number (two digits swapped) is refused before anything is shown.
    swapped = number[:-2] + number[-1] + number[-2]
    if swapped == number:
        swapped = number[:-1] + str((int(number[-1]) + 1) % 10)
    field.fill(swapped)
    page.get_by_role("button", name="Find my bill").click()
    expect(page.get_by_text("a digit is wrong or two digits are swapped")).to_be_visible()
    expect(page.locator("#quick-pay-bill")).to_be_hidden()

    field.fill(display(number))  # as printed: "1000 0000 17"
    page.get_by_role("button", name="Find my bill").click()
    card = page.locator("#quick-pay-bill")
    expect(card).to_be_visible()
    expect(page.locator("#quick-pay-name")).to_have_text("M**** K*******")
    expect(page.locator("#quick-pay-amount")).to_have_text("₹1,234.50")
    expect(page.locator("#quick-pay-due")).not_to_have_text("—")
    assert bill.bill_id not in card.inner_text() and "FC Road" not in page.content()
    screenshot(page, "quick-pay")

    page.get_by_role("button", name="Pay now").click()
    expect(page.get_by_text("Razorpay sandbox: no real money moves.")).to_be_visible()
    expect(page.locator("#amount")).to_have_text("₹1,234.50")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator("#outcome")).to_have_attribute("data-status", "captured")
    page.get_by_role("button", name="Return to the merchant").click()
    expect(page).to_have_url(re.compile(r"/quick-pay\.html\?n=\d{10}&payment=paid"))
    expect(page.get_by_text("Thank you: your payment is received.")).to_be_visible()

    # Nothing is due any more; and one client cannot walk the number space.
    page.get_by_role("button", name="Find my bill").click()
    expect(page.get_by_text("No bill is due for this consumer number.")).to_be_visible()
    for _ in range(LOOKUPS_PER_WINDOW):
        page.get_by_role("button", name="Find my bill").click()
        if page.get_by_text("Too many requests").is_visible():
            break
    expect(page.get_by_text("Too many requests")).to_be_visible()
    clear_rate_limits()
