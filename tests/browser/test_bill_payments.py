"""Payments on the bill page and the admin's payments page, in a real browser:
the UPI QR code a phone reads, a payment made from it, a refund with its status,
and the admin's refund form and reconciliation report."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from functions.core.accounts.sessions import issue_session
from functions.core.payments.sandbox import sandbox
from tests.browser.conftest import screenshot, start_session
from tests.fixtures.stack import create_user
from tests.integration.payments_support import make_bill, sandbox_url, today_ist, wait_for
from tests.qr_decode import decode_data_uri

pytestmark = pytest.mark.browser


def test_the_bill_page_shows_a_upi_qr_code_and_the_refund_of_a_payment(page, context, portal,
                                                                      stack):
    customer = create_user("customer", name="Kavya Menon")
    admin = create_user("admin", name="Ravi Shankar")
    bill = make_bill(customer.user_id, total="2345.60", period="2017-03")
    start_session(page, portal, issue_session(customer), customer)
    page.goto(portal.page_url(f"bill.html?id={bill.bill_id}"))

    card = page.get_by_role("region", name="Pay by UPI")
    expect(card).to_contain_text("discom.sandbox@razorpay")
    expect(card).to_contain_text("₹2,345.60")
    qr = card.get_by_role("img", name=re.compile("UPI QR code"))
    link = page.locator("#upi-link").get_attribute("href")
    assert link and link.startswith("upi://pay?") and f"tr={bill.bill_id}" in link
    assert decode_data_uri(qr.get_attribute("src") or "") == [link]  # what a phone reads
    screenshot(page, "bill-upi")

    # A UPI app pays the link; the bill is paid and the QR code goes.
    paid = requests.post(sandbox_url(stack.api.base_url) + "/_sandbox/upi",
                         json={"link": link}, timeout=30).json()["payment"]
    page.reload()
    expect(page.locator("#bill-amount-due")).to_have_text("₹0.00")
    expect(page.get_by_role("region", name="Pay by UPI")).to_have_count(0)

    # The admin refunds part of it from the payments page.
    admin_page = context.new_page()
    start_session(admin_page, portal, issue_session(admin), admin)
    admin_page.goto(portal.page_url("admin/payments.html"))
    admin_page.get_by_role("tab", name="Payments").click()
    form = admin_page.locator("#refund-form")
    form.get_by_label("Payment id").fill(paid["id"])
    form.get_by_label(re.compile("^Amount")).fill("345.60")
    form.get_by_label("Reason").fill("Meter misread in March")
    form.get_by_role("button", name="Refund").click()
    expect(admin_page.locator("#page-alerts")).to_contain_text("Refund of ₹345.60")

    # The gateway processes it a moment later and says so by webhook.
    as_customer = stack.api.as_(issue_session(customer))
    refunds = f"/bills/{bill.bill_id}/payments"
    assert wait_for(lambda: [r for p in as_customer.get(refunds).json()
                             for r in p["refunds"] if r["status"] == "processed"], timeout=90), (
        f"the refund is not processed; the sandbox's last webhooks: {sandbox().deliveries[-5:]}")
    page.reload()
    processed = page.locator('.refund[data-refund-status="processed"]')
    expect(processed).to_contain_text("Refunded")
    expect(processed).to_contain_text("₹345.60: Meter misread in March")
    screenshot(page, "bill-refunded")

    # ... and reads today's reconciliation: the payment matched, nothing of it open.
    admin_page.get_by_role("tab", name="Reconciliation").click()
    admin_page.locator("#reconciliation-form").get_by_label("Day (IST)").fill(
        today_ist().isoformat())
    admin_page.get_by_role("button", name="Reconcile now").click()
    expect(admin_page.locator("#reconciliation-totals")).to_contain_text("Captured at the gateway")
    expect(admin_page.locator("#reconciliation")).not_to_contain_text(paid["id"])
    screenshot(admin_page, "admin-reconciliation")
