"""The prepaid dashboard and the recharge journey in a real browser (issue 24): balance,
days left, the daily charges and the explained ledger; a recharge through the gateway's
checkout that the balance shows at once on return."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from functions.core.accounts.models import UserRecord
from functions.core.accounts.sessions import issue_session
from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20
from functions.core.clock import IST, utcnow
from functions.core.prepaid.service import PrepaidService
from functions.core.properties.models import PropertyRecord
from tests.browser.conftest import screenshot, start_session
from tests.fixtures.stack import Stack, create_user
from tests.integration.billing_support import ensure_reference_tariffs

pytestmark = pytest.mark.browser


def prepaid_customer(stack: Stack) -> tuple[UserRecord, str, Decimal]:
    # The statement prices the postpaid side with the tariffs on record.
    ensure_reference_tariffs(stack.api.as_(issue_session(create_user("admin"))))
    customer = create_user("customer", name="Lakshmi Nair")
    connection = f"prop-{uuid.uuid4().hex[:12]}"
    PropertyRecord(property_id=connection, owner_id=customer.user_id, line1="4 Prepaid Street",
                   city="Kochi", state="Kerala", pincode="682001", category="residential",
                   sanctioned_load_kw="3", created_at=utcnow()).save()
    service = PrepaidService()
    # Last month (a mode may change from the 1st of last month on).
    month = (utcnow().astimezone(IST).date().replace(day=1) - timedelta(days=1)).replace(day=1)
    service.set_mode("usr_admin", connection, "prepaid", month,
                     monthly_reference_paise=150000)
    service.recharge(connection, f"pay_{uuid.uuid4().hex[:14]}", 100000)
    for day, units in ((1, 8), (2, 17), (3, 25)):
        service.post_daily_debit(connection, month.replace(day=day), [DERC_DOMESTIC_2019_20],
                                 "residential", units, Decimal("3"))
    account = service.accounts.get(connection)
    assert account is not None
    return customer, connection, Decimal(int(account.balance_paise)) / 100


def test_the_prepaid_dashboard_and_a_recharge_through_the_checkout(page, portal, stack):
    customer, connection, expected = prepaid_customer(stack)
    start_session(page, portal, issue_session(customer), customer)
    page.goto(portal.page_url("prepaid.html"))

    balance = page.locator("#prepaid-balance")
    expect(balance).to_have_text(f"₹{expected:,.2f}")  # 1,000 less three days' debits
    expect(page.locator("#days-left")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator(".daily-point")).to_have_count(3)
    ledger = page.locator("#ledger")
    expect(ledger).to_contain_text("Recharge 1000.00")
    expect(ledger).to_contain_text("charge to date")
    # The month's statement: three days' charges beside the postpaid bill of that use.
    spent = f"₹{Decimal('1000.00') - expected:,.2f}"
    expect(page.locator("#statement-verdict")).to_contain_text("Equal to the paisa")
    expect(page.locator("#statement-prepaid-total")).to_have_text(spent)
    expect(page.locator("#statement-postpaid-total")).to_have_text(spent)
    screenshot(page, "prepaid-dashboard")

    # The daily balance SMS: off until the customer switches it on here.
    daily_sms = page.get_by_label("Send me my balance and the day's charge by SMS every day")
    expect(daily_sms).not_to_be_checked()
    daily_sms.check()
    expect(page.get_by_text("You will get your balance by SMS every day.")).to_be_visible()
    account = PrepaidService().accounts.get(connection)
    assert account is not None and account.daily_sms is True

    form = page.locator("#recharge-form")
    form.get_by_label(re.compile("^Amount")).fill("250")
    form.get_by_role("button", name="Recharge now").click()
    expect(page.get_by_text("Razorpay sandbox: no real money moves.")).to_be_visible()
    expect(page.locator("#amount")).to_have_text("₹250.00")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator("#outcome")).to_have_attribute("data-status", "captured")
    page.get_by_role("button", name="Return to the merchant").click()
    expect(page).to_have_url(re.compile(rf"/prepaid\.html\?c={re.escape(connection)}&payment=paid"))
    expect(balance).to_have_text(f"₹{expected + Decimal('250.00'):,.2f}")
    expect(ledger.locator("tbody tr").first).to_contain_text("₹250.00")
    screenshot(page, "prepaid-recharged")
