"""Consumer numbers and quick pay: every property gets a ten-digit consumer number once;
admins find a property by it; anyone pays that connection's bill with it, seeing only
the amount due, the due date and a masked name; a wrong check digit is refused with a
message; one client's lookups are limited, so the number space cannot be walked."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from functions.core.bills.models import BillRecord, bill_id_for
from functions.core.errors import InvalidInput, NotFound, RateLimited
from functions.core.money import rupees, to_paise
from functions.core.payments.quick_pay import LOOKUPS_PER_WINDOW, QuickPay
from functions.core.properties.consumer_numbers import display, is_valid
from tests.fixtures.stack import create_user
from tests.integration.meters_support import HOME
from tests.integration.payments_support import today_ist

pytestmark = pytest.mark.integration


def register(client, **changes):
    response = client.post("/properties", json={**HOME, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def bill_on(prop: dict, payer_id: str, period: str, total: str, status: str = "issued",
            due_in_days: int = 15) -> BillRecord:
    bill = BillRecord(
        bill_id=bill_id_for(prop["property_id"], period), property_id=prop["property_id"],
        consumer_number=prop["consumer_number"], period=period, payer_id=payer_id,
        owner_id=payer_id, meter_id="mtr_test", run_id="run_test", status=status,
        issued_at=datetime.now(UTC), due_date=(today_ist() + timedelta(days=due_in_days))
        .isoformat(), category="residential", tariff_name="Test tariff",
        tariff_version="residential@2026-04-01", sanctioned_load_kw="3",
        late_payment_surcharge_percent="2", units=300, share_first_day=f"{period}-01",
        share_last_day=f"{period}-28", total=total, total_paise=to_paise(rupees(total)))
    bill.save()
    return bill


def test_each_property_gets_its_own_consumer_number_and_admins_find_it(customer, admin):
    _, client = customer
    _, admin_client = admin
    first, second = register(client), register(client, line1="22 Mall Road")
    numbers = [first["consumer_number"], second["consumer_number"]]
    assert all(len(n) == 10 and is_valid(n) for n in numbers) and numbers[0] != numbers[1]
    # Assigned once: every later view shows the same number.
    assert client.get(f"/properties/{first['property_id']}").json()["consumer_number"] \
        == numbers[0]

    found = admin_client.get("/admin/properties",
                             params={"consumer_number": display(numbers[1])}).json()
    assert [p["property_id"] for p in found["properties"]] == [second["property_id"]]
    # Typed into the free-text search as printed on the bill: the same one property.
    typed = admin_client.get("/admin/properties", params={"q": display(numbers[0])}).json()
    assert [p["property_id"] for p in typed["properties"]] == [first["property_id"]]
    wrong = numbers[1][:-1] + str((int(numbers[1][-1]) + 1) % 10)
    refused = admin_client.get("/admin/properties", params={"consumer_number": wrong})
    assert refused.status_code == 400 and "not valid" in refused.json()["message"]


def test_quick_pay_shows_only_amount_due_date_and_masked_name(stack, fresh_rate_limits):
    owner = create_user("customer", name="Asha Rao")
    from functions.core.accounts.sessions import issue_session

    prop = register(stack.api.as_(issue_session(owner)))
    older = bill_on(prop, owner.user_id, "2026-09", "700.00", status="overdue", due_in_days=-5)
    bill_on(prop, owner.user_id, "2026-10", "800.00")
    public = stack.api.as_(None)

    answer = public.get(f"/quick-pay/{prop['consumer_number']}")
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    # The oldest unpaid bill first, and nothing that identifies more than the payer's initials.
    assert shown == {"consumer_number": prop["consumer_number"], "name": "A*** R**",
                     "amount_due": "700.00", "amount_due_display": "₹700.00",
                     "due_date": older.due_date, "due_date_display": shown["due_date_display"],
                     "overdue": True}

    order = public.post(f"/quick-pay/{prop['consumer_number']}/pay", json={"method": "upi"})
    assert order.status_code == 201, order.text
    assert order.json()["bill_id"] == older.bill_id and order.json()["amount"] == "700.00"

    wrong = prop["consumer_number"][:-2] + prop["consumer_number"][-1] \
        + prop["consumer_number"][-2]
    if wrong != prop["consumer_number"]:
        refused = public.get(f"/quick-pay/{wrong}")
        assert refused.status_code == 400
        assert "a digit is wrong or two digits are swapped" in refused.json()["message"]
    assert public.get("/quick-pay/1000000017").status_code in (404, 400)


def test_one_client_cannot_walk_the_number_space(stack, fresh_rate_limits):
    now = datetime(2026, 12, 7, 10, 0, 1, tzinfo=UTC)  # one fixed window
    quick = QuickPay(clock=lambda: now)
    refused = 0
    for serial in range(LOOKUPS_PER_WINDOW + 5):
        try:
            quick.lookup(f"12345678{serial:02d}", client="203.0.113.9")
        except RateLimited as limited:
            refused += 1
            assert limited.retry_after > 0
        except (InvalidInput, NotFound):  # a wrong check digit or no such number: counted
            continue
    assert refused == 5
    # Another client is not affected.
    with pytest.raises((InvalidInput, NotFound)):
        quick.lookup("1234567800", client="198.51.100.7")


def test_a_consumer_number_is_a_payment_reference_at_the_counter_and_in_upi(stack, admin):
    import requests

    from functions.core.accounts.sessions import issue_session
    from tests.integration.payments_support import bill_status, sandbox_url

    owner = create_user("customer", name="Ravi Patil", notify_by="email+sms")
    prop = register(stack.api.as_(issue_session(owner)))
    number = prop["consumer_number"]
    september = bill_on(prop, owner.user_id, "2026-09", "650.00")
    october = bill_on(prop, owner.user_id, "2026-10", "720.00")
    _, admin_client = admin

    # Cash at the counter, quoting the consumer number: the oldest unpaid bill is paid.
    cash = admin_client.post(f"/admin/bills/{number}/offline-payments",
                             json={"method": "cash", "reference": "RCPT-7781"})
    assert cash.status_code == 201, cash.text
    assert cash.json()["bill_id"] == september.bill_id
    assert bill_status(september.bill_id).status == "paid"
    again = admin_client.post(f"/admin/bills/{number}/offline-payments",
                              json={"method": "cash", "reference": "RCPT-7781"})
    assert again.status_code == 409  # the same receipt entered twice
    # Ravi chose SMS too: the payment-received SMS (DLT template) names the connection.
    deadline = time.monotonic() + 60
    while not (texts := [m["message"] for m in stack.sms_to(owner.mobile)]):
        assert time.monotonic() < deadline, "no payment SMS"
        time.sleep(0.2)
    assert texts == [f"Payment of Rs 650.00 received for consumer no. {number}, September "
                     "2026 bill. Ref RCPT-7781. Thank you - Discom Smart Billing"]
    assert bill_status(october.bill_id).status == "issued"

    # A UPI app paying the discom's VPA with the consumer number as its reference.
    link = (f"upi://pay?pa=discom.sandbox@razorpay&pn=Discom%20Electricity&am=720.00&cu=INR"
            f"&tr={number}&tn=Electricity%20bill")
    paid = requests.post(sandbox_url(stack.api.base_url) + "/_sandbox/upi", timeout=30,
                         json={"link": link, "payer_vpa": "ravi@okaxis"})
    assert paid.status_code == 200, paid.text
    assert bill_status(october.bill_id).status == "paid"
