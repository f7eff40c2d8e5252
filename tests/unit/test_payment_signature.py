"""Razorpay's signatures, checked against the examples Razorpay publishes with
its official SDK (razorpay-python's tests: a payment signature and a webhook
body with its X-Razorpay-Signature), through our adapter."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from functions.core.errors import InvalidInput
from functions.core.payments.provider import InvalidSignature
from functions.core.payments.razorpay_gateway import RazorpayGateway
from functions.core.payments.secrets import GatewayKeys

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
# Razorpay's published example: key secret (and webhook secret) "key_secret".
SDK_KEYS = GatewayKeys("key_id", "key_secret", "key_secret")
# razorpay-python tests/test_client_utility.py: verify_payment_signature.
PAYMENT_SIGNATURE = "b2335e3b0801106b84a7faff035df56ecffde06918c9ddd1f0fafbb37a51cc89"
# ... and verify_webhook_signature of tests/mocks/fake_payment_authorized_webhook.json.
WEBHOOK_SIGNATURE = "d60e67fd884556c045e9be7dad57903e33efc7172c17c6e3ef77db42d2b366e9"


def gateway(keys: GatewayKeys = SDK_KEYS) -> RazorpayGateway:
    return RazorpayGateway(keys=lambda: keys)


def webhook_body() -> bytes:
    return (VECTORS / "razorpay_payment_authorized_webhook.json").read_bytes()


def test_payment_signature_matches_razorpays_example():
    gateway().verify_checkout("fake_order_id", "fake_payment_id", PAYMENT_SIGNATURE)
    gateway().verify_checkout("fake_order_id", "fake_payment_id", PAYMENT_SIGNATURE.upper())
    # It is HMAC-SHA256 of "order_id|payment_id" with the key secret, nothing else.
    assert hmac.new(b"key_secret", b"fake_order_id|fake_payment_id",
                    hashlib.sha256).hexdigest() == PAYMENT_SIGNATURE


@pytest.mark.parametrize("order_id, payment_id, signature, keys", [
    ("fake_order_id", "fake_payment_id", "test_signature", SDK_KEYS),  # Razorpay's negative
    ("fake_payment_id", "fake_order_id", PAYMENT_SIGNATURE, SDK_KEYS),  # swapped ids
    ("fake_order_id", "other_payment_id", PAYMENT_SIGNATURE, SDK_KEYS),
    ("fake_order_id", "fake_payment_id", PAYMENT_SIGNATURE,
     GatewayKeys("key_id", "another_secret", "key_secret")),
    ("fake_order_id", "fake_payment_id", "", SDK_KEYS),
])
def test_a_wrong_payment_signature_is_refused(order_id, payment_id, signature, keys):
    with pytest.raises(InvalidSignature):
        gateway(keys).verify_checkout(order_id, payment_id, signature)


def test_webhook_signature_matches_razorpays_example():
    body = webhook_body()
    event = gateway().verify_webhook({"X-Razorpay-Signature": WEBHOOK_SIGNATURE,
                                      "X-Razorpay-Event-Id": "evt_1"}, body)
    assert (event.event, event.kind, event.event_id) == ("payment.authorized", "payment",
                                                         "evt_1")
    payment = event.payment
    assert payment is not None
    assert (payment.payment_id, payment.order_id) == ("pay_6koWN7bvxujzxM",
                                                      "order_100000000order")
    assert (payment.amount_paise, payment.currency, payment.status) == (1000000, "INR",
                                                                        "captured")
    assert payment.method == "card" and payment.created_at.timestamp() == 1479978483
    # Header names are case-insensitive (API Gateway lower-cases them).
    gateway().verify_webhook({"x-razorpay-signature": WEBHOOK_SIGNATURE}, body)


def test_a_wrong_webhook_signature_is_refused():
    body = webhook_body()
    wrong = {
        "missing": {},
        "empty": {"X-Razorpay-Signature": ""},
        "Razorpay's negative example": {"X-Razorpay-Signature": "test_signature"},
        "truncated": {"X-Razorpay-Signature": WEBHOOK_SIGNATURE[:-1]},
        "huge": {"X-Razorpay-Signature": "a" * 10_000},
    }
    for name, headers in wrong.items():
        with pytest.raises(InvalidSignature):
            gateway().verify_webhook(headers, body)
        assert name
    good = {"X-Razorpay-Signature": WEBHOOK_SIGNATURE}
    with pytest.raises(InvalidSignature):  # one byte more
        gateway().verify_webhook(good, body + b" ")
    with pytest.raises(InvalidSignature):  # re-serialised: not the bytes that were signed
        gateway().verify_webhook(good, json.dumps(json.loads(body)).encode())
    with pytest.raises(InvalidSignature):
        gateway(GatewayKeys("key_id", "key_secret", "other")).verify_webhook(good, body)
    with pytest.raises(InvalidSignature):  # not UTF-8
        gateway().verify_webhook(good, b"\xff\xfe")


def sign(body: bytes, secret: bytes = b"key_secret") -> dict[str, str]:
    return {"X-Razorpay-Signature": hmac.new(secret, body, hashlib.sha256).hexdigest()}


@pytest.mark.parametrize("change", [
    {"amount": 1.5}, {"amount": "1000000"}, {"amount": 0}, {"amount": -5},
    {"status": "paid"}, {"currency": "RUPEES"}, {"id": "../etc/passwd"},
    {"order_id": "order 1; drop"}, {"entity": "refund"}, {"created_at": "yesterday"},
])
def test_a_well_signed_body_that_is_not_a_payment_is_invalid_input(change):
    data = json.loads(webhook_body())
    data["payload"]["payment"]["entity"].update(change)
    body = json.dumps(data).encode()
    with pytest.raises(InvalidInput):
        gateway().verify_webhook(sign(body), body)


def test_events_we_do_not_use_are_acknowledged_not_refused():
    body = json.dumps({"entity": "event", "event": "payment.dispute.created",
                       "contains": ["dispute"], "payload": {"dispute": {"entity": {}}},
                       "created_at": 1}).encode()
    event = gateway().verify_webhook(sign(body), body)
    assert event.kind == "ignored" and event.event == "payment.dispute.created"
    for bad in (b"[]", b"{}", b'{"entity": "event"}', b"not json"):
        with pytest.raises(InvalidInput):
            gateway().verify_webhook(sign(bad), bad)
