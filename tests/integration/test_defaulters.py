"""Overdue bills, the late-payment surcharge, defaulters and the CSV export,
over HTTP against the emulator.

The tables are shared with other tests, so every assertion looks at this
test's own payers and bills."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from functions.core.paging import encode_cursor
from tests.fixtures.stack import create_user
from tests.integration.payments_support import (
    bill_status,
    make_bill,
    sweep_overdue,
    today_ist,
)

pytestmark = pytest.mark.integration


def mine(admin_client, *payers, **query):
    """This test's payers on the defaulters list, following its pages; the whole list
    comes largest amount first, across shards and pages."""
    ids = {p.user_id for p in payers}
    found: dict[str, dict[str, Any]] = {}
    amounts: list[Decimal] = []
    cursor = None
    for _ in range(100):
        params = {**query, "limit": "200", **({"cursor": cursor} if cursor else {})}
        response = admin_client.get("/admin/defaulters", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        found |= {d["payer_id"]: d for d in page["defaulters"] if d["payer_id"] in ids}
        amounts += [Decimal(d["total_due"]) for d in page["defaulters"]]
        cursor = page["cursor"]
        if not cursor:
            assert amounts == sorted(amounts, reverse=True), amounts
            return found
    raise AssertionError("more than 100 pages of defaulters")


def test_a_bill_past_its_due_date_goes_overdue_once_with_its_surcharge(stack, customer, admin):
    user, client = customer
    _, admin_client = admin
    today = today_ist()
    late = make_bill(user.user_id, total="1500.00", surcharge_percent="2",
                     due=today - timedelta(days=1))
    due_today = make_bill(user.user_id, total="700.00", due=today)
    paid = make_bill(user.user_id, total="100.00", status="paid", due=today - timedelta(days=9))

    run = sweep_overdue(admin_client)  # 202: queued, one step per shard; waits for them
    assert run["as_of"] == today.isoformat() and run["shards_queued"] == 32

    record = bill_status(late.bill_id)
    assert record.status == "overdue" and record.late_surcharge_paise == 3000
    assert bill_status(due_today.bill_id).status == "issued"  # due today is still on time
    assert bill_status(paid.bill_id).status == "paid"

    balance = client.get("/me/balance").json()
    by_id = {b["bill_id"]: b for b in balance["bills"]}
    assert by_id[late.bill_id]["late_surcharge"] == "30.00"
    assert by_id[late.bill_id]["amount_due"] == "1530.00"
    assert by_id[late.bill_id]["status"] == "overdue"
    assert balance["outstanding"] == "2230.00" and balance["overdue"] == "1530.00"
    assert balance["outstanding_paise"] == 223000

    # (A sweep delivered or run again adds nothing: test_overdue_sweep.py.)
    notices = [m for m in stack.wait_for_emails(user.email, "Overdue")  # queued: it follows
               if m["subject"].startswith("Overdue")]
    assert len(notices) == 1
    assert "₹1,530.00" in notices[0]["body"] and "₹30.00" in notices[0]["body"]

    # The payer is charged the amount due now.
    order = client.post(f"/bills/{late.bill_id}/pay", json={"method": "upi"}).json()
    assert order["amount"] == "1530.00"


def test_defaulters_list_and_its_filters(stack, admin):
    _, admin_client = admin
    today = today_ist()
    asha = create_user("customer", name="Asha Verma")
    ravi = create_user("customer", name="Ravi Kumar")
    on_time = create_user("customer", name="Punctual Payer")
    a1 = make_bill(asha.user_id, total="1500.00", period="2026-08", category="residential",
                   due=today - timedelta(days=40))
    a2 = make_bill(asha.user_id, total="300.00", period="2026-09", category="commercial",
                   due=today - timedelta(days=10), surcharge_percent="1.5")
    r1 = make_bill(ravi.user_id, total="200.00", period="2026-09", category="residential",
                   due=today - timedelta(days=5))
    make_bill(on_time.user_id, total="900.00", due=today + timedelta(days=3))
    make_bill(on_time.user_id, total="900.00", due=today - timedelta(days=3), status="paid")
    # Past due but not swept yet: not on the list (the list is the payers' arrears).
    assert mine(admin_client, asha, ravi) == {}
    sweep_overdue(admin_client)

    def listing(**query):
        return mine(admin_client, asha, ravi, on_time, **query)

    everyone = listing()
    assert set(everyone) == {asha.user_id, ravi.user_id}
    assert everyone[asha.user_id]["name"] == "Asha Verma"
    assert everyone[asha.user_id]["email"] == asha.email
    assert everyone[asha.user_id]["total_due"] == "1834.50"  # 1530.00 + 300.00 + 4.50
    assert everyone[asha.user_id]["bill_count"] == 2
    assert everyone[asha.user_id]["max_days_overdue"] == 40
    assert everyone[asha.user_id]["oldest_due_date"] == a1.due_date
    assert everyone[ravi.user_id]["total_due"] == "204.00"  # 200.00 + 2%

    # One payer's bills, read for that payer only (with the period and category filters).
    detail = admin_client.get(f"/admin/defaulters/{asha.user_id}").json()
    bills = {b["bill_id"]: b for b in detail["bills"]}
    assert bills[a1.bill_id]["amount_due"] == "1530.00"
    assert bills[a2.bill_id]["late_surcharge"] == "4.50"
    assert bills[a2.bill_id]["days_overdue"] == 10
    assert bills[a2.bill_id]["address"].endswith("New Delhi, Delhi, 110001")
    only = admin_client.get(f"/admin/defaulters/{asha.user_id}",
                            params={"period": "2026-09"}).json()["bills"]
    assert [b["bill_id"] for b in only] == [a2.bill_id]
    only = admin_client.get(f"/admin/defaulters/{asha.user_id}",
                            params={"category": "residential"}).json()["bills"]
    assert [b["bill_id"] for b in only] == [a1.bill_id]
    assert r1.bill_id in {b["bill_id"] for b in admin_client.get(
        f"/admin/defaulters/{ravi.user_id}").json()["bills"]}
    assert admin_client.get(f"/admin/defaulters/{on_time.user_id}").status_code == 404

    assert set(listing(min_days_overdue="6")) == {asha.user_id}
    assert set(listing(min_days_overdue="5")) == {asha.user_id, ravi.user_id}
    assert set(listing(min_amount="204.00")) == {asha.user_id, ravi.user_id}
    assert set(listing(min_amount="204.01")) == {asha.user_id}

    # A page holds at most `limit` payers; its cursor gives the next one.
    page = admin_client.get("/admin/defaulters", params={"limit": "1"}).json()
    assert page["count"] == len(page["defaulters"]) <= 1 and page["cursor"]

    for bad in ({"period": "2026-08"}, {"category": "residential"}, {"min_amount": "-1"},
                {"min_amount": "ten"}, {"min_days_overdue": "-2"}, {"sort": "name"},
                {"limit": "0"}, {"limit": "201"}, {"cursor": "not-a-cursor"}):
        response = admin_client.get("/admin/defaulters", params=bad)
        assert response.status_code == 400, (bad, response.text)


def test_paying_an_overdue_bill_takes_the_payer_off_the_list(stack, customer, admin):
    user, client = customer
    _, admin_client = admin
    bill = make_bill(user.user_id, total="250.00", due=today_ist() - timedelta(days=2))
    sweep_overdue(admin_client)
    assert user.user_id in mine(admin_client, user)

    paid = admin_client.post(f"/admin/bills/{bill.bill_id}/offline-payments",
                             json={"method": "cash", "reference": "COUNTER-9"})
    assert paid.status_code == 201, paid.text
    assert paid.json()["amount"] == "255.00"  # 250.00 + 2% surcharge
    assert user.user_id not in mine(admin_client, user)
    assert client.get("/me/balance").json()["outstanding"] == "0.00"


def test_defaulters_csv_export(stack, admin):
    _, admin_client = admin
    today = today_ist()
    sneaky = create_user("customer", name="=HYPERLINK(\"http://evil.example\",\"pay\")")
    plain = create_user("customer", name="Meera, Iyer")
    s1 = make_bill(sneaky.user_id, total="1234.50", period="2026-07",
                   due=today - timedelta(days=30), city="@Gurugram")
    p1 = make_bill(plain.user_id, total="99.99", period="2026-07", category="commercial",
                   due=today - timedelta(days=3), surcharge_percent="0")
    sweep_overdue(admin_client)

    # Page by page (the list's cursor, given in X-Next-Cursor and Link) until both appear.
    by_bill: dict[str, dict[str, str]] = {}
    header, cursor, pages = None, None, 0
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        response = admin_client.get("/admin/defaulters/csv", params=params)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in response.headers["Content-Disposition"]
        assert response.text.endswith("\r\n")
        rows = list(csv.reader(io.StringIO(response.text)))
        header = rows[0]
        by_bill |= {row[4]: dict(zip(header, row, strict=True)) for row in rows[1:]}
        pages += 1
        cursor = response.headers.get("X-Next-Cursor")
        if not cursor:
            assert "Link" not in response.headers
            break
        assert f"cursor={cursor}" in response.headers["Link"] and 'rel="next"' in \
            response.headers["Link"]
        assert pages < 100
    assert header == ["payer_id", "payer_name", "payer_email", "payer_mobile", "bill_id",
                      "property_id", "address", "category", "period", "status",
                      "bill_total_inr", "late_surcharge_inr", "amount_due_inr",
                      "due_date_ist", "days_overdue"]

    evil = by_bill[s1.bill_id]
    assert evil["payer_name"] == "'=HYPERLINK(\"http://evil.example\",\"pay\")"
    assert evil["payer_mobile"] == "'" + sneaky.mobile  # "+91..." would be a formula too
    assert evil["bill_total_inr"] == "1234.50"
    assert evil["late_surcharge_inr"] == "24.69"  # 2% of 1234.50, half up
    assert evil["amount_due_inr"] == "1259.19"
    assert evil["due_date_ist"] == (today - timedelta(days=30)).isoformat()
    assert evil["days_overdue"] == "30"
    assert "@Gurugram" in evil["address"] and not evil["address"].startswith("'")

    meera = by_bill[p1.bill_id]
    assert meera["payer_name"] == "Meera, Iyer"  # quoted by the CSV writer, not split
    assert meera["late_surcharge_inr"] == "0.00" and meera["amount_due_inr"] == "99.99"
    assert meera["category"] == "commercial"


def test_a_cursor_past_the_lists_end_gives_an_empty_last_page(stack, admin):
    # Past the smallest amount listed (owed >= ₹0.01): no query, nothing left to give.
    cursor = encode_cursor(0, {"after": ["0", "usr_past_the_end"]})
    response = admin[1].get("/admin/defaulters", params={"cursor": cursor})
    assert response.status_code == 200, response.text
    assert response.json()["defaulters"] == [] and response.json()["cursor"] is None
