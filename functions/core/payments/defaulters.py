"""Defaulters: payers who owe on overdue bills, a page at a time.

The list reads the payers' arrears items (functions/core/bills/arrears.py: what
each payer owes on overdue bills, kept in the bills' own transactions) through
their sharded `by_owed` index, one page per request: 32 queries of at most `limit`
items (50 at most), whatever the size of the fleet, merged into one order over
all payers: largest amount first (paging.merged_tied_page: equal amounts are never
split between pages). `min_amount` is a key condition
(payers owing less are never read); `min_days_overdue` applies to the page's items
(their oldest overdue bill), so a page may hold fewer than `limit` payers and
still have a next page. A period or category filter belongs to one payer's bills:
GET /admin/defaulters/{payer_id} reads that payer's overdue bills by key.

A bill counts once the overdue sweep has marked it (every night at midnight IST,
or when an admin runs it): a bill past due but not yet swept is not on the list.

CSV export: the same pages (same query and cursor), one row per overdue bill of
the page's payers (read by key from the payers' items), with a header row,
amounts in rupees with two decimals, dates as IST calendar dates, and every cell
made safe for spreadsheets (see `safe_cell`). The next page's cursor comes in the
`X-Next-Cursor` header and a `Link: <...>; rel="next"` header.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from functions.core.accounts.models import UserRecord
from functions.core.billing_rules import ist_date
from functions.core.bills.arrears import ArrearsRecord, ArrearsRepository
from functions.core.bills.models import BILL_OVERDUE, BillRecord
from functions.core.bills.repository import BillRepository
from functions.core.errors import NotFound
from functions.core.money import from_paise, sum_money, to_paise
from functions.core.payments.repositories import properties_by_id, users_by_id
from functions.core.payments.schemas import (
    Defaulter,
    DefaulterBill,
    DefaulterBillsQuery,
    DefaulterDetail,
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

UserLoader = Callable[[set[str]], dict[str, UserRecord]]
PropertyLoader = Callable[[set[str]], dict[str, PropertyRecord]]


def list_defaulters(query: DefaulterQuery, now: datetime,
                    arrears: ArrearsRepository | None = None,
                    load_users: UserLoader = users_by_id) -> tuple[DefaulterList,
                                                                    list[ArrearsRecord]]:
    """One page of defaulters (and the arrears items behind it, for the CSV)."""
    arrears = arrears or ArrearsRepository()
    today = ist_date(now)
    minimum = to_paise(query.min_amount) if query.min_amount is not None else 1
    page = arrears.owed_page(query.cursor, query.limit, minimum)
    items = [a for a in page.items if int(a.owed_paise) > 0 and a.bills
             and _old_enough(a, today, query.min_days_overdue)]
    users = load_users({a.payer_id for a in items}) if items else {}
    defaulters = [defaulter_row(a, today, users.get(a.payer_id)) for a in items]
    return DefaulterList(as_of=today, count=len(defaulters),
                         total_due=sum_money(d.total_due for d in defaulters),
                         defaulters=defaulters, cursor=page.cursor), items


def defaulter_row(item: ArrearsRecord, today: date, user: UserRecord | None) -> Defaulter:
    oldest = item.oldest_due
    return Defaulter(
        payer_id=item.payer_id, name=user.name if user else None,
        email=user.email if user else None, mobile=user.mobile if user else None,
        total_due=from_paise(int(item.owed_paise)), bill_count=item.bill_count,
        oldest_due_date=oldest, max_days_overdue=(today - oldest).days if oldest else 0)


def defaulter_detail(payer_id: str, query: DefaulterBillsQuery, now: datetime,
                     arrears: ArrearsRepository | None = None,
                     bills: BillRepository | None = None,
                     load_users: UserLoader = users_by_id,
                     load_properties: PropertyLoader = properties_by_id) -> DefaulterDetail:
    """One payer's overdue bills, read by key from their arrears item (the payer's own
    bills only), optionally only one period's or category's."""
    item = (arrears or ArrearsRepository()).get(payer_id)
    if item is None or int(item.owed_paise) <= 0 or not item.bills:
        raise NotFound("This payer owes nothing on overdue bills.")
    today = ist_date(now)
    user = load_users({payer_id}).get(payer_id)
    rows = _bill_rows([item], today, bills or BillRepository(), load_properties)
    chosen = [r for r in rows.get(payer_id, [])
              if (query.period is None or r.period == query.period)
              and (query.category is None or r.category == query.category)]
    return DefaulterDetail(**defaulter_row(item, today, user).model_dump(), bills=chosen)


def defaulters_csv_page(query: DefaulterQuery, now: datetime,
                        bills: BillRepository | None = None,
                        load_properties: PropertyLoader = properties_by_id,
                        ) -> tuple[str, DefaulterList]:
    """The CSV of one page of defaulters: a row per overdue bill of its payers."""
    listing, items = list_defaulters(query, now)
    rows = _bill_rows(items, listing.as_of, bills or BillRepository(), load_properties)
    return defaulters_csv(listing, rows), listing


def _bill_rows(items: list[ArrearsRecord], today: date, bills: BillRepository,
               load_properties: PropertyLoader) -> dict[str, list[DefaulterBill]]:
    """The items' overdue bills, by key (BatchGetItem, 100 a call), by payer."""
    wanted = [bill_id for item in items for bill_id in item.bill_ids]
    found = [b for b in bills.get_many(wanted) if b.status == BILL_OVERDUE] if wanted else []
    properties = load_properties({b.property_id for b in found}) if found else {}
    by_payer: dict[str, list[DefaulterBill]] = {}
    for bill in sorted(found, key=lambda b: (b.due_date, b.bill_id)):
        by_payer.setdefault(bill.payer_id, []).append(
            defaulter_bill(bill, today, properties.get(bill.property_id)))
    return by_payer


def defaulter_bill(bill: BillRecord, today: date, prop: PropertyRecord | None) -> DefaulterBill:
    surcharge = int(bill.late_surcharge_paise or 0)
    return DefaulterBill(
        bill_id=bill.bill_id, property_id=bill.property_id, address=_address(prop),
        category=bill.category, period=bill.period, status=bill.status,
        total=bill.amount, late_surcharge=from_paise(surcharge),
        amount_due=from_paise(int(bill.total_paise) + surcharge),
        due_date=date.fromisoformat(bill.due_date), days_overdue=days_overdue(bill, today),
    )


def days_overdue(bill: BillRecord, today: date) -> int:
    """Whole IST days since the due date (1 on the day after it)."""
    return (today - date.fromisoformat(bill.due_date)).days


def _old_enough(item: ArrearsRecord, today: date, min_days: int | None) -> bool:
    oldest = item.oldest_due
    return min_days is None or (oldest is not None and (today - oldest).days >= min_days)


def defaulters_csv(listing: DefaulterList, bills: dict[str, list[DefaulterBill]]) -> str:
    rows: list[list[Any]] = []
    for defaulter in listing.defaulters:
        for bill in bills.get(defaulter.payer_id, []):
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


def _address(prop: PropertyRecord | None) -> str | None:
    if prop is None:
        return None
    parts = [prop.line1, prop.line2, prop.city, prop.state, prop.pincode]
    return ", ".join(p for p in parts if p)
