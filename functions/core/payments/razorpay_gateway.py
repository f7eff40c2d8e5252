"""Razorpay, through its official Python SDK (`razorpay`).

- Orders: `client.order.create` with the bill's amount in paise, the bill id
  as `receipt` and in `notes`, automatic capture.
- Standard Checkout: the options the payer's browser passes to Razorpay's
  checkout.js (`key`, `order_id`, `callback_url` with `redirect`), see
  functions/api/payments.py for the page that opens it.
- Payment verification: `razorpay_signature` = hex HMAC-SHA256 of
  "<order_id>|<payment_id>" with the key secret (`utility.verify_payment_signature`).
- Webhooks: `X-Razorpay-Signature` = hex HMAC-SHA256 of the raw body with the
  webhook secret (`utility.verify_webhook_signature`); events payment.captured,
  payment.failed, order.paid, refund.processed / refund.failed (others are
  acknowledged and ignored).
- Refunds: `client.payment.refund`, tagged with our refund key in `notes`, so a
  retried request finds the refund it already made (`fetch_multiple_refund`).
- Reconciliation: `client.payment.all`, `client.settlement.all`,
  `client.settlement.report` (the combined recon of a day).

The SDK talks to `PaymentSettings.api_base_url` (the SDK's `base_url`
option): Razorpay itself, or on the local stage the sandbox that speaks the
same REST API (functions/core/payments/sandbox.py). Every HTTP call has a
timeout (the SDK sets none; its `session` is ours).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar

import razorpay
import requests
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator
from razorpay.errors import BadRequestError, SignatureVerificationError

from functions.core.clock import IST, epoch
from functions.core.errors import InvalidInput
from functions.core.logs import logger
from functions.core.payments.config import PaymentSettings, payment_settings
from functions.core.payments.provider import (
    GatewayEvent,
    GatewayFailure,
    GatewayPayment,
    GatewayRefund,
    GatewayRefused,
    GatewayStatus,
    InvalidSignature,
    Order,
    OrderRequest,
    RefundStatus,
    SettledItem,
    Settlement,
    header,
)
from functions.core.payments.secrets import GatewayKeys, gateway_keys

E = TypeVar("E", bound=BaseModel)

SIGNATURE_HEADER = "X-Razorpay-Signature"
EVENT_ID_HEADER = "X-Razorpay-Event-Id"
PAGE_SIZE = 100
MAX_PAGES = 500
TIMEOUT_SECONDS = 10.0

PAYMENT_EVENTS = ("payment.captured", "payment.failed", "payment.authorized", "order.paid")
REFUND_EVENTS = ("refund.processed", "refund.failed", "refund.created")

_ID = r"^[A-Za-z0-9_]{1,64}$"


class TimeoutSession(requests.Session):
    """requests.Session with a default timeout: the SDK passes none."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(*args, **kwargs)


# ---- Razorpay's entities (what its API and webhooks send) ---------------------------


def _notes(value: Any) -> dict[str, str]:
    # Razorpay sends an empty `notes` as [] and a filled one as an object.
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    return {}


class _Entity(BaseModel):
    # Razorpay adds fields over time; the signature already proves the body is theirs.
    model_config = ConfigDict(extra="ignore", frozen=True)


class PaymentEntity(_Entity):
    id: str = Field(pattern=_ID)
    entity: Literal["payment"]
    amount: StrictInt = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    status: GatewayStatus
    order_id: str | None = Field(default=None, pattern=_ID)
    method: str = Field(default="unknown", max_length=32)
    amount_refunded: StrictInt = Field(default=0, ge=0)
    description: str | None = None
    vpa: str | None = None
    notes: dict[str, str] = Field(default_factory=dict)
    error_description: str | None = None
    created_at: StrictInt

    _notes = field_validator("notes", mode="before")(_notes)

    def to_payment(self) -> GatewayPayment:
        return GatewayPayment(
            payment_id=self.id, order_id=self.order_id, amount_paise=self.amount,
            currency=self.currency, status=self.status, method=self.method,
            created_at=datetime.fromtimestamp(self.created_at, UTC),
            amount_refunded_paise=self.amount_refunded,
            reference=self.notes.get("bill_id") or self.notes.get("reference"),
            vpa=self.vpa, error=self.error_description)


class RefundEntity(_Entity):
    id: str = Field(pattern=_ID)
    entity: Literal["refund"]
    amount: StrictInt = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    payment_id: str = Field(pattern=_ID)
    status: RefundStatus = "pending"
    notes: dict[str, str] = Field(default_factory=dict)
    created_at: StrictInt

    _notes = field_validator("notes", mode="before")(_notes)

    def to_refund(self) -> GatewayRefund:
        return GatewayRefund(refund_id=self.id, payment_id=self.payment_id,
                             amount_paise=self.amount, currency=self.currency,
                             status=self.status,
                             created_at=datetime.fromtimestamp(self.created_at, UTC),
                             notes=self.notes)


