"""UPI on the bill: the upi://pay link and QR code, and a UPI payment made from
them, reported by the gateway without an order, applied to the right bill."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.payments_support import (
    bill_status,
    make_bill,
    sandbox_url,
    sweep_overdue,
    today_ist,
    wait_for,
)
from tests.qr_decode import decode_data_uri

pytestmark = pytest.mark.integration


def upi_of(client, bill_id):
    response = client.get(f"/bills/{bill_id}/upi")
    assert response.status_code == 200, response.text
    return response.json()


def pay_by_upi_app(api_url, link, payer_vpa="asha@okicici"):
    import requests

    response = requests.post(sandbox_url(api_url) + "/_sandbox/upi", timeout=30,
                             json={"link": link, "payer_vpa": payer_vpa})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_bill_carries_a_upi_link_and_qr_code_for_the_exact_amount(stack, customer, admin):
    user, client = customer
    _, admin_client = admin
    bill = make_bill(user.user_id, total="1380.50", period="2026-10")
    upi = upi_of(client, bill.bill_id)

    assert upi["link"].startswith("upi://pay?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(upi["link"]).query).items()}
    assert params == {"pa": "discom.sandbox@razorpay", "pn": "Discom Electricity",
                      "am": "1380.50", "cu": "INR", "tr": bill.bill_id,
                      "tn": "Electricity bill Oct 2026"}
    assert upi["vpa"] == "discom.sandbox@razorpay" and upi["amount"] == "1380.50"
    # What a phone's camera reads from the QR code is exactly the link.
    assert decode_data_uri(upi["qr_svg"]) == [upi["link"]]
    # Admins see it too (the print view of any bill); nobody else does.
    assert upi_of(admin_client, bill.bill_id)["link"] == upi["link"]
    assert stack.api.as_(None).get(f"/bills/{bill.bill_id}/upi").status_code == 401


def test_a_upi_payment_from_the_qr_code_pays_the_right_bill(stack, customer):
    user, client = customer
    first = make_bill(user.user_id, total="700.00", period="2026-09")
    second = make_bill(user.user_id, total="800.00", period="2026-10")
    link = upi_of(client, second.bill_id)["link"]

    paid = pay_by_upi_app(stack.api.base_url, link)
    assert paid["payment"]["order_id"] is None and paid["payment"]["method"] == "upi"
    assert [d["status_code"] for d in paid["deliveries"]] == [200]

    assert bill_status(second.bill_id).status == "paid"
    assert bill_status(first.bill_id).status == "issued"
    [payment] = client.get(f"/bills/{second.bill_id}/payments").json()
    assert payment["applied"] is True and payment["order_id"] is None
    assert payment["method"] == "upi" and payment["amount"] == "800.00"
    assert client.get(f"/bills/{second.bill_id}/upi").status_code == 404  # nothing to pay
    receipts = stack.wait_for_emails(user.email, "Payment received")  # queued: it follows
    assert len(receipts) == 1 and second.bill_id in receipts[0]["body"]


def test_a_stale_upi_amount_is_refunded_not_applied(stack, customer, admin):
    user, client = customer
    _, admin_client = admin
    bill = make_bill(user.user_id, total="1000.00", surcharge_percent="2",
                     due=today_ist() - timedelta(days=1))
    stale = upi_of(client, bill.bill_id)["link"]  # printed before the surcharge
    sweep_overdue(admin_client)
    assert "am=1020.00" in upi_of(client, bill.bill_id)["link"]

    paid = pay_by_upi_app(stack.api.base_url, stale)
    assert bill_status(bill.bill_id).status == "overdue"

    def refunded():
        [payment] = client.get(f"/bills/{bill.bill_id}/payments").json()
        done = [r for r in payment["refunds"] if r["status"] == "processed"]
        return payment if done else None

    payment = wait_for(refunded)
    assert payment and payment["payment_id"] == paid["payment"]["id"]
    assert payment["not_applied_reason"] == "amount_due_changed"
    assert payment["refunds"][0]["amount"] == "1000.00"
