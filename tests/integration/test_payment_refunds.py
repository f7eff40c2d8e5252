"""Refunds through the Razorpay adapter against the local sandbox: the
automatic refund of a payment that cannot be applied, and an admin's full or
partial refund with a reason; the payer sees them on the bill and is emailed."""

from __future__ import annotations

import uuid

import pytest

from functions.core.payments.sandbox import sandbox
from tests.integration.payments_support import (
    bill_status,
    event_body,
    make_bill,
    open_checkout_page,
    outcome_of,
    post_webhook,
    return_to_merchant,
    sandbox_control,
    wait_for,
)

pytestmark = pytest.mark.integration


def start_payment(client, bill_id):
    response = client.post(f"/bills/{bill_id}/pay", json={"method": "upi"})
    assert response.status_code == 201, response.text
    return response.json()


def payments_of(client, bill_id):
    response = client.get(f"/bills/{bill_id}/payments")
    assert response.status_code == 200, response.text
    return response.json()


def refund_emails(stack, user, word):
    """The refund emails (queued through the outbox: they follow), once one has come."""
    return [m for m in stack.wait_for_emails(user.email, f"Refund {word}")
            if m["subject"].startswith(f"Refund {word}")]


def processed(client, bill_id, payment_id, count=1):
    """Wait for the sandbox's refund.processed webhooks to land."""
    def done():
        [payment] = [p for p in payments_of(client, bill_id) if p["payment_id"] == payment_id]
        finished = [r for r in payment["refunds"] if r["status"] == "processed"]
        return payment if len(finished) >= count else None
    return wait_for(done)


def test_double_capture_applies_one_payment_and_refunds_the_other(stack, customer):
    """Two checkouts of one bill (two tabs) both paid: one settles the bill, the
    other is refunded in full through the gateway, once, with an email."""
    user, client = customer
    bill = make_bill(user.user_id, total="1380.00")
    first, second = start_payment(client, bill.bill_id), start_payment(client, bill.bill_id)
    # Both checkouts are open (the second tab's gateway window too) before either pays.
    first_page = open_checkout_page(first["checkout_url"])
    second_page = open_checkout_page(second["checkout_url"])
    # Once paid, our page no longer opens a checkout for the bill.
    paid = first_page.submit("Pay")
    assert return_to_merchant(paid).headers["Location"].endswith("&payment=paid")
    assert stack.api.get(f"/payments/checkout/{second['order_id']}").status_code == 409
    again = second_page.submit("Pay")
    back = return_to_merchant(again)
    assert back.headers["Location"].endswith("&payment=not_applied")
    extra_id = outcome_of(again)["payment_id"]

    assert bill_status(bill.bill_id).status == "paid"
    assert bill_status(bill.bill_id).payment_id == outcome_of(paid)["payment_id"]
    payment = processed(client, bill.bill_id, extra_id)
    assert payment, payments_of(client, bill.bill_id)
    assert payment["applied"] is False and payment["not_applied_reason"] == "bill_already_paid"
    [refund] = payment["refunds"]
    assert refund["kind"] == "automatic" and refund["amount"] == "1380.00"
    assert refund["refund_id"].startswith("rfnd_") and refund["processed_at"]
    assert payment["refunded"] == "1380.00"
    applied = [p for p in payments_of(client, bill.bill_id) if p["applied"]]
    assert len(applied) == 1 and applied[0]["refunds"] == []

    # At the gateway: exactly one refund, of the whole extra payment.
    [at_gateway] = sandbox().payment_refunds(extra_id)["items"]
    assert at_gateway["amount"] == 138000 and at_gateway["notes"]["refund_key"] == (
        f"auto-{extra_id}")
    assert sandbox().payment(extra_id)["status"] == "refunded"

    # Redelivered events change nothing: still one refund at the gateway, one of each email.
    entity = sandbox().payment(extra_id)
    entity["status"] = "captured"
    for _ in range(2):
        assert post_webhook(stack.api.base_url, event_body(
            "payment.captured", payment=entity)).json()["result"] == "duplicate"
    assert len(sandbox().payment_refunds(extra_id)["items"]) == 1
    assert len(refund_emails(stack, user, "started")) == 1
    assert wait_for(lambda: len(refund_emails(stack, user, "processed")) == 1)
    [started] = refund_emails(stack, user, "started")
    assert "₹1,380.00" in started["body"] and extra_id in started["body"]
    assert "already paid" in started["body"]


