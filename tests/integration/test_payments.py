"""Paying a bill through the sandbox gateway, over HTTP against the emulator.

The checkout is driven like a browser: the test opens the checkout URL the API
returned, reads the form, and submits it; the sandbox gateway then calls the
API's webhook over HTTP with a signed event."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.fixtures.stack import create_user
from tests.integration.payments_support import (
    bill_status,
    event_for,
    make_bill,
    open_checkout_page,
    outcome_of,
    post_webhook,
    today_ist,
)

pytestmark = pytest.mark.integration


def start_payment(client, bill_id, method="upi"):
    response = client.post(f"/bills/{bill_id}/pay", json={"method": method})
    assert response.status_code == 201, response.text
    return response.json()


def payments_of(client, bill_id):
    response = client.get(f"/bills/{bill_id}/payments")
    assert response.status_code == 200, response.text
    return response.json()


def test_payer_pays_on_the_hosted_checkout_and_gets_a_receipt(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="1380.00")
    assert client.get("/me/balance").json()["outstanding"] == "1380.00"

    order = start_payment(client, bill.bill_id, method="upi")
    assert order["amount"] == "1380.00" and order["amount_paise"] == 138000
    assert order["currency"] == "INR" and order["status"] == "created"
    assert order["checkout_url"].startswith(stack.api.base_url + "/sandbox-gateway/checkout/")

    page = open_checkout_page(order["checkout_url"])
    assert "₹1,380.00" in page.html and order["order_id"] in page.html
    assert sorted(page.form.radios["method"]) == ["card", "netbanking", "upi"]
    assert page.form.fields["method"] == "upi"  # what the payer picked on the portal

    result = page.submit("Pay", method="card")
    assert result.status_code == 200, result.text
    shown = outcome_of(result)
    assert shown["outcome"] == "Payment successful"
    assert "HTTP 200" in shown["delivery"]  # the API accepted the signed webhook

    assert bill_status(bill.bill_id).status == "paid"
    [payment] = payments_of(client, bill.bill_id)
    assert payment["payment_id"] == shown["payment_id"]
    assert payment["status"] == "captured" and payment["applied"] is True
    assert payment["method"] == "card" and payment["amount"] == "1380.00"
    assert client.get(f"/payments/orders/{order['order_id']}").json()["status"] == "paid"
    balance = client.get("/me/balance").json()
    assert balance["outstanding"] == "0.00" and balance["bills"] == []

    [receipt] = [m for m in stack.emails_to(user.email) if "Payment received" in m["subject"]]
    assert "₹1,380.00" in receipt["body"] and shown["payment_id"] in receipt["body"]
    assert "Card" in receipt["body"] and "IST" in receipt["body"]

    # Paid is paid: no second order.
    again = client.post(f"/bills/{bill.bill_id}/pay", json={"method": "upi"})
    assert again.status_code == 409


def test_submitting_the_checkout_form_twice_is_one_payment(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="499.50")
    page = open_checkout_page(start_payment(client, bill.bill_id)["checkout_url"])

    first, second = page.submit("Pay"), page.submit("Pay")  # a double click
    assert outcome_of(first)["payment_id"] == outcome_of(second)["payment_id"]
    assert "HTTP 200" in outcome_of(second)["delivery"]

    [payment] = payments_of(client, bill.bill_id)
    assert payment["amount"] == "499.50" and payment["applied"] is True
    receipts = [m for m in stack.emails_to(user.email) if "Payment received" in m["subject"]]
    assert len(receipts) == 1


def test_failed_and_cancelled_payments_leave_the_bill_unpaid(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="800.00")
    order = start_payment(client, bill.bill_id, method="netbanking")

    failed = open_checkout_page(order["checkout_url"]).submit("Fail")
    assert outcome_of(failed)["outcome"] == "Payment failed"
    assert bill_status(bill.bill_id).status == "issued"
    assert client.get("/me/balance").json()["outstanding"] == "800.00"

    cancelled = open_checkout_page(order["checkout_url"]).submit("Cancel")  # "Try again"
    assert outcome_of(cancelled)["outcome"] == "Payment cancelled"
    assert bill_status(bill.bill_id).status == "issued"
    assert client.get(f"/payments/orders/{order['order_id']}").json()["status"] == "cancelled"

    statuses = sorted(p["status"] for p in payments_of(client, bill.bill_id))
    assert statuses == ["cancelled", "failed"]
    assert not any(p["applied"] for p in payments_of(client, bill.bill_id))
    assert not [m for m in stack.emails_to(user.email) if "Payment received" in m["subject"]]

    # The payer tries again on the same order and succeeds.
    paid = open_checkout_page(order["checkout_url"]).submit("Pay", method="upi")
    assert outcome_of(paid)["outcome"] == "Payment successful"
    assert bill_status(bill.bill_id).status == "paid"
    assert client.get("/me/balance").json()["outstanding"] == "0.00"


def test_a_duplicated_webhook_is_one_payment(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="1200.00")
    order = start_payment(client, bill.bill_id)
    event = event_for(order)

    first = post_webhook(stack.api.base_url, event)
    second = post_webhook(stack.api.base_url, event)
    assert first.status_code == 200 and first.json()["result"] == "paid"
    assert second.status_code == 200 and second.json()["result"] == "duplicate"

    assert len(payments_of(client, bill.bill_id)) == 1
    assert bill_status(bill.bill_id).payment_id == event["payment_id"]
    receipts = [m for m in stack.emails_to(user.email) if "Payment received" in m["subject"]]
    assert len(receipts) == 1


def test_forged_webhooks_are_refused(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="650.00")
    order = start_payment(client, bill.bill_id)
    event = event_for(order)

    wrong_key = post_webhook(stack.api.base_url, event, secret=b"not-the-gateway-secret")
    unsigned = post_webhook(stack.api.base_url, event, signature="")
    garbage = post_webhook(stack.api.base_url, event, signature="zz" * 32)
    for response in (wrong_key, unsigned, garbage):
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_signature"

    # A genuine signature does not carry over to an edited body.
    import json

    from functions.core.payments.provider import hmac_sha256_hex
    from functions.core.payments.secrets import webhook_secret

    genuine = hmac_sha256_hex(webhook_secret(),
                              json.dumps(event_for(order, "failed"),
                                         separators=(",", ":")).encode())
    edited = post_webhook(stack.api.base_url, event, signature=genuine)
    assert edited.status_code == 401

    assert bill_status(bill.bill_id).status == "issued"
    assert payments_of(client, bill.bill_id) == []


def test_a_webhook_with_the_wrong_amount_or_currency_does_not_pay(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="1000.00")
    order = start_payment(client, bill.bill_id)

    short = post_webhook(stack.api.base_url, event_for(order, amount=order["amount_paise"] - 1))
    more = post_webhook(stack.api.base_url, event_for(order, amount=order["amount_paise"] * 2))
    dollars = post_webhook(stack.api.base_url, event_for(order, currency="USD"))
    for response in (short, more, dollars):
        assert response.status_code == 400, response.text
        assert "does not match the order" in response.json()["message"]

    assert bill_status(bill.bill_id).status == "issued"
    assert payments_of(client, bill.bill_id) == []
    assert client.get("/me/balance").json()["outstanding"] == "1000.00"


def test_webhook_for_an_unknown_order_or_not_an_event(stack, customer):
    unknown = post_webhook(stack.api.base_url, event_for({"order_id": "order_doesnotexist",
                                                          "amount_paise": 100,
                                                          "currency": "INR"}))
    assert unknown.status_code == 404
    user, client = customer
    order = start_payment(client, make_bill(user.user_id).bill_id)
    not_an_event = post_webhook(stack.api.base_url, {"order_id": order["order_id"],
                                                     "status": "captured"})
    assert not_an_event.status_code == 400
    weird_status = post_webhook(stack.api.base_url, event_for(order, status="refunded"))
    assert weird_status.status_code == 400


def test_events_out_of_order_never_unpay_and_a_late_capture_pays(stack, customer):
    user, client = customer
    api = stack.api.base_url

    # captured, then a stale "failed" for the same payment: still paid.
    bill = make_bill(user.user_id, total="300.00")
    order = start_payment(client, bill.bill_id)
    captured = event_for(order, "captured")
    assert post_webhook(api, captured).json()["result"] == "paid"
    late_failure = event_for(order, "failed", payment_id=captured["payment_id"])
    assert post_webhook(api, late_failure).json()["result"] == "ignored"
    assert bill_status(bill.bill_id).status == "paid"
    [payment] = payments_of(client, bill.bill_id)
    assert payment["status"] == "captured"

    # failed, then captured for the same payment: paid.
    bill = make_bill(user.user_id, total="301.00")
    order = start_payment(client, bill.bill_id)
    failed = event_for(order, "failed")
    assert post_webhook(api, failed).json()["result"] == "recorded"
    assert bill_status(bill.bill_id).status == "issued"
    capture = event_for(order, "captured", payment_id=failed["payment_id"])
    assert post_webhook(api, capture).json()["result"] == "paid"
    assert bill_status(bill.bill_id).status == "paid"
    [payment] = payments_of(client, bill.bill_id)
    assert payment["status"] == "captured" and payment["applied"] is True

    # another attempt's failure arriving after the capture: still paid.
    bill = make_bill(user.user_id, total="302.00")
    order = start_payment(client, bill.bill_id)
    assert post_webhook(api, event_for(order, "captured")).json()["result"] == "paid"
    assert post_webhook(api, event_for(order, "cancelled")).json()["result"] == "recorded"
    assert bill_status(bill.bill_id).status == "paid"
    assert client.get(f"/payments/orders/{order['order_id']}").json()["status"] == "paid"


def test_amount_is_the_bills_and_the_client_cannot_set_it(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="1500.00")
    response = client.post(f"/bills/{bill.bill_id}/pay",
                           json={"method": "upi", "amount": "1.00"})
    assert response.status_code == 400
    assert client.post(f"/bills/{bill.bill_id}/pay",
                       json={"method": "bitcoin"}).status_code == 400

    # A checkout link edited to show another amount is refused by the gateway.
    order = start_payment(client, bill.bill_id)
    token = order["checkout_url"].rsplit("/", 1)[1]
    body, mac = token.split(".")
    forged_body = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    forged = stack.api.get(f"/sandbox-gateway/checkout/{forged_body}.{mac}")
    assert forged.status_code == 400 and "not valid" in forged.text


def test_a_surcharge_after_the_order_means_the_old_amount_does_not_settle(stack, customer,
                                                                        admin):
    user, client = customer
    _, admin_client = admin
    bill = make_bill(user.user_id, total="1000.00", surcharge_percent="2",
                     due=today_ist() - timedelta(days=1))
    order = start_payment(client, bill.bill_id)  # still "issued": 1000.00
    assert order["amount"] == "1000.00"
    marked = admin_client.post("/admin/bills/mark-overdue").json()
    assert bill.bill_id in marked["bill_ids"]

    result = post_webhook(stack.api.base_url, event_for(order))
    assert result.status_code == 200 and result.json()["result"] == "not_applied"
    assert bill_status(bill.bill_id).status == "overdue"
    [payment] = payments_of(client, bill.bill_id)
    assert payment["applied"] is False and payment["not_applied_reason"] == "amount_due_changed"

    # A new order asks for the amount due now, surcharge included.
    fresh = start_payment(client, bill.bill_id)
    assert fresh["amount"] == "1020.00"
    assert post_webhook(stack.api.base_url, event_for(fresh)).json()["result"] == "paid"


def test_admin_records_a_cash_or_cheque_payment(stack, customer, admin):
    user, client = customer
    _, admin_client = admin
    bill = make_bill(user.user_id, total="2100.00")
    path = f"/admin/bills/{bill.bill_id}/offline-payments"

    assert admin_client.post(path, json={"method": "cash"}).status_code == 400
    assert admin_client.post(path, json={"method": "gold", "reference": "R1"}
                             ).status_code == 400
    assert admin_client.post(path, json={"method": "cash", "reference": "=cmd|' /C calc'!A0"}
                             ).status_code == 400
    assert admin_client.post(path, json={"method": "cash", "reference": "R1",
                                         "amount": "5"}).status_code == 400
    assert admin_client.post("/admin/bills/BILL-nope-2026-10/offline-payments",
                             json={"method": "cash", "reference": "R1"}).status_code == 404

    response = admin_client.post(path, json={"method": "cheque", "reference": "CHQ 004512"})
    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["method"] == "cheque" and payment["reference"] == "CHQ 004512"
    assert payment["amount"] == "2100.00" and payment["provider"] == "offline"
    assert bill_status(bill.bill_id).status == "paid"
    assert client.get("/me/balance").json()["outstanding"] == "0.00"
    [receipt] = [m for m in stack.emails_to(user.email) if "Payment received" in m["subject"]]
    assert "CHQ 004512" in receipt["body"] and "Cheque" in receipt["body"]

    repeat = admin_client.post(path, json={"method": "cheque", "reference": "CHQ 004512"})
    assert repeat.status_code == 409
    assert len(payments_of(admin_client, bill.bill_id)) == 1

    # An online payment captured after the counter took the money is kept for a refund.
    other_bill = make_bill(user.user_id, total="10.00")
    order = start_payment(client, other_bill.bill_id)
    assert admin_client.post(f"/admin/bills/{other_bill.bill_id}/offline-payments",
                             json={"method": "cash", "reference": "RCPT-77"}).status_code == 201
    late = post_webhook(stack.api.base_url, event_for(order)).json()
    assert late["result"] == "not_applied"
    reasons = {p["provider"]: p["not_applied_reason"]
               for p in payments_of(client, other_bill.bill_id)}
    assert reasons == {"offline": None, "sandbox": "bill_already_paid"}


def test_no_one_else_sees_or_pays_a_bill(stack, customer, other_customer, admin):
    user, client = customer
    _, intruder = other_customer
    _, admin_client = admin
    bill = make_bill(user.user_id, total="999.00")
    order = start_payment(client, bill.bill_id)

    # Another customer: the bill and the order do not exist for them.
    assert intruder.post(f"/bills/{bill.bill_id}/pay", json={"method": "upi"}
                         ).status_code == 404
    assert intruder.get(f"/bills/{bill.bill_id}/payments").status_code == 404
    assert intruder.get(f"/payments/orders/{order['order_id']}").status_code == 404
    assert intruder.get("/me/balance").json()["bills"] == []
    # ... and admin routes are closed to customers.
    assert intruder.post(f"/admin/bills/{bill.bill_id}/offline-payments",
                         json={"method": "cash", "reference": "X1"}).status_code == 403
    assert intruder.post("/admin/bills/mark-overdue").status_code == 403
    assert intruder.get("/admin/defaulters").status_code == 403
    assert intruder.get("/admin/defaulters/csv").status_code == 403
    # Admins follow payments but do not pay customers' bills.
    assert admin_client.post(f"/bills/{bill.bill_id}/pay", json={"method": "upi"}
                             ).status_code == 403
    assert admin_client.get(f"/bills/{bill.bill_id}/payments").status_code == 200
    assert admin_client.get("/me/balance").status_code == 403
    # Nobody without a session.
    anonymous = stack.api.as_(None)
    assert anonymous.post(f"/bills/{bill.bill_id}/pay", json={"method": "upi"}
                          ).status_code == 401
    assert anonymous.get("/me/balance").status_code == 401
    assert anonymous.get(f"/payments/orders/{order['order_id']}").status_code == 401
    assert bill_status(bill.bill_id).status == "issued"


def test_a_tenant_pays_the_bill_billed_to_them_and_the_owner_cannot(stack, customer):
    owner, owner_client = customer
    tenant = create_user("customer")
    from functions.core.accounts.sessions import issue_session

    tenant_client = stack.api.as_(issue_session(tenant))
    bill = make_bill(owner.user_id, total="450.00")
    bill.update(actions=[type(bill).payer_id.set(tenant.user_id)])  # billed to the tenant

    assert owner_client.post(f"/bills/{bill.bill_id}/pay", json={"method": "upi"}
                             ).status_code == 404
    order = start_payment(tenant_client, bill.bill_id)
    assert order["amount"] == "450.00"
    assert tenant_client.get("/me/balance").json()["outstanding"] == "450.00"
    assert bill.bill_id not in {b["bill_id"] for b in
                                owner_client.get("/me/balance").json()["bills"]}


def test_unique_ids_are_not_guessable_paths(stack, customer):
    _, client = customer
    assert client.get(f"/payments/orders/order_{uuid.uuid4().hex[:16]}").status_code == 404
    assert client.post("/bills/BILL-nothing-2026-10/pay", json={"method": "upi"}
                       ).status_code == 404


def test_concurrent_deliveries_of_one_capture_settle_once(stack, customer):
    from concurrent.futures import ThreadPoolExecutor

    user, client = customer
    bill = make_bill(user.user_id, total="777.00")
    order = start_payment(client, bill.bill_id)
    event = event_for(order)
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: post_webhook(stack.api.base_url, event), range(6)))

    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    results = sorted(r.json()["result"] for r in responses)
    assert results == ["duplicate"] * 5 + ["paid"]
    assert len(payments_of(client, bill.bill_id)) == 1
    receipts = [m for m in stack.emails_to(user.email) if "Payment received" in m["subject"]]
    assert len(receipts) == 1
