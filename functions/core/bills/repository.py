"""The bills table behind a small repository."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from functions.core.aws import client
from functions.core.bills.arrears import add_to, drop_from_index_if_settled, entry
from functions.core.bills.models import (
    BILL_ISSUED,
    BILL_OVERDUE,
    BILL_PAID,
    BillRecord,
)
from functions.core.db import cancellation_codes, failed_condition
from functions.core.errors import Conflict
from functions.core.notifications.models import OutboxRecord
from functions.core.notifications.outbox import Outbox
from functions.core.paging import Page, partition_page, sharded_page
from functions.core.properties.models import TenancyRecord
from functions.core.shards import RUN_SHARDS, shard_key

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
            # Puts come first in the request, so item 0 is the first share.
            if failed_condition(error, 0):
                return False
            raise
        return True

    def for_payer(self, payer_id: str, limit: int | None = None) -> list[BillRecord]:
        """A payer's bills, newest period first."""
        return list(BillRecord.by_payer.query(payer_id, scan_index_forward=False, limit=limit))

    def payer_page(self, payer_id: str, cursor: str | None, limit: int,
                   period: str | None = None,
                   keep: Callable[[BillRecord], bool] = lambda _: True) -> Page[BillRecord]:
        """A payer's bills a page at a time, newest period first (optionally one period)."""
        return partition_page(BillRecord.by_payer, payer_id, cursor, limit, keep,
                              range_key_condition=BillRecord.period == period
                              if period else None, scan_index_forward=False)

    def for_property(self, property_id: str, limit: int | None = None,
                     before_period: str | None = None) -> list[BillRecord]:
        """A property's bills (every share), newest period first; optionally only
        periods before `before_period`."""
        condition = BillRecord.period < before_period if before_period else None
        return list(BillRecord.by_property.query(property_id, range_key_condition=condition,
                                                 scan_index_forward=False, limit=limit))

    def for_period(self, period: str) -> list[BillRecord]:
        """Every bill of a period, shard by shard (for work that runs in the background;
        a request takes `period_page`)."""
        return [bill for shard in range(RUN_SHARDS)
                for bill in BillRecord.by_period.query(shard_key(period, shard))]

    def period_page(self, period: str, cursor: str | None, limit: int,
                    keep: Callable[[BillRecord], bool] = lambda _: True) -> Page[BillRecord]:
        return sharded_page(BillRecord.by_period, period, cursor, limit, keep)

    def status_page(self, status: str, cursor: str | None, limit: int) -> Page[BillRecord]:
        return sharded_page(BillRecord.by_status, status, cursor, limit)

    def mark_paid(self, bill_id: str, payment_id: str, paid_at: datetime) -> BillRecord:
        """issued|overdue -> paid, once. Conflict if it is already paid (or unknown).
        An overdue bill leaves its payer's arrears in the same transaction."""
        bill = self.get(bill_id)
        if bill is None or bill.status not in (BILL_ISSUED, BILL_OVERDUE):
            raise Conflict("This bill is already paid.")
        record = BillRecord(bill_id=bill_id)
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.update(
                    record, actions=[*BillRecord.status_actions(BILL_PAID, bill_id),
                                     BillRecord.payment_id.set(payment_id),
                                     BillRecord.paid_at.set(paid_at),
                                     *leave_arrears(transaction, bill)],
                    condition=(BillRecord.status == bill.status) & same_arrears(bill))
        except TransactWriteError as error:
            if _condition_failed(error):
                raise Conflict("This bill is already paid.") from error
            raise
        if bill.in_arrears_paise is not None:
            drop_from_index_if_settled([bill.payer_id])
        return record

    def mark_overdue(self, bill_id: str, surcharge_paise: int, at: datetime,
                     bill: BillRecord | None = None,
                     messages: Sequence[OutboxRecord] = ()) -> bool:
        """issued -> overdue with its late-payment surcharge, once, in one transaction
        with the payer's arrears (total + surcharge added) and `messages` (the payer's
        notice). False if the bill is not (or no longer) issued at the amount read."""
        bill = bill or self.get(bill_id)
        if bill is None or bill.status != BILL_ISSUED:
            return False
        owed = int(bill.total_paise) + surcharge_paise
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                with TransactWrite(connection=_connection()) as transaction:
                    transaction.update(
                        BillRecord(bill_id=bill_id),
                        actions=[*BillRecord.status_actions(BILL_OVERDUE, bill_id),
                                 BillRecord.overdue_at.set(at),
                                 BillRecord.late_surcharge_paise.set(surcharge_paise),
                                 BillRecord.in_arrears_paise.set(owed)],
                        condition=(BillRecord.status == BILL_ISSUED)
                        & (BillRecord.total_paise == int(bill.total_paise)))
                    add_to(transaction, bill.payer_id, owed,
                           added=[entry(bill.due_date, bill_id)])
                    Outbox().add_to(transaction, messages)
            except TransactWriteError as error:
                if _condition_failed(error):
                    return False
                if _conflict(error) and attempt + 1 < TRANSACTION_ATTEMPTS:
                    # Another bill of the same payer changed its arrears just now.
                    time.sleep(0.05 * (attempt + 1))
                    continue
                raise
            return True
        return False  # not reached: the last attempt returns or raises


    def count_in_arrears(self, bill: BillRecord) -> bool:
        """For a bill that went overdue before arrears items existed: add it to its
        payer's item, once (conditional on it being overdue, uncounted and as read)."""
        if bill.status != BILL_OVERDUE or bill.in_arrears_paise is not None:
            return False
        surcharge = int(bill.late_surcharge_paise or 0)
        owed = int(bill.total_paise) + surcharge
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.update(
                    BillRecord(bill_id=bill.bill_id),
                    actions=[BillRecord.in_arrears_paise.set(owed)],
                    condition=(BillRecord.status == BILL_OVERDUE)
                    & BillRecord.in_arrears_paise.does_not_exist()
                    & (BillRecord.total_paise == int(bill.total_paise))
                    & (BillRecord.late_surcharge_paise == surcharge
                       if bill.late_surcharge_paise is not None
                       else BillRecord.late_surcharge_paise.does_not_exist()))
                add_to(transaction, bill.payer_id, owed,
                       added=[entry(bill.due_date, bill.bill_id)])
        except TransactWriteError as error:
            if _condition_failed(error):
                return False
            raise
        return True


