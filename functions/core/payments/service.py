"""Payments: the rules.

- Only a bill's payer can pay it; anyone else gets 404 (ids reveal nothing).
- The amount is the bill's amount due (total + any late surcharge) when the
  order is made, taken from the bill, never from the client.
- A webhook is trusted only with a good signature, and only for an order we
  made, for exactly that order's amount and currency.
- Idempotent and order-independent: a payment id is recorded once; "captured"
  wins over "failed"/"cancelled" whatever order they arrive in; a failed or
  cancelled attempt never touches the bill.
- A captured payment settles its bill in the same transaction that records it
  (see SettlementRepository). If the bill was paid meanwhile (for example in
  cash) or its amount due changed (a late surcharge landed after the order was
  made), the payment is kept as captured but *not applied*, for an admin to
  refund or reconcile, and the bill is left as it is.
- The payer gets one receipt email per settling payment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from functions.core.accounts.sessions import Caller
from functions.core.accounts.users import UserRepository
from functions.core.bills.models import BILL_OVERDUE, BILL_PAID, UNPAID_STATUSES, BillRecord
from functions.core.bills.repository import BillRepository
from functions.core.clock import utcnow
from functions.core.errors import Conflict, DomainError, InvalidInput, NotFound
from functions.core.logs import logger
from functions.core.money import from_paise, sum_money, to_paise
from functions.core.notify import send_email
from functions.core.payments.models import (
    NOT_APPLIED_ALREADY_PAID,
    NOT_APPLIED_AMOUNT_CHANGED,
    ORDER_PAID,
    PAYMENT_CAPTURED,
    PROVIDER_OFFLINE,
    PaymentOrderRecord,
    PaymentRecord,
)
from functions.core.payments.provider import (
    OnlineMethod,
    OrderRequest,
    PaymentProvider,
    WebhookEvent,
)
from functions.core.payments.receipts import period_label, receipt_email
from functions.core.payments.repositories import (
    OrderRepository,
    PaymentRepository,
    SettlementRepository,
)
from functions.core.payments.schemas import (
    BalanceView,
    DueBill,
    OrderStatusView,
    OrderView,
    PaymentView,
    WebhookResult,
)

Mailer = Callable[[str, str, str], Any]

# A settle that lost a race re-reads and tries again; more than this many
# lost races in one request means something is badly wrong.
SETTLE_ATTEMPTS = 3


class ServiceUnavailable(DomainError):
    """A dependency failed; the caller (a gateway) should retry later."""

    status = 503
    code = "unavailable"


@dataclass
class PaymentService:
    bills: BillRepository
    orders: OrderRepository
    payments: PaymentRepository
    settlement: SettlementRepository
    users: UserRepository
    mailer: Mailer = send_email
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def default(cls) -> PaymentService:
        return cls(BillRepository(), OrderRepository(), PaymentRepository(),
                   SettlementRepository(), UserRepository())

    # ---- the payer ---------------------------------------------------------------

    def start_payment(self, caller: Caller, bill_id: str, method: OnlineMethod,
                      provider: PaymentProvider, return_url: str) -> OrderView:
        bill = self._payers_bill(caller, bill_id)
        if bill.status not in UNPAID_STATUSES:
            raise Conflict("This bill is already paid.")
        amount_paise = to_paise(bill.amount_due)
        if amount_paise <= 0:
            raise Conflict("This bill has nothing to pay.")
        order = provider.create_order(OrderRequest(
            bill_id=bill.bill_id, amount_paise=amount_paise, method=method,
            description=f"Electricity bill {period_label(bill.period)} ({bill.bill_id})",
            return_url=return_url,
        ))
        record = PaymentOrderRecord(
            order_id=order.order_id, bill_id=bill.bill_id, payer_id=bill.payer_id,
            provider=order.provider, amount_paise=order.amount_paise, currency=order.currency,
            method=method, created_at=self.clock(), expires_at=order.expires_at,
        )
        self.orders.create(record)
        logger.info("payment order created", extra={"bill_id": bill.bill_id,
                                                     "order_id": order.order_id})
        return OrderView(order_id=order.order_id, bill_id=bill.bill_id,
                         amount=from_paise(order.amount_paise), amount_paise=order.amount_paise,
                         currency=order.currency, method=method,
                         checkout_url=order.checkout_url, expires_at=order.expires_at,
                         status=record.status)

    def order_status(self, caller: Caller, order_id: str) -> OrderStatusView:
        order = self.orders.get(order_id)
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
        return [payment_view(p) for p in self.payments.for_bill(bill_id)]

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

    def handle_webhook(self, provider: PaymentProvider, headers: Mapping[str, str],
                       raw_body: bytes) -> WebhookResult:
        event = provider.verify_webhook(headers, raw_body)
        order = self.orders.get(event.order_id)
        if order is None:
            logger.warning("webhook for an unknown order", extra={"order_id": event.order_id})
            raise NotFound("Unknown order.")
        if event.currency != order.currency or event.amount != int(order.amount_paise):
            # Signed by the gateway but not what we asked for: never settle on it.
            logger.warning("webhook amount or currency differs from the order", extra={
                "order_id": order.order_id, "payment_id": event.payment_id,
                "event_amount": event.amount, "order_amount": int(order.amount_paise),
                "event_currency": event.currency})
            raise InvalidInput("The payment's amount or currency does not match the order.")
        existing = self.payments.get(event.payment_id)
        if existing is not None and existing.order_id != order.order_id:
            raise InvalidInput("This payment id belongs to another order.")
        if event.status == PAYMENT_CAPTURED:
            return self._capture(event, order, existing)
        return self._record_unsuccessful(event, order, existing)

    def _record_unsuccessful(self, event: WebhookEvent, order: PaymentOrderRecord,
                             existing: PaymentRecord | None) -> WebhookResult:
        if existing is not None:
            # A failure reported after a capture never unpays; a repeat is a repeat.
            result = "ignored" if existing.status == PAYMENT_CAPTURED else "duplicate"
            return WebhookResult(result=result, payment_id=existing.payment_id)
        payment = self._payment_from_event(event, order)
        if not self.payments.add(payment):
            return WebhookResult(result="duplicate", payment_id=payment.payment_id)
        self.orders.note_attempt(order.order_id, event.status, payment.payment_id)
        logger.info("payment attempt recorded", extra={"order_id": order.order_id,
                                                       "payment_id": payment.payment_id,
                                                       "status": event.status})
        bill = self.bills.get(order.bill_id)
        return WebhookResult(result="recorded", payment_id=payment.payment_id,
                             bill_status=bill.status if bill else None)

    def _capture(self, event: WebhookEvent, order: PaymentOrderRecord,
                 existing: PaymentRecord | None) -> WebhookResult:
        for _ in range(SETTLE_ATTEMPTS):
            if existing is not None and existing.status == PAYMENT_CAPTURED:
                self._send_receipt_once(existing)
                return WebhookResult(result="duplicate", payment_id=existing.payment_id)
            bill = self.bills.get(order.bill_id)
            payment = self._payment_from_event(event, order)
            previous_status = existing.status if existing is not None else None
            reason = not_applicable_reason(bill, int(order.amount_paise))
            if bill is not None and reason is None:
                if self.settlement.settle(payment, bill, previous_status):
                    self.orders.note_attempt(order.order_id, ORDER_PAID, payment.payment_id)
                    logger.info("bill paid", extra={"bill_id": bill.bill_id,
                                                    "payment_id": payment.payment_id})
                    self._send_receipt_once(payment, bill)
                    return WebhookResult(result="paid", payment_id=payment.payment_id,
                                         bill_status=BILL_PAID)
            else:
                payment.not_applied_reason = reason
                if self.payments.add_or_upgrade_unapplied(payment, previous_status):
                    self.orders.note_attempt(order.order_id, ORDER_PAID, payment.payment_id)
                    logger.warning("captured payment not applied to its bill", extra={
                        "bill_id": order.bill_id, "payment_id": payment.payment_id,
                        "reason": reason})
                    return WebhookResult(result="not_applied", payment_id=payment.payment_id,
                                         bill_status=bill.status if bill else None)
            # Lost a race (a concurrent delivery, or the bill changed): look again.
            existing = self.payments.get(event.payment_id)
        raise ServiceUnavailable("The payment could not be recorded yet; retry.")

    def _payment_from_event(self, event: WebhookEvent, order: PaymentOrderRecord
                            ) -> PaymentRecord:
        return PaymentRecord(
            payment_id=event.payment_id, bill_id=order.bill_id, payer_id=order.payer_id,
            order_id=order.order_id, provider=order.provider, method=event.method,
            amount_paise=event.amount, currency=event.currency, status=event.status,
            applied=False, paid_at=event.created_at, recorded_at=self.clock(),
        )

    # ---- the admin ---------------------------------------------------------------

    def record_offline_payment(self, admin: Caller, bill_id: str, method: str,
                               reference: str) -> PaymentView:
        """Cash or cheque taken at a counter: settles the bill's amount due now."""
        for _ in range(SETTLE_ATTEMPTS):
            bill = self.bills.get(bill_id)
            if bill is None:
                raise NotFound("No such bill.")
            if bill.status not in UNPAID_STATUSES:
                raise Conflict("This bill is already paid.")
            now = self.clock()
            payment = PaymentRecord(
                payment_id=offline_payment_id(bill_id, method, reference), bill_id=bill_id,
                payer_id=bill.payer_id, provider=PROVIDER_OFFLINE, method=method,
                amount_paise=to_paise(bill.amount_due), currency="INR",
                status=PAYMENT_CAPTURED, paid_at=now, recorded_at=now,
                reference=reference, recorded_by=admin.user_id,
            )
            if self.settlement.settle(payment, bill):
                logger.info("offline payment recorded", extra={
                    "bill_id": bill_id, "payment_id": payment.payment_id,
                    "admin_id": admin.user_id})
                self._send_receipt_once(payment, bill)
                return payment_view(payment)
            if self.payments.get(payment.payment_id) is not None:
                raise Conflict("This payment has been recorded already.")
        raise ServiceUnavailable("The bill changed while recording the payment; try again.")

    # ---- receipts ----------------------------------------------------------------

    def _send_receipt_once(self, payment: PaymentRecord, bill: BillRecord | None = None
                           ) -> None:
        """At most one receipt per settling payment; if sending fails, the claim is
        released and a 503 makes the gateway redeliver, which tries again."""
        if not payment.applied or not self.payments.claim_receipt(payment.payment_id):
            return
        try:
            bill = bill or self.bills.get(payment.bill_id)
            payer = self.users.get(payment.payer_id)
            if bill is None or payer is None:
                logger.warning("no receipt: bill or payer missing",
                               extra={"payment_id": payment.payment_id})
                return
            subject, text = receipt_email(
                name=payer.name, bill_id=bill.bill_id, period=bill.period,
                amount_paise=int(payment.amount_paise), method=payment.method,
                payment_id=payment.payment_id, paid_at=payment.paid_at,
                reference=payment.reference)
            self.mailer(payer.email, subject, text)
        except Exception as error:
            logger.exception("receipt email failed", extra={"payment_id": payment.payment_id})
            self.payments.release_receipt(payment.payment_id)
            raise ServiceUnavailable("The payment is recorded; the receipt will follow.") \
                from error
        self.payments.receipt_sent(payment.payment_id, self.clock())

    def _payers_bill(self, caller: Caller, bill_id: str) -> BillRecord:
        bill = self.bills.get(bill_id)
        if bill is None or bill.payer_id != caller.user_id:
            raise NotFound("No such bill.")
        return bill


