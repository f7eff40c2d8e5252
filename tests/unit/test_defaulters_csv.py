"""CSV export of defaulters: header, rupee amounts, IST dates, injection-safe cells."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from functions.core.payments.defaulters import CSV_COLUMNS, defaulters_csv, safe_cell, to_csv
from functions.core.payments.schemas import Defaulter, DefaulterBill, DefaulterList
from functions.core.payments.service import offline_payment_id


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+2", "'=1+2"), ("+91 98765 43210", "'+91 98765 43210"), ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("Asha Verma", "Asha Verma"), ("a=b", "a=b"), ("", ""), (None, ""), (42, "42"),
    ("'quoted", "'quoted"),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_to_csv_has_a_header_and_quotes_where_needed():
    text = to_csv(["name", "note"], [["Meera, Iyer", 'said "hi"'], ["=cmd", "line\nbreak"]])
    assert text.splitlines()[0] == "name,note"
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["name", "note"], ["Meera, Iyer", 'said "hi"'], ["'=cmd", "line\nbreak"]]


def test_defaulters_csv_rows():
    bill = DefaulterBill(
        bill_id="BILL-p1-2026-09", property_id="p1", address="12 Rajpath, New Delhi",
        category="residential", period="2026-09", status="overdue", total=Decimal("1500"),
        late_surcharge=Decimal("30.00"), amount_due=Decimal("1530"),
        due_date=date(2026, 10, 15), days_overdue=12)
    listing = DefaulterList(as_of=date(2026, 10, 27), count=1, total_due=Decimal("1530.00"),
                            defaulters=[Defaulter(
                                payer_id="usr_1", name="@Admin", email="a@example.in",
                                mobile="+919876543210", bill_count=1,
                                oldest_due_date=date(2026, 10, 15),
                                total_due=Decimal("1530.00"), max_days_overdue=12)])
    rows = list(csv.reader(io.StringIO(defaulters_csv(listing, {"usr_1": [bill]}))))
    assert tuple(rows[0]) == CSV_COLUMNS
    row = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert row["payer_name"] == "'@Admin"
    assert row["payer_mobile"] == "'+919876543210"
    assert (row["bill_total_inr"], row["late_surcharge_inr"], row["amount_due_inr"]) == (
        "1500.00", "30.00", "1530.00")
    assert row["due_date_ist"] == "2026-10-15" and row["days_overdue"] == "12"
    assert len(rows) == 2


def test_the_same_cash_receipt_recorded_twice_is_one_payment():
    one = offline_payment_id("BILL-p1-2026-09", "cash", "RCPT 77")
    assert one == offline_payment_id("BILL-p1-2026-09", "cash", "rcpt   77")
    assert one != offline_payment_id("BILL-p1-2026-09", "cheque", "RCPT 77")
    assert one != offline_payment_id("BILL-p2-2026-09", "cash", "RCPT 77")
