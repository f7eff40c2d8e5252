"""Credits and arrears on new bills (issue 16): billing_rules.credits applied to
what the payer owes at the property.

What a new bill needs is already in the property's history (its bills of the
last HISTORY_MONTHS periods, read by key for the whole SQS batch): the payer's
open earlier bills and a credit carried forward by their previous bill. Only a
history with split bills needs one more BatchGetItem (for the shares after the
first). Netting a credit writes the earlier bills it touches in the new bills'
own transaction, each conditional on being as read (status, amount, surcharge),
so a payment landing meanwhile makes the transaction fail and the reading is
retried, never a credit applied twice or to a bill already paid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from functions.core.billing_rules.credits import Netting, OpenBill, net
from functions.core.bills.arrears import add_to, entry
from functions.core.bills.history import PropertyHistory
from functions.core.bills.models import BILL_PAID, UNPAID_STATUSES, BillRecord, bill_id_for
from functions.core.bills.repository import BillRepository, same_arrears
from functions.core.money import from_paise

CREDIT_PAYMENT_PREFIX = "credit:"  # payment_id of a bill a credit cleared


def earlier_bills(history: PropertyHistory, period: str,
                  bills: BillRepository) -> list[BillRecord]:
    """Every share of the property's bills before `period` in the history window,
    oldest first."""
    firsts = [p.first for p in history.before(period)]
    more = [bill_id_for(b.property_id, b.period, n) for b in firsts
            for n in range(2, int(b.share_count or 1) + 1)]
    found = firsts + (bills.get_many(more) if more else [])
    return sorted(found, key=lambda b: (b.period, int(b.share or 1)))


@dataclass
class _Open:
    record: BillRecord
    total: int
    surcharge: int
    applied_from: list[str] = field(default_factory=list)


@dataclass
class NettingPlan:
    """The earlier bills to update in the new bills' transaction."""

    updates: dict[str, tuple[list[Any], Condition]] = field(default_factory=dict)
    # payer -> (paise, entries removed): what credits took off overdue bills also comes
    # off the payer's arrears item (bills/arrears.py), one update per payer.
    arrears: dict[str, tuple[int, set[str]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.updates)

    def write(self, transaction: TransactWrite) -> None:
        for bill_id, (actions, condition) in self.updates.items():
            transaction.update(BillRecord(bill_id=bill_id), actions=actions,
                               condition=condition)
        for payer_id, (paise, removed) in self.arrears.items():
            add_to(transaction, payer_id, paise, removed=removed)


def net_new_bills(shares: list[BillRecord], earlier: list[BillRecord],
                  now: datetime) -> NettingPlan:
    """Set each new share's charges, credits, arrears and amount (total_paise as
    priced comes in as the charges), and plan the writes to earlier bills."""
    open_bills = {b.bill_id: _Open(b, int(b.total_paise), int(b.late_surcharge_paise or 0))
                  for b in earlier if b.status in UNPAID_STATUSES
                  and int(b.total_paise) + int(b.late_surcharge_paise or 0) > 0}
    sources_taken: set[str] = set()
    plan = NettingPlan()
    for share in shares:
        source = _credit_source(earlier, share.payer_id, sources_taken)
        brought = int(source.credit_carried_paise) if source is not None else 0
        # The over-estimated bills this one trues up first, then the others oldest first.
        corrected = set(share.trued_up_periods or [])
        payer_open = sorted(
            (o for o in open_bills.values() if o.record.payer_id == share.payer_id),
            key=lambda o: (o.record.period not in corrected, o.record.period,
                           int(o.record.share or 1)))
        result = net(int(share.total_paise), brought,
                     [OpenBill(o.record.bill_id, o.total, o.surcharge) for o in payer_open])
        _fill(share, result, source, order=[o.record.bill_id for o in sorted(
            payer_open, key=lambda o: (o.record.period, int(o.record.share or 1)))])
        for applied in result.applied:
            item = open_bills[applied.bill_id]
            item.total -= applied.from_total_paise
            item.surcharge -= applied.from_surcharge_paise
            item.applied_from.append(share.bill_id)
        if source is not None:
            sources_taken.add(source.bill_id)
            plan.updates[source.bill_id] = (
                [BillRecord.credit_taken_by.set(share.bill_id)],
                BillRecord.credit_taken_by.does_not_exist()
                & (BillRecord.credit_carried_paise == int(source.credit_carried_paise)))
    for item in open_bills.values():
        if item.applied_from:
            plan.updates[item.record.bill_id] = _credit_update(item, now)
            _arrears_change(plan, item)
    return plan


def _arrears_change(plan: NettingPlan, item: _Open) -> None:
    """A credit on an overdue bill counted in its payer's arrears lowers them by what it
    took (the whole bill's share when the credit clears it)."""
    bill = item.record
    if bill.in_arrears_paise is None:
        return
    left = item.total + item.surcharge
    paise, removed = plan.arrears.get(bill.payer_id, (0, set()))
    paise += left - int(bill.in_arrears_paise)
    if left == 0:
        removed = removed | {entry(bill.due_date, bill.bill_id)}
    plan.arrears[bill.payer_id] = (paise, removed)


def _credit_source(earlier: list[BillRecord], payer_id: str,
                   taken: set[str]) -> BillRecord | None:
    """The payer's latest earlier bill, if it carries a credit nobody took yet."""
    mine = [b for b in earlier if b.payer_id == payer_id]
    if not mine:
        return None
    last = mine[-1]
    if int(last.credit_carried_paise or 0) > 0 and not last.credit_taken_by \
            and last.bill_id not in taken:
        return last
    return None


def _fill(share: BillRecord, result: Netting, source: BillRecord | None,
          order: list[str]) -> None:
    """`order`: the open bills' ids oldest first (how arrears are listed)."""
    share.charges_paise = result.charges_paise
    share.total_paise = result.total_paise
    share.total = f"{from_paise(result.total_paise):.2f}"
    if result.credit_brought_forward_paise:
        share.credit_brought_forward_paise = result.credit_brought_forward_paise
        share.credit_brought_forward_from = source.bill_id if source is not None else None
    if result.applied:
        share.credit_to_open_bills_paise = result.credit_to_open_bills_paise
    if result.carried_paise:
        share.credit_carried_paise = result.carried_paise
    share.arrears_paise = result.arrears_paise
    share.arrears_surcharge_paise = result.arrears_surcharge_paise
    arrears: list[Any] = sorted((b.bill_id for b in result.arrears), key=order.index)
    share.arrears_bill_ids = arrears or None
    if result.total_paise == 0:
        # Nothing to pay on this bill: settled by credit, never by a (negative) payment.
        share.status = BILL_PAID
        share.paid_at = share.issued_at


def _credit_update(item: _Open, now: datetime) -> tuple[list[Any], Condition]:
    bill = item.record
    original_total = int(bill.total_paise)
    surcharge = int(bill.late_surcharge_paise or 0)
    applied = (original_total - item.total) + (surcharge - item.surcharge)
    actions: list[Any] = [
        BillRecord.charges_paise.set(BillRecord.charges_paise | original_total),
        BillRecord.total_paise.set(item.total),
        BillRecord.total.set(f"{from_paise(item.total):.2f}"),
        BillRecord.credit_applied_paise.set(int(bill.credit_applied_paise or 0) + applied),
        BillRecord.credit_applied_from.set(_texts(bill.credit_applied_from, item.applied_from)),
    ]
    if bill.late_surcharge_paise is not None:
        actions.append(BillRecord.late_surcharge_paise.set(item.surcharge))
    if item.total + item.surcharge == 0:
        actions += BillRecord.status_actions(BILL_PAID, bill.bill_id)
        actions += [BillRecord.paid_at.set(now),
                    BillRecord.payment_id.set(CREDIT_PAYMENT_PREFIX + item.applied_from[-1])]
        if bill.in_arrears_paise is not None:
            actions.append(BillRecord.in_arrears_paise.remove())
    elif bill.in_arrears_paise is not None:
        actions.append(BillRecord.in_arrears_paise.set(item.total + item.surcharge))
    unchanged = (BillRecord.status == bill.status) & (BillRecord.total_paise == original_total)
    unchanged &= same_arrears(bill)
    unchanged &= (BillRecord.late_surcharge_paise.does_not_exist()
                  if bill.late_surcharge_paise is None
                  else BillRecord.late_surcharge_paise == surcharge)
    return actions, unchanged


def _texts(*lists: Any) -> Any:
    """Lists of ids joined, for a ListAttribute of text."""
    return [text for values in lists for text in (values or [])]
