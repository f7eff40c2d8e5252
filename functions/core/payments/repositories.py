"""Payments, payment orders, and the one transaction that settles a bill."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from functions.core.accounts.models import UserRecord
from functions.core.bills.arrears import drop_from_index_if_settled
from functions.core.bills.models import BILL_PAID, UNPAID_STATUSES, BillRecord
from functions.core.bills.repository import leave_arrears, same_arrears
from functions.core.notifications.models import OutboxRecord
from functions.core.notifications.outbox import Outbox
from functions.core.payments.models import (
    ORDER_PAID,
    PAYMENT_CAPTURED,
    REFUND_FAILED,
    REFUND_PROCESSED,
    REFUND_REQUESTED,
    SUMMARY_ENTRY,
    PaymentOrderRecord,
    PaymentRecord,
    ReconciliationRecord,
    RefundRecord,
)
from functions.core.properties.models import PropertyRecord

CONDITION_FAILED = "ConditionalCheckFailedException"


class OrderRepository:
    def get(self, order_id: str) -> PaymentOrderRecord | None:
        try:
            return PaymentOrderRecord.get(order_id, consistent_read=True)
        except DoesNotExist:
            return None

    def create(self, order: PaymentOrderRecord) -> None:
        order.save(condition=PaymentOrderRecord.order_id.does_not_exist())

    def note_attempt(self, order_id: str, status: str, payment_id: str) -> None:
        """Record the latest attempt's outcome; a paid order stays paid."""
        try:
            PaymentOrderRecord(order_id=order_id).update(
                actions=[PaymentOrderRecord.status.set(status),
                         PaymentOrderRecord.last_payment_id.set(payment_id)],
                condition=PaymentOrderRecord.order_id.exists()
                & (PaymentOrderRecord.status != ORDER_PAID),
            )
        except UpdateError as error:
            if error.cause_response_code != CONDITION_FAILED:
                raise


class PaymentRepository:
    def get(self, payment_id: str) -> PaymentRecord | None:
        try:
            return PaymentRecord.get(payment_id, consistent_read=True)
        except DoesNotExist:
            return None

    def for_bill(self, bill_id: str) -> list[PaymentRecord]:
        payments = list(PaymentRecord.by_bill.query(bill_id))
        return sorted(payments, key=lambda p: (p.recorded_at, p.payment_id))

    def on_day(self, day: str) -> list[PaymentRecord]:
        """Payments whose money was taken on this IST day (YYYY-MM-DD)."""
        return list(PaymentRecord.by_day.query(day))

    def add(self, payment: PaymentRecord) -> bool:
        """Insert a payment that does not settle a bill; False if the id exists."""
        try:
            payment.save(condition=PaymentRecord.payment_id.does_not_exist())
        except PutError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True

    def add_or_upgrade_unapplied(self, payment: PaymentRecord,
                                 previous_status: str | None) -> bool:
        """Keep a captured payment that could not settle its bill: insert it, or
        upgrade the failed/cancelled record of the same id. False on a lost race."""
        if previous_status is None:
            return self.add(payment)
        try:
            PaymentRecord(payment_id=payment.payment_id).update(
                actions=[PaymentRecord.status.set(PAYMENT_CAPTURED),
                         PaymentRecord.applied.set(False),
                         PaymentRecord.not_applied_reason.set(payment.not_applied_reason),
                         PaymentRecord.method.set(payment.method),
                         PaymentRecord.paid_at.set(payment.paid_at),
                         PaymentRecord.paid_day.set(payment.paid_day),
                         PaymentRecord.recorded_at.set(payment.recorded_at)],
                condition=PaymentRecord.status == previous_status,
            )
        except UpdateError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True


class SettlementRepository:
    """Settles a bill with a payment in one DynamoDB transaction: the payment is
    written (or upgraded from failed to captured) and the bill goes to paid
    together, or neither happens.

    The bill's condition repeats what the service checked the amount against
    (status, total, late surcharge), so a surcharge that lands between the
    check and the write makes the transaction fail instead of settling an
    overdue bill for its pre-surcharge amount."""

    def settle(self, payment: PaymentRecord, bill: BillRecord,
               upgrade_from_status: str | None = None,
               messages: Sequence[OutboxRecord] = ()) -> bool:
        """False if a condition failed (the payment exists already, or the bill
        changed); the caller re-reads to find out which. `messages` (the receipt)
        are written in the same transaction: a payment settles once, and so its
        receipt is written once."""
        payment.applied = True
        payment.not_applied_reason = None
        try:
            with TransactWrite(connection=_connection()) as transaction:
                if upgrade_from_status is None:
                    transaction.save(payment,
                                     condition=PaymentRecord.payment_id.does_not_exist())
                else:
                    transaction.update(
                        PaymentRecord(payment_id=payment.payment_id),
                        actions=[PaymentRecord.status.set(PAYMENT_CAPTURED),
                                 PaymentRecord.applied.set(True),
                                 PaymentRecord.method.set(payment.method),
                                 PaymentRecord.paid_at.set(payment.paid_at),
                                 PaymentRecord.paid_day.set(payment.paid_day),
                                 PaymentRecord.recorded_at.set(payment.recorded_at)],
                        condition=PaymentRecord.status == upgrade_from_status,
                    )
                transaction.update(
                    BillRecord(bill_id=bill.bill_id),
                    actions=[*BillRecord.status_actions(BILL_PAID, bill.bill_id),
                             BillRecord.payment_id.set(payment.payment_id),
                             BillRecord.paid_at.set(payment.paid_at),
                             # an overdue bill leaves its payer's arrears (bills/arrears.py)
                             *leave_arrears(transaction, bill)],
                    condition=_bill_unchanged(bill) & same_arrears(bill),
                )
                Outbox().add_to(transaction, messages)
        except TransactWriteError:
            payment.applied = False
            return False
        if bill.in_arrears_paise is not None:
            drop_from_index_if_settled([bill.payer_id])
        return True


