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
