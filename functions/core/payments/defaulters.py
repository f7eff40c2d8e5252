"""Defaulters: payers with bills unpaid after their due date.

A bill counts once its IST due date has passed, whether or not the overdue
scan has marked it yet (a bill still "issued" but past due shows the surcharge
it is about to get, flagged `surcharge_pending`), so the list never lags the
schedule. Filters apply to bills (period, category, days overdue); `min_amount`
then applies to what each payer owes on the bills that are left.

CSV export: one row per overdue bill, with a header row, amounts in rupees with
two decimals, dates as IST calendar dates, and every cell made safe for
spreadsheets (see `safe_cell`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from functions.core.accounts.models import UserRecord
from functions.core.billing_rules import ist_date
from functions.core.bills.models import BILL_ISSUED, BILL_OVERDUE, BillRecord
from functions.core.bills.repository import BillRepository
from functions.core.money import from_paise, sum_money
from functions.core.payments.overdue import surcharge_paise
from functions.core.payments.repositories import properties_by_id, users_by_id
from functions.core.payments.schemas import (
    Defaulter,
    DefaulterBill,
    DefaulterList,
    DefaulterQuery,
)
from functions.core.properties.models import PropertyRecord

# OWASP "CSV injection": a cell starting with one of these is a formula in Excel,
# LibreOffice and Google Sheets (tab and carriage return too, as separators).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = ("payer_id", "payer_name", "payer_email", "payer_mobile", "bill_id",
               "property_id", "address", "category", "period", "status", "bill_total_inr",
               "late_surcharge_inr", "amount_due_inr", "due_date_ist", "days_overdue")


def list_defaulters(query: DefaulterQuery, now: datetime,
                    bills: BillRepository | None = None,
                    load_users: Callable[[set[str]], dict[str, UserRecord]] = users_by_id,
                    load_properties: Callable[[set[str]], dict[str, PropertyRecord]] = (
                        properties_by_id),
                    ) -> DefaulterList:
    bills = bills or BillRepository()
    today = ist_date(now)
    past_due = [*bills.with_status(BILL_OVERDUE),
                *bills.with_status(BILL_ISSUED, due_before=today)]
    selected = [b for b in past_due if _matches(b, query, today)]
    properties = load_properties({b.property_id for b in selected}) if selected else {}

    by_payer: dict[str, list[DefaulterBill]] = {}
    for bill in selected:
        by_payer.setdefault(bill.payer_id, []).append(
            defaulter_bill(bill, today, properties.get(bill.property_id)))
    if query.min_amount is not None:
        minimum = query.min_amount
        by_payer = {payer: rows for payer, rows in by_payer.items()
                    if sum_money(r.amount_due for r in rows) >= minimum}
    users = load_users(set(by_payer)) if by_payer else {}

    defaulters = [_defaulter(payer, rows, users.get(payer)) for payer, rows in by_payer.items()]
    defaulters.sort(key=lambda d: (-d.total_due, -d.max_days_overdue, d.payer_id))
    return DefaulterList(as_of=today, count=len(defaulters),
                         total_due=sum_money(d.total_due for d in defaulters),
                         defaulters=defaulters)


def defaulter_bill(bill: BillRecord, today: date, prop: PropertyRecord | None) -> DefaulterBill:
    pending = bill.status == BILL_ISSUED
    surcharge = surcharge_paise(bill) if pending else int(bill.late_surcharge_paise or 0)
    return DefaulterBill(
        bill_id=bill.bill_id, property_id=bill.property_id, address=_address(prop),
        category=bill.category, period=bill.period, status=bill.status,
        total=bill.amount, late_surcharge=from_paise(surcharge), surcharge_pending=pending,
        amount_due=from_paise(int(bill.total_paise) + surcharge),
        due_date=date.fromisoformat(bill.due_date), days_overdue=days_overdue(bill, today),
    )


def days_overdue(bill: BillRecord, today: date) -> int:
    """Whole IST days since the due date (1 on the day after it)."""
    return (today - date.fromisoformat(bill.due_date)).days


def defaulters_csv(listing: DefaulterList) -> str:
    rows: list[list[Any]] = []
    for defaulter in listing.defaulters:
        for bill in defaulter.bills:
            rows.append([
                defaulter.payer_id, defaulter.name, defaulter.email, defaulter.mobile,
                bill.bill_id, bill.property_id, bill.address, bill.category, bill.period,
                bill.status, f"{bill.total:.2f}", f"{bill.late_surcharge:.2f}",
                f"{bill.amount_due:.2f}", bill.due_date.isoformat(), bill.days_overdue,
            ])
    return to_csv(CSV_COLUMNS, rows)


def to_csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """RFC 4180 CSV (CRLF line ends, quotes where needed), every cell `safe_cell`ed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def safe_cell(value: Any) -> str:
    """Text for one CSV cell that a spreadsheet will not run as a formula: a
    leading = + - @ (or tab / CR) gets a single quote in front. Numbers we
    write ourselves are never negative here, so amounts stay numeric."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def _matches(bill: BillRecord, query: DefaulterQuery, today: date) -> bool:
    if query.period is not None and bill.period != query.period:
        return False
    if query.category is not None and bill.category != query.category:
        return False
    overdue_days = days_overdue(bill, today)
    if overdue_days <= 0:
        return False  # not past due yet (an "overdue" bill always is; belt and braces)
    return query.min_days_overdue is None or overdue_days >= query.min_days_overdue


def _defaulter(payer_id: str, rows: list[DefaulterBill], user: UserRecord | None) -> Defaulter:
    rows.sort(key=lambda r: (r.due_date, r.bill_id))
    return Defaulter(
        payer_id=payer_id, name=user.name if user else None, email=user.email if user else None,
        mobile=user.mobile if user else None, bills=rows,
        total_due=sum_money(r.amount_due for r in rows),
        max_days_overdue=max(r.days_overdue for r in rows),
    )


def _address(prop: PropertyRecord | None) -> str | None:
    if prop is None:
        return None
    parts = [prop.line1, prop.line2, prop.city, prop.state, prop.pincode]
    return ", ".join(p for p in parts if p)