class RefundRepository:
    """Refunds, and the paise each payment has reserved for them.

    `reserve` writes the refund and raises the payment's `refund_reserved_paise`
    in one transaction, conditioned on the reserved amount read before: two
    refunds (an admin's and the automatic one, or two admins) can never reserve
    more than the payment's amount between them."""

    def get(self, refund_key: str) -> RefundRecord | None:
        try:
            return RefundRecord.get(refund_key, consistent_read=True)
        except DoesNotExist:
            return None

    def for_bill(self, bill_id: str) -> list[RefundRecord]:
        return sorted(RefundRecord.by_bill.query(bill_id),
                      key=lambda r: (r.requested_at, r.refund_key))

    def for_payment(self, payment_id: str) -> list[RefundRecord]:
        return list(RefundRecord.by_payment.query(payment_id))

    def reserve(self, refund: RefundRecord, payment: PaymentRecord,
                enforce_limit: bool = True) -> bool:
        """False if the refund key exists or the payment's reservations moved."""
        reserved = int(payment.refund_reserved_paise or 0)
        if enforce_limit and reserved + int(refund.amount_paise) > int(payment.amount_paise):
            return False
        held = PaymentRecord.refund_reserved_paise == reserved
        if reserved == 0:  # payments recorded before refunds existed have no such attribute
            held = held | PaymentRecord.refund_reserved_paise.does_not_exist()
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.save(refund, condition=RefundRecord.refund_key.does_not_exist())
                transaction.update(
                    PaymentRecord(payment_id=payment.payment_id),
                    actions=[PaymentRecord.refund_reserved_paise.set(
                        reserved + int(refund.amount_paise))],
                    condition=PaymentRecord.payment_id.exists()
                    & (PaymentRecord.status == PAYMENT_CAPTURED) & held,
                )
        except TransactWriteError:
            return False
        return True

    def accepted(self, refund_key: str, gateway_refund_id: str, status: str) -> bool:
        """The gateway took the refund; False if a webhook got there first."""
        try:
            RefundRecord(refund_key=refund_key).update(
                actions=[RefundRecord.gateway_refund_id.set(gateway_refund_id),
                         RefundRecord.status.set(status)],
                condition=RefundRecord.status == REFUND_REQUESTED)
        except UpdateError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True

    def processed(self, refund: RefundRecord, gateway_refund_id: str, at: datetime) -> bool:
        """Once per refund: the refund is processed and its paise count as refunded."""
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.update(
                    RefundRecord(refund_key=refund.refund_key),
                    actions=[RefundRecord.status.set(REFUND_PROCESSED),
                             RefundRecord.gateway_refund_id.set(gateway_refund_id),
                             RefundRecord.processed_at.set(at)],
                    condition=RefundRecord.status.is_in("requested", "pending"))
                transaction.update(
                    PaymentRecord(payment_id=refund.payment_id),
                    actions=[PaymentRecord.refunded_paise.add(int(refund.amount_paise))],
                    condition=PaymentRecord.payment_id.exists())
        except TransactWriteError:
            return False
        return True

    def failed(self, refund: RefundRecord, failure: str) -> bool:
        """Once per refund: it failed, and its paise are free to refund again."""
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.update(
                    RefundRecord(refund_key=refund.refund_key),
                    actions=[RefundRecord.status.set(REFUND_FAILED),
                             RefundRecord.failure.set(failure[:300])],
                    condition=RefundRecord.status.is_in("requested", "pending"))
                transaction.update(
                    PaymentRecord(payment_id=refund.payment_id),
                    actions=[PaymentRecord.refund_reserved_paise.add(
                        -int(refund.amount_paise))],
                    condition=PaymentRecord.payment_id.exists())
        except TransactWriteError:
            return False
        return True


class ReconciliationRepository:
    def entries(self, day: str) -> list[ReconciliationRecord]:
        return list(ReconciliationRecord.query(day))

    def summary(self, day: str) -> ReconciliationRecord | None:
        try:
            return ReconciliationRecord.get(day, SUMMARY_ENTRY, consistent_read=True)
        except DoesNotExist:
            return None

    def replace(self, day: str, records: list[ReconciliationRecord]) -> None:
        """The day's new report: stale items of an earlier run go, the new ones stay."""
        keep = {r.entry for r in records}
        with ReconciliationRecord.batch_write() as batch:
            for old in self.entries(day):
                if old.entry not in keep:
                    batch.delete(old)
            for record in records:
                batch.save(record)


def _bill_unchanged(bill: BillRecord) -> Condition:
    surcharge = (BillRecord.late_surcharge_paise.does_not_exist()
                 if bill.late_surcharge_paise is None
                 else BillRecord.late_surcharge_paise == int(bill.late_surcharge_paise))
    return (BillRecord.status.is_in(*UNPAID_STATUSES)
            & (BillRecord.status == bill.status)
            & (BillRecord.total_paise == int(bill.total_paise))
            & surcharge)


def users_by_id(user_ids: set[str]) -> dict[str, UserRecord]:
    """Many users in one batch read (the accounts repository reads one at a time)."""
    return {user.user_id: user for user in UserRecord.batch_get(sorted(user_ids))}


def properties_by_id(property_ids: set[str]) -> dict[str, PropertyRecord]:
    return {prop.property_id: prop for prop in PropertyRecord.batch_get(sorted(property_ids))}


def _connection() -> Connection:
    # The model's own connection: one botocore client per container, not one per call.
    return PaymentRecord._get_connection().connection
