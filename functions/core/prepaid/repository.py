"""Small repositories over the prepaid tables (see models.py for the ledger's rule)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from functions.core.db import cancellation_codes
from functions.core.paging import Page, merged_tied_page, partition_page
from functions.core.prepaid.models import LedgerEntryRecord, PrepaidAccountRecord, posted_key
from functions.core.shards import RUN_SHARDS, shard_key, sharded

CONDITION_FAILED = "ConditionalCheckFailedException"


NEGATIVES_PAGE = 30  # connections a page of the admin's list (32 shards x 30 read at most)


class AccountRepository:
    def get(self, connection_id: str) -> PrepaidAccountRecord | None:
        try:
            return PrepaidAccountRecord.get(connection_id, consistent_read=True)
        except DoesNotExist:
            return None

    def ensure(self, connection_id: str, **fields: Any) -> PrepaidAccountRecord:
        """The account, created (postpaid, balance 0) if it is not there yet."""
        record = PrepaidAccountRecord(connection_id=connection_id, **fields)
        try:
            record.save(condition=PrepaidAccountRecord.connection_id.does_not_exist())
        except PutError as error:
            if error.cause_response_code != CONDITION_FAILED:
                raise
        found = self.get(connection_id)
        assert found is not None
        return found

    def update(self, connection_id: str, actions: list[Any], condition: Any = None) -> bool:
        """One conditional update; False if the condition did not hold."""
        exists = PrepaidAccountRecord.connection_id.exists()
        try:
            PrepaidAccountRecord(connection_id=connection_id).update(
                actions=actions, condition=exists if condition is None else exists & condition)
        except UpdateError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True

    def mark_alerted(self, connection_id: str, threshold: int) -> bool:
        """Claim the alert of one threshold crossing: only the first caller gets True."""
        return self.update(
            connection_id, [PrepaidAccountRecord.alerted.add({threshold})],
            ~PrepaidAccountRecord.alerted.contains(threshold))

    def leave_negatives(self, connection_id: str) -> bool:
        """Off the negative-balances index, only if the balance is (still) 0 or more: a
        debit landing meanwhile fails the condition and keeps the account listed."""
        return self.update(connection_id, [PrepaidAccountRecord.negative_shard.remove()],
                           PrepaidAccountRecord.negative_shard.exists()
                           & (PrepaidAccountRecord.balance_paise >= 0))

    def negatives(self, cursor: str | None, limit: int) -> Page[PrepaidAccountRecord]:
        """Connections with a balance below 0, most negative first across every shard (a
        page reads up to RUN_SHARDS x NEGATIVES_PAGE index items). An account back at 0 or
        above stays on the index until the review takes it off: a key condition skips it."""
        return merged_tied_page(
            PrepaidAccountRecord.by_negative,
            [shard_key("negative", shard) for shard in range(RUN_SHARDS)], "balance_paise",
            cursor, min(limit, NEGATIVES_PAGE), descending=False,
            tiebreak=lambda account: account.connection_id, stop_at=-1)

    def rearm(self, connection_id: str, thresholds: set[int]) -> None:
        if thresholds:
            self.update(connection_id, [PrepaidAccountRecord.alerted.delete(thresholds)])


class LedgerRepository:
    def append(self, entry: LedgerEntryRecord, now: datetime, attempts: int = 5) -> bool:
        """Add an entry and its amount to the balance, together; False (and nothing
        written) if an entry of that key exists already."""
        entry.posted_key = posted_key(entry)
        amount = int(entry.amount_paise)
        # A debit first goes in on the condition that the balance stays >= 0 (the usual
        # case, no index write); if it would not, again, listing the account as negative.
        in_credit = amount < 0
        for _ in range(attempts):
            exists = PrepaidAccountRecord.connection_id.exists()
            try:
                with TransactWrite(connection=_connection()) as transaction:
                    transaction.save(entry,
                                     condition=LedgerEntryRecord.entry_key.does_not_exist())
                    transaction.update(
                        PrepaidAccountRecord(connection_id=entry.connection_id),
                        actions=[PrepaidAccountRecord.balance_paise.add(amount),
                                 PrepaidAccountRecord.entries.add(1),
                                 PrepaidAccountRecord.updated_at.set(now),
                                 *([] if in_credit else _listed_negative(entry))],
                        condition=exists & (PrepaidAccountRecord.balance_paise >= -amount)
                        if in_credit else exists)
                return True
            except TransactWriteError as error:
                reasons = cancellation_codes(error)
                if reasons and reasons[0] in ("ConditionalCheckFailed", CONDITION_FAILED):
                    return False  # the entry was there: applied once already
                if in_credit and reasons[1:2] in (["ConditionalCheckFailed"],
                                                  [CONDITION_FAILED]):
                    in_credit = False  # it takes the balance below 0
                    continue
                if "TransactionConflict" not in reasons:
                    raise
                # Another entry of this account in flight: the transaction is retried.
        raise RuntimeError(f"ledger entry {entry.entry_key} kept conflicting; retry later")

    def get(self, connection_id: str, entry_key: str) -> LedgerEntryRecord | None:
        try:
            return LedgerEntryRecord.get(connection_id, entry_key, consistent_read=True)
        except DoesNotExist:
            return None

    def with_prefix(self, connection_id: str, prefix: str) -> Iterator[LedgerEntryRecord]:
        """Entries whose key starts with `prefix` (a month's debits: at most 31)."""
        return LedgerEntryRecord.query(connection_id,
                                       LedgerEntryRecord.entry_key.startswith(prefix),
                                       consistent_read=True)

    def page(self, connection_id: str, cursor: str | None,
             limit: int) -> Page[LedgerEntryRecord]:
        """Newest posted first; the cursor is opaque (paging.encode_cursor)."""
        return partition_page(LedgerEntryRecord.by_posted, connection_id, cursor, limit,
                              scan_index_forward=False)

    def total(self, connection_id: str) -> int:
        """The ledger's sum, read entry by entry (an audit: the balance must equal it)."""
        return sum(int(e.amount_paise) for e in LedgerEntryRecord.query(
            connection_id, attributes_to_get=["amount_paise"], consistent_read=True))


def _listed_negative(entry: LedgerEntryRecord) -> list[Any]:
    """A debit that may take the balance below 0 puts the account on the negative-balances
    index in its own transaction, so no balance below 0 is ever missing there;
    AccountRepository.leave_negatives takes it off once the balance is back (the list
    also asks balance < 0)."""
    if int(entry.amount_paise) >= 0:
        return []
    return [PrepaidAccountRecord.negative_shard.set(sharded("negative", entry.connection_id))]


def _connection() -> Connection:
    return PrepaidAccountRecord._get_connection().connection
