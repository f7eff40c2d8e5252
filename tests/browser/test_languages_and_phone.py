"""Issue 23 in the browser: a customer switches the portal to Hindi, then Marathi, and
reads the dashboard, a bill and its print view in that language with rupees in
Indian grouping; at 390 px the bill shows amount due, due date and Pay first; no page
scrolls sideways on a phone; a date field spells its day out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from frontend.pages import PAGES
from functions.core.accounts.sessions import issue_session
from tests.browser.conftest import query_for, screenshot, start_session
from tests.fixtures.stack import create_user

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
AMOUNT = "\u20b912,34,567.89"  # ₹12,34,567.89: Indian grouping in every language

# What each language shows: the switch's name, the dashboard, the bill, the print view.
LANGUAGES = {
    "hi": {"switch": "हिन्दी", "hello": "नमस्ते", "outstanding": "बकाया",
           "title": "बिजली बिल, नवंबर 2026", "due": "देय राशि", "due_date": "दिस",
           "print": "बिजली बिल"},
    "mr": {"switch": "मराठी", "hello": "नमस्कार", "outstanding": "थकबाकी",
           "title": "वीज बिल, नोव्हेंबर 2026", "due": "देय रक्कम", "due_date": "डिसें",
           "print": "वीज बिल"},
}


WRAPPED_BUTTONS = """() => [...document.querySelectorAll("form .btn")]
    .filter((b) => b.offsetParent !== null)
    .filter((b) => {
      const style = getComputedStyle(b);
      const inner = b.clientHeight - parseFloat(style.paddingTop)
        - parseFloat(style.paddingBottom);
      return inner > parseFloat(style.lineHeight) * 1.5;
    }).map((b) => b.textContent.trim())"""


def overflow(page: Any) -> int:
    """How many pixels the document is wider than the viewport (0: no sideways scroll)."""
    return int(page.evaluate(
        "() => document.documentElement.scrollWidth - window.innerWidth"))


def settled(page: Any) -> None:
    page.wait_for_load_state("networkidle")
    expect(page.locator("[aria-busy=true]")).to_have_count(0)


def test_a_customer_reads_the_portal_in_hindi_and_marathi(page, portal, stack):
    from tests.integration.payments_support import make_bill

    customer = create_user("customer", name="Sunita Patil")
    token = issue_session(customer)
    bill = make_bill(customer.user_id, total="1234567.89", period="2026-11",
                     due=date(2026, 12, 7))
    start_session(page, portal, token, customer)
    page.goto(portal.page_url("dashboard.html"))
    settled(page)
    expect(page.locator("html")).to_have_attribute("lang", "en-IN")

    for code, words in LANGUAGES.items():
        # The switch on the page: the same page in the language, stored in the profile.
        page.locator("nav.lang-switch").get_by_role("link", name=words["switch"]).click()
        expect(page).to_have_url(portal.page_url(f"{code}/dashboard.html"))
        settled(page)
        expect(page.locator("html")).to_have_attribute("lang", f"{code}-IN")
        expect(page.locator("h1")).to_contain_text(words["hello"])
        expect(page.locator("#outstanding-label")).to_have_text(words["outstanding"])
        expect(page.locator("#outstanding-amount")).to_have_text(AMOUNT)
        assert stack.api.as_(token).get("/me").json()["language"] == code

        # The bill, phone-sized: amount due, due date and Pay come first.
        page.set_viewport_size(PHONE)
        page.goto(portal.page_url(f"{code}/bill.html?id={bill.bill_id}"))
        settled(page)
        expect(page.locator("h1")).to_have_text(words["title"])
        due = page.locator("#bill-due")
        expect(due).to_contain_text(words["due"])
        expect(page.locator("#bill-due-amount")).to_have_text(AMOUNT)
        expect(page.locator("#bill-due-date")).to_contain_text(words["due_date"])
        pay = due.get_by_role("link", name=AMOUNT)
        expect(pay).to_be_in_viewport()
        charges = page.locator("#charges-title").bounding_box()
        assert charges and due.bounding_box()["y"] < charges["y"]
        assert overflow(page) <= 0
        screenshot(page, f"phone-bill-{code}", full_page=False)

        # Its print view: the bill only, in the language.
        page.emulate_media(media="print")
        expect(page.locator(".print-only")).to_be_visible()
        expect(page.locator(".print-only")).to_contain_text(words["print"])
        expect(page.locator("header")).to_be_hidden()
        expect(page.locator("#bill-amount-due")).to_have_text(AMOUNT)
        screenshot(page, f"print-bill-{code}")
        page.emulate_media(media="screen")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(portal.page_url(f"{code}/dashboard.html"))
        settled(page)

    # The profile's language wins on any page opened in another one.
    page.goto(portal.page_url("bills.html"))
    expect(page).to_have_url(portal.page_url("mr/bills.html"))

    # The profile page chooses it too: back to English.
    page.goto(portal.page_url("mr/profile.html"))
    settled(page)
    page.get_by_label("पोर्टल, ईमेल आणि SMS ची भाषा").select_option("en")
    page.get_by_role("button", name="भाषा जतन करा").click()
    expect(page).to_have_url(portal.page_url("profile.html"))
    expect(page.locator("html")).to_have_attribute("lang", "en-IN")
    assert stack.api.as_(token).get("/me").json()["language"] == "en"


def test_pay_prepaid_and_support_pages_in_hindi_and_marathi(page, portal, stack):
    from tests.browser.test_prepaid import prepaid_customer
    from tests.integration.payments_support import make_bill

    customer, connection, _balance = prepaid_customer(stack)
    token = issue_session(customer)
    api = stack.api.as_(token)
    ledger = api.get(f"/prepaid/{connection}").json()["ledger"]
    last_debit = next(e for e in ledger if e["kind"] == "debit")
    assert api.put("/me/language", json={"language": "hi"}).status_code == 200
    bill = make_bill(customer.user_id, total="1234567.89", period="2026-11",
                     due=date(2026, 12, 7))
    start_session(page, portal, token, customer)

    # The prepaid page: balance, ledger with its entry kinds, the month's statement.
    page.goto(portal.page_url("hi/prepaid.html"))
    settled(page)
    expect(page.locator("#balance-title")).to_have_text("शेष राशि")
    expect(page.locator("#prepaid-balance")).to_contain_text("₹")
    expect(page.locator("#ledger-title")).to_have_text("खाता-बही")
    expect(page.locator("#ledger").get_by_text("रिचार्ज", exact=True)).to_have_count(1)
    # The entries' explanations too, from the API's facts: amounts in rupees, grouped.
    expect(page.locator("#ledger")).to_contain_text("रिचार्ज ₹1,000.00 (भुगतान pay_")
    expect(page.locator("#ledger")).to_contain_text(
        f"अब तक का शुल्क ₹{Decimal(last_debit['charge_to_date']):,.2f}")
    expect(page.locator("#statement-verdict")).to_contain_text("पैसे-पैसे तक बराबर")
    expect(page.get_by_label("मुझे हर दिन मेरी शेष राशि और उस दिन का शुल्क SMS से भेजें")).to_be_visible()
    expect(page.get_by_role("button", name="अभी रिचार्ज करें")).to_be_visible()

    # The pay page: the amount in Indian grouping, the due date's month in Hindi.
    page.goto(portal.page_url(f"hi/pay.html?bill={bill.bill_id}"))
    settled(page)
    expect(page.locator("h1")).to_have_text("अपने बिल का भुगतान करें")
    expect(page.locator("#amount-due")).to_have_text(AMOUNT)
    expect(page.locator("#pay-summary")).to_contain_text("दिस॰ 2026")
    expect(page.get_by_role("button", name="सुरक्षित भुगतान पृष्ठ पर जाएँ")).to_be_visible()

    # A support request's conversation, in Marathi.
    raised = api.post("/tickets", json={
        "category": "meter", "subject": "Meter blinking", "description": "It blinks."})
    assert raised.status_code == 201, raised.text
    assert api.put("/me/language", json={"language": "mr"}).status_code == 200
    page.goto(portal.page_url(f"mr/ticket.html?id={raised.json()['ticket_id']}"))
    settled(page)
    expect(page.locator("#thread-title")).to_have_text("संभाषण")
    expect(page.locator("#ticket")).to_contain_text("उत्तराची प्रतीक्षा आहे")
    expect(page.get_by_role("button", name="टिप्पणी पाठवा")).to_be_visible()

    # The support team completes it: the status change in the thread reads in Marathi,
    # the admin's note as written.
    admin = stack.api.as_(issue_session(create_user("admin")))
    done = admin.post(f"/admin/tickets/{raised.json()['ticket_id']}/status", json={
        "status": "completed", "resolution_note": "Meter replaced."})
    assert done.status_code == 200, done.text
    page.reload()
    settled(page)
    expect(page.locator("#ticket")).to_contain_text("स्थिती बदलली: पूर्ण. Meter replaced.")


def test_no_page_scrolls_sideways_on_a_phone(context, portal, people):
    phone = context.new_page()
    phone.set_viewport_size(PHONE)
    wide: list[str] = []

    def visit(path: str, language: str = "") -> None:
        phone.goto(portal.page_url(language + path + query_for(path, people)))
        # Every region that loads data says so (aria-busy) until it is filled (an admin list
        # on a worker's busy stack can take seconds).
        expect(phone.locator("[aria-busy=true]")).to_have_count(0, timeout=20_000)
        if (extra := overflow(phone)) > 0:
            wide.append(f"{language}{path}: {extra}px wider than the phone")
        if path.startswith("admin/") and (wrapped := phone.evaluate(WRAPPED_BUTTONS)):
            wide.append(f"{path}: buttons wrapped {wrapped}")
            name = f"{language}{path}".replace("/", "-")
            screenshot(phone, f"FAILED-overflow-{name}", full_page=False)

    for area in ("public", "customer", "admin"):
        if area != "public":
            user, token = people[area]
            start_session(phone, portal, token, user)
        for entry in PAGES:
            if entry.area == area or (area == "customer" and entry.area == "user"):
                visit(entry.path)
    # The longest words are Hindi and Marathi: the customer's main pages in both.
    for code in LANGUAGES:
        for path in ("dashboard.html", "bill.html", "bills.html"):
            visit(path, f"{code}/")
    assert not wide, "\n".join(wide)


def test_admin_forms_keep_buttons_whole_and_spell_dates_out(page, portal, people, admin):
    from tests.integration.billing_support import ensure_reference_tariffs

    ensure_reference_tariffs(admin[1])
    user, token = people["admin"]
    start_session(page, portal, token, user)
    page.goto(portal.page_url("admin/tariffs.html"))
    settled(page)
    wrapped = page.evaluate(WRAPPED_BUTTONS)
    assert wrapped == [], f"buttons wrapped at 1280 px: {wrapped}"

    effective = page.locator("#tariff-effective_from")
    effective.fill("2026-12-07")
    expect(page.locator("#tariff-effective_from-spelled")).to_have_text("7 Dec 2026")

    # At 390 px the versions table stacks its rows: nothing to scroll sideways inside it.
    page.set_viewport_size(PHONE)
    versions = page.get_by_role("table", name="Tariff versions")
    expect(versions).to_be_visible()
    assert page.evaluate("""() => [...document.querySelectorAll('.table-responsive')]
        .every((box) => box.scrollWidth <= box.clientWidth)""")
    screenshot(page, "phone-admin-tariffs", full_page=False)
