"""Payments: the rules.

- Only a bill's payer can pay it; anyone else gets 404 (ids reveal nothing).
- The amount is the bill's amount due (total + any late surcharge) when the
  order is made, taken from the bill, never from the client; a bill with
  nothing (or less than nothing) due cannot be paid, and no payment, online or
  offline, is ever recorded for zero or a negative amount.
- The gateway's word is trusted only when signed: the checkout's return by
  `razorpay_signature` (key secret), webhooks by `X-Razorpay-Signature`
  (webhook secret). What the browser returns is then re-read from the gateway
  (`fetch_payment`), so the amount and status we act on are the gateway's.
- A payment is checked against the order we made (exactly that amount and
  currency), or for a UPI payment from the bill's QR code (no order) against the
  bill it names.
- Idempotent and order-independent: a payment id is recorded once; "captured"
  wins over "failed" whatever order the events arrive in; a failed attempt
  never touches the bill; a replayed event is a duplicate.
- A captured payment settles its bill in the same transaction that records it
  (see SettlementRepository). If it cannot (the bill was paid meanwhile, a
  second checkout of a paid bill, a bill that no longer exists or was
  cancelled, an amount due that changed after the order), the payment is kept
  as captured but *not applied* and refunded in full through the gateway,
  automatically and once (refund key "auto-<payment id>").
- Refunds never exceed the payment: each reserves its paise on the payment in
  the transaction that records it. An admin may refund any part of a captured
  gateway payment with a reason; the payer is emailed when a refund starts and
  when it is processed, and sees it on the bill.
- The payer gets one receipt email per settling payment: its outbox item
  (`payment_receipt#<payment id>`) is written in the settling transaction, so a
  redelivered webhook finds it there and sends nothing (docs/notifications.md).
  Refund emails are keyed by the refund and its status, once each.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import quote

from functions.core.accounts.sessions import Caller
from functions.core.accounts.users import UserRepository
from functions.core.billing_rules import ist_date
from functions.core.bills.models import BILL_OVERDUE, BILL_PAID, UNPAID_STATUSES, BillRecord
from functions.core.bills.repository import BillRepository
from functions.core.clock import utcnow
from functions.core.errors import Conflict, DomainError, InvalidInput, NotFound
from functions.core.logs import logger
from functions.core.money import from_paise, sum_money, to_paise
from functions.core.notifications.models import OutboxRecord
from functions.core.notifications.outbox import email_record, message_key, sms_record
from functions.core.notifications.service import Notifications
from functions.core.notifications.sms_messages import (
    language_of,
    payment_received_sms,
    wants_sms,
)
from functions.core.notifications.templates import render_email
from functions.core.observability import count
from functions.core.payments.models import (
    NOT_APPLIED_ALREADY_PAID,
    NOT_APPLIED_AMOUNT_CHANGED,
    NOT_APPLIED_NOT_PAYABLE,
    ORDER_PAID,
    PAYMENT_CAPTURED,
    PAYMENT_FAILED,
    PROVIDER_OFFLINE,
    REFUND_ADMIN,
    REFUND_AUTO,
    REFUND_FAILED,
    REFUND_GATEWAY,
    REFUND_PENDING,
    REFUND_PROCESSED,
    REFUND_REQUESTED,
    PaymentOrderRecord,
    PaymentRecord,
    RefundRecord,
)
from functions.core.payments.provider import (
    GatewayEvent,
    GatewayFailure,
    GatewayPayment,
    GatewayRefund,
    GatewayRefused,
    InvalidSignature,
    OnlineMethod,
    OrderRequest,
    PaymentProvider,
)
from functions.core.payments.receipts import (
    period_label,
    receipt_context,
    refund_context,
    refund_template,
)
from functions.core.payments.repositories import (
    OrderRepository,
    PaymentRepository,
    RefundRepository,
    SettlementRepository,
)
from functions.core.payments.schemas import (
    BalanceView,
    DueBill,
    OrderStatusView,
    OrderView,
    PaymentView,
    RefundView,
    WebhookResult,
)
from functions.core.settings import get_settings

RECEIPT = "payment_receipt"
# What the payments emails are about, for the outbox's lists (bills use "bill:<period>").
PAYMENT_TOPIC = "payment"

# A settle that lost a race re-reads and tries again; more than this many
# lost races in one request means something is badly wrong.
SETTLE_ATTEMPTS = 3
CHECKOUT_LIFETIME = timedelta(minutes=30)
CHECKOUT_PATH = "/payments/checkout"
CALLBACK_PATH = "/payments/razorpay/callback"

# Gateway and order ids: what Razorpay issues (order_..., pay_...), nothing else reaches a table.
_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")

NOT_APPLIED_TEXT = {
    NOT_APPLIED_ALREADY_PAID: "the bill was already paid",
    NOT_APPLIED_AMOUNT_CHANGED: "the amount due changed after the payment started",
    NOT_APPLIED_NOT_PAYABLE: "the bill can no longer be paid",
}


class ServiceUnavailable(DomainError):
    """A dependency failed; the caller (a gateway) should retry later."""

    status = 503
    code = "unavailable"


@dataclass(frozen=True)
class Target:
    """What a gateway payment pays: an order of ours, or (UPI from the QR code) a bill."""

    bill_id: str
    payer_id: str
    amount_paise: int
    currency: str
    order_id: str | None


@dataclass(frozen=True)
class CheckoutPage:
    script: str
    options: dict[str, object]
    amount_paise: int
    bill_id: str
    cancel_url: str


@dataclass(frozen=True)
class CheckoutReturn:
    """Where the payer goes after the checkout, and what happened."""

    bill_id: str
    outcome: str  # paid | failed | not_applied | pending
    return_url: str | None = None  # quick pay's page; None: the bill's page


def bill_page_url(bill_id: str) -> str:
    """Where the payer comes back to: the bill on the portal."""
    return f"{get_settings().portal_origin}/bill.html?id={quote(bill_id, safe='')}"


@dataclass
class PaymentService:
    bills: BillRepository
    orders: OrderRepository
    payments: PaymentRepository
    settlement: SettlementRepository
    users: UserRepository
    provider: PaymentProvider
    refunds: RefundRepository = field(default_factory=RefundRepository)
    notifications: Notifications = field(default_factory=Notifications)
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def default(cls, provider: PaymentProvider | None = None) -> PaymentService:
        from functions.core.payments.gateways import current_gateway

        return cls(BillRepository(), OrderRepository(), PaymentRepository(),
                   SettlementRepository(), UserRepository(), provider or current_gateway())

    # ---- the payer ---------------------------------------------------------------

    def start_payment(self, caller: Caller, bill_id: str, method: OnlineMethod) -> OrderView:
        return self.order_for(self._payers_bill(caller, bill_id), method)

    def order_for(self, bill: BillRecord, method: OnlineMethod,
                  return_url: str | None = None) -> OrderView:
        """A gateway order for the bill's amount due (the payer's, or quick pay's)."""
        if bill.status not in UNPAID_STATUSES:
            raise Conflict("This bill is already paid.")
        amount_paise = to_paise(bill.amount_due)
        if amount_paise <= 0:
            raise Conflict("This bill has nothing to pay.")
        order = self.provider.create_order(OrderRequest(
            bill_id=bill.bill_id, amount_paise=amount_paise, method=method,
            description=f"Electricity bill {period_label(bill.period)} ({bill.bill_id})",
        ))
        now = self.clock()
        record = PaymentOrderRecord(
            order_id=order.order_id, bill_id=bill.bill_id, payer_id=bill.payer_id,
            provider=order.provider, amount_paise=order.amount_paise, currency=order.currency,
            method=method, created_at=now, expires_at=now + CHECKOUT_LIFETIME,
            return_url=return_url,
        )
        self.orders.create(record)
        logger.info("payment order created", extra={"bill_id": bill.bill_id,
                                                     "order_id": order.order_id})
        checkout_url = (f"{get_settings().api_base_url.rstrip('/')}{CHECKOUT_PATH}/"
                        f"{quote(order.order_id, safe='')}")
        return OrderView(order_id=order.order_id, bill_id=bill.bill_id,
                         amount=from_paise(order.amount_paise), amount_paise=order.amount_paise,
                         currency=order.currency, method=method, provider=order.provider,
                         checkout_url=checkout_url, expires_at=record.expires_at,
                         status=record.status)

    def checkout_page(self, order_id: str) -> CheckoutPage:
        """The Standard Checkout options of one of our orders (the page that opens it)."""
        order = self.orders.get(order_id) if _ID.fullmatch(order_id) else None
        if order is None:
            raise NotFound("No such payment order.")
        if order.status == ORDER_PAID:
            raise Conflict("This order is paid already.")
        if self.clock() >= order.expires_at:
            raise Conflict("This checkout has expired. Start the payment again from the bill.")
        recharge = order.bill_id.startswith("prepaid#")  # a prepaid recharge's order
        bill = None if recharge else self.bills.get(order.bill_id)
        if not recharge and (bill is None or bill.status not in UNPAID_STATUSES):
            raise Conflict("This bill is already paid.")
        payer = self.users.get(order.payer_id)
        prefill = {"method": order.method}
        if payer is not None:
            prefill.update(name=payer.name, email=payer.email, contact=payer.mobile or "")
        api = get_settings().api_base_url.rstrip("/")
        cancel_url = order.return_url or bill_page_url(order.bill_id)
        options = self.provider.checkout_options(
            order.order_id, int(order.amount_paise), order.currency,
            "Prepaid recharge" if bill is None
            else f"Electricity bill {period_label(bill.period)} ({bill.bill_id})",
            callback_url=api + CALLBACK_PATH, cancel_url=cancel_url, prefill=prefill)
        return CheckoutPage(script=self.provider.checkout_script(), options=options,
                            amount_paise=int(order.amount_paise), bill_id=order.bill_id,
                            cancel_url=cancel_url)

    def checkout_returned(self, form: Mapping[str, str]) -> CheckoutReturn:
        """The checkout's POST to our callback_url: on success razorpay_payment_id,
        razorpay_order_id and razorpay_signature; on failure error[...] fields
        with error[metadata] naming the payment and order."""
        if form.get("razorpay_signature"):
            order_id = form.get("razorpay_order_id", "")
            payment_id = form.get("razorpay_payment_id", "")
            self.provider.verify_checkout(order_id, payment_id, form["razorpay_signature"])
        else:
            try:
                metadata = json.loads(form.get("error[metadata]", "") or "{}")
                order_id = str(metadata["order_id"])
                payment_id = str(metadata.get("payment_id") or "")
            except (ValueError, KeyError, TypeError) as error:
                raise InvalidInput("The checkout did not say which order it was.") from error
        if not _ID.fullmatch(order_id) or (payment_id and not _ID.fullmatch(payment_id)):
            raise InvalidInput("The checkout's ids are not the gateway's.")
        order = self.orders.get(order_id)
        if order is None:
            raise NotFound("No such payment order.")
        if not payment_id:
            return CheckoutReturn(order.bill_id, "failed", order.return_url)
        payment = self._fetch(payment_id)
        if payment is None or payment.order_id != order.order_id:
            raise InvalidInput("The gateway does not know this payment for this order.")
        result = self.apply_gateway_payment(payment)
        outcome = {"paid": "paid", "not_applied": "not_applied", "recorded": "failed",
                   "duplicate": "paid" if payment.money_received else "failed",
                   "ignored": "pending"}[result.result]
        if result.result == "duplicate" and payment.money_received:
            existing = self.payments.get(payment.payment_id)
            if existing is not None and not existing.applied:
                outcome = "not_applied"
        return CheckoutReturn(order.bill_id, outcome, order.return_url)

    def order_status(self, caller: Caller, order_id: str) -> OrderStatusView:
        order = self.orders.get(order_id) if _ID.fullmatch(order_id) else None
        if order is None or (order.payer_id != caller.user_id and not caller.is_admin):
            raise NotFound("No such payment order.")
        bill = self.bills.get(order.bill_id)
        return OrderStatusView(order_id=order.order_id, bill_id=order.bill_id,
                               status=order.status, amount=from_paise(int(order.amount_paise)),
                               bill_status=bill.status if bill else "unknown",
                               last_payment_id=order.last_payment_id)

    def payments_for_bill(self, caller: Caller, bill_id: str) -> list[PaymentView]:
        bill = self.bills.get(bill_id)
        if bill is None or (bill.payer_id != caller.user_id and not caller.is_admin):
            raise NotFound("No such bill.")
        refunds: dict[str, list[RefundRecord]] = {}
        for refund in self.refunds.for_bill(bill_id):
            refunds.setdefault(refund.payment_id, []).append(refund)
        return [payment_view(p, refunds.get(p.payment_id, []))
                for p in self.payments.for_bill(bill_id)]

    def outstanding_balance(self, payer_id: str) -> BalanceView:
        unpaid = [b for b in self.bills.for_payer(payer_id) if b.status in UNPAID_STATUSES]
        unpaid.sort(key=lambda b: (b.due_date, b.bill_id))
        outstanding = sum_money(b.amount_due for b in unpaid)
        return BalanceView(
            currency="INR", outstanding=outstanding, outstanding_paise=to_paise(outstanding),
            overdue=sum_money(b.amount_due for b in unpaid if b.status == BILL_OVERDUE),
            bills=[due_bill(b) for b in unpaid],
        )

    # ---- the gateway -------------------------------------------------------------

    def handle_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> WebhookResult:
        try:
            event = self.provider.verify_webhook(headers, raw_body)
        except InvalidSignature:
            count("WebhookSignaturesRefused")  # alarmed on: a wrong secret or a forger
            raise
        logger.info("gateway webhook", extra={"event": event.event, "event_id": event.event_id})
        if event.kind == "payment" and event.payment is not None:
            return self.apply_gateway_payment(event.payment)
        if event.kind == "refund" and event.refund is not None:
            return self.refund_update(event)
        return WebhookResult(result="ignored", event=event.event)

    def apply_gateway_payment(self, payment: GatewayPayment) -> WebhookResult:
        """Record what the gateway says of a payment: once, whatever the order of events."""
        if payment.status in ("created", "authorized"):
            # Orders capture automatically; payment.captured follows.
            return WebhookResult(result="ignored", payment_id=payment.payment_id)
        target = self.target_of(payment)
        if target is None:
            logger.warning("gateway payment for nothing of ours", extra={
                "payment_id": payment.payment_id, "order_id": payment.order_id})
            return WebhookResult(result="ignored", payment_id=payment.payment_id)
        if target.order_id is not None and (payment.currency != target.currency
                                            or payment.amount_paise != target.amount_paise):
            # Signed by the gateway but not what we asked for: never settle on it.
            logger.warning("gateway payment differs from the order", extra={
                "order_id": target.order_id, "payment_id": payment.payment_id,
                "gateway_amount": payment.amount_paise, "order_amount": target.amount_paise})
            raise InvalidInput("The payment's amount or currency does not match the order.")
        existing = self.payments.get(payment.payment_id)
        if existing is not None and existing.order_id != target.order_id:
            raise InvalidInput("This payment id belongs to another order.")
        if target.bill_id.startswith("prepaid#"):  # a prepaid recharge, not a bill
            from functions.core.prepaid.recharges import apply_recharge

            return apply_recharge(self, payment, target, existing)
        if payment.money_received:
            return self._capture(payment, target, existing)
        return self._record_unsuccessful(payment, target, existing)

    def target_of(self, payment: GatewayPayment) -> Target | None:
        if payment.order_id:
            order = self.orders.get(payment.order_id)
            if order is None:
                return None
            return Target(order.bill_id, order.payer_id, int(order.amount_paise), order.currency,
                          order.order_id)
        # No order: a UPI payment from the bill's QR code names its bill; one that quotes
        # a consumer number pays that connection's oldest unpaid bill.
        if not payment.reference:
            return None
        bill = self._bill_by_reference(payment.reference)
        if bill is None:
            return None
        return Target(bill.bill_id, bill.payer_id, payment.amount_paise, payment.currency, None)

    def _bill_by_reference(self, reference: str) -> BillRecord | None:
        """A bill id, or a consumer number (ten digits, valid check digit)."""
        from functions.core.payments.quick_pay import oldest_unpaid_bill
        from functions.core.properties.consumer_numbers import LENGTH, is_valid

        if len(reference) == LENGTH and is_valid(reference):
            return oldest_unpaid_bill(reference, bills=self.bills)
        return self.bills.get(reference)

    def _record_unsuccessful(self, event: GatewayPayment, target: Target,
                             existing: PaymentRecord | None) -> WebhookResult:
        if existing is not None:
            # A failure reported after a capture never unpays; a repeat is a repeat.
            result = "ignored" if existing.status == PAYMENT_CAPTURED else "duplicate"
            return WebhookResult(result=result, payment_id=existing.payment_id)
        payment = self._payment_from(event, target)
        if not self.payments.add(payment):
            return WebhookResult(result="duplicate", payment_id=payment.payment_id)
        if target.order_id:
            self.orders.note_attempt(target.order_id, PAYMENT_FAILED, payment.payment_id)
        count("PaymentsFailed", method=_method_dimension(event.method))
        logger.info("payment attempt recorded", extra={"order_id": target.order_id,
                                                       "payment_id": payment.payment_id,
                                                       "status": event.status})
        bill = self.bills.get(target.bill_id)
        return WebhookResult(result="recorded", payment_id=payment.payment_id,
                             bill_status=bill.status if bill else None)

    def _capture(self, event: GatewayPayment, target: Target,
                 existing: PaymentRecord | None) -> WebhookResult:
        for _ in range(SETTLE_ATTEMPTS):
            if existing is not None and existing.status == PAYMENT_CAPTURED:
                if existing.applied:
                    # Its receipt was written with it: queued again only if still pending.
                    self.notifications.requeue_if_pending(receipt_key(existing.payment_id))
                if not existing.applied:
                    self._refund_unapplied(existing)
                return WebhookResult(result="duplicate", payment_id=existing.payment_id)
            bill = self.bills.get(target.bill_id)
            payment = self._payment_from(event, target)
            previous_status = existing.status if existing is not None else None
            reason = not_applicable_reason(bill, target.amount_paise)
            if bill is not None and reason is None:
                if self.settlement.settle(payment, bill, previous_status,
                                          self._receipt(payment, bill)):
                    if target.order_id:
                        self.orders.note_attempt(target.order_id, ORDER_PAID,
                                                 payment.payment_id)
                    count("PaymentsCaptured", method=_method_dimension(event.method))
                    logger.info("bill paid", extra={"bill_id": bill.bill_id,
                                                    "payment_id": payment.payment_id})
                    self.notifications.dispatch([receipt_key(payment.payment_id),
                                                 payment_sms_key(payment.payment_id)])
                    return WebhookResult(result="paid", payment_id=payment.payment_id,
                                         bill_status=BILL_PAID)
            else:
                payment.not_applied_reason = reason
                if self.payments.add_or_upgrade_unapplied(payment, previous_status):
                    if target.order_id:
                        self.orders.note_attempt(target.order_id, ORDER_PAID,
                                                 payment.payment_id)
                    count("PaymentsCaptured", method=_method_dimension(event.method),
                          outcome="not_applied")
                    logger.warning("captured payment not applied to its bill", extra={
                        "bill_id": target.bill_id, "payment_id": payment.payment_id,
                        "reason": reason})
                    self._refund_unapplied(payment)
                    return WebhookResult(result="not_applied", payment_id=payment.payment_id,
                                         bill_status=bill.status if bill else None)
            # Lost a race (a concurrent delivery, or the bill changed): look again.
            existing = self.payments.get(event.payment_id)
        raise ServiceUnavailable("The payment could not be recorded yet; retry.")

    def _payment_from(self, event: GatewayPayment, target: Target) -> PaymentRecord:
        if event.amount_paise <= 0:
            raise InvalidInput("A payment must be for a positive amount.")
        return PaymentRecord(
            payment_id=event.payment_id, bill_id=target.bill_id, payer_id=target.payer_id,
            order_id=target.order_id, provider=self.provider.name, method=event.method[:32],
            amount_paise=event.amount_paise, currency=event.currency,
            status=PAYMENT_CAPTURED if event.money_received else PAYMENT_FAILED,
            applied=False, paid_at=event.created_at, paid_day=ist_date(event.created_at
                                                                        ).isoformat(),
            recorded_at=self.clock(), vpa=(event.vpa or None) and event.vpa[:100],
            refund_reserved_paise=0, refunded_paise=0,
        )

    def _fetch(self, payment_id: str) -> GatewayPayment | None:
        try:
            return self.provider.fetch_payment(payment_id)
        except GatewayFailure as error:
            raise ServiceUnavailable("The payment gateway is not answering; try again.") \
                from error

    # ---- refunds -----------------------------------------------------------------

    def _refund_unapplied(self, payment: PaymentRecord) -> None:
        """A captured payment that could not settle its bill goes back, in full, once."""
        reason = "Refund: " + NOT_APPLIED_TEXT.get(payment.not_applied_reason or "",
                                                   "the payment could not be applied")
        try:
            self.refund(payment, int(payment.amount_paise), kind=REFUND_AUTO, reason=reason,
                        key=f"auto-{payment.payment_id}")
        except Conflict:
            # Refunded already (by an admin, say): nothing is left to send back.
            logger.info("no automatic refund: nothing left to refund",
                        extra={"payment_id": payment.payment_id})

    def admin_refund(self, admin: Caller, payment_id: str, amount_paise: int | None,
                     reason: str, request_id: str | None) -> RefundView:
        payment = self.payments.get(payment_id) if _ID.fullmatch(payment_id) else None
        if payment is None:
            raise NotFound("No such payment.")
        left = int(payment.amount_paise) - int(payment.refund_reserved_paise or 0)
        amount = left if amount_paise is None else amount_paise
        key = "admin-" + hashlib.sha256(
            f"{payment_id}|{request_id or secrets.token_hex(16)}".encode()).hexdigest()[:32]
        record = self.refund(payment, amount, kind=REFUND_ADMIN, reason=reason, key=key,
                             requested_by=admin.user_id)
        logger.info("admin refund", extra={"payment_id": payment_id, "admin_id": admin.user_id,
                                           "amount_paise": amount})
        return refund_view(record)

    def refund(self, payment: PaymentRecord, amount_paise: int, *, kind: str, reason: str,
               key: str, requested_by: str | None = None) -> RefundRecord:
        """Refund `amount_paise` of a captured gateway payment, idempotently by `key`."""
        if amount_paise <= 0:
            raise InvalidInput("A refund must be for a positive amount.")
        if payment.provider == PROVIDER_OFFLINE:
            raise Conflict("A cash or cheque payment is refunded at the counter, not through "
                           "the gateway.")
        if payment.status != PAYMENT_CAPTURED:
            raise Conflict("Only a captured payment can be refunded.")
        record = self._reserve(payment, amount_paise, kind, reason, key, requested_by)
        if record.status != REFUND_REQUESTED:
            return record  # the gateway has it already
        try:
            made = next((r for r in self.provider.refunds_of(payment.payment_id)
                         if r.notes.get("refund_key") == key), None)
            if made is None:
                made = self.provider.refund(payment.payment_id, amount_paise, key, reason)
        except GatewayRefused as error:
            self.refunds.failed(record, str(error))
            raise Conflict(f"The payment gateway refused the refund: {error}") from error
        except GatewayFailure as error:
            # The refund stays "requested": the next try (a redelivered webhook, the
            # admin again, the reconciliation) finds or makes it at the gateway.
            raise ServiceUnavailable("The payment gateway is not answering; the refund will "
                                     "be retried.") from error
        if made.status == REFUND_PROCESSED:
            self.refunds.processed(record, made.refund_id, self.clock())
        else:
            self.refunds.accepted(record.refund_key, made.refund_id, REFUND_PENDING)
        record = self.refunds.get(key) or record
        logger.info("refund at the gateway", extra={"payment_id": payment.payment_id,
                                                    "refund_id": made.refund_id,
                                                    "refund_key": key})
        self._email_refund(record)
        return record

    def _reserve(self, payment: PaymentRecord, amount_paise: int, kind: str, reason: str,
                 key: str, requested_by: str | None) -> RefundRecord:
        for _ in range(SETTLE_ATTEMPTS):
            found = self.refunds.get(key)
            if found is not None:
                return found
            left = int(payment.amount_paise) - int(payment.refund_reserved_paise or 0)
            if amount_paise > left:
                raise Conflict(f"Only {from_paise(max(left, 0))} of this payment is left to "
                               "refund.")
            record = RefundRecord(
                refund_key=key, payment_id=payment.payment_id, bill_id=payment.bill_id,
                payer_id=payment.payer_id, amount_paise=amount_paise, currency=payment.currency,
                kind=kind, reason=reason, status=REFUND_REQUESTED, requested_by=requested_by,
                requested_at=self.clock())
            if self.refunds.reserve(record, payment):
                return record
            payment = self.payments.get(payment.payment_id) or payment
        raise ServiceUnavailable("The payment changed while reserving the refund; try again.")

    def refund_update(self, event: GatewayEvent) -> WebhookResult:
        """refund.processed / refund.failed: the refund's news, once."""
        refund = event.refund
        assert refund is not None
        record = self._refund_record_for(refund)
        if record is None:
            return WebhookResult(result="ignored", event=event.event)
        if event.event == "refund.processed" or refund.status == REFUND_PROCESSED:
            changed = self.refunds.processed(record, refund.refund_id, self.clock())
        elif event.event == "refund.failed" or refund.status == REFUND_FAILED:
            changed = self.refunds.failed(record, "the gateway could not process the refund")
        else:
            changed = self.refunds.accepted(record.refund_key, refund.refund_id, REFUND_PENDING)
        # Also when unchanged: a delivery that died before queueing its email left
        # none, and this one writes it (keyed, so never twice).
        self._email_refund(self.refunds.get(record.refund_key) or record)
        return WebhookResult(result="refund_updated" if changed else "duplicate",
                             payment_id=record.payment_id, event=event.event)

    def _refund_record_for(self, refund: GatewayRefund) -> RefundRecord | None:
        key = refund.notes.get("refund_key")
        if key:
            record = self.refunds.get(key)
            if record is not None:
                return record
        for record in self.refunds.for_payment(refund.payment_id):
            if record.gateway_refund_id == refund.refund_id:
                return record
        # Made at the gateway (its dashboard): record it, if the payment is ours.
        payment = self.payments.get(refund.payment_id)
        if payment is None or payment.status != PAYMENT_CAPTURED:
            # Not ours, or Razorpay's own auto-refund of a payment never captured.
            logger.warning("refund of a payment we hold no capture of",
                           extra={"refund_id": refund.refund_id})
            return None
        record = RefundRecord(
            refund_key=f"rzp-{refund.refund_id}", payment_id=payment.payment_id,
            bill_id=payment.bill_id, payer_id=payment.payer_id,
            amount_paise=refund.amount_paise, currency=refund.currency, kind=REFUND_GATEWAY,
            reason="Refunded at the payment gateway", status=REFUND_REQUESTED,
            gateway_refund_id=refund.refund_id, requested_at=refund.created_at)
        for _ in range(SETTLE_ATTEMPTS):
            if self.refunds.reserve(record, payment, enforce_limit=False):
                return record
            found = self.refunds.get(record.refund_key)
            if found is not None:
                return found
            payment = self.payments.get(payment.payment_id) or payment
        raise ServiceUnavailable("The refund could not be recorded yet; retry.")

    def _email_refund(self, refund: RefundRecord) -> None:
        """One email per refund and status (started, processed), through the outbox."""
        if refund.status not in (REFUND_PENDING, REFUND_PROCESSED):
            return
        template = refund_template(refund.status)
        key = message_key(template, refund.refund_key)
        try:
            if self.notifications.requeue_if_pending(key) is not None:
                return  # written before (a redelivered webhook): sent once, by the sender
            bill = self.bills.get(refund.bill_id)
            payer = self.users.get(refund.payer_id)
            if bill is None or payer is None:
                return
            self.notifications.queue_email(
                template, refund.refund_key, payer.email, topic=PAYMENT_TOPIC,
                recipient_id=payer.user_id, ref=bill.bill_id, lang=payer.language,
                **refund_context(
                    name=payer.name, bill_id=bill.bill_id, period=bill.period,
                    amount_paise=int(refund.amount_paise), payment_id=refund.payment_id,
                    reason=refund.reason, lang=payer.language))
        except Exception:
            # The refund is what matters; the next delivery of its webhook tries again.
            logger.exception("refund email not queued", extra={"refund_key": refund.refund_key})

    # ---- the admin ---------------------------------------------------------------

    def record_offline_payment(self, admin: Caller, bill_id: str, method: str,
                               reference: str) -> PaymentView:
        """Cash or cheque taken at a counter: settles the bill's amount due now. The
        counter may quote the consumer number instead of the bill number: the payment
        settles that connection's oldest unpaid bill."""
        for _ in range(SETTLE_ATTEMPTS):
            bill = self._bill_by_reference(bill_id)
            if bill is None:
                raise NotFound("No such bill.")
            if bill.status not in UNPAID_STATUSES:
                raise Conflict("This bill is already paid.")
            amount_paise = to_paise(bill.amount_due)
            if amount_paise <= 0:
                # A credit (a true-up's negative amount) is netted, never "paid".
                raise Conflict("This bill has nothing to pay: no payment of zero or a "
                               "negative amount is recorded.")
            now = self.clock()
            payment = PaymentRecord(
                # The id is of what the counter quoted (a bill or consumer number), so
                # the same receipt entered twice is refused even once that bill is paid.
                payment_id=offline_payment_id(bill_id, method, reference),
                bill_id=bill.bill_id,
                payer_id=bill.payer_id, provider=PROVIDER_OFFLINE, method=method,
                amount_paise=amount_paise, currency="INR",
                status=PAYMENT_CAPTURED, paid_at=now, paid_day=ist_date(now).isoformat(),
                recorded_at=now, reference=reference, recorded_by=admin.user_id,
                refund_reserved_paise=0, refunded_paise=0,
            )
            if self.settlement.settle(payment, bill, None, self._receipt(payment, bill)):
                logger.info("offline payment recorded", extra={
                    "bill_id": bill.bill_id, "payment_id": payment.payment_id,
                    "admin_id": admin.user_id})
                self.notifications.dispatch([receipt_key(payment.payment_id),
                                             payment_sms_key(payment.payment_id)])
                return payment_view(payment, [])
            if self.payments.get(payment.payment_id) is not None:
                raise Conflict("This payment has been recorded already.")
        raise ServiceUnavailable("The bill changed while recording the payment; try again.")

    # ---- receipts ----------------------------------------------------------------

    def _receipt(self, payment: PaymentRecord, bill: BillRecord) -> list[OutboxRecord]:
        """The receipt's outbox item, written in the transaction that settles the bill:
        one receipt per settling payment, however often the gateway tells us."""
        payer = self.users.get(payment.payer_id)
        if payer is None:
            logger.warning("no receipt: payer missing", extra={"payment_id": payment.payment_id})
            return []
        rendered = render_email(RECEIPT, lang=payer.language, **receipt_context(
            name=payer.name, bill_id=bill.bill_id, period=bill.period,
            amount_paise=int(payment.amount_paise), method=payment.method,
            payment_id=payment.payment_id, paid_at=payment.paid_at,
            reference=payment.reference, lang=payer.language))
        records = [email_record(receipt_key(payment.payment_id), rendered, payer.email,
                                topic=PAYMENT_TOPIC, now=self.clock(), ref=bill.bill_id,
                                recipient_id=payer.user_id)]
        if wants_sms(payer) and bill.consumer_number:
            # The payment-received SMS (DLT template payment_received), for payers who
            # chose SMS; in the same transaction, so one per settling payment too.
            records.append(sms_record(
                payment_sms_key(payment.payment_id), payment_received_sms(
                    period=bill.period, consumer_number=bill.consumer_number,
                    amount=from_paise(int(payment.amount_paise)),
                    reference=payment.reference or payment.payment_id,
                    lang=language_of(payer)),
                payer.mobile, topic=PAYMENT_TOPIC, now=self.clock(), ref=bill.bill_id,
                recipient_id=payer.user_id))
        return records

    def _payers_bill(self, caller: Caller, bill_id: str) -> BillRecord:
        bill = self.bills.get(bill_id)
        if bill is None or bill.payer_id != caller.user_id:
            raise NotFound("No such bill.")
        return bill


