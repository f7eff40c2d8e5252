"""The local Razorpay sandbox: the subset of Razorpay's REST API, hosted
checkout and webhooks that our adapter uses, so that locally and in CI the
real SDK and the same adapter (razorpay_gateway.py) run against it.

Served by the API itself on the local stage only (functions/api/sandbox_gateway.py,
registered by functions/api/blueprints.py when APP_STAGE is local), under
`/sandbox-razorpay`, so the SDK's `base_url` is `API_BASE_URL/sandbox-razorpay`.

What it speaks, as Razorpay does (amounts in paise, times in epoch seconds,
Basic auth with the key id and key secret, errors as
`{"error": {"code": "BAD_REQUEST_ERROR", "description": ...}}`):

- `POST /v1/orders`, `GET /v1/orders/{id}`, `GET /v1/orders/{id}/payments`
- `GET /v1/payments` (from, to, count, skip), `GET /v1/payments/{id}`,
  `POST /v1/payments/{id}/refund`, `GET /v1/payments/{id}/refunds`, `GET /v1/refunds/{id}`
- `GET /v1/settlements` (from, to, count, skip), `GET /v1/settlements/recon/combined`
  (year, month, day)
- `/v1/checkout.js`: a stand-in for Standard Checkout's script, whose `open()`
  posts the options to the hosted checkout page `POST /v1/checkout/embedded`;
  the payer presses Pay or Fail there, and the page posts razorpay_payment_id,
  razorpay_order_id and razorpay_signature (or `error[...]` fields) to the
  merchant's callback_url.
- Webhooks to `API_BASE_URL/payments/webhook`: payment.captured and order.paid,
  payment.failed, refund.processed, each signed with `X-Razorpay-Signature`
  (HMAC-SHA256 of the body with the webhook secret) and carrying
  `X-Razorpay-Event-Id`. A delivery that gets no 2xx answer is sent again, the
  same body and event id, with exponential backoff, as Razorpay does (for 24
  hours there; about two minutes here, WEBHOOK_RETRY_SECONDS).

It keeps its state in memory (a restart is a fresh account) and reads its keys
from the same secret as the merchant (secrets.py), as a Razorpay account knows
its own keys. Controls that a real gateway does not have, for tests and
developers, live under `/sandbox-razorpay/_sandbox/` (a payment without its
webhook, a UPI payment from a bill's `upi://pay` link, a settlement, the webhook
turned off and on).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import string
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

from functions.core.clock import IST
from functions.core.payments.provider import ONLINE_METHODS, hmac_sha256_hex
from functions.core.payments.secrets import GatewayKeys, gateway_keys

WEBHOOK_PATH = "/payments/webhook"
ACCOUNT_ID = "acc_Sandbox0Discom1"
FEE_PERCENT = 2  # of the amount; GST of 18% on the fee is included in `fee`
MAX_COUNT = 100
REFUND_PROCESSING_SECONDS = 0.3
# Waits before each new attempt of a webhook that got no 2xx answer (Razorpay's own
# backoff runs for 24 hours; a local stack needs the merchant back within minutes).
WEBHOOK_RETRY_SECONDS = (1, 2, 4, 8, 16, 32, 64)

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(14))


class SandboxError(Exception):
    """A Razorpay-style error answer."""

    def __init__(self, description: str, status: int = 400, code: str = "BAD_REQUEST_ERROR",
                 field: str | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.body: dict[str, Any] = {"error": {
            "code": code, "description": description, "source": "business",
            "step": "payment_initiation", "reason": "input_validation_failed",
            "metadata": {}, "field": field}}


@dataclass
class Delivery:
    """What happened when the sandbox called the merchant's webhook."""

    event: str
    status_code: int | None
    detail: str

    @property
    def accepted(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def now_epoch() -> int:
    return int(time.time())


class SandboxGateway:
    """One sandbox merchant account, in memory."""

    def __init__(self, keys: Callable[[], GatewayKeys] = gateway_keys,
                 webhook_url: Callable[[], str] | None = None) -> None:
        self._keys = keys
        self._webhook_url = webhook_url or _default_webhook_url
        self.lock = threading.RLock()
        self.orders: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.settlements: dict[str, dict[str, Any]] = {}
        self.settled: dict[str, str] = {}  # payment or refund id -> settlement id
        self.attempts: dict[tuple[str, str], str] = {}  # (order, attempt) -> payment id
        self.deliveries: list[Delivery] = []
        self.webhooks_enabled = True  # off: events are dropped, as a disabled webhook's are

    # ---- authentication -----------------------------------------------------------

    def authenticate(self, authorization: str | None) -> None:
        failed = SandboxError("Authentication failed", status=401)
        if not authorization or not authorization.startswith("Basic "):
            raise failed
        try:
            key_id, _, key_secret = base64.b64decode(authorization[6:], validate=True
                                                     ).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise failed from None
        keys = self._keys()
        if not (hmac.compare_digest(key_id.encode(), keys.key_id.encode())
                and hmac.compare_digest(key_secret.encode(), keys.key_secret.encode())):
            raise failed

    def check_key_id(self, key_id: str) -> None:
        if not hmac.compare_digest(key_id.encode(), self._keys().key_id.encode()):
            raise SandboxError("The api key provided is invalid", status=401)

    # ---- orders --------------------------------------------------------------------

    def create_order(self, body: dict[str, Any]) -> dict[str, Any]:
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
            raise SandboxError("The amount must be atleast INR 1.00", field="amount")
        currency = body.get("currency", "INR")
        if currency != "INR":
            raise SandboxError("Currency is not supported", field="currency")
        receipt = body.get("receipt")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise SandboxError("The receipt may not be greater than 40 characters.",
                               field="receipt")
        notes = body.get("notes") or []
        if not isinstance(notes, dict | list) or len(notes) > 15:
            raise SandboxError("Number of fields in notes should be less than or equal to 15",
                               field="notes")
        order = {"id": new_id("order"), "entity": "order", "amount": amount,
                 "amount_paid": 0, "amount_due": amount, "currency": currency,
                 "receipt": receipt, "offer_id": None, "status": "created", "attempts": 0,
                 "notes": notes, "created_at": now_epoch()}
        with self.lock:
            self.orders[order["id"]] = order
        return dict(order)

    def order(self, order_id: str) -> dict[str, Any]:
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                raise SandboxError("The id provided does not exist")
            return dict(order)

    def order_payments(self, order_id: str) -> dict[str, Any]:
        self.order(order_id)
        with self.lock:
            return _collection([dict(p) for p in self.payments.values()
                                if p["order_id"] == order_id])

    # ---- payments ------------------------------------------------------------------

    def payment(self, payment_id: str) -> dict[str, Any]:
        with self.lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise SandboxError("The id provided does not exist")
            return dict(payment)

    def list_payments(self, query: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            return _page(list(self.payments.values()), query)

    def pay(self, order_id: str, attempt: str, method: str, outcome: str,
            webhooks: bool = True) -> tuple[dict[str, Any], list[Delivery]]:
        """The payer pressed Pay or Fail on the checkout (or a test did it)."""
        if method not in ONLINE_METHODS:
            raise SandboxError("Invalid payment method", field="method")
        if outcome not in ("pay", "fail"):
            raise SandboxError("Unknown checkout action")
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                raise SandboxError("The id provided does not exist")
            known = self.attempts.get((order_id, attempt))
            if known is not None:  # a form submitted twice is one payment
                return dict(self.payments[known]), []
            if outcome == "pay" and order["status"] == "paid":
                raise SandboxError("Order has already been paid")
            payment = _payment(order["amount"], order["currency"], method,
                               "captured" if outcome == "pay" else "failed", order_id=order_id,
                               notes=order["notes"])
            self.payments[payment["id"]] = payment
            self.attempts[(order_id, attempt)] = payment["id"]
            order["attempts"] += 1
            order["status"] = "attempted"
            if payment["status"] == "captured":
                order.update(status="paid", amount_paid=order["amount"], amount_due=0)
            payment, order = dict(payment), dict(order)
        deliveries = self._payment_webhooks(payment, order) if webhooks else []
        return payment, deliveries

    def pay_without_order(self, amount: int, method: str, notes: dict[str, str],
                          description: str, vpa: str | None,
                          webhooks: bool = True) -> tuple[dict[str, Any], list[Delivery]]:
        if amount < 100:
            raise SandboxError("The amount must be atleast INR 1.00", field="amount")
        payment = _payment(amount, "INR", method, "captured", order_id=None, notes=notes,
                           description=description, vpa=vpa)
        with self.lock:
            self.payments[payment["id"]] = payment
        deliveries = self._payment_webhooks(payment, None) if webhooks else []
        return dict(payment), deliveries

    def upi_pay(self, uri: str, payer_vpa: str, vpa: str | None,
                webhooks: bool = True) -> tuple[dict[str, Any], list[Delivery]]:
        """A UPI app paid a `upi://pay` link: the payee must be the account's VPA; the
        link's transaction reference (`tr`) arrives as the payment's notes.reference."""
        parts = urlsplit(uri)
        if parts.scheme != "upi" or parts.netloc != "pay":
            raise SandboxError("Not a upi://pay link")
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if not vpa or params.get("pa") != vpa:
            raise SandboxError("The payee is not this account's UPI id", field="pa")
        if params.get("cu", "INR") != "INR":
            raise SandboxError("Currency is not supported", field="cu")
        try:
            rupees = Decimal(params["am"])  # a UPI app reads the rupee text
        except (KeyError, InvalidOperation):
            raise SandboxError("The link has no amount", field="am") from None
        if not rupees.is_finite() or not 0 < rupees < 10_000_000:
            raise SandboxError("The amount is not payable", field="am")
        amount = int((rupees * 100).to_integral_value())
        return self.pay_without_order(amount, "upi", {"reference": params.get("tr", "")},
                                      params.get("tn", ""), payer_vpa, webhooks)

    # ---- refunds -------------------------------------------------------------------

    def refund_payment(self, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise SandboxError("The id provided does not exist")
            if payment["status"] not in ("captured", "refunded"):
                raise SandboxError("Only captured payments can be refunded")
            left = payment["amount"] - payment["amount_refunded"]
            amount = body.get("amount", left)
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
                raise SandboxError("The amount must be atleast INR 1.00", field="amount")
            if amount > left:
                raise SandboxError("The refund amount provided is greater than amount "
                                   "captured", field="amount")
            refund = {"id": new_id("rfnd"), "entity": "refund", "amount": amount,
                      "currency": payment["currency"], "payment_id": payment_id,
                      "notes": body.get("notes") or [], "receipt": body.get("receipt"),
                      "acquirer_data": {"arn": None}, "created_at": now_epoch(),
                      "batch_id": None, "status": "pending", "speed_processed": "normal",
                      "speed_requested": body.get("speed", "normal")}
            self.refunds[refund["id"]] = refund
            payment["amount_refunded"] += amount
            full = payment["amount_refunded"] == payment["amount"]
            payment["refund_status"] = "full" if full else "partial"
            if full:
                payment["status"] = "refunded"
        threading.Timer(REFUND_PROCESSING_SECONDS, self._process_refund,
                        args=(refund["id"],)).start()
        return dict(refund)

    def payment_refunds(self, payment_id: str) -> dict[str, Any]:
        self.payment(payment_id)
        with self.lock:
            return _collection([dict(r) for r in self.refunds.values()
                                if r["payment_id"] == payment_id])

    def refund(self, refund_id: str) -> dict[str, Any]:
        with self.lock:
            refund = self.refunds.get(refund_id)
            if refund is None:
                raise SandboxError("The id provided does not exist")
            return dict(refund)

    def _process_refund(self, refund_id: str) -> None:
        with self.lock:
            refund = self.refunds[refund_id]
            refund["status"] = "processed"
            refund["acquirer_data"] = {"arn": "".join(secrets.choice(string.digits)
                                                      for _ in range(14))}
            refund, payment = dict(refund), dict(self.payments[refund["payment_id"]])
        self.deliver("refund.processed", {"refund": refund, "payment": payment})

    # ---- settlements ---------------------------------------------------------------

    def settle(self) -> dict[str, Any] | None:
        """Settle everything captured (less fees) and refunded so far: one settlement."""
        with self.lock:
            payments = [p for p in self.payments.values()
                        if p["captured"] and p["id"] not in self.settled]
            refunds = [r for r in self.refunds.values()
                       if r["status"] == "processed" and r["id"] not in self.settled]
            if not payments and not refunds:
                return None
            fees = sum(p["fee"] for p in payments)
            tax = sum(p["tax"] for p in payments)
            amount = (sum(p["amount"] for p in payments) - fees
                      - sum(r["amount"] for r in refunds))
            settlement = {"id": new_id("setl"), "entity": "settlement", "amount": amount,
                          "status": "processed", "fees": fees, "tax": tax,
                          "utr": "SANDBOX" + "".join(secrets.choice(string.digits)
                                                     for _ in range(9)),
                          "created_at": now_epoch()}
            self.settlements[settlement["id"]] = settlement
            for entity in (*payments, *refunds):
                self.settled[entity["id"]] = settlement["id"]
            return dict(settlement)

    def list_settlements(self, query: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            return _page(list(self.settlements.values()), query)

    def settlement_recon(self, query: dict[str, str]) -> dict[str, Any]:
        try:
            year, month = int(query["year"]), int(query["month"])
            day = int(query["day"]) if "day" in query else None
        except (KeyError, ValueError):
            raise SandboxError("The year field is required.", field="year") from None
        items = []
        with self.lock:
            for entity_id, settlement_id in self.settled.items():
                settlement = self.settlements[settlement_id]
                on = datetime.fromtimestamp(settlement["created_at"], IST).date()
                if (on.year, on.month) != (year, month) or (day is not None and on.day != day):
                    continue
                items.append(self._recon_item(entity_id, settlement))
        return _page(items, {k: v for k, v in query.items() if k in ("count", "skip")})

    def _recon_item(self, entity_id: str, settlement: dict[str, Any]) -> dict[str, Any]:
        if entity_id.startswith("pay_"):
            p = self.payments[entity_id]
            return {"entity_id": entity_id, "type": "payment", "debit": 0,
                    "credit": p["amount"] - p["fee"], "amount": p["amount"],
                    "currency": p["currency"], "fee": p["fee"], "tax": p["tax"],
                    "on_hold": False, "settled": True, "created_at": p["created_at"],
                    "settled_at": settlement["created_at"], "settlement_id": settlement["id"],
                    "payment_id": None, "order_id": p["order_id"], "method": p["method"],
                    "settlement_utr": settlement["utr"]}
        r = self.refunds[entity_id]
        return {"entity_id": entity_id, "type": "refund", "debit": r["amount"], "credit": 0,
                "amount": r["amount"], "currency": r["currency"], "fee": 0, "tax": 0,
                "on_hold": False, "settled": True, "created_at": r["created_at"],
                "settled_at": settlement["created_at"], "settlement_id": settlement["id"],
                "payment_id": r["payment_id"], "order_id": None, "method": None,
                "settlement_utr": settlement["utr"]}

    # ---- webhooks ------------------------------------------------------------------

    def payment_signature(self, order_id: str, payment_id: str) -> str:
        """What Standard Checkout hands the merchant: HMAC of "order|payment", key secret."""
        return hmac_sha256_hex(self._keys().key_secret.encode(),
                               f"{order_id}|{payment_id}".encode())

    def _payment_webhooks(self, payment: dict[str, Any],
                          order: dict[str, Any] | None) -> list[Delivery]:
        if payment["status"] == "failed":
            return [self.deliver("payment.failed", {"payment": payment})]
        deliveries = [self.deliver("payment.captured", {"payment": payment})]
        if order is not None:
            deliveries.append(self.deliver("order.paid", {"payment": payment, "order": order}))
        return deliveries

    def event_body(self, event: str, entities: dict[str, dict[str, Any]]) -> bytes:
        body = {"entity": "event", "account_id": ACCOUNT_ID, "event": event,
                "contains": list(entities),
                "payload": {name: {"entity": entity} for name, entity in entities.items()},
                "created_at": now_epoch()}
        return json.dumps(body, separators=(",", ":")).encode()

    def deliver(self, event: str, entities: dict[str, dict[str, Any]],
                timeout: float = 10) -> Delivery:
        """POST a signed event to the merchant's webhook URL, as Razorpay's servers do:
        the first attempt now, and again later while the merchant does not take it."""
        raw, event_id = self.event_body(event, entities), new_id("evt")
        delivery = self._attempt(event, raw, event_id, timeout)
        if not delivery.accepted:
            self._retry_later(event, raw, event_id, timeout, 0)
        return delivery

    def _attempt(self, event: str, raw: bytes, event_id: str, timeout: float) -> Delivery:
        if not self.webhooks_enabled:
            delivery = Delivery(event, None, "the webhook is disabled")
        else:
            try:
                headers = signed_headers(raw, self._keys().webhook_secret.encode(), event_id)
                delivery = _post(self._webhook_url(), raw, headers, event, timeout)
            except Exception as error:  # keys unreadable, a broken answer: a failed attempt
                delivery = Delivery(event, None, f"could not send: {error!r}")
        with self.lock:
            self.deliveries.append(delivery)
        return delivery

    def _retry_later(self, event: str, raw: bytes, event_id: str, timeout: float,
                     retries: int) -> None:
        if retries >= len(WEBHOOK_RETRY_SECONDS) or not self.webhooks_enabled:
            return  # given up on (as Razorpay gives up after 24 hours), or turned off

        def again() -> None:
            if not self._attempt(event, raw, event_id, timeout).accepted:
                self._retry_later(event, raw, event_id, timeout, retries + 1)

        timer = threading.Timer(WEBHOOK_RETRY_SECONDS[retries], again)
        timer.daemon = True  # a stopping stack does not wait for the merchant
        timer.start()


def signed_headers(raw_body: bytes, webhook_secret: bytes,
                   event_id: str | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json",
            "X-Razorpay-Signature": hmac_sha256_hex(webhook_secret, raw_body),
            "X-Razorpay-Event-Id": event_id or new_id("evt")}


def _post(url: str, raw: bytes, headers: dict[str, str], event: str,
          timeout: float) -> Delivery:
    if not url.startswith(("http://", "https://")):
        return Delivery(event, None, "the webhook URL is not http(s)")
    request = urllib.request.Request(url, data=raw, method="POST",  # noqa: S310 - http(s) only
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Delivery(event, response.status, response.read(2000).decode(errors="replace"))
    except urllib.error.HTTPError as error:
        return Delivery(event, error.code, error.read(2000).decode(errors="replace"))
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return Delivery(event, None, f"could not reach the merchant: {error}")


def _payment(amount: int, currency: str, method: str, status: str, *, order_id: str | None,
             notes: Any, description: str | None = None,
             vpa: str | None = None) -> dict[str, Any]:
    captured = status == "captured"
    fee = amount * FEE_PERCENT // 100 if captured else 0
    tax = fee * 18 // 118
    failed = status == "failed"
    return {
        "id": new_id("pay"), "entity": "payment", "amount": amount, "currency": currency,
        "status": status, "order_id": order_id, "invoice_id": None, "international": False,
        "method": method, "amount_refunded": 0, "refund_status": None, "captured": captured,
        "description": description, "card_id": new_id("card") if method == "card" else None,
        "bank": "HDFC" if method == "netbanking" else None, "wallet": None,
        "vpa": (vpa or "payer@okhdfcbank") if method == "upi" else None,
        "email": "payer@example.in", "contact": "+919999999999", "notes": notes or [],
        "fee": fee, "tax": tax,
        "error_code": "BAD_REQUEST_ERROR" if failed else None,
        "error_description": "Payment failed because the payer's bank declined it"
        if failed else None,
        "error_source": "bank" if failed else None,
        "error_step": "payment_authorization" if failed else None,
        "error_reason": "payment_failed" if failed else None,
        "acquirer_data": {"rrn": "".join(secrets.choice(string.digits) for _ in range(12))}
        if captured and method == "upi" else {},
        "created_at": now_epoch(),
    }


def _collection(items: list[dict[str, Any]]) -> dict[str, Any]:
    items.sort(key=lambda i: i.get("created_at", 0), reverse=True)
    return {"entity": "collection", "count": len(items), "items": items}


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    try:
        start = int(query["from"]) if "from" in query else None
        end = int(query["to"]) if "to" in query else None
        count = min(int(query.get("count", 10)), MAX_COUNT)
        skip = int(query.get("skip", 0))
    except ValueError:
        raise SandboxError("The from must be an integer.", field="from") from None
    if count < 1 or skip < 0:
        raise SandboxError("The count must be at least 1.", field="count")
    chosen = [dict(i) for i in items
              if (start is None or i["created_at"] >= start)
              and (end is None or i["created_at"] <= end)]
    page = _collection(chosen)["items"][skip:skip + count]
    return {"entity": "collection", "count": len(page), "items": page}


def _default_webhook_url() -> str:
    from functions.core.settings import get_settings

    return get_settings().api_base_url.rstrip("/") + WEBHOOK_PATH


_gateway: SandboxGateway | None = None
_gateway_lock = threading.Lock()


def sandbox() -> SandboxGateway:
    """The process's sandbox account (the API serves one)."""
    global _gateway
    with _gateway_lock:
        if _gateway is None:
            _gateway = SandboxGateway()
        return _gateway


__all__ = ["Delivery", "SandboxError", "SandboxGateway", "new_id", "sandbox",
           "signed_headers"]
