"""The sandbox gateway's cryptography: webhook signatures and checkout tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from functions.core.errors import Conflict, InvalidInput
from functions.core.payments.provider import InvalidSignature, OrderRequest, signature_matches
from functions.core.payments.sandbox import (
    SIGNATURE_HEADER,
    SandboxProvider,
    complete_checkout,
    new_attempt_id,
    open_checkout,
    payment_id_for,
    signed_headers,
)

SECRET = b"unit-test-secret-not-a-real-one"
NOW = datetime(2026, 10, 20, 6, 30, tzinfo=UTC)


def provider(secret: bytes = SECRET) -> SandboxProvider:
    return SandboxProvider("http://127.0.0.1:9999", secret=lambda: secret, clock=lambda: NOW)


def order_request(amount_paise: int = 138000) -> OrderRequest:
    return OrderRequest(bill_id="BILL-p1-2026-10", amount_paise=amount_paise,
                        description="Electricity bill Oct 2026 <b>&</b>", method="upi",
                        return_url="http://127.0.0.1:8080/bill.html?id=BILL-p1-2026-10")


def event_body(**changes: object) -> bytes:
    event = {"order_id": "order_1", "payment_id": "pay_1", "amount": 138000,
             "currency": "INR", "status": "captured", "method": "upi",
             "created_at": "2026-10-20T06:30:00Z", **changes}
    return json.dumps(event).encode()


def test_signature_is_hmac_sha256_of_the_exact_body():
    body = event_body()
    expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    assert signed_headers(body, SECRET)[SIGNATURE_HEADER] == expected
    assert signature_matches(SECRET, body, expected)
    assert signature_matches(SECRET, body, expected.upper())  # hex case does not matter
    assert not signature_matches(SECRET, body + b" ", expected)  # one byte more
    assert not signature_matches(b"other-secret", body, expected)
    assert not signature_matches(SECRET, body, "")
    assert not signature_matches(SECRET, body, None)
    assert not signature_matches(SECRET, body, expected[:-1])
    assert not signature_matches(SECRET, body, "a" * 10_000)


def test_verify_webhook_accepts_a_good_signature_in_any_header_case():
    body = event_body()
    signature = signed_headers(body, SECRET)[SIGNATURE_HEADER]
    event = provider().verify_webhook({"x-sandbox-signature": signature}, body)
    assert (event.order_id, event.payment_id, event.amount) == ("order_1", "pay_1", 138000)
    assert event.created_at == NOW


def test_verify_webhook_refuses_bad_signatures_before_reading_the_body():
    body = event_body()
    with pytest.raises(InvalidSignature):
        provider().verify_webhook({}, body)
    with pytest.raises(InvalidSignature):
        provider().verify_webhook(signed_headers(body, b"wrong"), body)
    tampered = event_body(amount=1)
    with pytest.raises(InvalidSignature):
        provider().verify_webhook(signed_headers(body, SECRET), tampered)


@pytest.mark.parametrize("change", [{"amount": 1.5}, {"amount": "138000"}, {"status": "paid"},
                                    {"method": "bitcoin"}, {"order_id": "../etc"},
                                    {"amount": -5}])
def test_a_well_signed_body_that_is_not_an_event_is_invalid_input(change):
    body = event_body(**change)
    with pytest.raises(InvalidInput):
        provider().verify_webhook(signed_headers(body, SECRET), body)


def test_create_order_and_open_its_checkout():
    order = provider().create_order(order_request())
    assert order.amount_paise == 138000 and order.currency == "INR"
    assert order.checkout_url.startswith("http://127.0.0.1:9999/sandbox-gateway/checkout/")
    token = order.checkout_url.rsplit("/", 1)[1]
    session = open_checkout(token, SECRET, NOW + timedelta(minutes=5))
    assert session.order_id == order.order_id and session.amount_paise == 138000
    assert session.notify_url == "http://127.0.0.1:9999/payments/webhook"
    assert session.description == "Electricity bill Oct 2026 <b>&</b>"
    with pytest.raises(InvalidInput):
        provider().create_order(order_request(amount_paise=0))


def test_a_checkout_token_cannot_be_altered_or_reused_after_expiry():
    token = provider().create_order(order_request()).checkout_url.rsplit("/", 1)[1]
    body, mac = token.split(".")
    payload = json.loads(_unb64(body))
    payload["a"] = 100  # pay one rupee instead
    forged = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    for bad in (f"{forged}.{mac}", f"{body}.{mac[:-2]}", body, "", "a.b.c", "!!.??"):
        with pytest.raises(InvalidInput):
            open_checkout(bad, SECRET, NOW)
    with pytest.raises(InvalidInput):
        open_checkout(token, b"another gateway", NOW)
    with pytest.raises(Conflict):
        open_checkout(token, SECRET, NOW + timedelta(minutes=31))


def test_one_attempt_is_one_payment_id():
    order = provider().create_order(order_request())
    session = open_checkout(order.checkout_url.rsplit("/", 1)[1], SECRET, NOW)
    attempt = new_attempt_id()
    first, body = complete_checkout(session, attempt, "card", "pay", SECRET, NOW)
    again, _ = complete_checkout(session, attempt, "card", "pay", SECRET, NOW)
    other, _ = complete_checkout(session, new_attempt_id(), "card", "pay", SECRET, NOW)
    assert first["payment_id"] == again["payment_id"] != other["payment_id"]
    assert first["payment_id"] == payment_id_for(session, attempt, SECRET)
    assert json.loads(body) == first
    assert first["status"] == "captured" and first["amount"] == 138000
    failed, _ = complete_checkout(session, new_attempt_id(), "upi", "fail", SECRET, NOW)
    assert failed["status"] == "failed"
    with pytest.raises(InvalidInput):
        complete_checkout(session, "not-an-attempt", "upi", "pay", SECRET, NOW)
    with pytest.raises(InvalidInput):
        complete_checkout(session, attempt, "cash", "pay", SECRET, NOW)
    with pytest.raises(InvalidInput):
        complete_checkout(session, attempt, "upi", "refund", SECRET, NOW)


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
