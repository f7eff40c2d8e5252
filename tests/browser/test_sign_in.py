"""Signing in (email link, password, SMS second factor) and the profile page
(name, mobile, password, two-step sign-in), in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from functions.core.accounts.sessions import issue_session
from tests.browser.conftest import screenshot, start_session
from tests.browser.journeys import emailed_link, mfa, password_login
from tests.fixtures.stack import create_user, unique_mobile
from tests.integration.accounts_flow import sms_code

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fresh_rate_limits")]


def test_admin_signs_in_with_an_email_link_and_an_sms_code(page, portal, stack, console):
    admin = create_user("admin", name="Nandini Bose")
    page.goto(portal.page_url("login.html?next=admin/tickets.html"))
    form = page.locator("#link-form")
    form.get_by_label("Email address").fill(admin.email)
    form.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_text("a sign-in link is on its way")).to_be_visible()

    page.goto(emailed_link(stack, admin.email, "login-link.html"))
    # The single-use token does not stay in the address bar.
    expect(page).to_have_url(portal.page_url("login-link.html"))
    # A wrong code is refused and says how many tries are left.
    console.expect_http(400)
    expect(page.get_by_role("heading", name="Enter your SMS code")).to_be_visible()
    code = page.locator("#mfa-form").get_by_label("SMS code")
    code.fill("000000" if sms_code(stack, admin.mobile) != "000000" else "111111")
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.locator("#mfa-alert")).to_contain_text("The code is not correct. 4 tries left.")
    mfa(page, stack, admin.mobile)
    expect(page).to_have_url(portal.page_url("admin/index.html"))
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Nandini Bose"))).to_be_visible()
    expect(page.get_by_role("heading", name="Customers to verify")).to_be_visible()


def test_a_used_sign_in_link_is_refused(page, portal, stack, console):
    console.expect_http(400, 401)
    customer = create_user("customer")
    page.goto(portal.page_url("login.html"))
    page.locator("#link-form").get_by_label("Email address").fill(customer.email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_text("a sign-in link is on its way")).to_be_visible()
    link = emailed_link(stack, customer.email, "login-link.html")
    page.goto(link)
    expect(page).to_have_url(portal.page_url("dashboard.html"))
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("expired or was already used")
    expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()


def test_wrong_password_is_told_without_saying_which_part(page, portal, console):
    console.expect_http(401)
    password_login(page, portal, "nobody-here@example.in", "not-the-password")
    expect(page.locator("#password-alert")).to_contain_text("email address or password is not")


def test_profile_name_mobile_password_and_two_step_sign_in(page, portal, stack):
    customer = create_user("customer", name="Rohan Das")
    start_session(page, portal, issue_session(customer), customer)
    page.goto(portal.page_url("profile.html"))
    expect(page.get_by_text(customer.email)).to_be_visible()

    name = page.locator("#name-form")
    name.get_by_label("Full name").fill("Rohan K. Das")
    name.get_by_role("button", name="Save name").click()
    expect(page.get_by_text("Your name is saved.")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Rohan K. Das"))).to_be_visible()

    new_mobile = unique_mobile()
    page.locator("#mobile-change-form").get_by_label("New mobile number").fill(new_mobile)
    page.get_by_role("button", name="Send code").click()
    confirm = page.locator("#mobile-confirm-form")
    expect(confirm).to_be_visible()  # the code has been sent
    confirm.get_by_label("Code sent to the new number").fill(sms_code(stack, new_mobile))
    confirm.get_by_role("button", name="Confirm new number").click()
    expect(page.get_by_text("Your mobile number is changed.")).to_be_visible()
    expect(page.locator("#profile-summary")).to_contain_text(new_mobile)

    password = page.locator("#password-change-form")
    expect(password.get_by_label("Current password")).to_be_hidden()  # none set yet
    password.get_by_label("New password").fill("river-delta-2031")
    password.get_by_role("button", name="Set password").click()
    expect(page.get_by_text("Your password is set.")).to_be_visible()

    page.get_by_role("button", name="Turn on").click()
    mfa_confirm = page.locator("#mfa-confirm-form")
    expect(mfa_confirm).to_be_visible()
    mfa_confirm.get_by_label("Code sent by SMS").fill(sms_code(stack, new_mobile))
    mfa_confirm.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Two-step sign-in is on.")).to_be_visible()
    screenshot(page, "profile")

    # Sign out from the account menu, then sign in: password, then the SMS code.
    page.get_by_role("button", name=re.compile("Rohan K. Das")).click()
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    password_login(page, portal, customer.email, "river-delta-2031")
    mfa(page, stack, new_mobile)
    expect(page).to_have_url(portal.page_url("dashboard.html"))


def test_a_customer_waiting_for_review_sees_why_there_is_nothing_yet(page, portal):
    waiting = create_user("customer", status="pending_review", name="Anil Joshi")
    start_session(page, portal, issue_session(waiting), waiting)
    page.goto(portal.page_url("dashboard.html"))
    banner = page.get_by_text("Your account is waiting for an administrator's review.")
    expect(banner).to_be_visible()
    expect(page.locator("#dashboard-body")).to_be_hidden()
    screenshot(page, "dashboard-waiting-for-review")


def test_sign_in_returns_to_the_page_asked_for(page, portal, stack):
    customer = create_user("customer", name="Harpreet Gill")
    as_customer = stack.api.as_(issue_session(customer))
    assert as_customer.put("/me/password", json={"new_password": "tea-garden-4455"}).ok
    page.goto(portal.page_url("tickets.html"))
    expect(page).to_have_url(portal.page_url("login.html?next=tickets.html"))
    page.get_by_role("tab", name="Password").click()
    form = page.locator("#password-form")
    form.get_by_label("Email address").fill(customer.email)
    form.get_by_label("Password").fill("tea-garden-4455")
    form.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(portal.page_url("tickets.html"))
    expect(page.get_by_role("heading", name="Support")).to_be_visible()


def test_next_never_leaves_the_portal(page, portal, stack):
    customer = create_user("customer", name="Ila Sen")
    assert stack.api.as_(issue_session(customer)).put(
        "/me/password", json={"new_password": "tea-garden-4455"}).ok
    password_login(page, portal, customer.email, "tea-garden-4455",
                   next_page="https://evil.example/steal.html")
    expect(page).to_have_url(portal.page_url("dashboard.html"))
