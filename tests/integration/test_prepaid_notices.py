"""Prepaid messages by email and SMS (issue 24 items 4 and 5), read where the customer
would get them: the emulator's captured mail and SMS, after the notification sender
ran. A low-balance crossing sends one SMS and one email, a recharge webhook delivered
twice one receipt, and the daily balance SMS goes only when switched on, once a day."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from functions.core.accounts.sessions import issue_session
from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20
from functions.core.clock import utcnow
from functions.core.money import format_inr, from_paise
from functions.core.notifications.outbox import Outbox
from functions.core.prepaid.notices import daily_balance_notice, low_balance_alert
from functions.core.prepaid.service import PrepaidService
from functions.core.properties.models import PropertyRecord
from tests.fixtures.stack import create_user
from tests.integration.payments_support import event_body, payment_entity, post_webhook

WEEKDAY_NOON = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)  # Wednesday 11:00 IST


def connection_of(owner_id: str) -> tuple[str, str]:
    """A property of `owner_id` with a consumer number: (connection id, number)."""
    connection, number = f"prop-{uuid.uuid4().hex[:12]}", str(uuid.uuid4().int)[:10]
    PropertyRecord(property_id=connection, owner_id=owner_id, line1="2 Meter Marg",
                   city="Pune", state="MH", pincode="411001", category="residential",
                   sanctioned_load_kw="3", consumer_number=number, created_at=utcnow()).save()
    return connection, number


def rupees(paise: int) -> str:
    return format_inr(from_paise(paise)).lstrip("₹")


def test_a_low_balance_crossing_sends_one_sms_and_one_email_in_the_payers_language(stack):
    user = create_user("customer", language="hi")  # SMS not chosen: this one goes anyway
    connection, number = connection_of(user.user_id)
    service = PrepaidService(clock=lambda: WEEKDAY_NOON, alert=low_balance_alert)
    service.set_mode("usr_admin", connection, "prepaid", date(2026, 12, 1),
                     monthly_reference_paise=100000)
    service.adjust("usr_admin", connection, "opening", 40000, "opening")  # 40%: no alert
    service.adjust("usr_admin", connection, "use-1", -15000, "use")  # 25%: below 30%
    service.adjust("usr_admin", connection, "use-2", -1000, "use")  # 24%: the same crossing

    keys = [f"{template}#{connection}#30#2" for template in ("prepaid_low_balance",
                                                             "low_balance")]
    stack.wait_until_handed_over(keys)
    [sms] = stack.sms_to(user.mobile)
    assert sms["message"].startswith(f"कम बैलेंस: प्रीपेड उपभोक्ता क्रमांक {number} में ₹250.00")
    [email] = stack.emails_to(user.email)
    assert "₹250.00" in email["subject"] and "30%" in email["body"]
    assert "कम बैलेंस" in email["subject"] and "प्रिय" in email["body"]


def test_a_recharge_webhook_delivered_twice_sends_one_receipt(stack, admin):
    user = create_user("customer", notify_by="email+sms")
    client = stack.api.as_(issue_session(user))
    connection, number = connection_of(user.user_id)
    assert admin[1].put(f"/admin/prepaid/{connection}/mode", json={
        "mode": "prepaid", "from_date": "2026-12-01"}).status_code == 200
    order = client.post(f"/prepaid/{connection}/recharge", json={"amount_paise": 123450})
    assert order.status_code == 201, order.text
    entity = payment_entity(order.json(),  # 13:00 UTC: 18:30 IST on the receipt
                            created_at=int(datetime(2026, 12, 7, 13, tzinfo=UTC).timestamp()))
    raw = json.dumps(event_body("payment.captured", payment=entity),
                     separators=(",", ":")).encode()
    assert post_webhook(stack.api.base_url, raw).json()["result"] == "paid"
    assert post_webhook(stack.api.base_url, raw).json()["result"] == "duplicate"

    payment = entity["id"]
    stack.wait_until_handed_over([f"prepaid_recharge#{payment}",
                                  f"recharge_received#{payment}"])
    [email] = stack.emails_to(user.email)
    assert email["subject"] == ("Recharge received: ₹1,234.50 for your prepaid electricity "
                                "connection")
    for shown in ("New balance:  ₹1,234.50", payment, number, "7 Dec 2026, 18:30 IST"):
        assert shown in email["body"], shown
    [sms] = stack.sms_to(user.mobile)
    assert sms["message"] == (
        f"Recharge of Rs 1,234.50 received for prepaid consumer no. {number} on 7 Dec 2026 "
        f"18:30 IST. New balance Rs 1,234.50. Ref {payment[-20:]} - Discom Smart Billing")


def test_the_daily_balance_sms_only_when_switched_on_and_once_a_day(stack, other_customer):
    user = create_user("customer")
    client = stack.api.as_(issue_session(user))
    connection, number = connection_of(user.user_id)
    service = PrepaidService(clock=lambda: WEEKDAY_NOON, daily_notice=daily_balance_notice)
    service.set_mode("usr_admin", connection, "prepaid", date(2026, 12, 1))
    service.recharge(connection, f"pay_{uuid.uuid4().hex[:12]}", 100000)

    def debit(day: int, units: int, by: PrepaidService = service) -> bool:
        return by.post_daily_debit(connection, date(2026, 12, day),
                                        [DERC_DOMESTIC_2019_20], "residential", units,
                                        Decimal("3"))

    assert debit(1, 9)  # not switched on: no SMS
    assert Outbox().get(f"daily_balance#{connection}#2026-12-01") is None

    path = f"/prepaid/{connection}/daily-sms"
    assert other_customer[1].put(path, json={"enabled": True}).status_code == 404
    switched = client.put(path, json={"enabled": True})
    assert switched.status_code == 200 and switched.json()["daily_sms"] is True
    assert client.get(f"/prepaid/{connection}").json()["daily_sms"] is True

    assert debit(2, 20) and not debit(2, 20)  # the day's run delivered twice
    stack.wait_until_handed_over([f"daily_balance#{connection}#2026-12-02"])
    [sms] = stack.sms_to(user.mobile)
    entry = service.ledger.get(connection, "debit#2026-12-02")
    account = service.accounts.get(connection)
    assert entry is not None and account is not None and int(entry.amount_paise) < 0
    assert sms["message"] == (
        f"Prepaid consumer no. {number}: charge for 2 Dec 2026 Rs "
        f"{rupees(-int(entry.amount_paise))}, balance Rs {rupees(int(account.balance_paise))}"
        ". Recharge on the portal - Discom Smart Billing")

    # A day's debit posted three days late (a meter that answered late): no stale SMS.
    late = PrepaidService(clock=lambda: WEEKDAY_NOON + timedelta(days=4),
                          daily_notice=daily_balance_notice)
    assert debit(3, 30, by=late)
    assert Outbox().get(f"daily_balance#{connection}#2026-12-03") is None
