"""What each payer owes on overdue bills: one `arrears` item per payer.

The defaulters list reads these items a page at a time instead of every overdue
bill of the fleet. The item changes in the SAME DynamoDB transaction as the bill
whose status or amount changes, so the two never disagree:

- issued -> overdue (the overdue sweep): owed += total + surcharge; the bill's
  entry "<due date>#<bill id>" joins `bills`; the bill records what it added
  (`in_arrears_paise`).
- overdue -> paid (a payment, an offline payment, a credit clearing it): owed -=
  the bill's `in_arrears_paise`; its entry leaves `bills`.
- a credit netted against an overdue bill: owed -= what the credit took.

Bills that went overdue before this item existed carry no `in_arrears_paise` and
change nothing here (docs/scale.md says how to backfill them).

Index `by_owed`: "owed#<shard of the payer>" -> items by amount owed (paise,
numeric). Its key is set by every add; once a payer owes nothing it is removed
(a conditional update right after the transaction), so the index holds only
payers who owe; the list's key condition `owed_paise >= 1` skips any item a
failed removal left at zero. Count and oldest due date come from `bills`
(a string set: one entry per overdue bill of the payer, bounded by the payer's
bills, not by the fleet).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from functions.core.db import gsi_meta, registered, table_meta
from functions.core.paging import Page, merged_tied_page
from functions.core.shards import RUN_SHARDS, shard_key, sharded

OWED = "owed"
OWED_PAGE = 50  # payers a page of the defaulters list (32 shards x 50 read at most)


class ArrearsByOwed(GlobalSecondaryIndex["ArrearsRecord"]):
    """"owed#<shard>" -> payers by what they owe (sparse: only while they owe)."""

    Meta = gsi_meta("by_owed")
    owed_shard = UnicodeAttribute(hash_key=True)
    owed_paise = NumberAttribute(range_key=True)


@registered
class ArrearsRecord(Model):
    Meta = table_meta("arrears")

    payer_id = UnicodeAttribute(hash_key=True)
    owed_paise = NumberAttribute(default=0)  # total + surcharge of the overdue bills
    bills = UnicodeSetAttribute(null=True)  # "<due date>#<bill id>" per overdue bill
    owed_shard = UnicodeAttribute(null=True)  # index key, present while owed > 0

    by_owed = ArrearsByOwed()

    @property
    def bill_count(self) -> int:
        return len(self.bills or ())

    @property
    def oldest_due(self) -> date | None:
        return date.fromisoformat(min(self.bills)[:10]) if self.bills else None

    @property
    def bill_ids(self) -> list[str]:
        return [entry.split("#", 1)[1] for entry in sorted(self.bills or ())]


def entry(due_date: str, bill_id: str) -> str:
    return f"{due_date}#{bill_id}"


def add_to(transaction: TransactWrite, payer_id: str, paise: int,
           added: Iterable[str] = (), removed: Iterable[str] = ()) -> None:
    """One update of a payer's item inside the caller's transaction (DynamoDB allows one
    operation per item per transaction, so a caller with several bills of one payer sums
    them first)."""
    added, removed = set(added), set(removed)
    actions: list[Any] = [ArrearsRecord.owed_paise.add(paise)]
    if added:
        actions += [ArrearsRecord.bills.add(added),
                    ArrearsRecord.owed_shard.set(sharded(OWED, payer_id))]
    if removed:
        actions.append(ArrearsRecord.bills.delete(removed))
    transaction.update(ArrearsRecord(payer_id=payer_id), actions=actions)


def drop_from_index_if_settled(payer_ids: Iterable[str]) -> None:
    """After a subtraction: a payer who owes nothing leaves the index. Conditional, so
    a bill that went overdue meanwhile (owed > 0 again) keeps the payer listed."""
    for payer_id in set(payer_ids):
        try:
            ArrearsRecord(payer_id=payer_id).update(
                actions=[ArrearsRecord.owed_shard.remove()],
                condition=ArrearsRecord.payer_id.exists() & (ArrearsRecord.owed_paise <= 0))
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise


class ArrearsRepository:
    def get(self, payer_id: str) -> ArrearsRecord | None:
        try:
            return ArrearsRecord.get(payer_id, consistent_read=True)
        except DoesNotExist:
            return None

    def owed_page(self, cursor: str | None, limit: int, min_paise: int = 1) -> Page[ArrearsRecord]:
        """Payers owing at least `min_paise`, largest first across every shard (a key
        condition: payers below it are never read); a page reads up to RUN_SHARDS x
        OWED_PAGE index items."""
        return merged_tied_page(
            ArrearsRecord.by_owed, [shard_key(OWED, shard) for shard in range(RUN_SHARDS)],
            "owed_paise", cursor, min(limit, OWED_PAGE), descending=True,
            tiebreak=lambda item: item.payer_id, stop_at=max(1, min_paise))
