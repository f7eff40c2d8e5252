"""Bills past their due date become overdue, with the late-payment surcharge.

`mark_overdue(now)` is safe to run at any time and any number of times (an
admin route runs it, and a daily schedule can): it scans bills still in status
"issued" whose IST due date is before today's IST date (the bills table's
by_status index, so only those bills are read), and moves each to "overdue"
with a conditional update (issued -> overdue). The surcharge, the tariff's
`late_payment_surcharge_percent` of the bill total (recorded on the bill when it
was priced), is therefore added exactly once, as its own amount
(`late_surcharge_paise`); the amount due becomes total + surcharge. A bill paid
meanwhile fails the condition and is left alone. The payer's notice goes through
the notifications outbox keyed by the bill (`bill_overdue#<bill id>`): once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from functions.core.accounts.users import UserRepository
from functions.core.billing_rules import ist_date, late_payment_surcharge
from functions.core.bills.models import BILL_ISSUED, BillRecord
from functions.core.bills.repository import BillRepository
from functions.core.logs import logger
from functions.core.money import to_paise
from functions.core.notifications.service import Notifications
from functions.core.payments.receipts import overdue_context


@dataclass(frozen=True)
class OverdueRun:
    as_of: date
    bill_ids: list[str]


def surcharge_paise(bill: BillRecord) -> int:
    """The late-payment surcharge this bill attracts (paise)."""
    percent = Decimal(bill.late_payment_surcharge_percent)
    return to_paise(late_payment_surcharge(bill.amount, percent))


def mark_overdue(now: datetime, bills: BillRepository | None = None,
                 users: UserRepository | None = None,
                 notifications: Notifications | None = None) -> OverdueRun:
    """Move every issued bill past its due date to overdue; email each payer once."""
    bills = bills or BillRepository()
    users = users or UserRepository()
    notifications = notifications or Notifications()
    today = ist_date(now)
    marked: list[str] = []
    for bill in bills.with_status(BILL_ISSUED, due_before=today):
        surcharge = surcharge_paise(bill)
        if not bills.mark_overdue(bill.bill_id, surcharge, now):
            continue  # paid (or marked) since the scan read it
        marked.append(bill.bill_id)
        _tell_payer(bill, surcharge, users, notifications)
    logger.info("overdue scan", extra={"as_of": today.isoformat(), "marked": len(marked)})
    return OverdueRun(as_of=today, bill_ids=marked)


def _tell_payer(bill: BillRecord, surcharge: int, users: UserRepository,
                notifications: Notifications) -> None:
    # The status change is what matters; a failed email must not stop the scan.
    try:
        payer = users.get(bill.payer_id)
        if payer is None:
            return
        notifications.queue_email(
            "bill_overdue", bill.bill_id, payer.email, topic="payment",
            recipient_id=payer.user_id, ref=bill.bill_id, **overdue_context(
                name=payer.name, bill_id=bill.bill_id, period=bill.period,
                due=date.fromisoformat(bill.due_date), total_paise=int(bill.total_paise),
                surcharge_paise=surcharge))
    except Exception:
        logger.exception("overdue email failed", extra={"bill_id": bill.bill_id})
