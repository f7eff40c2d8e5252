"""The daily reconciliation against the local Razorpay sandbox: every mismatch
kind, the repair of a missed webhook (applied once), settlements and totals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions.core.clock import utcnow
from functions.core.payments.models import PaymentRecord
from functions.core.payments.sandbox import new_id, sandbox
from tests.integration.payments_support import (
    bill_status,
    make_bill,
    sandbox_control,
    today_ist,
    wait_for,
)

pytestmark = pytest.mark.integration


def start_payment(client, bill_id):
    response = client.post(f"/bills/{bill_id}/pay", json={"method": "upi"})
    assert response.status_code == 201, response.text
    return response.json()


def reconcile(admin_client, day=None):
    response = admin_client.post("/admin/payments/reconciliation",
                                 json={"day": (day or today_ist()).isoformat()})
    assert response.status_code == 200, response.text
    return response.json()


def items_for(report, payment_id):
    return [i for i in report["items"] if i["payment_id"] == payment_id]


def our_record(payment_id, bill, amount_paise, order_id=None):
    """A payment as we would have recorded it (what a bug or a lost capture leaves)."""
    now = utcnow()
    PaymentRecord(payment_id=payment_id, bill_id=bill.bill_id, payer_id=bill.payer_id,
                  order_id=order_id, provider="razorpay", method="upi",
                  amount_paise=amount_paise, currency="INR", status="captured", applied=True,
                  paid_at=now, paid_day=today_ist().isoformat(), recorded_at=now,
                  refund_reserved_paise=0, refunded_paise=0).save()


def test_reconciliation_repairs_a_missed_webhook_once(stack, customer, admin):
    user, client = customer
    _, admin_client = admin
    bill = make_bill(user.user_id, total="915.00")
    order = start_payment(client, bill.bill_id)
    # Paid at the gateway, but the webhook never reached us (and the payer closed the tab).
    made = sandbox_control(stack.api.base_url, "payments",
                           {"order_id": order["order_id"], "webhooks": False})
    payment_id = made["payment"]["id"]
    assert made["deliveries"] == [] and bill_status(bill.bill_id).status == "issued"

    report = reconcile(admin_client)
    [item] = items_for(report, payment_id)
    assert item["kind"] == "missed_webhook_repaired" and item["status"] == "repaired"
    assert item["bill_id"] == bill.bill_id and item["gateway_amount"] == "915.00"
    assert "applied to its bill" in item["detail"]
    assert bill_status(bill.bill_id).status == "paid"
    assert bill_status(bill.bill_id).payment_id == payment_id
    receipts = stack.wait_for_emails(user.email, "Payment received")  # queued: it follows
    assert len(receipts) == 1

    # Again (the nightly job and an admin): applied once, the repair stays on the report.
    again = reconcile(admin_client)
    [item] = items_for(again, payment_id)
    assert item["kind"] == "missed_webhook_repaired"
    assert len(client.get(f"/bills/{bill.bill_id}/payments").json()) == 1
    assert len([m for m in stack.emails_to(user.email)
                if "Payment received" in m["subject"]]) == 1
    assert again["totals"]["repaired"] >= 1


@pytest.fixture
def webhook_off(stack):
    """The sandbox's webhook turned off (as in Razorpay's Dashboard), and on again after."""
    sandbox_control(stack.api.base_url, "webhooks", {"enabled": False})
    yield
    sandbox_control(stack.api.base_url, "webhooks", {"enabled": True})


def test_reconciliation_marks_a_refund_whose_webhook_was_lost_processed(stack, customer, admin,
                                                                        webhook_off):
    user, client = customer
    _, admin_client = admin
    bill = make_bill(user.user_id, total="640.00")
    paid = sandbox_control(stack.api.base_url, "payments",
                           {"order_id": start_payment(client, bill.bill_id)["order_id"],
                            "webhooks": False})["payment"]
    reconcile(admin_client)  # the payment's own missed webhook, repaired
    response = admin_client.post(f"/admin/payments/{paid['id']}/refunds",
                                 json={"amount": "40.00", "reason": "Estimated units"})
    assert response.status_code == 201, response.text

    # Processed at the gateway a moment later; no webhook says so.
    assert wait_for(lambda: [r["status"] for r in sandbox().payment_refunds(paid["id"])["items"]]
                    == ["processed"])
    refunds = f"/bills/{bill.bill_id}/payments"
    [payment] = client.get(refunds).json()
    assert [r["status"] for r in payment["refunds"]] == ["pending"]
    assert sandbox_control(stack.api.base_url, "settle", {})["settlement"]

    report = reconcile(admin_client)
    [item] = [i for i in items_for(report, paid["id"])
              if i["kind"] == "missed_refund_webhook_repaired"]
    assert item["status"] == "repaired" and item["bill_id"] == bill.bill_id
    assert item["gateway_amount"] == item["our_amount"] == "40.00"
    assert item["our_status"] == "processed" and "rfnd_" in item["detail"]
    [payment] = client.get(refunds).json()
    assert [r["status"] for r in payment["refunds"]] == ["processed"]
    assert payment["refunded"] == "40.00"
    assert stack.wait_for_emails(user.email, "Refund processed")

    # Again: the refund is done here, nothing more happens, and the repair stays listed.
    again = reconcile(admin_client)
    assert [i["kind"] for i in items_for(again, paid["id"])].count(
        "missed_refund_webhook_repaired") == 1
    assert client.get(refunds).json()[0]["refunded"] == "40.00"


def test_reconciliation_marks_each_mismatch_kind(stack, customer, admin):
    user, client = customer
    _, admin_client = admin
    api = stack.api.base_url

    # 1. Captured at the gateway for nothing of ours.
    stranger = sandbox_control(api, "payments", {"amount": 12345, "webhooks": False,
                                                 "notes": {"shop": "not ours"}})["payment"]
    # 2. Captured and applied here, unknown to the gateway.
    ghost_bill = make_bill(user.user_id, total="100.00")
    ghost_id = new_id("pay")
    our_record(ghost_id, ghost_bill, 10000)
    # 3. Captured here, failed at the gateway.
    failed_bill = make_bill(user.user_id, total="200.00")
    failed_order = start_payment(client, failed_bill.bill_id)
    failed = sandbox_control(api, "payments", {"order_id": failed_order["order_id"],
                                               "outcome": "fail", "webhooks": False})["payment"]
    our_record(failed["id"], failed_bill, 20000, failed_order["order_id"])
    # 4. The same payment with different amounts here and at the gateway.
    odd_bill = make_bill(user.user_id, total="300.00")
    odd_order = start_payment(client, odd_bill.bill_id)
    odd = sandbox_control(api, "payments", {"order_id": odd_order["order_id"],
                                            "webhooks": False})["payment"]
    our_record(odd["id"], odd_bill, 29900, odd_order["order_id"])
    # 5. A good one, for the totals.
    good_bill = make_bill(user.user_id, total="400.00")
    good = sandbox_control(api, "payments", {"order_id": start_payment(
        client, good_bill.bill_id)["order_id"]})["payment"]
    settlement = sandbox_control(api, "settle", {})["settlement"]
    assert settlement["amount"] > 0

    report = reconcile(admin_client)
    [unknown] = items_for(report, stranger["id"])
    assert unknown["kind"] == "captured_unknown_here" and unknown["status"] == "open"
    assert unknown["gateway_amount"] == "123.45" and unknown["our_amount"] is None
    [ghost] = items_for(report, ghost_id)
    assert ghost["kind"] == "applied_not_captured" and ghost["status"] == "open"
    assert ghost["gateway_status"] == "unknown to the gateway" and ghost["our_amount"] == "100.00"
    [not_captured] = items_for(report, failed["id"])
    assert not_captured["kind"] == "applied_not_captured"
    assert not_captured["gateway_status"] == "failed"
    [differs] = items_for(report, odd["id"])
    assert differs["kind"] == "amount_differs"
    assert (differs["gateway_amount"], differs["our_amount"]) == ("300.00", "299.00")
    assert items_for(report, good["id"]) == []  # matched: nothing to say

    totals = report["totals"]
    assert totals["open_mismatches"] >= 4
    assert totals["open_mismatches"] == sum(1 for i in report["items"] if i["status"] == "open")
    assert totals["gateway_captured_count"] >= totals["matched_count"] + 2
    assert totals["settlements_count"] >= 1 and float(totals["settled"]) > 0
    assert float(totals["settlement_fees"]) > 0
    # Open items come first on the admin's list.
    statuses = [i["status"] for i in report["items"]]
    assert statuses == sorted(statuses, key=lambda s: s != "open")

    # The admin page reads the stored report.
    stored = admin_client.get("/admin/payments/reconciliation",
                              params={"day": today_ist().isoformat()}).json()
    assert stored["totals"] == totals and stored["items"] == report["items"]
    assert stored["run_at"]


def test_a_day_not_reconciled_yet_and_the_nightly_job(stack, admin):
    _, admin_client = admin
    day = today_ist() - timedelta(days=400)
    empty = admin_client.get("/admin/payments/reconciliation",
                             params={"day": day.isoformat()}).json()
    assert empty["run_at"] is None and empty["totals"] is None and empty["items"] == []
    assert admin_client.get("/admin/payments/reconciliation",
                            params={"day": "yesterday"}).status_code == 400

    from functions.api.payments import payments_reconcile

    # What EventBridge's schedule invokes (for yesterday, IST).
    event = {"version": "0", "id": "1", "detail-type": "Scheduled Event",
             "source": "aws.events", "account": "123456789012", "time": "2026-12-07T22:00:00Z",
             "region": "ap-south-1", "resources": [], "detail": {}}
    result = payments_reconcile(event, None)
    assert result["day"] == (today_ist() - timedelta(days=1)).isoformat()
    stored = admin_client.get("/admin/payments/reconciliation").json()
    assert stored["day"] == result["day"] and stored["run_at"]
