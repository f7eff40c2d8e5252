"""Issue 25 in the browser: the admin's "who never got their bill" page lists a
bounced bill email with why, page by page, and lifts the address's suppression."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from functions.core.accounts.sessions import issue_session
from functions.core.notifications.models import SuppressionRecord
from tests.browser.conftest import screenshot, start_session
from tests.integration.billing_support import a_customer, ensure_reference_tariffs, wait_for
from tests.integration.notifications_support import (
    bill_for,
    key_of,
    outbox_record,
    publish_ses_event,
)

pytestmark = pytest.mark.browser


def test_the_admin_sees_who_never_got_their_bill_and_why(page, portal, stack, admin: Any):
    admin_user, as_admin = admin
    ensure_reference_tariffs(as_admin)
    owner = a_customer(name="Kavya Menon")
    bill_id = bill_for(owner, period="2023-03")
    record = stack.wait_until_handed_over([key_of(bill_id)])[key_of(bill_id)]
    publish_ses_event(record, "Bounce")
    assert wait_for(lambda: outbox_record(key_of(bill_id)).status == "bounced", timeout=90)

    start_session(page, portal, issue_session(admin_user), admin_user)
    page.goto(portal.page_url("admin/notifications.html?period=2023-03&status=bounced"))
    rows = page.get_by_role("table", name="Bill emails of 2023-03 not confirmed delivered")
    row = rows.get_by_role("row").filter(has_text=bill_id)
    expect(row).to_contain_text(owner.email)
    expect(row).to_contain_text("Bounced")
    expect(row).to_contain_text("550 5.1.1 user unknown")
    screenshot(page, "admin-bill-emails-bounced")

    page.get_by_label("Email address").fill(owner.email)
    page.get_by_role("button", name="Lift").click()
    expect(page.get_by_text(f"{owner.email.lower()} gets email again.")).to_be_visible()
    assert SuppressionRecord.count(owner.email.lower()) == 0


def test_a_customer_whose_mail_bounces_is_asked_to_fix_it(page, portal, stack, customer: Any):
    """A hard bounce through the delivery-event path suppresses the address; the
    dashboard says so and the customer, mailbox fixed, asks to be emailed again."""
    from functions.core.clock import utcnow
    from functions.core.notifications.outbox import Outbox, email_record
    from functions.core.notifications.templates import render_email

    user, _ = customer
    notice = email_record(f"account_verified#bounce-{user.user_id}", render_email(
        "account_verified", name=user.name, portal=portal.page_url("")), user.email,
        topic="account", now=utcnow())
    assert Outbox().create(notice)
    Outbox().dispatch([notice.message_key])
    publish_ses_event(stack.wait_until_handed_over([notice.message_key])[notice.message_key],
                      "Bounce")
    assert wait_for(lambda: SuppressionRecord.count(user.email.lower()) == 1, timeout=90)

    start_session(page, portal, issue_session(user), user)
    page.goto(portal.page_url("dashboard.html"))
    prompt = page.get_by_role("region", name="We cannot email you")
    expect(prompt).to_contain_text(user.email)
    expect(prompt).to_contain_text("your mailbox refused our email")
    screenshot(page, "customer-email-bounced")
    prompt.get_by_role("button", name="My mailbox works again").click()
    expect(page.get_by_text(f"Thank you. We email {user.email} again.")).to_be_visible()
    assert SuppressionRecord.count(user.email.lower()) == 0
