"""The sandbox payment gateway: behaves like a real one, runs on this machine.

Both halves live here:

- the *merchant* side, `SandboxProvider` (our server's view: create an order,
  verify a webhook), and
- the *gateway* side (`open_checkout`, `complete_checkout`, `deliver_webhook`),
  which the hosted checkout pages in functions/api/sandbox_gateway.py use.

The gateway keeps no table of its own: an order's details (id, amount,
currency, where to notify) travel in a checkout token that the gateway signs
with a key derived from the webhook secret, so the payer cannot change the
amount in the URL, and an old link expires. The payment id of an attempt is
derived from the order and an attempt id carried by the checkout form, so a
form submitted twice (double click, browser back) is the same payment, as at a
real gateway.

Webhook signature: header `X-Sandbox-Signature` = hex HMAC-SHA-256 of the exact
request body with the shared webhook secret (Razorpay's scheme).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from functions.core.clock import epoch, iso, utcnow
from functions.core.errors import Conflict, InvalidInput
from functions.core.payments.provider import (
    CURRENCY,
    ONLINE_METHODS,
    AttemptStatus,
    InvalidSignature,
    OnlineMethod,
    Order,
    OrderRequest,
    WebhookEvent,
    header,
    hmac_sha256_hex,
    signature_matches,
)
from functions.core.payments.secrets import webhook_secret

SIGNATURE_HEADER = "X-Sandbox-Signature"
CHECKOUT_PATH = "/sandbox-gateway/checkout"
WEBHOOK_PATH = "/payments/webhook"
CHECKOUT_LIFETIME = timedelta(minutes=30)
MAX_TOKEN_CHARS = 2048

Outcome = Literal["pay", "fail", "cancel"]
OUTCOME_STATUS: dict[str, AttemptStatus] = {"pay": "captured", "fail": "failed",
                                            "cancel": "cancelled"}
_ATTEMPT_ID = re.compile(r"[0-9a-f]{32}")

SecretSource = Callable[[], bytes]


class SandboxProvider:
    """Our server's side of the sandbox gateway (see PaymentProvider)."""

    name = "sandbox"

    def __init__(self, base_url: str, secret: SecretSource = webhook_secret,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.clock = clock

    def create_order(self, request: OrderRequest) -> Order:
        if request.amount_paise <= 0:
            raise InvalidInput("Nothing to pay on this bill.")
        order_id = "order_" + secrets.token_hex(8)
        expires = self.clock() + CHECKOUT_LIFETIME
        session = CheckoutSession(
            order_id=order_id, amount_paise=request.amount_paise, currency=request.currency,
            method=request.method, description=request.description,
            notify_url=self.base_url + WEBHOOK_PATH, return_url=request.return_url,
            expires_at=expires.replace(microsecond=0),
        )
        token = seal_checkout(session, self.secret())
        return Order(order_id=order_id, amount_paise=request.amount_paise,
                     currency=request.currency, provider=self.name,
                     checkout_url=f"{self.base_url}{CHECKOUT_PATH}/{token}",
                     expires_at=session.expires_at)

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> WebhookEvent:
        if not signature_matches(self.secret(), raw_body, header(headers, SIGNATURE_HEADER)):
            raise InvalidSignature("The webhook signature is missing or wrong.")
        try:
            return WebhookEvent.model_validate_json(raw_body)
        except ValidationError as error:
            raise InvalidInput("The webhook body is not a payment event.") from error


# ---- the gateway side --------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutSession:
    order_id: str
    amount_paise: int
    currency: str
    method: OnlineMethod
    description: str
    notify_url: str
    return_url: str
    expires_at: datetime


@dataclass(frozen=True)
class Delivery:
    """What happened when the gateway called the merchant's webhook."""

    event: dict[str, Any]
    status_code: int | None
    detail: str

    @property
    def accepted(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def seal_checkout(session: CheckoutSession, secret: bytes) -> str:
    payload = json.dumps({
        "o": session.order_id, "a": session.amount_paise, "c": session.currency,
        "m": session.method, "d": session.description, "n": session.notify_url,
        "r": session.return_url, "x": epoch(session.expires_at),
    }, separators=(",", ":"), sort_keys=True).encode()
    body = _b64(payload)
    return f"{body}.{_b64(_token_mac(secret, body))}"


def open_checkout(token: str, secret: bytes, now: datetime) -> CheckoutSession:
    """The session in a checkout token; InvalidInput if it was not made by this
    gateway (or was altered), Conflict if it has expired."""
    invalid = InvalidInput("This checkout link is not valid.")
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise invalid
    body, mac = token.split(".")
    try:
        given_mac = _unb64(mac)
        data = json.loads(_unb64(body))
    except (ValueError, binascii.Error):
        raise invalid from None
    if not hmac.compare_digest(given_mac, _token_mac(secret, body)):
        raise invalid
    session = CheckoutSession(
        order_id=str(data["o"]), amount_paise=int(data["a"]), currency=str(data["c"]),
        method=data["m"], description=str(data["d"]), notify_url=str(data["n"]),
        return_url=str(data["r"]), expires_at=datetime.fromtimestamp(int(data["x"]), UTC),
    )
    if now >= session.expires_at:
        raise Conflict("This checkout link has expired. Start the payment again.")
    return session


def new_attempt_id() -> str:
    return secrets.token_hex(16)


def payment_id_for(session: CheckoutSession, attempt_id: str, secret: bytes) -> str:
    """Deterministic per (order, attempt): resubmitting a form is one payment."""
    if not _ATTEMPT_ID.fullmatch(attempt_id or ""):
        raise InvalidInput("This checkout form is not valid; reload the page.")
    digest = hmac_sha256_hex(_derive(secret, b"sandbox-payment-id"),
                             f"{session.order_id}:{attempt_id}".encode())
    return "pay_" + digest[:20]


def complete_checkout(session: CheckoutSession, attempt_id: str, method: str,
                      outcome: str, secret: bytes, now: datetime) -> tuple[dict[str, Any], bytes]:
    """The payer pressed Pay, Fail or Cancel: the event the gateway will send,
    and its exact body bytes (what gets signed)."""
    if method not in ONLINE_METHODS:
        raise InvalidInput("Choose UPI, card or net banking.")
    if outcome not in OUTCOME_STATUS:
        raise InvalidInput("Unknown checkout action.")
    event = {
        "event": f"payment.{OUTCOME_STATUS[outcome]}",
        "order_id": session.order_id,
        "payment_id": payment_id_for(session, attempt_id, secret),
        "amount": session.amount_paise,
        "currency": session.currency,
        "status": OUTCOME_STATUS[outcome],
        "method": method,
        "created_at": iso(now),
    }
    return event, json.dumps(event, separators=(",", ":")).encode()


def signed_headers(raw_body: bytes, secret: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json",
            SIGNATURE_HEADER: hmac_sha256_hex(secret, raw_body)}


def deliver_webhook(notify_url: str, event: dict[str, Any], raw_body: bytes, secret: bytes,
                    timeout: float = 10) -> Delivery:
    """POST the signed event to the merchant, as the gateway's servers would."""
    if not notify_url.startswith(("http://", "https://")):
        return Delivery(event, None, "the webhook URL is not http(s)")
    # http(s) only, checked above.
    request = urllib.request.Request(notify_url, data=raw_body, method="POST",  # noqa: S310
                                     headers=signed_headers(raw_body, secret))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Delivery(event, response.status, response.read(2000).decode(errors="replace"))
    except urllib.error.HTTPError as error:
        return Delivery(event, error.code, error.read(2000).decode(errors="replace"))
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return Delivery(event, None, f"could not reach the merchant: {error}")


def _token_mac(secret: bytes, body: str) -> bytes:
    return hmac.new(_derive(secret, b"sandbox-checkout-token"), body.encode(),
                    hashlib.sha256).digest()


def _derive(secret: bytes, label: bytes) -> bytes:
    # Separate keys per purpose, so a checkout token can never pass as a webhook signature.
    return hmac.new(secret, label, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_\-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


__all__ = ["CURRENCY", "SIGNATURE_HEADER", "CheckoutSession", "Delivery", "SandboxProvider",
           "complete_checkout", "deliver_webhook", "new_attempt_id", "open_checkout",
           "payment_id_for", "seal_checkout", "signed_headers"]
