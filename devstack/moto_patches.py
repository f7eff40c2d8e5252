"""Make moto's DynamoDB safe and fast enough under concurrent requests.

1. Isolation. moto's TransactWriteItems snapshots every table it touches and,
   when the transaction is cancelled (a condition failed), restores those
   snapshots. Run concurrently with other writes (the local stack serves
   requests on threads), that restore silently undoes the other requests'
   writes, and the snapshot itself can fail with "dictionary changed size
   during iteration" (HTTP 500). Real DynamoDB isolates transactions from
   other writes; serialising moto's DynamoDB requests gives the same guarantee.
   moto runs on one interpreter (the GIL), so this costs little throughput.

2. Cost. Those snapshots are deep copies of whole tables, so every transaction
   costs time in proportion to the tables' size (about 0.1 s at a few thousand
   items): a billing run of 1,000 meters spent most of its time copying. With
   requests serialised, a transaction whose conditions all hold on the current
   items cannot be cancelled by a condition, so it runs without the snapshot.
   One that will be cancelled keeps a copy of only the items it names (a
   transaction writes nothing else) and puts them back if moto cancels it: on a
   table of 30,000 items a cancelled transaction took 0.41 s with the whole-table
   copy and 0.0005 s without. Late in a test run a worker's tables hold tens of
   thousands of items, and the lock is held all that time: in one CI run a billing
   run's close slices took 3 to 5 s each, a minute in all (five seconds alone).
   Only a transaction we cannot read in advance still takes moto's own path.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

_lock = threading.RLock()


def serialize_dynamodb() -> None:
    """Idempotent: wrap moto's DynamoDB request handler in one lock, and let
    transactions that will commit skip the whole-table snapshot."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "serialized", False):
        return

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    call_action.serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _skip_snapshots_of_committing_transactions()


def serialize_sqs_deletes() -> None:
    """Idempotent: moto's SQS deletes take the queue's lock, as its sends do.

    moto's Queue.delete_message rebuilds the queue's message list from the list it
    read and assigns it back, without the lock that add_message appends under: a
    message sent while a delete of another message is under way is dropped, with
    no error to anyone. The longer the queue, the longer a delete takes and the
    likelier the loss: bench_daily lost about 6 of 10,000 daily readings this way
    (none at 1,000). Real SQS never loses a message it accepted."""
    from moto.sqs.models import Queue

    original = Queue.delete_message
    if getattr(original, "serialized", False):
        return

    @functools.wraps(original)
    def delete_message(self: Any, receipt_handle: str) -> None:
        with self._messages_lock:
            original(self, receipt_handle)

    delete_message.serialized = True  # type: ignore[attr-defined]
    Queue.delete_message = delete_message  # type: ignore[method-assign]


def _skip_snapshots_of_committing_transactions() -> None:
    from moto.dynamodb import models

    original = models.DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if _conditions_hold(self, transact_items):
            with _no_table_copies(models):
                return original(self, transact_items)
        before = _items_named(self, transact_items)
        if before is None:
            return original(self, transact_items)
        with _no_table_copies(models):
            try:
                return original(self, transact_items)
            except Exception:
                _put_back(self, before)  # what the ops before the failed one wrote
                raise

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _operations(transact_items: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Each item's one Put/Update/Delete/ConditionCheck; ValueError for anything else."""
    operations = []
    for entry in transact_items:
        if len(entry) != 1:
            raise ValueError("one operation per item")
        op_type, op = next(iter(entry.items()))
        if op_type not in ("Put", "Update", "Delete", "ConditionCheck"):
            raise ValueError(f"unknown operation {op_type}")
        operations.append((op_type, op))
    return operations


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _items_named(backend: Any, transact_items: list[dict[str, Any]]
                 ) -> list[tuple[str, dict[str, Any], Any]] | None:
    """(table, key, a copy of the item or None) for each item the transaction names;
    None if it cannot be read (moto's own path then decides)."""
    named = []
    try:
        for op_type, op in _operations(transact_items):
            key = _key_of(backend, op_type, op)
            item = backend.get_item(op["TableName"], key)
            named.append((op["TableName"], key, copy.deepcopy(item)))
    except Exception:
        return None
    return named


def _put_back(backend: Any, items: list[tuple[str, dict[str, Any], Any]]) -> None:
    for table_name, key, item in items:
        if item is None:
            backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, item.to_json()["Attributes"])


def _conditions_hold(backend: Any, transact_items: list[dict[str, Any]]) -> bool:
    """True if every item is a single, distinct Put/Update/Delete/ConditionCheck
    whose condition holds on the current item; False if any does not, or if in
    doubt (the transaction then runs with the copies of its own items)."""
    from moto.dynamodb.comparisons import get_filter_expression

    seen: set[tuple[str, str]] = set()
    try:
        for op_type, op in _operations(transact_items):
            table_name = op["TableName"]
            key = _key_of(backend, op_type, op)
            identity = (table_name, str(sorted(key.items())))
            if identity in seen:
                return False
            seen.add(identity)
            condition = op.get("ConditionExpression")
            if condition is None:
                continue
            current = backend.get_item(table_name, key)
            check = get_filter_expression(condition, op.get("ExpressionAttributeNames"),
                                          op.get("ExpressionAttributeValues"))
            if not check.expr(current):
                return False
    except Exception:
        return False
    return True


@contextlib.contextmanager
def _no_table_copies(models: Any) -> Iterator[None]:
    """While the DynamoDB lock is held: moto's `copy.deepcopy(table)` returns the
    table itself (the snapshot is never restored: no condition will fail)."""
    real_copy = models.copy
    models.copy = SimpleNamespace(deepcopy=lambda value, *_: value)
    try:
        yield
    finally:
        models.copy = real_copy
