"""Steps a person takes in the portal, shared by the journey tests. Links and
codes come from the emulator's captured email and SMS, as a person reads them."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Portal, screenshot
from tests.fixtures.stack import Stack
from tests.integration.accounts_flow import Person, sms_code
from tests.integration.payments_support import today_ist

# Billing runs are one per month for the whole test session, and the run pages count
# every bill of their month: the journeys bill months that no other test bills. The
# end-to-end billing test takes last month and bills history into the three before it.
# Runs are asynchronous (listing, asking, closing, closed): the journeys wait on the run
# page's phase steps. Their months are long over and the simulated meters keep no billing
# snapshot of them, so billing holds each live register for review (read long after the
# period) and the journeys bill it as the admin would, from the run page.
CUSTOMER_JOURNEY_MONTHS_AGO = 6
ADMIN_JOURNEY_MONTHS_AGO = 7

LINK = re.compile(r"(https?://\S+/([\w-]+\.html)\?token=\S+)")


def emailed_link(stack: Stack, address: str, page: str) -> str:
    """The newest link to ``page`` emailed to ``address``."""
    for message in reversed(stack.emails_to(address)):
        for url, found_page in LINK.findall(message["body"]):
            if found_page == page:
                return str(url)
    raise AssertionError(f"no {page} link emailed to {address}")


def sign_up(page: Page, portal: Portal, stack: Stack, person: Person, shots: str = "") -> None:
    """Details form, the emailed link, the SMS code: the account then waits for review."""
    page.goto(portal.page_url("signup.html"))
    form = page.locator("#signup-form")
    form.get_by_label("Full name").fill(person.name)
    form.get_by_label("Email address").fill(person.email)
    # Typed the way people do; the page adds +91.
    form.get_by_label("Mobile number").fill(f"{person.mobile[3:8]} {person.mobile[8:]}")
    if person.password:
        form.get_by_label("Password (optional)").fill(person.password)
    form.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-signup-email-step")

    page.goto(emailed_link(stack, person.email, "verify-email.html"))
    expect(page.get_by_role("heading", name="Confirm your mobile number")).to_be_visible()
    expect(page.get_by_text("Your email address is confirmed.")).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-signup-mobile-step")
    page.locator("#mobile-form").get_by_label("SMS code").fill(sms_code(stack, person.mobile))
    page.get_by_role("button", name="Confirm mobile").click()
    done = page.get_by_role("heading", name="Thank you, your details are confirmed")
    expect(done).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-signup-done")


def password_login(page: Page, portal: Portal, email: str, password: str,
                   next_page: str | None = None) -> None:
    url = "login.html" + (f"?next={next_page}" if next_page else "")
    page.goto(portal.page_url(url))
    page.get_by_role("tab", name="Password").click()
    form = page.locator("#password-form")
    form.get_by_label("Email address").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in").click()


def mfa(page: Page, stack: Stack, mobile: str) -> None:
    expect(page.get_by_role("heading", name="Enter your SMS code")).to_be_visible()
    page.locator("#mfa-form").get_by_label("SMS code").fill(sms_code(stack, mobile))
    page.get_by_role("button", name="Verify and sign in").click()


def row_of(page: Page, text: str) -> Any:
    """The table row that contains ``text``."""
    return page.locator("tr", has_text=text)


def find_meter(page: Page, serial: str) -> None:
    """Search the admin's meter list by serial, as an admin types it off the meter: the
    meter is found however many meters the stack holds."""
    search = page.get_by_role("search")
    search.get_by_label("Find by serial").fill(serial)
    search.get_by_role("button", name="Search").click()
    expect(page.locator("#meter-list tbody tr").first).to_contain_text(serial, timeout=15_000)


def months_ago(count: int) -> str:
    """The IST calendar month `count` months before this one, as YYYY-MM."""
    today = today_ist()
    index = today.year * 12 + today.month - 1 - count
    return f"{index // 12}-{index % 12 + 1:02d}"
