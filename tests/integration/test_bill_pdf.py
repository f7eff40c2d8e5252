"""The PDF bill: downloaded through a short-lived presigned URL, stored once, and
carrying every amount of the bill, the consumer number and a UPI QR code that decodes
to the bill's upi://pay link; in Hindi its labels are Hindi."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from pypdf import PdfReader

from functions.core.aws import client
from functions.core.bills.documents import bucket, pdf_key
from functions.core.bills.models import BillRecord, LineItemAttribute, bill_id_for
from functions.core.bills.pdf import amounts_on
from functions.core.money import format_inr
from functions.core.payments.receipts import period_label
from functions.core.payments.upi import bill_upi_link
from tests.integration.meters_support import HOME
from tests.qr_decode import decode_pdf

pytestmark = pytest.mark.integration

LINES = [("energy", "Energy 0-100 kWh", "100", "kWh", "3.00", "300.00"),
         ("energy", "Energy 101-300 kWh", "212", "kWh", "4.50", "954.00"),
         ("fixed", "Fixed charge", "5", "kW", "20.00", "100.00"),
         ("percentage", "Electricity duty 16%", "1354.00", "INR", "16", "216.64"),
         ("flat", "Meter rent", None, None, None, "25.00")]


def a_bill(prop: dict, payer_id: str, period: str, units: int, **extra) -> BillRecord:
    bill = BillRecord(
        bill_id=bill_id_for(prop["property_id"], period), property_id=prop["property_id"],
        consumer_number=prop["consumer_number"], period=period, payer_id=payer_id,
        owner_id=payer_id, meter_id="mtr_pdf", run_id="run_test",
        issued_at=datetime(2026, 12, 1, 4, 30, tzinfo=UTC), due_date="2026-12-16",
        category="residential", tariff_name="Test tariff",
        tariff_version="residential@2026-04-01", sanctioned_load_kw="5",
        late_payment_surcharge_percent="2", units=units, share_first_day=f"{period}-01",
        share_last_day=f"{period}-28", previous_register_wh=1_000_000,
        current_register_wh=1_000_000 + units * 1000,
        previous_read_at=datetime(2026, 11, 1, tzinfo=UTC),
        current_read_at=datetime(2026, 12, 1, tzinfo=UTC), **extra)
    bill.status = extra.get("status", "issued")
    bill.save()
    return bill


def test_the_pdf_bill_has_every_amount_the_consumer_number_and_the_upi_qr(customer):
    user, client_ = customer
    prop = client_.post("/properties", json=HOME).json()
    for month, units in ((8, 240), (9, 260), (10, 300)):
        a_bill(prop, user.user_id, f"2026-{month:02d}", units, total="1.00", total_paise=100,
               status="paid")
    total = sum(Decimal(line[5]) for line in LINES)
    bill = a_bill(prop, user.user_id, "2026-11", 312, total=f"{total:.2f}",
                  total_paise=int(total * 100), arrears_paise=70_000,
                  arrears_surcharge_paise=1_400,
                  line_items=[LineItemAttribute(kind=k, label=label, quantity=q, unit=u,
                                                rate=r, amount=a)
                              for k, label, q, u, r, a in LINES])

    answer = client_.get(f"/bills/{bill.bill_id}/pdf", params={"lang": "en"})
    assert answer.status_code == 200, answer.text
    link = answer.json()
    assert 0 < link["expires_in"] <= 900
    assert "Expires=" in link["url"] or "X-Amz-Expires" in link["url"]  # signed, short-lived
    download = requests.get(link["url"], timeout=30)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    pdf = download.content
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)

    assert prop["consumer_number"] in text
    for line in LINES:
        assert format_inr(Decimal(str(line[5]))) in text, line
    for name, printed in amounts_on(bill).items():
        assert format_inr(printed) in text, (name, printed)
    assert "₹2,295.64" in text  # 1,595.64 + 700.00 arrears: the total payable
    for bar in ("240", "260", "300", "312"):  # the consumption chart's bars
        assert bar in text
    expected = bill_upi_link(bill.bill_id, period_label(bill.period), bill.amount)
    assert expected is not None and decode_pdf(pdf) == [expected]
    assert parse_qs(urlsplit(expected).query)["am"] == [f"{total:.2f}"]

    # Stored once: a second request signs the same object, nothing is rendered again.
    stored = client("s3").head_object(Bucket=bucket(), Key=pdf_key(bill, "en"))
    again = client_.get(f"/bills/{bill.bill_id}/pdf", params={"lang": "en"}).json()
    assert client("s3").head_object(Bucket=bucket(), Key=pdf_key(bill, "en"))[
        "LastModified"] == stored["LastModified"]
    assert requests.get(again["url"], timeout=30).content == pdf

    # In Hindi: Hindi labels, the same amounts.
    hindi = requests.get(client_.get(f"/bills/{bill.bill_id}/pdf", params={"lang": "hi"})
                         .json()["url"], timeout=30).content
    hindi_text = PdfReader(io.BytesIO(hindi)).pages[0].extract_text()
    assert "उपभोक्ता क्रमांक" in hindi_text and "₹2,295.64" in hindi_text


def test_only_the_payer_and_admins_get_a_bill_pdf(customer, other_customer, admin):
    user, client_ = customer
    prop = client_.post("/properties", json=HOME).json()
    bill = a_bill(prop, user.user_id, "2026-07", 100, total="500.00", total_paise=50_000)
    assert other_customer[1].get(f"/bills/{bill.bill_id}/pdf").status_code == 404
    assert admin[1].get(f"/bills/{bill.bill_id}/pdf").status_code == 200


def test_the_bill_email_carries_the_pdf_where_the_stage_attaches_it(stack, customer,
                                                                    monkeypatch):
    """AWS stages attach the PDF (BILL_EMAIL_PDF, infra); the emulator keeps the message
    but not its attachment, so the attachment is checked as built and the send as done."""
    from functions.core.notifications.models import OutboxRecord
    from functions.core.notifications.sender import AwsGateway, bill_pdf_attachment
    from functions.core.settings import reload_settings

    user, client_ = customer
    prop = client_.post("/properties", json=HOME).json()
    bill = a_bill(prop, user.user_id, "2026-06", 150, total="432.10", total_paise=43_210)
    record = OutboxRecord(message_key=f"bill_issued#{bill.bill_id}", channel="email",
                          template="bill_issued", ref=bill.bill_id,
                          recipient_id=user.user_id, recipient=user.email)
    assert bill_pdf_attachment(record) is None  # off locally: no PDF per bill in tests
    monkeypatch.setenv("BILL_EMAIL_PDF", "true")
    reload_settings()
    try:
        attachment = bill_pdf_attachment(record)
        assert attachment is not None and attachment["ContentType"] == "application/pdf"
        assert attachment["FileName"] == "electricity-bill-2026-06.pdf"
        text = PdfReader(io.BytesIO(attachment["RawContent"])).pages[0].extract_text()
        assert prop["consumer_number"] in text and "₹432.10" in text
        assert AwsGateway().email(record, "Your electricity bill", "See the attached PDF.")
        assert [m["subject"] for m in stack.emails_to(user.email)] == ["Your electricity bill"]
    finally:
        monkeypatch.delenv("BILL_EMAIL_PDF")
        reload_settings()
