"""The payment-gateway interface, and the gateway's entities as our code sees them.

A gateway works like Razorpay's orders API: the server creates an *order* for
an exact amount (paise, INR), the payer completes it on the gateway's checkout,
the browser comes back with a signed confirmation, and the gateway's servers
also call our webhook with signed events (payment captured or failed, order
paid, refund processed). Amounts always come from the bill, never from the
payer: the order is created server-side, and every payment is checked against
the order (or, for a UPI payment made from the bill's QR code, the bill).

`RazorpayGateway` (razorpay_gateway.py) implements `PaymentProvider` with
Razorpay's official SDK; `gateways.py` picks the stage's gateway from
configuration.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

from functions.core.errors import Unauthorized

CURRENCY = "INR"

OnlineMethod = Literal["upi", "card", "netbanking"]
OfflineMethod = Literal["cash", "cheque"]
ONLINE_METHODS: tuple[OnlineMethod, ...] = ("upi", "card", "netbanking")
METHOD_LABELS = {"upi": "UPI", "card": "Card", "netbanking": "Net banking",
                 "wallet": "Wallet", "emi": "EMI", "cash": "Cash", "cheque": "Cheque"}

# A payment's status at the gateway (Razorpay's). "captured" is money received;
# "refunded" is a captured payment refunded in full afterwards.
GatewayStatus = Literal["created", "authorized", "captured", "refunded", "failed"]
RefundStatus = Literal["pending", "processed", "failed"]


@dataclass(frozen=True)
class OrderRequest:
    """What we ask the gateway for: built from the bill, never from the client."""

    bill_id: str
    amount_paise: int
    description: str
    method: OnlineMethod
    currency: str = CURRENCY


@dataclass(frozen=True)
class Order:
    """What the gateway answers: its order id, the amount it will collect."""

    order_id: str
    amount_paise: int
    currency: str
    provider: str


@dataclass(frozen=True)
class GatewayPayment:
    """One payment (attempt) as the gateway reports it."""

    payment_id: str
    order_id: str | None
    amount_paise: int
    currency: str
    status: GatewayStatus
    method: str
    created_at: datetime
    amount_refunded_paise: int = 0
    # A payment without an order (UPI to the discom's VPA from the bill's QR
    # code) names its bill here: the link's transaction reference.
    reference: str | None = None
    vpa: str | None = None
    error: str | None = None

    @property
    def money_received(self) -> bool:
        return self.status in ("captured", "refunded")


@dataclass(frozen=True)
class GatewayRefund:
    refund_id: str
    payment_id: str
    amount_paise: int
    currency: str
    status: RefundStatus
    created_at: datetime
    notes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settlement:
    settlement_id: str
    amount_paise: int
    fees_paise: int
    tax_paise: int
    status: str
    utr: str | None
    created_at: datetime


@dataclass(frozen=True)
class SettledItem:
    """One line of a settlement report: a payment or refund and the settlement it went in."""

    entity_id: str
    type: str  # payment | refund | transfer | adjustment
    amount_paise: int
    fee_paise: int
    tax_paise: int
    settlement_id: str | None
    payment_id: str | None  # for a refund: the payment it refunds


@dataclass(frozen=True)
class GatewayEvent:
    """A verified webhook. `kind` is what we do with it: a payment's news, a
    refund's news, or nothing (an event we do not subscribe to)."""

    event_id: str | None
    event: str
    kind: Literal["payment", "refund", "ignored"]
    payment: GatewayPayment | None = None
    refund: GatewayRefund | None = None


class InvalidSignature(Unauthorized):
    code = "invalid_signature"


class GatewayFailure(Exception):
    """The gateway could not be reached or answered with a server error: try later."""


class GatewayRefused(Exception):
    """The gateway refused the request (its 4xx): retrying the same will not help."""


class PaymentProvider(Protocol):
    name: str

    def create_order(self, request: OrderRequest) -> Order: ...

    def checkout_options(self, order_id: str, amount_paise: int, currency: str,
                         description: str, callback_url: str, cancel_url: str,
                         prefill: Mapping[str, str]) -> dict[str, object]:
        """What the payer's browser hands to the gateway's checkout."""
        ...

    def checkout_script(self) -> str: ...

    def verify_checkout(self, order_id: str, payment_id: str, signature: str) -> None:
        """InvalidSignature unless `signature` is the gateway's for this order and payment."""
        ...

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> GatewayEvent:
        """The event in `raw_body` if its signature is good; InvalidSignature
        (401) otherwise, and InvalidInput (400) for a well-signed body that is
        not an event we understand."""
        ...

    def fetch_payment(self, payment_id: str) -> GatewayPayment | None: ...

    def refund(self, payment_id: str, amount_paise: int, refund_key: str,
               reason: str) -> GatewayRefund: ...

    def refunds_of(self, payment_id: str) -> list[GatewayRefund]: ...

    def payments_between(self, start: datetime, end: datetime) -> list[GatewayPayment]: ...

    def settlements_between(self, start: datetime, end: datetime) -> list[Settlement]: ...

    def settlement_report(self, day: date) -> list[SettledItem]: ...


def hmac_sha256_hex(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signature_matches(secret: bytes, message: bytes, signature: str | None) -> bool:
    """HMAC-SHA-256 of the exact bytes, compared in constant time (hex, any case)."""
    if not signature or len(signature) > 128:
        return False
    expected = hmac_sha256_hex(secret, message)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (HTTP header names are case-insensitive)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