def receipt_key(payment_id: str) -> str:
    return message_key(RECEIPT, payment_id)


def payment_sms_key(payment_id: str) -> str:
    return message_key("payment_received", payment_id)


def not_applicable_reason(bill: BillRecord | None, amount_paise: int) -> str | None:
    """Why a captured payment of `amount_paise` cannot settle `bill`, or None."""
    if bill is None:
        return NOT_APPLIED_NOT_PAYABLE
    if bill.status == BILL_PAID:
        return NOT_APPLIED_ALREADY_PAID
    if bill.status not in UNPAID_STATUSES:
        return NOT_APPLIED_NOT_PAYABLE  # cancelled, or any state that takes no money
    if amount_paise <= 0 or to_paise(bill.amount_due) != amount_paise:
        return NOT_APPLIED_AMOUNT_CHANGED
    return None


def offline_payment_id(bill_id: str, method: str, reference: str) -> str:
    """The same receipt or cheque recorded twice is one payment."""
    key = f"{bill_id}|{method}|{' '.join(reference.split()).casefold()}"
    return "off_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def refund_view(refund: RefundRecord) -> RefundView:
    return RefundView(refund_id=refund.gateway_refund_id, refund_key=refund.refund_key,
                      payment_id=refund.payment_id, bill_id=refund.bill_id,
                      amount=from_paise(int(refund.amount_paise)), currency=refund.currency,
                      status=refund.status, kind=refund.kind, reason=refund.reason,
                      requested_at=refund.requested_at, processed_at=refund.processed_at)


def payment_view(payment: PaymentRecord, refunds: list[RefundRecord]) -> PaymentView:
    refunded = sum(int(r.amount_paise) for r in refunds if r.status == REFUND_PROCESSED)
    return PaymentView(
        payment_id=payment.payment_id, bill_id=payment.bill_id, order_id=payment.order_id,
        provider=payment.provider, method=payment.method,
        amount=from_paise(int(payment.amount_paise)), currency=payment.currency,
        status=payment.status, applied=bool(payment.applied),
        not_applied_reason=payment.not_applied_reason, paid_at=payment.paid_at,
        reference=payment.reference, refunded=from_paise(refunded),
        refunds=[refund_view(r) for r in refunds],
    )


def due_bill(bill: BillRecord) -> DueBill:
    return DueBill(bill_id=bill.bill_id, property_id=bill.property_id, period=bill.period,
                   status=bill.status, total=bill.amount, late_surcharge=bill.late_surcharge,
                   amount_due=bill.amount_due, due_date=date.fromisoformat(bill.due_date))


def _method_dimension(method: str | None) -> str:
    """A metric dimension from the gateway's method: a few known values, never free text."""
    return method if method in ("upi", "card", "netbanking", "wallet", "emi") else "other"
