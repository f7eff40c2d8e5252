"""Every page renders for the people it is for, without console errors, and a
screenshot of each is kept (test-artifacts/screenshots/)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from frontend.pages import PAGES
from functions.core.accounts.sessions import issue_session
from tests.browser.conftest import screenshot, start_session
from tests.fixtures.stack import create_user

pytestmark = pytest.mark.browser

# Pages that are not ready to be visited on their own yet (their API is still missing).
PENDING: set[str] = {"bill.html", "bills.html", "admin/runs.html", "admin/run.html"}


@pytest.fixture(scope="module")
def people(stack) -> dict[str, Any]:
    """A verified customer with a property and a ticket, and an admin."""
    customer = create_user("customer", name="Meera Iyer")
    admin = create_user("admin", name="Arjun Rao")
    customer_token = issue_session(customer)
    api = stack.api.as_(customer_token)
    prop = api.post("/properties", json={
        "line1": "14 Lodhi Road", "city": "New Delhi", "state": "Delhi", "pincode": "110003",
        "category": "residential", "sanctioned_load_kw": "3"})
    assert prop.status_code == 201, prop.text
    ticket = api.post("/tickets", json={"category": "meter", "subject": "Meter display is blank",
                                        "description": "Since Monday the display shows nothing."})
    assert ticket.status_code == 201, ticket.text
    return {"customer": (customer, customer_token), "admin": (admin, issue_session(admin)),
            "property_id": prop.json()["property_id"], "ticket_id": ticket.json()["ticket_id"]}


def query_for(path: str, people: dict[str, Any]) -> str:
    return {
        "property.html": f"?id={people['property_id']}",
        "ticket.html": f"?id={people['ticket_id']}",
        "admin/ticket.html": f"?id={people['ticket_id']}",
        "pay.html": "?bill=BILL-none",
    }.get(path, "")


SIGNED_IN = [p for p in PAGES if p.area != "public" and p.path not in PENDING]


@pytest.mark.parametrize("entry", SIGNED_IN, ids=lambda p: p.path)
def test_signed_in_page_renders(page, portal, people, entry):
    user, token = people["admin" if entry.area == "admin" else "customer"]
    start_session(page, portal, token, user)
    page.goto(portal.page_url(entry.path + query_for(entry.path, people)))
    page.wait_for_load_state("networkidle")
    expect(page.locator("[aria-busy=true]")).to_have_count(0)
    expect(page.locator("h1").first).to_be_visible()
    expect(page.locator(".alert-danger")).to_have_count(0)
    screenshot(page, f"page-{entry.path.replace('/', '-').removesuffix('.html')}")


def test_signed_out_visitor_is_sent_to_sign_in(page, portal):
    page.goto(portal.page_url("bills.html"))
    expect(page).to_have_url(portal.page_url("login.html?next=bills.html"))


def test_customer_cannot_use_admin_pages(page, portal, people):
    user, token = people["customer"]
    start_session(page, portal, token, user)
    page.goto(portal.page_url("admin/customers.html"))
    expect(page.get_by_role("heading", name="This page is for administrators")).to_be_visible()


def test_small_screen_has_a_menu_button(context, portal, people):
    user, token = people["customer"]
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    start_session(phone, portal, token, user)
    phone.goto(portal.page_url("dashboard.html"))
    menu = phone.get_by_role("button", name="Show navigation")
    expect(menu).to_be_visible()
    menu.click()
    expect(phone.get_by_role("link", name="Properties", exact=True)).to_be_visible()
    screenshot(phone, "phone-dashboard-menu", full_page=False)


def test_an_ended_session_goes_back_to_sign_in(page, portal, people, console):
    console.expect_http(401)
    user, _ = people["customer"]
    start_session(page, portal, "revoked-or-expired-token", user)
    page.goto(portal.page_url("bills.html"))
    expect(page).to_have_url(portal.page_url("login.html?next=bills.html"))
    assert page.evaluate("sessionStorage.getItem('iotbill.token')") is None
