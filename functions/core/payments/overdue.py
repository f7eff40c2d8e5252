"""Bills past their due date become overdue, with the late-payment surcharge.

`mark_overdue(now)` is safe to run at any time and any number of times (an
admin route runs it, and a daily schedule can): it scans bills still in status
"issued" whose IST due date is before today's IST date (the bills table's
by_status index, so only those bills are read), and moves each to "overdue"
with a conditional update (issued -> overdue). The surcharge, the tariff's
`late_payment_surcharge_percent` of the bill total (recorded on the bill when it
was priced), is therefore added exactly once, as its own amount
(`late_surcharge_paise`); the amount due becomes total + surcharge. A bill paid
meanwhile fails the condition and is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from functions.core.accounts.users import UserRepository
from functions.core.billing_rules import ist_date, late_payment_surcharge
from functions.core.bills.models import BILL_ISSUED, BillRecord
from functions.core.bills.repository import BillRepository
from functions.core.logs import logger
from functions.core.money import to_paise
from functions.core.notify import send_email
from functions.core.payments.receipts import overdue_email


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
                 mailer: Callable[[str, str, str], Any] = send_email) -> OverdueRun:
    """Move every issued bill past its due date to overdue; email each payer once."""
    bills = bills or BillRepository()
    users = users or UserRepository()
    today = ist_date(now)
    marked: list[str] = []
    for bill in bills.with_status(BILL_ISSUED, due_before=today):
        surcharge = surcharge_paise(bill)
        if not bills.mark_overdue(bill.bill_id, surcharge, now):
            continue  # paid (or marked) since the scan read it
        marked.append(bill.bill_id)
        _tell_payer(bill, surcharge, users, mailer)
    logger.info("overdue scan", extra={"as_of": today.isoformat(), "marked": len(marked)})
    return OverdueRun(as_of=today, bill_ids=marked)


def _tell_payer(bill: BillRecord, surcharge: int, users: UserRepository,
                mailer: Callable[[str, str, str], Any]) -> None:
    # The status change is what matters; a failed email must not stop the scan.
    try:
        payer = users.get(bill.payer_id)
        if payer is None:
            return
        subject, text = overdue_email(name=payer.name, bill_id=bill.bill_id,
                                      period=bill.period,
                                      due=date.fromisoformat(bill.due_date),
                                      total_paise=int(bill.total_paise),
                                      surcharge_paise=surcharge)
        mailer(payer.email, subject, text)
    except Exception:
        logger.exception("overdue email failed", extra={"bill_id": bill.bill_id})
