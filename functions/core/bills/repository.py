"""The bills table behind a small repository."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from functions.core.bills.models import (
    BILL_ISSUED,
    BILL_OVERDUE,
    BILL_PAID,
    BillRecord,
)
from functions.core.errors import Conflict

# Extra writes to commit in the same transaction as new bills (for example the
# reading's status), so a bill and what it consumed can never disagree.
TransactionExtra = Callable[[TransactWrite], None]


class BillRepository:
    def get(self, bill_id: str) -> BillRecord | None:
        try:
            return BillRecord.get(bill_id, consistent_read=True)
        except DoesNotExist:
            return None

    def get_many(self, bill_ids: Iterable[str]) -> list[BillRecord]:
        return list(BillRecord.batch_get(list(dict.fromkeys(bill_ids)), consistent_read=True))

    def create(self, shares: Sequence[BillRecord],
               extra: TransactionExtra | None = None) -> bool:
        """Write a property's bill for a period (one record, or its shares) only
        if the property has no bill for that period yet. Returns False, writing
        nothing, when it already has one (redelivery, a concurrent handler or a
        re-run): the caller then has nothing to do."""
        if not shares:
            raise ValueError("a bill needs at least one share")
        if len(shares) == 1 and extra is None:
            try:
                shares[0].save(condition=BillRecord.bill_id.does_not_exist())
            except PutError as error:
                if error.cause_response_code == "ConditionalCheckFailedException":
                    return False
                raise
            return True
        try:
            with TransactWrite(connection=_connection()) as transaction:
                for share in shares:
                    transaction.save(share, condition=BillRecord.bill_id.does_not_exist())
                if extra is not None:
                    extra(transaction)
        except TransactWriteError as error:
            reasons = error.cancellation_reasons
            # Puts come first in the request, so reasons[0] is the first share.
            if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
                return False
            raise
        return True

    def for_payer(self, payer_id: str, limit: int | None = None) -> list[BillRecord]:
        """A payer's bills, newest period first."""
        return list(BillRecord.by_payer.query(payer_id, scan_index_forward=False, limit=limit))

    def for_property(self, property_id: str, limit: int | None = None,
                     before_period: str | None = None) -> list[BillRecord]:
        """A property's bills (every share), newest period first; optionally only
        periods before `before_period`."""
        condition = BillRecord.period < before_period if before_period else None
        return list(BillRecord.by_property.query(property_id, range_key_condition=condition,
                                                 scan_index_forward=False, limit=limit))

    def for_period(self, period: str) -> list[BillRecord]:
        return list(BillRecord.by_period.query(period))

    def with_status(self, status: str, due_before: date | None = None) -> list[BillRecord]:
        """Bills in `status`, earliest due first; optionally only those due
        strictly before `due_before` (for example: issued and past due)."""
        condition = BillRecord.due_date < due_before.isoformat() if due_before else None
        return list(BillRecord.by_status.query(status, range_key_condition=condition))

    def mark_paid(self, bill_id: str, payment_id: str, paid_at: datetime) -> BillRecord:
        """issued|overdue -> paid, once. Conflict if it is already paid (or unknown)."""
        record = BillRecord(bill_id=bill_id)
        try:
            record.update(
                actions=[BillRecord.status.set(BILL_PAID), BillRecord.payment_id.set(payment_id),
                         BillRecord.paid_at.set(paid_at)],
                condition=BillRecord.bill_id.exists()
                & BillRecord.status.is_in(BILL_ISSUED, BILL_OVERDUE),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise Conflict("This bill is already paid.") from error
            raise
        return record

    def mark_overdue(self, bill_id: str, surcharge_paise: int, at: datetime) -> bool:
        """issued -> overdue with its late-payment surcharge, once. False if the
        bill is not (or no longer) in status issued."""
        record = BillRecord(bill_id=bill_id)
        try:
            record.update(
                actions=[BillRecord.status.set(BILL_OVERDUE), BillRecord.overdue_at.set(at),
                         BillRecord.late_surcharge_paise.set(surcharge_paise)],
                condition=BillRecord.status == BILL_ISSUED,
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _connection() -> Connection:
    # The model's own connection: one botocore client per container, not one per call.
    return BillRecord._get_connection().connection
