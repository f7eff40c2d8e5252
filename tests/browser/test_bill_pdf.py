"""The bill page shows the consumer number and downloads the bill as a PDF in the
page's language (a Hindi page gets the Hindi PDF); the profile chooses email and/or SMS
for bill and payment messages."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from functions.core.accounts.sessions import issue_session
from tests.browser.conftest import start_session
from tests.fixtures.stack import create_user
from tests.integration.test_quick_pay import bill_on

pytestmark = pytest.mark.browser


def test_the_bill_page_downloads_the_pdf_bill(page, portal, stack):
    customer = create_user("customer", name="Sunita Joshi")
    prop = stack.api.as_(issue_session(customer)).post("/properties", json={
        "line1": "3 Karve Road", "city": "Pune", "state": "Maharashtra", "pincode": "411004",
        "category": "residential", "sanctioned_load_kw": "3"}).json()
    bill = bill_on(prop, customer.user_id, "2026-10", "2468.10")
    start_session(page, portal, issue_session(customer), customer)
    page.goto(portal.page_url(f"hi/bill.html?id={bill.bill_id}"))
    expect(page.locator("#bill-consumer-number")).to_contain_text(prop["consumer_number"])
    with page.expect_download() as download:
        page.get_by_role("button", name="PDF डाउनलोड करें").click()
    path = download.value.path()
    assert download.value.suggested_filename == "electricity-bill-2026-10-hi.pdf"
    text = PdfReader(io.BytesIO(path.read_bytes())).pages[0].extract_text()
    assert prop["consumer_number"] in text and "₹2,468.10" in text
    assert "उपभोक्ता क्रमांक" in text  # the Hindi PDF for the Hindi page

    # The profile chooses SMS as well as email for bill and payment messages.
    page.goto(portal.page_url("profile.html"))
    expect(page.get_by_label("By email")).to_be_checked()
    page.get_by_label("By SMS to my mobile").check()
    page.get_by_role("button", name="Save messages").click()
    expect(page.get_by_text("Your message choice is saved.")).to_be_visible()
    me = stack.api.as_(issue_session(customer)).get("/me").json()
    assert me["notify_email"] is True and me["notify_sms"] is True
