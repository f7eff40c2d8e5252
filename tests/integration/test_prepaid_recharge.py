"""Prepaid recharges over HTTP (issue 24): the customer starts a recharge, the
gateway's webhook (the bills' webhook path) credits it once however often it is
delivered, and the balance and ledger show it at once."""

from __future__ import annotations

import json
import uuid

from functions.core.clock import utcnow
from functions.core.prepaid.models import PrepaidAccountRecord
from functions.core.properties.models import PropertyRecord
from tests.integration.payments_support import (
    event_body,
    payment_entity,
    post_webhook,
    today_ist,
)


def prepaid_property(owner_id: str, admin_client) -> str:
    connection = f"prop-{uuid.uuid4().hex[:12]}"
    PropertyRecord(property_id=connection, owner_id=owner_id, line1="1 Prepaid Lane",
                   city="Delhi", state="DL", pincode="110001", category="residential",
                   sanctioned_load_kw="3", created_at=utcnow()).save()
    response = admin_client.put(f"/admin/prepaid/{connection}/mode", json={
        "mode": "prepaid", "from_date": today_ist().replace(day=1).isoformat(),
        "monthly_reference_paise": 150000})
    assert response.status_code == 200, response.text
    return connection


def test_a_mode_change_for_no_registered_property_is_a_404_and_makes_no_account(admin):
    connection = f"prop-{uuid.uuid4().hex[:12]}"
    response = admin[1].put(f"/admin/prepaid/{connection}/mode", json={
        "mode": "prepaid", "from_date": today_ist().replace(day=1).isoformat()})
    assert response.status_code == 404, response.text
    assert PrepaidAccountRecord.count(connection) == 0


def test_a_recharge_webhook_delivered_twice_credits_once(stack, customer, admin):
    user, client = customer
    connection = prepaid_property(user.user_id, admin[1])

    too_small = client.post(f"/prepaid/{connection}/recharge", json={"amount_paise": 500})
    assert too_small.status_code == 400 and "smallest recharge" in too_small.json()["message"]
    order = client.post(f"/prepaid/{connection}/recharge",
                        json={"amount_paise": 50000, "method": "upi"})
    assert order.status_code == 201, order.text
    body = event_body("payment.captured", payment=payment_entity(order.json()))
    raw = json.dumps(body, separators=(",", ":")).encode()

    first = post_webhook(stack.api.base_url, raw)
    again = post_webhook(stack.api.base_url, raw)
    assert first.json()["result"] == "paid" and again.json()["result"] == "duplicate"

    view = client.get(f"/prepaid/{connection}").json()
    assert view["balance_paise"] == 50000 and view["mode"] == "prepaid"
    assert [e["kind"] for e in view["ledger"]] == ["recharge"]
    assert view["ledger"][0]["amount"] == "500.00"


def test_only_the_owner_or_an_admin_sees_a_prepaid_connection(stack, customer,
                                                               other_customer, admin):
    user, _ = customer
    connection = prepaid_property(user.user_id, admin[1])
    assert other_customer[1].get(f"/prepaid/{connection}").status_code == 404
    assert other_customer[1].post(f"/prepaid/{connection}/recharge",
                                  json={"amount_paise": 50000}).status_code == 404
    adjusted = admin[1].post(f"/admin/prepaid/{connection}/adjustments",
                             json={"key": "goodwill-1", "amount_paise": 2500,
                                   "reason": "Meter fault goodwill"})
    assert adjusted.status_code == 201 and adjusted.json() == {"applied": True,
                                                               "balance_paise": 2500}
    assert admin[1].post(f"/admin/prepaid/{connection}/adjustments",
                         json={"key": "goodwill-1", "amount_paise": 2500,
                               "reason": "Meter fault goodwill"}).json()["applied"] is False


def test_a_low_balance_emails_the_owner_once_per_crossing(stack, customer, admin):
    user, _ = customer
    connection = prepaid_property(user.user_id, admin[1])  # average month: Rs 1,500

    def adjust(key: str, paise: int) -> None:
        response = admin[1].post(f"/admin/prepaid/{connection}/adjustments",
                                 json={"key": key, "amount_paise": paise, "reason": "test"})
        assert response.status_code == 201, response.text

    adjust("opening", 60000)  # Rs 600: 40%, no alert
    adjust("use-1", -20000)  # Rs 400: below 30%
    adjust("use-2", -5000)  # Rs 350: still below 30%, no second alert
    emails = stack.wait_for_emails(user.email, "Low balance", count=1)
    assert "30% or less" in emails[0]["body"] and "₹400.00" in emails[0]["subject"]
    adjust("use-3", -25000)  # Rs 100: below 10% (a second crossing)
    assert len(stack.wait_for_emails(user.email, "Low balance", count=2)) == 2