class OrderEntity(_Entity):
    id: str = Field(pattern=_ID)
    entity: Literal["order"]
    amount: StrictInt = Field(gt=0)
    currency: str
    status: str


class SettlementEntity(_Entity):
    id: str = Field(pattern=_ID)
    entity: Literal["settlement"]
    amount: StrictInt
    fees: StrictInt = 0
    tax: StrictInt = 0
    status: str
    utr: str | None = None
    created_at: StrictInt


class ReconItem(_Entity):
    entity_id: str
    type: str
    amount: StrictInt
    fee: StrictInt = 0
    tax: StrictInt = 0
    settlement_id: str | None = None
    payment_id: str | None = None


class _Wrapped(_Entity):
    entity: dict[str, Any]


class EventEnvelope(_Entity):
    entity: Literal["event"]
    event: str = Field(min_length=1, max_length=64)
    contains: list[str] = Field(default_factory=list)
    payload: dict[str, _Wrapped]
    created_at: StrictInt


# ---- the adapter ---------------------------------------------------------------------


ClientFactory = Callable[[GatewayKeys, str | None], Any]


def sdk_client(keys: GatewayKeys, base_url: str | None) -> Any:
    options: dict[str, Any] = {"base_url": base_url} if base_url else {}
    client = razorpay.Client(session=TimeoutSession(), auth=(keys.key_id, keys.key_secret),
                             **options)
    client.set_app_details({"title": "iot-billing", "version": "1"})
    return client


class RazorpayGateway:
    """`PaymentProvider` on Razorpay's SDK."""

    name = "razorpay"

    def __init__(self, keys: Callable[[], GatewayKeys] = gateway_keys,
                 settings: PaymentSettings | None = None,
                 client_factory: ClientFactory = sdk_client) -> None:
        self._keys = keys
        self.settings = settings or payment_settings()
        self._client_factory = client_factory

    @property
    def client(self) -> Any:
        return self._client_factory(self._keys(), self.settings.api_base_url)

    # ---- orders and checkout -------------------------------------------------------

    def create_order(self, request: OrderRequest) -> Order:
        if request.amount_paise <= 0:
            raise InvalidInput("A payment must be for a positive amount.")
        data = {"amount": request.amount_paise, "currency": request.currency,
                "receipt": request.bill_id[:40], "payment_capture": 1,
                "notes": {"bill_id": request.bill_id, "description": request.description[:200]}}
        raw = self._call(lambda c: c.order.create(data))
        order = _parse(OrderEntity, raw, "order")
        if order.amount != request.amount_paise or order.currency != request.currency:
            raise GatewayFailure("the gateway made an order for another amount")
        return Order(order_id=order.id, amount_paise=order.amount, currency=order.currency,
                     provider=self.name)

    def checkout_options(self, order_id: str, amount_paise: int, currency: str,
                         description: str, callback_url: str, cancel_url: str,
                         prefill: Mapping[str, str]) -> dict[str, object]:
        """Standard Checkout options (checkout.js), redirect mode: Razorpay posts
        razorpay_payment_id, razorpay_order_id and razorpay_signature to callback_url."""
        return {"key": self._keys().key_id, "order_id": order_id, "amount": amount_paise,
                "currency": currency, "name": self.settings.merchant_name,
                "description": description, "callback_url": callback_url, "redirect": True,
                "cancel_url": cancel_url, "prefill": dict(prefill),
                "theme": {"color": "#1f6feb"}}

    def checkout_script(self) -> str:
        return self.settings.checkout_js

    def verify_checkout(self, order_id: str, payment_id: str, signature: str) -> None:
        keys = self._keys()
        utility = razorpay.Client(auth=(keys.key_id, keys.key_secret)).utility
        try:
            utility.verify_payment_signature({"razorpay_order_id": order_id,
                                              "razorpay_payment_id": payment_id,
                                              "razorpay_signature": signature.strip().lower()})
        except (SignatureVerificationError, TypeError) as error:
            raise InvalidSignature("The payment signature is wrong.") from error

    # ---- webhooks ------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> GatewayEvent:
        signature = header(headers, SIGNATURE_HEADER)
        if not signature or len(signature) > 128:
            raise InvalidSignature("The webhook signature is missing or wrong.")
        try:
            body = raw_body.decode("utf-8")
            razorpay.Client().utility.verify_webhook_signature(
                body, signature.strip().lower(), self._keys().webhook_secret)
        except (UnicodeDecodeError, SignatureVerificationError) as error:
            raise InvalidSignature("The webhook signature is missing or wrong.") from error
        return parse_event(body, header(headers, EVENT_ID_HEADER))

    # ---- payments, refunds ---------------------------------------------------------

    def fetch_payment(self, payment_id: str) -> GatewayPayment | None:
        try:
            raw = self._call(lambda c: c.payment.fetch(payment_id))
        except GatewayRefused:
            return None  # "The id provided does not exist"
        return _parse(PaymentEntity, raw, "payment").to_payment()

    def refund(self, payment_id: str, amount_paise: int, refund_key: str,
               reason: str) -> GatewayRefund:
        if amount_paise <= 0:
            raise InvalidInput("A refund must be for a positive amount.")
        data = {"amount": amount_paise, "speed": "normal", "receipt": refund_key[:40],
                "notes": {"refund_key": refund_key, "reason": reason[:200]}}
        raw = self._call(lambda c: c.payment.refund(payment_id, data))
        return _parse(RefundEntity, raw, "refund").to_refund()

    def refunds_of(self, payment_id: str) -> list[GatewayRefund]:
        raw = self._call(lambda c: c.payment.fetch_multiple_refund(payment_id,
                                                                   {"count": PAGE_SIZE}))
        return [_parse(RefundEntity, item, "refund").to_refund()
                for item in _items(raw)]

    # ---- reconciliation ------------------------------------------------------------

    def payments_between(self, start: datetime, end: datetime) -> list[GatewayPayment]:
        window = {"from": epoch(start), "to": epoch(end) - 1}
        return [_parse(PaymentEntity, item, "payment").to_payment()
                for item in self._pages(lambda c, q: c.payment.all(q), window)]

    def settlements_between(self, start: datetime, end: datetime) -> list[Settlement]:
        window = {"from": epoch(start), "to": epoch(end) - 1}
        found = []
        for item in self._pages(lambda c, q: c.settlement.all(q), window):
            s = _parse(SettlementEntity, item, "settlement")
            found.append(Settlement(settlement_id=s.id, amount_paise=s.amount,
                                    fees_paise=s.fees, tax_paise=s.tax, status=s.status,
                                    utr=s.utr, created_at=datetime.fromtimestamp(s.created_at,
                                                                                 UTC)))
        return found

    def settlement_report(self, day: date) -> list[SettledItem]:
        query = {"year": day.year, "month": day.month, "day": day.day}
        found = []
        for item in self._pages(lambda c, q: c.settlement.report(q), query):
            r = _parse(ReconItem, item, "settlement report line")
            found.append(SettledItem(entity_id=r.entity_id, type=r.type,
                                     amount_paise=r.amount, fee_paise=r.fee, tax_paise=r.tax,
                                     settlement_id=r.settlement_id,
                                     payment_id=r.payment_id))
        return found

    # ---- plumbing ------------------------------------------------------------------

    def _pages(self, fetch: Callable[[Any, dict[str, Any]], Any],
               query: dict[str, Any]) -> list[dict[str, Any]]:
        client = self.client
        found: list[dict[str, Any]] = []
        for page in range(MAX_PAGES):
            page_query = {**query, "count": PAGE_SIZE, "skip": page * PAGE_SIZE}
            raw = self._call(lambda c, q=page_query: fetch(c, q), client)  # type: ignore[misc]
            items = _items(raw)
            found += items
            if len(items) < PAGE_SIZE:
                return found
        raise GatewayFailure("too many pages from the gateway")

    def _call(self, call: Callable[[Any], Any], client: Any = None) -> Any:
        try:
            return call(client if client is not None else self.client)
        except BadRequestError as error:
            raise GatewayRefused(str(error)) from error
        except (razorpay.errors.ServerError, razorpay.errors.GatewayError,
                requests.RequestException, ValueError) as error:
            logger.warning("payment gateway call failed", extra={"error": str(error)[:200]})
            raise GatewayFailure(str(error)) from error


