"""A customer's journey through the portal in a real browser, with an admin in
a second browser context doing their part."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from functions.core.accounts.sessions import issue_session
from tests.browser.conftest import screenshot, start_session
from tests.browser.journeys import password_login, row_of, sign_up
from tests.fixtures.stack import create_user
from tests.integration.accounts_flow import clear_rate_limits, new_person

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def fresh_rate_limits(stack):
    clear_rate_limits()


def test_sign_up_verified_by_admin_then_sign_in(context, portal, stack):
    person = new_person(password="monsoon-meter-2026")
    customer = context.new_page()
    sign_up(customer, portal, stack, person, shots="journey")

    # An administrator verifies the new customer.
    admin_user = create_user("admin")
    admin = context.browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        admin_page = admin.new_page()
        start_session(admin_page, portal, issue_session(admin_user), admin_user)
        admin_page.goto(portal.page_url("admin/customers.html"))
        row = row_of(admin_page, person.email)
        expect(row).to_be_visible()
        screenshot(admin_page, "admin-customers-waiting")
        row.get_by_role("button", name="Verify").click()
        expect(admin_page.get_by_text(f"{person.name} is verified")).to_be_visible()
        expect(row_of(admin_page, person.email)).to_have_count(0)
    finally:
        admin.close()

    # The customer signs in with the password chosen at sign-up.
    password_login(customer, portal, person.email, person.password or "")
    expect(customer).to_have_url(portal.page_url("dashboard.html"))
    expect(customer.get_by_role("heading", name=f"Hello, {person.name}")).to_be_visible()
    screenshot(customer, "journey-dashboard-new-customer")


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
    expect(page.get_by_role("alert").first).to_contain_text("Some fields are invalid")
    screenshot(page, "signup-field-errors")
