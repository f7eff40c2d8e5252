"""Paying a bill through the Razorpay adapter (the official SDK) against the
local Razorpay sandbox, over HTTP against the emulator.

The checkout is driven like a browser: the test opens the checkout page the API
returned, does what checkout.js does (posts the options to the hosted checkout),
presses Pay, and returns to the merchant with the signed result; the sandbox
meanwhile calls the API's webhook with signed Razorpay events."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from functions.core.payments.sandbox import new_id, sandbox
from tests.fixtures.stack import create_user
from tests.integration.payments_support import (
    bill_status,
    checkout_options,
    event_body,
    make_bill,
    open_checkout_page,
    outcome_of,
    payment_entity,
    post_webhook,
    return_to_merchant,
    sandbox_control,
    sweep_overdue,
    today_ist,
    wait_for,
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


def receipts_to(stack, user):
    """The receipts to `user`, once the first has come (the notification sender
    sends it a moment after the payment; the outbox key makes it one)."""
    return stack.wait_for_emails(user.email, "Payment received")


def captured(order, payment_id=None, **changes):
    """payment.captured for `order`, as Razorpay sends it."""
    return event_body("payment.captured",
                      payment=payment_entity(order, "captured", payment_id, **changes))


def test_payer_pays_through_razorpay_checkout_and_gets_a_receipt(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="1380.00")
    assert client.get("/me/balance").json()["outstanding"] == "1380.00"

    order = start_payment(client, bill.bill_id, method="upi")
    assert order["amount"] == "1380.00" and order["amount_paise"] == 138000
    assert order["currency"] == "INR" and order["status"] == "created"
    assert order["provider"] == "razorpay" and order["order_id"].startswith("order_")
    assert order["checkout_url"] == f"{stack.api.base_url}/payments/checkout/{order['order_id']}"
    # The order exists at the gateway, for the bill's amount, made by the SDK.
    at_gateway = sandbox().order(order["order_id"])
    assert at_gateway["amount"] == 138000 and at_gateway["receipt"] == bill.bill_id
    assert at_gateway["notes"]["bill_id"] == bill.bill_id

    options = checkout_options(order["checkout_url"])
    assert options["order_id"] == order["order_id"] and options["amount"] == 138000
    assert options["key"].startswith("rzp_test_") and options["redirect"] is True
    assert options["callback_url"] == stack.api.base_url + "/payments/razorpay/callback"
    assert options["prefill"]["email"] == user.email

    page = open_checkout_page(order["checkout_url"])
    assert "₹1,380.00" in page.html and order["order_id"] in page.html
    assert sorted(page.form.radios["method"]) == ["card", "netbanking", "upi"]
    assert page.form.fields["method"] == "upi"  # what the payer picked on the portal

    result = page.submit("Pay", method="card")
    assert result.status_code == 200, result.text
    shown = outcome_of(result)
    assert shown["outcome"] == "Payment successful"
    # Razorpay's servers told the API first: both events accepted.
    assert "payment.captured: HTTP 200" in shown["delivery"]
    assert "order.paid: HTTP 200" in shown["delivery"]

    back = return_to_merchant(result)  # the signed return, verified by the adapter
    assert back.status_code == 303
    assert back.headers["Location"].endswith(f"/bill.html?id={bill.bill_id}&payment=paid")

    assert bill_status(bill.bill_id).status == "paid"
    [payment] = payments_of(client, bill.bill_id)
    assert payment["payment_id"] == shown["payment_id"] and payment["provider"] == "razorpay"
    assert payment["status"] == "captured" and payment["applied"] is True
    assert payment["method"] == "card" and payment["amount"] == "1380.00"
    assert payment["refunds"] == [] and payment["refunded"] == "0.00"
    assert client.get(f"/payments/orders/{order['order_id']}").json()["status"] == "paid"
    balance = client.get("/me/balance").json()
    assert balance["outstanding"] == "0.00" and balance["bills"] == []

    [receipt] = receipts_to(stack, user)
    assert "₹1,380.00" in receipt["body"] and shown["payment_id"] in receipt["body"]
    assert "Card" in receipt["body"] and "IST" in receipt["body"]

    # Paid is paid: no second order, and the checkout page says so.
    assert client.post(f"/bills/{bill.bill_id}/pay", json={"method": "upi"}).status_code == 409
    assert stack.api.get(f"/payments/checkout/{order['order_id']}").status_code == 409


def test_the_return_alone_pays_when_the_webhook_is_late(stack, customer):
    """The browser's signed return is enough: the adapter verifies razorpay_signature
    and re-reads the payment from the gateway; the webhook later is a duplicate."""
    user, client = customer
    bill = make_bill(user.user_id, total="640.00")
    order = start_payment(client, bill.bill_id)
    made = sandbox_control(stack.api.base_url, "payments",
                           {"order_id": order["order_id"], "webhooks": False})["payment"]
    gateway = sandbox()
    form = {"razorpay_payment_id": made["id"], "razorpay_order_id": order["order_id"],
            "razorpay_signature": gateway.payment_signature(order["order_id"], made["id"])}

    forged = dict(form, razorpay_signature="0" * 64)
    refused = stack.api.post("/payments/razorpay/callback", data=forged, allow_redirects=False)
    assert refused.status_code == 401 and bill_status(bill.bill_id).status == "issued"
    swapped = dict(form, razorpay_order_id=start_payment(
        client, make_bill(user.user_id, total="1.00").bill_id)["order_id"])
    assert stack.api.post("/payments/razorpay/callback", data=swapped,
                          allow_redirects=False).status_code == 401

    back = stack.api.post("/payments/razorpay/callback", data=form, allow_redirects=False)
    assert back.status_code == 303 and back.headers["Location"].endswith("&payment=paid")
    assert bill_status(bill.bill_id).status == "paid"
    late = post_webhook(stack.api.base_url, captured(order, made["id"]))
    assert late.json()["result"] == "duplicate"
    assert len(payments_of(client, bill.bill_id)) == 1 and len(receipts_to(stack, user)) == 1


def test_submitting_the_checkout_form_twice_is_one_payment(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="499.50")
    page = open_checkout_page(start_payment(client, bill.bill_id)["checkout_url"])

    first, second = page.submit("Pay"), page.submit("Pay")  # a double click
    assert outcome_of(first)["payment_id"] == outcome_of(second)["payment_id"]
    assert return_to_merchant(second).headers["Location"].endswith("&payment=paid")

    [payment] = payments_of(client, bill.bill_id)
    assert payment["amount"] == "499.50" and payment["applied"] is True
    assert len(receipts_to(stack, user)) == 1


def test_a_failed_payment_leaves_the_bill_unpaid_and_a_retry_pays(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="800.00")
    order = start_payment(client, bill.bill_id, method="netbanking")

    failed = open_checkout_page(order["checkout_url"]).submit("Fail")
    assert outcome_of(failed)["outcome"] == "Payment failed"
    assert "payment.failed: HTTP 200" in outcome_of(failed)["delivery"]
    back = return_to_merchant(failed)  # error[...] fields, no signature
    assert back.status_code == 303 and back.headers["Location"].endswith("&payment=failed")
    assert bill_status(bill.bill_id).status == "issued"
    assert client.get("/me/balance").json()["outstanding"] == "800.00"
    [attempt] = payments_of(client, bill.bill_id)
    assert attempt["status"] == "failed" and attempt["applied"] is False
    assert not [m for m in stack.emails_to(user.email) if "Payment received" in m["subject"]]

    # The payer tries again on the same order and succeeds.
    paid = open_checkout_page(order["checkout_url"]).submit("Pay", method="upi")
    assert outcome_of(paid)["outcome"] == "Payment successful"
    assert bill_status(bill.bill_id).status == "paid"
    assert client.get("/me/balance").json()["outstanding"] == "0.00"
    assert sorted(p["status"] for p in payments_of(client, bill.bill_id)) == ["captured",
                                                                               "failed"]


def test_webhook_signatures_valid_invalid_and_edited(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="650.00")
    order = start_payment(client, bill.bill_id)
    body = captured(order)
    api = stack.api.base_url

    wrong_key = post_webhook(api, body, secret=b"not-the-webhook-secret")
    unsigned = post_webhook(api, body, signature="")
    garbage = post_webhook(api, body, signature="zz" * 32)
    too_long = post_webhook(api, body, signature="a" * 5000)
    for response in (wrong_key, unsigned, garbage, too_long):
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_signature"

    # A genuine signature does not carry over to an edited body (even one byte).
    raw = json.dumps(body, separators=(",", ":")).encode()
    from functions.core.payments.provider import hmac_sha256_hex
    from functions.core.payments.secrets import webhook_secret

    genuine = hmac_sha256_hex(webhook_secret(), raw)
    assert post_webhook(api, raw + b" ", signature=genuine).status_code == 401
    assert post_webhook(api, raw.replace(b'"upi"', b'"card"'),
                        signature=genuine).status_code == 401
    assert bill_status(bill.bill_id).status == "issued"
    assert payments_of(client, bill.bill_id) == []

    valid = post_webhook(api, raw, signature=genuine.upper())  # hex in any case
    assert valid.status_code == 200 and valid.json()["result"] == "paid"
    assert bill_status(bill.bill_id).status == "paid"


def test_a_replayed_webhook_is_one_payment(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="1200.00")
    order = start_payment(client, bill.bill_id)
    body = captured(order)
    raw = json.dumps(body, separators=(",", ":")).encode()

    first = post_webhook(stack.api.base_url, raw, event_id="evt_Replayed000001")
    again = post_webhook(stack.api.base_url, raw, event_id="evt_Replayed000001")
    replay = post_webhook(stack.api.base_url, raw)  # the same body, a new delivery
    assert first.status_code == 200 and first.json()["result"] == "paid"
    assert again.json()["result"] == "duplicate" and replay.json()["result"] == "duplicate"
    # order.paid for the same payment is the same payment again.
    paid_event = event_body("order.paid", payment=body["payload"]["payment"]["entity"],
                            order={"id": order["order_id"], "entity": "order",
                                   "amount": order["amount_paise"], "currency": "INR",
                                   "status": "paid"})
    assert post_webhook(stack.api.base_url, paid_event).json()["result"] == "duplicate"

    assert len(payments_of(client, bill.bill_id)) == 1
    assert bill_status(bill.bill_id).payment_id == body["payload"]["payment"]["entity"]["id"]
    assert len(receipts_to(stack, user)) == 1


def test_events_out_of_order_never_unpay_and_a_late_capture_pays(stack, customer):
    user, client = customer
    api = stack.api.base_url

    # captured, then a stale payment.failed for the same payment: still paid.
    bill = make_bill(user.user_id, total="300.00")
    order = start_payment(client, bill.bill_id)
    pay_id = new_id("pay")
    assert post_webhook(api, captured(order, pay_id)).json()["result"] == "paid"
    stale = event_body("payment.failed", payment=payment_entity(order, "failed", pay_id))
    assert post_webhook(api, stale).json()["result"] == "ignored"
    assert bill_status(bill.bill_id).status == "paid"
    [payment] = payments_of(client, bill.bill_id)
    assert payment["status"] == "captured"

    # failed, then captured for the same payment (a retried authorisation): paid.
    bill = make_bill(user.user_id, total="301.00")
    order = start_payment(client, bill.bill_id)
    pay_id = new_id("pay")
    failed = event_body("payment.failed", payment=payment_entity(order, "failed", pay_id))
    assert post_webhook(api, failed).json()["result"] == "recorded"
    assert bill_status(bill.bill_id).status == "issued"
    assert post_webhook(api, captured(order, pay_id)).json()["result"] == "paid"
    [payment] = payments_of(client, bill.bill_id)
    assert payment["status"] == "captured" and payment["applied"] is True

    # order.paid before payment.captured: the first pays, the second is a duplicate;
    # payment.authorized (before either) is acknowledged and ignored.
    bill = make_bill(user.user_id, total="302.00")
    order = start_payment(client, bill.bill_id)
    entity = payment_entity(order, "captured")
    authorized = event_body("payment.authorized",
                            payment=dict(entity, status="authorized", captured=False))
    assert post_webhook(api, authorized).json()["result"] == "ignored"
    paid_event = event_body("order.paid", payment=entity,
                            order={"id": order["order_id"], "entity": "order",
                                   "amount": order["amount_paise"], "currency": "INR",
                                   "status": "paid"})
    assert post_webhook(api, paid_event).json()["result"] == "paid"
    assert post_webhook(api, event_body("payment.captured", payment=entity)
                        ).json()["result"] == "duplicate"
    # another attempt's failure arriving after the capture: recorded, still paid.
    other = event_body("payment.failed", payment=payment_entity(order, "failed"))
    assert post_webhook(api, other).json()["result"] == "recorded"
    assert bill_status(bill.bill_id).status == "paid"
    assert client.get(f"/payments/orders/{order['order_id']}").json()["status"] == "paid"

    # An event we do not subscribe to is acknowledged (Razorpay must not retry it).
    dispute = event_body("payment.dispute.created", dispute={"id": "disp_1"})
    ignored = post_webhook(api, dispute)
    assert ignored.status_code == 200 and ignored.json()["result"] == "ignored"


def test_a_webhook_with_the_wrong_amount_or_currency_does_not_pay(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="1000.00")
    order = start_payment(client, bill.bill_id)
    api = stack.api.base_url

    short = post_webhook(api, captured(order, amount=order["amount_paise"] - 1))
    more = post_webhook(api, captured(order, amount=order["amount_paise"] * 2))
    dollars = post_webhook(api, captured(order, currency="USD"))
    for response in (short, more, dollars):
        assert response.status_code == 400, response.text
        assert "does not match the order" in response.json()["message"]
    # Zero, negative or fractional paise are not a Razorpay payment at all.
    for amount in (0, -100, 1.5, "100000"):
        response = post_webhook(api, captured(order, amount=amount))
        assert response.status_code == 400, (amount, response.text)

    assert bill_status(bill.bill_id).status == "issued"
    assert payments_of(client, bill.bill_id) == []
    assert client.get("/me/balance").json()["outstanding"] == "1000.00"


def test_webhook_for_an_unknown_order_or_not_an_event(stack, customer):
    api = stack.api.base_url
    unknown = post_webhook(api, captured({"order_id": "order_DoesNotExist01",
                                          "amount_paise": 100, "currency": "INR"}))
    assert unknown.status_code == 200 and unknown.json()["result"] == "ignored"
    user, client = customer
    order = start_payment(client, make_bill(user.user_id).bill_id)
    not_an_event = post_webhook(api, {"order_id": order["order_id"], "status": "captured"})
    assert not_an_event.status_code == 400
    weird_status = post_webhook(api, event_body(
        "payment.captured", payment=payment_entity(order, "refunded_twice")))
    assert weird_status.status_code == 400
    no_payment = post_webhook(api, event_body("payment.captured", order={"id": "x"}))
    assert no_payment.status_code == 400


def test_amount_is_the_bills_and_the_client_cannot_set_it(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="1500.00")
    response = client.post(f"/bills/{bill.bill_id}/pay", json={"method": "upi", "amount": "1.00"})
    assert response.status_code == 400
    assert client.post(f"/bills/{bill.bill_id}/pay",
                       json={"method": "bitcoin"}).status_code == 400
    order = start_payment(client, bill.bill_id)
    assert sandbox().order(order["order_id"])["amount"] == 150000


def test_zero_or_negative_amounts_are_never_paid(stack, customer, admin):
    """A bill with nothing (or a credit) due takes no payment, online or at the counter."""
    user, client = customer
    _, admin_client = admin
    for total in ("0.00", "-250.00"):
        bill = make_bill(user.user_id, total=total)
        assert client.post(f"/bills/{bill.bill_id}/pay",
                           json={"method": "upi"}).status_code == 409
        cash = admin_client.post(f"/admin/bills/{bill.bill_id}/offline-payments",
                                 json={"method": "cash", "reference": "R-ZERO-1"})
        assert cash.status_code == 409, cash.text
        assert "zero or a negative" in cash.json()["message"]
        assert bill_status(bill.bill_id).status == "issued"
        assert payments_of(admin_client, bill.bill_id) == []


def test_a_surcharge_after_the_order_means_the_old_amount_is_refunded(stack, customer, admin):
    user, client = customer
    _, admin_client = admin
    bill = make_bill(user.user_id, total="1000.00", surcharge_percent="2",
                     due=today_ist() - timedelta(days=1))
    order = start_payment(client, bill.bill_id)  # still "issued": 1000.00
    assert order["amount"] == "1000.00"
    sweep_overdue(admin_client)
    assert bill_status(bill.bill_id).status == "overdue"

    result = open_checkout_page(order["checkout_url"]).submit("Pay")
    back = return_to_merchant(result)
    assert back.headers["Location"].endswith("&payment=not_applied")
    assert bill_status(bill.bill_id).status == "overdue"
    [payment] = payments_of(client, bill.bill_id)
    assert payment["applied"] is False and payment["not_applied_reason"] == "amount_due_changed"
    [refund] = payment["refunds"]
    assert refund["kind"] == "automatic" and refund["amount"] == "1000.00"

    # A new order asks for the amount due now, surcharge included.
    fresh = start_payment(client, bill.bill_id)
    assert fresh["amount"] == "1020.00"
    paid = open_checkout_page(fresh["checkout_url"]).submit("Pay")
    assert return_to_merchant(paid).headers["Location"].endswith("&payment=paid")


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
    [receipt] = receipts_to(stack, user)
    assert "CHQ 004512" in receipt["body"] and "Cheque" in receipt["body"]

    repeat = admin_client.post(path, json={"method": "cheque", "reference": "CHQ 004512"})
    assert repeat.status_code == 409
    assert len(payments_of(admin_client, bill.bill_id)) == 1
    # A cheque is not refunded through the gateway.
    refund = admin_client.post(f"/admin/payments/{payment['payment_id']}/refunds",
                               json={"reason": "Cheque returned"})
    assert refund.status_code == 409


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
    assert intruder.get(f"/bills/{bill.bill_id}/upi").status_code == 404
    assert intruder.get(f"/payments/orders/{order['order_id']}").status_code == 404
    assert intruder.get("/me/balance").json()["bills"] == []
    # ... and admin routes are closed to customers.
    assert intruder.post(f"/admin/bills/{bill.bill_id}/offline-payments",
                         json={"method": "cash", "reference": "X1"}).status_code == 403
    assert intruder.post("/admin/payments/pay_x/refunds",
                         json={"reason": "mine now"}).status_code == 403
    assert intruder.get("/admin/payments/reconciliation").status_code == 403
    assert intruder.post("/admin/payments/reconciliation", json={}).status_code == 403
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
    assert stack.api.get("/payments/checkout/order_NoSuchOrder0001").status_code == 404


def test_concurrent_deliveries_of_one_capture_settle_once(stack, customer):
    user, client = customer
    bill = make_bill(user.user_id, total="777.00")
    order = start_payment(client, bill.bill_id)
    body = captured(order)
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: post_webhook(stack.api.base_url, body), range(6)))

    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    results = sorted(r.json()["result"] for r in responses)
    assert results == ["duplicate"] * 5 + ["paid"]
    assert len(payments_of(client, bill.bill_id)) == 1
    assert len(receipts_to(stack, user)) == 1
    assert wait_for(lambda: True)


def test_odd_ids_and_days_are_refused_not_crashed(stack, customer, admin):
    _, client = customer
    _, admin_client = admin
    long_id = "order_" + "x" * 3000
    # An id longer than any the API issues is a 400 before any lookup (issue 22)
    assert stack.api.get(f"/payments/checkout/{long_id}").status_code == 400
    assert client.get(f"/payments/orders/{long_id}").status_code == 400
    assert admin_client.post(f"/admin/payments/pay_{'y' * 3000}/refunds",
                             json={"reason": "Too long"}).status_code == 400
    for form in ({"razorpay_order_id": long_id, "razorpay_payment_id": "pay_1",
                  "razorpay_signature": "ab"},
                 {"error[metadata]": json.dumps({"order_id": "", "payment_id": ""})},
                 {"error[metadata]": "[1, 2]"}, {"error[metadata]": "\"text\""},
                 {"razorpay_payment_id": "pay_1"}):
        response = stack.api.post("/payments/razorpay/callback", data=form,
                                  allow_redirects=False)
        assert response.status_code in (400, 401, 404), (form, response.status_code)
    for day in ("0001-01-01", "9999-12-31"):
        assert admin_client.post("/admin/payments/reconciliation",
                                 json={"day": day}).status_code == 400
        assert admin_client.get("/admin/payments/reconciliation",
                                params={"day": day}).status_code == 400
    for amount in ("inf", "nan", "-5", "1e400", "abc"):
        upi = f"upi://pay?pa=discom.sandbox@razorpay&am={amount}&cu=INR&tr=BILL-x"
        response = requests.post(stack.api.base_url + "/sandbox-razorpay/_sandbox/upi",
                                 json={"link": upi}, timeout=30)
        assert response.status_code == 400, (amount, response.text)