def parse_event(body: str, event_id: str | None = None) -> GatewayEvent:
    """A Razorpay webhook body (already verified) as a GatewayEvent."""
    invalid = InvalidInput("The webhook body is not a Razorpay event.")
    try:
        envelope = EventEnvelope.model_validate_json(body)
    except ValidationError as error:
        raise invalid from error
    event_id = (event_id or "")[:64] or None
    try:
        if envelope.event in PAYMENT_EVENTS:
            payment = PaymentEntity.model_validate(envelope.payload["payment"].entity)
            return GatewayEvent(event_id, envelope.event, "payment", payment=payment.to_payment())
        if envelope.event in REFUND_EVENTS:
            refund = RefundEntity.model_validate(envelope.payload["refund"].entity)
            return GatewayEvent(event_id, envelope.event, "refund", refund=refund.to_refund())
    except (KeyError, ValidationError) as error:
        raise invalid from error
    return GatewayEvent(event_id, envelope.event, "ignored")


def ist_day_window(day: date) -> tuple[datetime, datetime]:
    """Midnight to midnight IST, as UTC datetimes."""
    start = datetime(day.year, day.month, day.day, tzinfo=IST)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _items(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, dict) or not isinstance(raw.get("items"), list):
        raise GatewayFailure("the gateway's answer is not a collection")
    return [item for item in raw["items"] if isinstance(item, dict)]


def _parse(model: type[E], raw: Any, what: str) -> E:
    if isinstance(raw, str):  # the SDK returns json.dumps({}) for a 204
        raw = json.loads(raw)
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise GatewayFailure(f"the gateway's {what} is not in Razorpay's shape") from error
