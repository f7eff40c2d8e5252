"""A credit netted against an overdue bill lowers its payer's arrears item by what it took
(bills/netting.py plans that update in the new bill's own transaction)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from functions.core.bills.models import BillRecord
from functions.core.bills.netting import net_new_bills

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def bill(bill_id: str, period: str, total_paise: int, **fields: Any) -> BillRecord:
    return BillRecord(bill_id=bill_id, property_id="p1", period=period, payer_id="usr_1",
                      owner_id="usr_1", meter_id="m1", run_id=period, issued_at=NOW,
                      due_date=f"{period}-20", category="residential", tariff_name="t",
                      tariff_version="residential@2026-04-01", sanctioned_load_kw="3",
                      late_payment_surcharge_percent="2", units=0, share_first_day=f"{period}-01",
                      share_last_day=f"{period}-28", total=f"{total_paise / 100:.2f}",
                      total_paise=total_paise, **fields)


def overdue_august() -> BillRecord:
    return bill("BILL-p1-2026-08", "2026-08", 100_000, status="overdue",
                late_surcharge_paise=2_000, in_arrears_paise=102_000)


def test_a_partial_credit_comes_off_the_payers_arrears():
    plan = net_new_bills([bill("BILL-p1-2026-09", "2026-09", -50_000)], [overdue_august()], NOW)
    assert plan.arrears == {"usr_1": (-50_000, set())}


def test_a_credit_that_clears_the_bill_takes_it_off_the_arrears():
    plan = net_new_bills([bill("BILL-p1-2026-09", "2026-09", -200_000)], [overdue_august()],
                         NOW)
    assert plan.arrears == {"usr_1": (-102_000, {"2026-08-20#BILL-p1-2026-08"})}


def test_a_bill_not_counted_in_arrears_changes_nothing_there():
    old = bill("BILL-p1-2026-08", "2026-08", 100_000, status="issued")
    plan = net_new_bills([bill("BILL-p1-2026-09", "2026-09", -50_000)], [old], NOW)
    assert plan.arrears == {} and plan.updates
