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

    by_bill = OrdersByBill()


class PaymentsByBill(GlobalSecondaryIndex["PaymentRecord"]):
    Meta = gsi_meta("by_bill")
    bill_id = UnicodeAttribute(hash_key=True)


@registered
class PaymentRecord(Model):
    Meta = table_meta("payments")

    payment_id = UnicodeAttribute(hash_key=True)
    bill_id = UnicodeAttribute()
    payer_id = UnicodeAttribute()
    order_id = UnicodeAttribute(null=True)  # null for an offline payment
    provider = UnicodeAttribute()  # sandbox | offline | <gateway>
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

    by_bill = PaymentsByBill()
