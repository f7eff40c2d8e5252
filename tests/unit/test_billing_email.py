"""The bill email: amount in rupees with Indian grouping, IST due date, the link."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from functions.core.accounts.models import UserRecord
from functions.core.bills.models import BillRecord
from functions.core.bills.service import bill_email, month_label
from functions.core.properties.models import PropertyRecord
from functions.core.settings import get_settings


def a_bill(**fields: Any) -> BillRecord:
    values: dict[str, Any] = dict(
        bill_id="BILL-prp_1-2026-10", property_id="prp_1", period="2026-10", payer_id="usr_1",
        owner_id="usr_1", meter_id="mtr-1", run_id="2026-10",
        issued_at=datetime(2026, 11, 3, 20, 0, tzinfo=UTC), due_date="2026-11-19",
        category="residential", tariff_name="DERC", tariff_version="residential@2019-08-01",
        sanctioned_load_kw="3", late_payment_surcharge_percent="1.5", units=3000,
        share_first_day="2026-10-01", share_last_day="2026-10-31", total="123456.78",
        total_paise=12345678)
    values.update(fields)
    return BillRecord(**values)


PAYER = UserRecord(user_id="usr_1", email="asha@example.in", name="Asha Verma",
                   mobile="+919800000000", role="customer", status="verified",
                   role_status="customer#verified", created_at="2026-01-01T00:00:00Z")
HOME = PropertyRecord(property_id="prp_1", owner_id="usr_1", line1="12 MG Road",
                      city="New Delhi", state="Delhi", pincode="110001",
                      category="residential", sanctioned_load_kw="3",
                      created_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_the_email_states_amount_due_date_and_link():
    subject, text = bill_email(a_bill(), HOME, PAYER)
    assert subject == "Your electricity bill for October 2026: \u20b91,23,456.78"
    assert "Dear Asha Verma," in text
    assert "\u20b91,23,456.78" in text
    assert "19 Nov 2026 (IST)" in text
    assert f"{get_settings().portal_origin}/bill.html?id=BILL-prp_1-2026-10\n" in text
    assert "estimated" not in text


def test_an_estimated_share_says_so():
    share = a_bill(bill_id="BILL-prp_1-2026-10-2", estimated=True, share=2, share_count=2,
                   share_first_day="2026-10-11", days_fraction="21/31",
                   property_total="1380.00", share_units="203.226", total="934.84",
                   total_paise=93484)
    _, text = bill_email(share, HOME, PAYER)
    assert "203.226 kWh (estimated" in text
    assert "11 Oct 2026 to 31 Oct 2026 (21/31 of the month)" in text
    assert "\u20b91,380.00" in text and "\u20b9934.84" in text


def test_month_labels_do_not_depend_on_the_locale():
    assert month_label("2027-01") == "January 2027"