def test_an_order_for_a_bill_that_is_gone_is_refunded(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="210.00")
    order = start_payment(client, bill.bill_id)
    page = open_checkout_page(order["checkout_url"])
    bill.update(actions=[type(bill).status.set("cancelled")])  # cancelled meanwhile

    result = page.submit("Pay")
    assert return_to_merchant(result).headers["Location"].endswith("&payment=not_applied")
    payment = processed(client, bill.bill_id, outcome_of(result)["payment_id"])
    assert payment["not_applied_reason"] == "bill_not_payable"
    assert payment["refunds"][0]["amount"] == "210.00"
    assert bill_status(bill.bill_id).status == "cancelled"


def test_admin_refunds_part_of_a_payment_with_a_reason(stack, customer, admin):
    user, client = customer
    _, admin_client = admin
    bill = make_bill(user.user_id, total="1380.00")
    order = start_payment(client, bill.bill_id)
    result = open_checkout_page(order["checkout_url"]).submit("Pay")
    payment_id = outcome_of(result)["payment_id"]
    path = f"/admin/payments/{payment_id}/refunds"

    # Refused: no reason, zero, negative, fractional paise, more than was paid, unknown.
    assert admin_client.post(path, json={"amount": "100.00"}).status_code == 400
    for amount in ("0", "0.00", "-5.00", "1.005"):
        assert admin_client.post(path, json={"amount": amount, "reason": "Overcharged"}
                                 ).status_code == 400, amount
    too_much = admin_client.post(path, json={"amount": "1380.01", "reason": "Overcharged"})
    assert too_much.status_code == 409 and "left to refund" in too_much.json()["message"]
    assert admin_client.post("/admin/payments/pay_NoSuchPayment1/refunds",
                             json={"reason": "Overcharged"}).status_code == 404

    request_id = uuid.uuid4().hex
    body = {"amount": "180.00", "reason": "Meter misread: 30 units", "request_id": request_id}
    response = admin_client.post(path, json=body)
    assert response.status_code == 201, response.text
    refund = response.json()
    assert refund["amount"] == "180.00" and refund["kind"] == "admin"
    assert refund["status"] == "pending" and refund["reason"] == "Meter misread: 30 units"
    # A double click (same request id) is the same refund.
    assert admin_client.post(path, json=body).json()["refund_key"] == refund["refund_key"]
    assert len(sandbox().payment_refunds(payment_id)["items"]) == 1

    payment = processed(client, bill.bill_id, payment_id)
    assert payment["refunded"] == "180.00" and payment["applied"] is True
    [seen] = payment["refunds"]
    assert seen["status"] == "processed" and seen["reason"] == "Meter misread: 30 units"
    assert bill_status(bill.bill_id).status == "paid"  # a partial refund leaves it paid
    [started] = refund_emails(stack, user, "started")
    assert "₹180.00" in started["body"] and "Meter misread" in started["body"]
    assert wait_for(lambda: refund_emails(stack, user, "processed"))

    # What is left can be refunded, not a paisa more.
    rest = admin_client.post(path, json={"reason": "Customer moved out"})
    assert rest.status_code == 201 and rest.json()["amount"] == "1200.00"
    assert admin_client.post(path, json={"amount": "1.00", "reason": "Again"}
                             ).status_code == 409
    payment = processed(client, bill.bill_id, payment_id, count=2)
    assert payment["refunded"] == "1380.00"
    assert sandbox().payment(payment_id)["amount_refunded"] == 138000


def test_a_refund_made_on_the_gateway_dashboard_shows_on_the_bill(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="500.00")
    order = start_payment(client, bill.bill_id)
    made = sandbox_control(stack.api.base_url, "payments", {"order_id": order["order_id"]})
    payment_id = made["payment"]["id"]
    sandbox().refund_payment(payment_id, {"amount": 5000, "notes": {"why": "dashboard"}})

    payment = processed(client, bill.bill_id, payment_id)
    assert payment, payments_of(client, bill.bill_id)
    [refund] = payment["refunds"]
    assert refund["kind"] == "gateway" and refund["amount"] == "50.00"