def not_applicable_reason(bill: BillRecord | None, amount_paise: int) -> str | None:
    """Why a captured payment of `amount_paise` cannot settle `bill`, or None."""
    if bill is None or bill.status == BILL_PAID:
        return NOT_APPLIED_ALREADY_PAID
    if to_paise(bill.amount_due) != amount_paise:
        return NOT_APPLIED_AMOUNT_CHANGED
    return None


def offline_payment_id(bill_id: str, method: str, reference: str) -> str:
    """The same receipt or cheque recorded twice is one payment."""
    key = f"{bill_id}|{method}|{' '.join(reference.split()).casefold()}"
    return "off_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def payment_view(payment: PaymentRecord) -> PaymentView:
    return PaymentView(
        payment_id=payment.payment_id, bill_id=payment.bill_id, order_id=payment.order_id,
        provider=payment.provider, method=payment.method,
        amount=from_paise(int(payment.amount_paise)), currency=payment.currency,
        status=payment.status, applied=bool(payment.applied),
        not_applied_reason=payment.not_applied_reason, paid_at=payment.paid_at,
        reference=payment.reference,
    )


def due_bill(bill: BillRecord) -> DueBill:
    return DueBill(bill_id=bill.bill_id, property_id=bill.property_id, period=bill.period,
                   status=bill.status, total=bill.amount, late_surcharge=bill.late_surcharge,
                   amount_due=bill.amount_due, due_date=date.fromisoformat(bill.due_date))
