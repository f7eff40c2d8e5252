"""The payment-gateway interface and the webhook event every gateway maps to.

A gateway works like Razorpay's orders API: the server creates an *order* for
an exact amount (paise, INR), the payer completes it on the gateway's hosted
checkout page, and the gateway then calls our webhook with a signed event for
each payment attempt. Amounts always come from the bill, never from the payer:
the order is created server-side, and each event is checked against the order.

A real gateway adapter (Razorpay, PayU, ...) implements `PaymentProvider`; the
sandbox in `sandbox.py` is the one used locally and in tests.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from functions.core.errors import Unauthorized

CURRENCY = "INR"

OnlineMethod = Literal["upi", "card", "netbanking"]
OfflineMethod = Literal["cash", "cheque"]
ONLINE_METHODS: tuple[OnlineMethod, ...] = ("upi", "card", "netbanking")
METHOD_LABELS = {"upi": "UPI", "card": "Card", "netbanking": "Net banking",
                 "cash": "Cash", "cheque": "Cheque"}

# What a gateway reports for one payment attempt. "captured" is money received.
AttemptStatus = Literal["captured", "failed", "cancelled"]


@dataclass(frozen=True)
class OrderRequest:
    """What we ask the gateway for: built from the bill, never from the client."""

    bill_id: str
    amount_paise: int
    description: str
    method: OnlineMethod
    return_url: str
    currency: str = CURRENCY


@dataclass(frozen=True)
class Order:
    """What the gateway answers: its order id and where to send the payer."""

    order_id: str
    amount_paise: int
    currency: str
    checkout_url: str
    provider: str
    expires_at: datetime


class WebhookEvent(BaseModel):
    """One payment attempt as the gateway reports it.

    Unknown fields are ignored (not rejected as in our request bodies): the
    gateway is a third party that may add fields, and the signature already
    proves the body came from it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    order_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    payment_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    amount: StrictInt = Field(ge=0, description="paise")
    currency: str = Field(min_length=3, max_length=3)
    status: AttemptStatus
    method: OnlineMethod
    created_at: datetime


class InvalidSignature(Unauthorized):
    code = "invalid_signature"


class PaymentProvider(Protocol):
    name: str

    def create_order(self, request: OrderRequest) -> Order: ...

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> WebhookEvent:
        """The event in `raw_body` if its signature is good; InvalidSignature
        (401) otherwise, and InvalidInput (400) for a well-signed body that is
        not an event we understand."""
        ...


def hmac_sha256_hex(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signature_matches(secret: bytes, raw_body: bytes, signature: str | None) -> bool:
    """HMAC-SHA-256 of the exact bytes received, compared in constant time."""
    if not signature or len(signature) > 128:
        return False
    expected = hmac_sha256_hex(secret, raw_body)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (HTTP header names are case-insensitive)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
