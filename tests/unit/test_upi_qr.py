"""The UPI link and QR code on a bill: NPCI's upi://pay parameters, the exact
amount, the bill id as the reference, and a QR code that decodes to the link."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from functions.core.payments.config import PaymentSettings
from functions.core.payments.upi import bill_upi_link, qr_data_uri, qr_svg, upi_link
from tests.qr_decode import decode_data_uri, decode_svg


def params(link: str) -> dict[str, str]:
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc) == ("upi", "pay")
    return {k: v[0] for k, v in parse_qs(parts.query, strict_parsing=True).items()}


def test_the_link_carries_vpa_exact_amount_and_bill_reference():
    link = upi_link(vpa="bses.rajdhani@hdfcbank", payee="BSES Rajdhani Power Ltd",
                    amount=Decimal("1380.5"), reference="BILL-prop_1a2b-2026-10",
                    note="Electricity bill Oct 2026")
    assert params(link) == {"pa": "bses.rajdhani@hdfcbank", "pn": "BSES Rajdhani Power Ltd",
                            "am": "1380.50", "cu": "INR", "tr": "BILL-prop_1a2b-2026-10",
                            "tn": "Electricity bill Oct 2026"}
    assert " " not in link and "am=1380.50&" in link  # percent-encoded, two decimals


def test_awkward_payee_names_stay_one_parameter_each():
    link = upi_link(vpa="discom@sbi", payee="Power & Light Co. #1", amount=Decimal("1"),
                    reference="B-1", note="x" * 80)
    assert params(link)["pn"] == "Power & Light Co. #1"
    assert params(link)["am"] == "1.00" and len(params(link)["tn"]) == 50


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-10.00")])
def test_no_link_for_nothing_or_a_credit(amount):
    with pytest.raises(ValueError):
        upi_link(vpa="d@sbi", payee="D", amount=amount, reference="B", note="n")
    settings = PaymentSettings(UPI_VPA="d@sbi")
    assert bill_upi_link("B-1", "Oct 2026", amount, settings) is None


def test_no_link_without_a_vpa_outside_the_local_stage(monkeypatch):
    monkeypatch.setenv("APP_STAGE", "prod")
    from functions.core.settings import reload_settings

    try:
        reload_settings()
        assert bill_upi_link("B-1", "Oct 2026", Decimal("10"), PaymentSettings()) is None
        with_vpa = bill_upi_link("B-1", "Oct 2026", Decimal("10"),
                                 PaymentSettings(UPI_VPA="discom@icici"))
        assert with_vpa is not None and params(with_vpa)["pa"] == "discom@icici"
    finally:
        monkeypatch.undo()
        reload_settings()


def test_the_qr_code_decodes_to_the_link():
    link = upi_link(vpa="discom.sandbox@razorpay", payee="Discom Electricity",
                    amount=Decimal("98765.43"), reference="BILL-prop_e39d2b9d9fd7-2026-10",
                    note="Electricity bill Oct 2026")
    assert decode_svg(qr_svg(link)) == [link]
    assert decode_data_uri(qr_data_uri(link)) == [link]
    other = link.replace("98765.43", "98765.44")
    assert decode_svg(qr_svg(other)) == [other] != [link]


def test_the_bill_email_carries_the_same_upi_link():
    from functions.core.bills.service import bill_email
    from tests.unit.test_billing_email import HOME, PAYER, a_bill

    bill = a_bill()
    _, text = bill_email(bill, HOME, PAYER)
    link = bill_upi_link(bill.bill_id, "Oct 2026", bill.amount_due)
    assert link is not None and f"\n{link}\n" in text
    assert params(link)["tr"] == bill.bill_id and params(link)["am"] == f"{bill.amount_due:.2f}"
