"""The bills repository against the emulator: one bill per property and period,
whatever writes it twice; payment status moves only forward."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from functions.core.bills.models import (
    BILL_ISSUED,
    BILL_OVERDUE,
    BILL_PAID,
    BillRecord,
    LineItemAttribute,
    bill_id_for,
)
from functions.core.bills.repository import BillRepository
from functions.core.clock import utcnow
from functions.core.errors import Conflict
from functions.core.shards import sharded


def a_bill(property_id: str, period: str, share: int = 1, share_count: int = 1,
           payer: str = "usr_payer", total_paise: int = 138000) -> BillRecord:
    return BillRecord(
        bill_id=bill_id_for(property_id, period, share), property_id=property_id,
        period=period, payer_id=payer, owner_id="usr_owner", meter_id="mtr-1",
        run_id=period, issued_at=utcnow(), due_date="2026-11-20", category="residential",
        tariff_name="DERC", tariff_version="residential@2019-08-01", sanctioned_load_kw="3",
        late_payment_surcharge_percent="1.5", units=300, share=share,
        share_count=share_count, share_first_day=f"{period}-01", share_last_day=f"{period}-31",
        line_items=[LineItemAttribute(kind="fixed", label="Fixed", amount="150.00")],
        total=f"{total_paise / 100:.2f}", total_paise=total_paise,
    )


@pytest.fixture
def bills(emulator) -> BillRepository:
    return BillRepository()


def test_a_second_write_of_the_same_property_period_writes_nothing(bills):
    property_id = f"prp-{uuid.uuid4().hex[:8]}"
    assert bills.create([a_bill(property_id, "2026-10", total_paise=138000)]) is True
    assert bills.create([a_bill(property_id, "2026-10", total_paise=99900)]) is False
    # Split shares of the same property-period are refused too: the first share
    # has the plain id, which exists.
    assert bills.create([a_bill(property_id, "2026-10", 1, 2, "usr_a"),
                         a_bill(property_id, "2026-10", 2, 2, "usr_b")]) is False
    stored = bills.for_property(property_id)
    assert [b.bill_id for b in stored] == [f"BILL-{property_id}-2026-10"]
    assert stored[0].total_paise == 138000


def test_split_shares_are_written_together(bills):
    property_id = f"prp-{uuid.uuid4().hex[:8]}"
    assert bills.create([a_bill(property_id, "2026-10", 1, 2, "usr_a", 50000),
                         a_bill(property_id, "2026-10", 2, 2, "usr_b", 88000)])
    ids = sorted(b.bill_id for b in bills.for_property(property_id))
    assert ids == [f"BILL-{property_id}-2026-10", f"BILL-{property_id}-2026-10-2"]
    assert [b.bill_id for b in bills.for_payer("usr_b") if b.property_id == property_id] == [
        f"BILL-{property_id}-2026-10-2"]


def test_paid_once_and_overdue_only_from_issued(bills):
    property_id = f"prp-{uuid.uuid4().hex[:8]}"
    bill = a_bill(property_id, "2026-09")
    bills.create([bill])
    assert bills.mark_overdue(bill.bill_id, 2070, utcnow()) is True
    assert bills.mark_overdue(bill.bill_id, 2070, utcnow()) is False
    overdue = bills.get(bill.bill_id)
    assert overdue is not None and overdue.status == BILL_OVERDUE
    assert str(overdue.amount_due) == "1400.70"
    bills.mark_paid(bill.bill_id, "pay-1", utcnow() + timedelta(days=1))
    with pytest.raises(Conflict):
        bills.mark_paid(bill.bill_id, "pay-2", utcnow())
    paid = bills.get(bill.bill_id)
    assert paid is not None and paid.status == BILL_PAID and paid.payment_id == "pay-1"
    assert str(paid.amount_due) == "0.00"
    # Its status index partition moved with it: no longer under "issued".
    assert bill.bill_id not in {b.bill_id for b in BillRecord.by_status.query(
        sharded(BILL_ISSUED, bill.bill_id))}
    assert bill.bill_id in {b.bill_id for b in BillRecord.by_status.query(
        sharded(BILL_PAID, bill.bill_id))}
