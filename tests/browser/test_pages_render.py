"""Every page renders for the people it is for, without console errors, and a
screenshot of each is kept (test-artifacts/screenshots/)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from frontend.pages import PAGES
from tests.browser.conftest import query_for, screenshot, start_session

pytestmark = pytest.mark.browser

SIGNED_IN = [p for p in PAGES if p.area != "public"]


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