def leave_arrears(transaction: TransactWrite, bill: BillRecord) -> list[Any]:
    """For a bill leaving overdue (paid): its payer's arrears lose what it added, in the
    caller's transaction; returns the bill's own update actions for it."""
    if bill.in_arrears_paise is None:
        return []
    add_to(transaction, bill.payer_id, -int(bill.in_arrears_paise),
           removed=[entry(bill.due_date, bill.bill_id)])
    return [BillRecord.in_arrears_paise.remove()]


def same_arrears(bill: BillRecord) -> Any:
    """The bill still adds to its payer's arrears what it added when read."""
    if bill.in_arrears_paise is None:
        return BillRecord.in_arrears_paise.does_not_exist()
    return BillRecord.in_arrears_paise == int(bill.in_arrears_paise)


TRANSACTION_ATTEMPTS = 4


def _reasons(error: TransactWriteError) -> list[str]:
    return [code for code in cancellation_codes(error) if code]


def _condition_failed(error: TransactWriteError) -> bool:
    return "ConditionalCheckFailed" in _reasons(error)


def _conflict(error: TransactWriteError) -> bool:
    return "TransactionConflict" in _reasons(error) or \
        error.cause_response_code == "TransactionConflictException"


# One BatchGetItem carries at most 100 keys; one PartiQL statement at most this many ORs.
BATCH_GET_MAX = 100
TENANCY_STATEMENT_MAX = 25

# (model, hash key, range key or None)
ItemKey = tuple[type[Model], str, str | None]


def get_items(keys: Sequence[ItemKey]) -> list[Model]:
    """Items of several tables, strongly consistent, in as few BatchGetItem calls as
    possible (100 keys each; unprocessed keys are asked again). Missing items are left
    out. The billing function loads a whole SQS batch this way: one call for the meters
    and stored readings, one or two for the properties, owners and earlier bills."""
    models: dict[str, type[Model]] = {}
    requests: list[tuple[str, dict[str, Any]]] = []
    for model, hash_key, range_key in dict.fromkeys(keys):
        table = model.Meta.table_name
        models[table] = model
        requests.append((table, _key(model, hash_key, range_key)))
    dynamodb = client("dynamodb")
    found: list[Model] = []
    for start in range(0, len(requests), BATCH_GET_MAX):
        pending: dict[str, Any] = {}
        for table, key in requests[start:start + BATCH_GET_MAX]:
            pending.setdefault(table, {"Keys": [], "ConsistentRead": True})["Keys"].append(key)
        while pending:
            answer = dynamodb.batch_get_item(RequestItems=pending)
            for table, items in answer.get("Responses", {}).items():
                found.extend(models[table].from_raw_data(item) for item in items)
            pending = answer.get("UnprocessedKeys") or {}
    return found


def _key(model: type[Model], hash_key: str, range_key: str | None) -> dict[str, Any]:
    hash_attribute = model._hash_key_attribute()
    key = {hash_attribute.attr_name: {hash_attribute.attr_type: hash_key}}
    if range_key is not None:
        range_attribute = model._range_key_attribute()
        key[range_attribute.attr_name] = {range_attribute.attr_type: range_key}
    return key


def tenancies_of(property_ids: Iterable[str]) -> dict[str, list[TenancyRecord]]:
    """Every tenancy of each property, strongly consistent: one PartiQL SELECT per 25
    properties (partition-key equalities joined by OR: a keyed read, not a scan) instead
    of one Query per property."""
    wanted = sorted(set(property_ids))
    result: dict[str, list[TenancyRecord]] = {pid: [] for pid in wanted}
    dynamodb = client("dynamodb")
    table = TenancyRecord.Meta.table_name
    for start in range(0, len(wanted), TENANCY_STATEMENT_MAX):
        chunk = wanted[start:start + TENANCY_STATEMENT_MAX]
        # Only our own table name is interpolated; the ids are bound parameters.
        where = " OR ".join('"property_id" = ?' for _ in chunk)
        statement = f'SELECT * FROM "{table}" WHERE {where}'  # noqa: S608
        request: dict[str, Any] = {"Statement": statement, "ConsistentRead": True,
                                   "Parameters": [{"S": pid} for pid in chunk]}
        while True:
            answer = dynamodb.execute_statement(**request)
            for item in answer.get("Items", []):
                tenancy = TenancyRecord.from_raw_data(item)
                result.setdefault(tenancy.property_id, []).append(tenancy)
            if not answer.get("NextToken"):
                break
            request["NextToken"] = answer["NextToken"]
    return result


def _connection() -> Connection:
    # The model's own connection: one botocore client per container, not one per call.
    return BillRecord._get_connection().connection
