"""Overdue bills, the late-payment surcharge, defaulters and the CSV export,
over HTTP against the emulator.

The tables are shared with other tests, so every assertion looks at this
test's own payers and bills."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from tests.fixtures.stack import create_user
from tests.integration.payments_support import bill_status, make_bill, today_ist

pytestmark = pytest.mark.integration


def mine(listing, *payers):
    ids = {p.user_id for p in payers}
    return {d["payer_id"]: d for d in listing["defaulters"] if d["payer_id"] in ids}


def test_a_bill_past_its_due_date_goes_overdue_once_with_its_surcharge(stack, customer, admin):
    user, client = customer
    _, admin_client = admin
    today = today_ist()
    late = make_bill(user.user_id, total="1500.00", surcharge_percent="2",
                     due=today - timedelta(days=1))
    due_today = make_bill(user.user_id, total="700.00", due=today)
    paid = make_bill(user.user_id, total="100.00", status="paid", due=today - timedelta(days=9))

    run = admin_client.post("/admin/bills/mark-overdue")
    assert run.status_code == 200, run.text
    assert run.json()["as_of"] == today.isoformat()
    assert late.bill_id in run.json()["bill_ids"]
    assert due_today.bill_id not in run.json()["bill_ids"]  # due today is still on time
    assert paid.bill_id not in run.json()["bill_ids"]

    record = bill_status(late.bill_id)
    assert record.status == "overdue" and record.late_surcharge_paise == 3000
    assert bill_status(due_today.bill_id).status == "issued"
    assert bill_status(paid.bill_id).status == "paid"

    balance = client.get("/me/balance").json()
    by_id = {b["bill_id"]: b for b in balance["bills"]}
    assert by_id[late.bill_id]["late_surcharge"] == "30.00"
    assert by_id[late.bill_id]["amount_due"] == "1530.00"
    assert by_id[late.bill_id]["status"] == "overdue"
    assert balance["outstanding"] == "2230.00" and balance["overdue"] == "1530.00"
    assert balance["outstanding_paise"] == 223000

    # Running it again adds nothing: the surcharge is charged once.
    again = admin_client.post("/admin/bills/mark-overdue").json()
    assert late.bill_id not in again["bill_ids"]
    assert bill_status(late.bill_id).late_surcharge_paise == 3000
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
                   due=today - timedelta(days=40), status="overdue")
    a1.update(actions=[type(a1).late_surcharge_paise.set(3000)])
    # Past due but not yet marked: listed, with the surcharge it is about to get.
    a2 = make_bill(asha.user_id, total="300.00", period="2026-09", category="commercial",
                   due=today - timedelta(days=10), surcharge_percent="1.5")
    r1 = make_bill(ravi.user_id, total="200.00", period="2026-09", category="residential",
                   due=today - timedelta(days=5))
    make_bill(on_time.user_id, total="900.00", due=today + timedelta(days=3))
    make_bill(on_time.user_id, total="900.00", due=today - timedelta(days=3), status="paid")

    def listing(**query):
        response = admin_client.get("/admin/defaulters", params=query)
        assert response.status_code == 200, response.text
        return mine(response.json(), asha, ravi, on_time)

    everyone = listing()
    assert set(everyone) == {asha.user_id, ravi.user_id}
    assert everyone[asha.user_id]["name"] == "Asha Verma"
    assert everyone[asha.user_id]["email"] == asha.email
    assert everyone[asha.user_id]["total_due"] == "1834.50"  # 1530.00 + 300.00 + 4.50
    assert everyone[asha.user_id]["max_days_overdue"] == 40
    bills = {b["bill_id"]: b for b in everyone[asha.user_id]["bills"]}
    assert bills[a1.bill_id]["amount_due"] == "1530.00"
    assert bills[a1.bill_id]["surcharge_pending"] is False
    assert bills[a2.bill_id]["late_surcharge"] == "4.50"
    assert bills[a2.bill_id]["surcharge_pending"] is True
    assert bills[a2.bill_id]["days_overdue"] == 10
    assert bills[a2.bill_id]["address"].endswith("New Delhi, Delhi, 110001")
    assert everyone[ravi.user_id]["total_due"] == "204.00"  # 200.00 + 2% about to apply

    assert set(listing(period="2026-09")) == {asha.user_id, ravi.user_id}
    assert [b["bill_id"] for b in listing(period="2026-09")[asha.user_id]["bills"]] == [
        a2.bill_id]
    assert set(listing(period="2026-08")) == {asha.user_id}
    assert set(listing(category="commercial")) == {asha.user_id}
    assert set(listing(category="residential")) == {asha.user_id, ravi.user_id}
    assert set(listing(min_days_overdue="6")) == {asha.user_id}
    assert set(listing(min_days_overdue="5")) == {asha.user_id, ravi.user_id}
    assert set(listing(min_amount="204.00")) == {asha.user_id, ravi.user_id}
    assert set(listing(min_amount="204.01")) == {asha.user_id}
    # min_amount applies to what is left after the other filters: 304.50 in commercial.
    assert set(listing(min_amount="400", category="commercial")) == set()
    assert r1.bill_id in {b["bill_id"] for b in listing()[ravi.user_id]["bills"]}

    for bad in ({"period": "2026-13"}, {"category": "industrial"}, {"min_amount": "-1"},
                {"min_amount": "ten"}, {"min_days_overdue": "-2"}, {"sort": "name"}):
        response = admin_client.get("/admin/defaulters", params=bad)
        assert response.status_code == 400, (bad, response.text)


def test_paying_an_overdue_bill_takes_the_payer_off_the_list(stack, customer, admin):
    user, client = customer
    _, admin_client = admin
    bill = make_bill(user.user_id, total="250.00", due=today_ist() - timedelta(days=2))
    admin_client.post("/admin/bills/mark-overdue")
    assert user.user_id in mine(admin_client.get("/admin/defaulters").json(), user)

    paid = admin_client.post(f"/admin/bills/{bill.bill_id}/offline-payments",
                             json={"method": "cash", "reference": "COUNTER-9"})
    assert paid.status_code == 201, paid.text
    assert paid.json()["amount"] == "255.00"  # 250.00 + 2% surcharge
    assert user.user_id not in mine(admin_client.get("/admin/defaulters").json(), user)
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

    response = admin_client.get("/admin/defaulters/csv", params={"period": "2026-07"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.text.endswith("\r\n")

    rows = list(csv.reader(io.StringIO(response.text)))
    header, body = rows[0], rows[1:]
    assert header == ["payer_id", "payer_name", "payer_email", "payer_mobile", "bill_id",
                      "property_id", "address", "category", "period", "status",
                      "bill_total_inr", "late_surcharge_inr", "amount_due_inr",
                      "due_date_ist", "days_overdue"]
    by_bill = {row[4]: dict(zip(header, row, strict=True)) for row in body}
    assert all(row["period"] == "2026-07" for row in by_bill.values())

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
