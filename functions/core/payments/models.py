"""Payments and payment orders in DynamoDB.

- `PaymentOrderRecord` (table payment_orders): our side of a gateway order.
  It says which bill the order pays and for exactly how many paise, so every
  webhook is checked against what *we* asked the gateway for.
- `PaymentRecord` (table payments): one payment attempt or offline payment,
  keyed by the gateway's payment id (offline: an id derived from the bill and
  the reference). A conditional put on that key makes a redelivered webhook
  one payment, not two.

Money is integer paise; times are UTC.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from functions.core.db import gsi_meta, registered, table_meta

# Order status: created -> paid, or the last failed/cancelled attempt (a payer
# may retry on the same checkout page, so failed is not final).
ORDER_CREATED = "created"
ORDER_PAID = "paid"

# Payment status, as the gateway reports it; offline payments are "captured".
PAYMENT_CAPTURED = "captured"
PAYMENT_FAILED = "failed"
PAYMENT_CANCELLED = "cancelled"

PROVIDER_OFFLINE = "offline"

# Why a captured payment did not settle its bill (it needs a refund or a
# manual reconciliation by an admin).
NOT_APPLIED_ALREADY_PAID = "bill_already_paid"
NOT_APPLIED_AMOUNT_CHANGED = "amount_due_changed"
NOT_APPLIED_NOT_PAYABLE = "bill_not_payable"  # no such bill, or cancelled
NOT_APPLIED_UNKNOWN_BILL = "no_bill_for_reference"  # a UPI payment naming no bill of ours

RECEIPT_SENDING = "sending"
RECEIPT_SENT = "sent"


class OrdersByBill(GlobalSecondaryIndex["PaymentOrderRecord"]):
    Meta = gsi_meta("by_bill")
    bill_id = UnicodeAttribute(hash_key=True)


@registered
class PaymentOrderRecord(Model):
    Meta = table_meta("payment_orders")

    order_id = UnicodeAttribute(hash_key=True)  # the gateway's order id
    bill_id = UnicodeAttribute()
    payer_id = UnicodeAttribute()
    provider = UnicodeAttribute()
    amount_paise = NumberAttribute()  # the bill's amount due when the order was made
    currency = UnicodeAttribute()
    method = UnicodeAttribute()  # what the payer picked first; the gateway reports the real one
    status = UnicodeAttribute(default=ORDER_CREATED)
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    last_payment_id = UnicodeAttribute(null=True)
    # Quick pay (no sign-in): the portal page the payer comes back to instead of the bill.
    return_url = UnicodeAttribute(null=True)

    by_bill = OrdersByBill()


class PaymentsByBill(GlobalSecondaryIndex["PaymentRecord"]):
    Meta = gsi_meta("by_bill")
    bill_id = UnicodeAttribute(hash_key=True)


class PaymentsByDay(GlobalSecondaryIndex["PaymentRecord"]):
    Meta = gsi_meta("by_day")
    paid_day = UnicodeAttribute(hash_key=True)
    payment_id = UnicodeAttribute(range_key=True)


@registered
class PaymentRecord(Model):
    Meta = table_meta("payments")

    payment_id = UnicodeAttribute(hash_key=True)
    bill_id = UnicodeAttribute()
    payer_id = UnicodeAttribute()
    order_id = UnicodeAttribute(null=True)  # null for an offline payment
    provider = UnicodeAttribute()  # razorpay | offline
    method = UnicodeAttribute()  # upi | card | netbanking | cash | cheque
    amount_paise = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()  # captured | failed | cancelled
    # True when this payment settled the bill (exactly one payment per paid bill).
    applied = BooleanAttribute(default=False)
    not_applied_reason = UnicodeAttribute(null=True)
    paid_at = UTCDateTimeAttribute()  # when the gateway (or the cashier) took the money
    recorded_at = UTCDateTimeAttribute()  # when we learnt of it
    # Offline payments: the cashier's reference (receipt book, cheque number).
    reference = UnicodeAttribute(null=True)
    recorded_by = UnicodeAttribute(null=True)  # the admin's user id
    receipt_state = UnicodeAttribute(null=True)  # sending | sent
    receipt_sent_at = UTCDateTimeAttribute(null=True)
    # The IST day of paid_at (YYYY-MM-DD): the by_day index the reconciliation reads.
    paid_day = UnicodeAttribute(null=True)
    vpa = UnicodeAttribute(null=True)  # the payer's UPI id, when the gateway gives it
    # Refunds: paise reserved by refunds asked for (pending or done), never more
    # than amount_paise; paise the gateway has confirmed refunded.
    refund_reserved_paise = NumberAttribute(default=0)
    refunded_paise = NumberAttribute(default=0)

    by_bill = PaymentsByBill()
    by_day = PaymentsByDay()


# ---- refunds ---------------------------------------------------------------------------

REFUND_REQUESTED = "requested"  # reserved here, not yet accepted by the gateway
REFUND_PENDING = "pending"  # accepted by the gateway, money on its way back
REFUND_PROCESSED = "processed"
REFUND_FAILED = "failed"
REFUND_OPEN_STATUSES = (REFUND_REQUESTED, REFUND_PENDING)

REFUND_AUTO = "automatic"  # a captured payment that could not settle its bill
REFUND_ADMIN = "admin"
REFUND_GATEWAY = "gateway"  # made at the gateway (its dashboard), learnt from a webhook


class RefundsByBill(GlobalSecondaryIndex["RefundRecord"]):
    Meta = gsi_meta("by_bill")
    bill_id = UnicodeAttribute(hash_key=True)


class RefundsByPayment(GlobalSecondaryIndex["RefundRecord"]):
    Meta = gsi_meta("by_payment")
    payment_id = UnicodeAttribute(hash_key=True)


@registered
class RefundRecord(Model):
    Meta = table_meta("payment_refunds")

    # Our idempotency key: "auto-<payment id>" for an automatic refund, a random
    # one per admin request, "rzp-<refund id>" for one the gateway told us about.
    refund_key = UnicodeAttribute(hash_key=True)
    payment_id = UnicodeAttribute()
    bill_id = UnicodeAttribute()
    payer_id = UnicodeAttribute()
    amount_paise = NumberAttribute()
    currency = UnicodeAttribute()
    kind = UnicodeAttribute()  # automatic | admin | gateway
    reason = UnicodeAttribute()
    status = UnicodeAttribute(default=REFUND_REQUESTED)
    gateway_refund_id = UnicodeAttribute(null=True)
    requested_by = UnicodeAttribute(null=True)  # the admin's user id
    requested_at = UTCDateTimeAttribute()
    processed_at = UTCDateTimeAttribute(null=True)
    failure = UnicodeAttribute(null=True)
    emailed = UnicodeAttribute(null=True)  # the last status the payer was emailed about

    by_bill = RefundsByBill()
    by_payment = RefundsByPayment()


# ---- reconciliation --------------------------------------------------------------------

SUMMARY_ENTRY = "summary"

MISMATCH_UNKNOWN_HERE = "captured_unknown_here"  # captured at the gateway, unknown here
MISMATCH_NOT_CAPTURED = "applied_not_captured"  # captured/applied here, not at the gateway
MISMATCH_AMOUNT = "amount_differs"
REPAIRED_MISSED_WEBHOOK = "missed_webhook_repaired"
REPAIRED_MISSED_REFUND_WEBHOOK = "missed_refund_webhook_repaired"

ITEM_OPEN = "open"  # for an admin to look at
ITEM_REPAIRED = "repaired"


@registered
class ReconciliationRecord(Model):
    """One IST day's reconciliation: the `summary` entry with totals, and one
    entry per mismatch or repair ("item#<payment id>")."""

    Meta = table_meta("payment_reconciliations")

    day = UnicodeAttribute(hash_key=True)  # YYYY-MM-DD, IST
    entry = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    payment_id = UnicodeAttribute(null=True)
    bill_id = UnicodeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    gateway_amount_paise = NumberAttribute(null=True)
    our_amount_paise = NumberAttribute(null=True)
    gateway_status = UnicodeAttribute(null=True)
    our_status = UnicodeAttribute(null=True)
    detail = UnicodeAttribute(null=True)
    totals = UnicodeAttribute(null=True)  # summary: JSON of the day's totals
    run_at = UTCDateTimeAttribute()
