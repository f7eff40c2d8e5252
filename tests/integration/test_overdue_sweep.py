"""The overdue sweep a page at a time, delivered twice, and the payer's arrears item.

The steps run in-process (with a page of one bill, so a shard takes several pages)
against the emulator's tables; only the shards holding this test's bills are
followed, since the tables are shared with other tests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions.core.bills.arrears import ArrearsRepository
from functions.core.bills.models import BillRecord
from functions.core.clock import utcnow
from functions.core.messages import OverdueStep
from functions.core.notifications.outbox import Outbox, message_key
from functions.core.payments.overdue import OverdueSweep, marker_key, start_sweep
from functions.core.runs.models import RunSliceRecord
from functions.core.shards import shard_of
from infra.backfill_arrears import backfill
from tests.fixtures.stack import create_user
from tests.integration.payments_support import bill_status, make_bill, today_ist

pytestmark = pytest.mark.integration


def bills_sharing_a_shard(payer_id: str) -> list[BillRecord]:
    """Past-due bills of one payer, until two of them fall in the same shard."""
    bills: list[BillRecord] = []
    shards: set[int] = set()
    for n in range(40):
        bill = make_bill(payer_id, total=f"{100 + n}.00", due=today_ist() - timedelta(days=3))
        bills.append(bill)
        if shard_of(bill.bill_id) in shards:
            return bills
        shards.add(shard_of(bill.bill_id))
    raise AssertionError("40 bills in 32 shards, none sharing one")


def owed(payer_id: str) -> tuple[int, int]:
    item = ArrearsRepository().get(payer_id)
    return (int(item.owed_paise), item.bill_count) if item else (0, 0)


def test_a_sweep_in_pages_marks_each_bill_once_and_a_redelivery_changes_nothing(stack, admin):
    _, admin_client = admin
    payer = create_user("customer", name="Kavya Nair")
    bills = bills_sharing_a_shard(payer.user_id)
    shards = {shard_of(b.bill_id) for b in bills}
    queue: list[OverdueStep] = []
    start_sweep(utcnow(), send=queue.extend)
    queue = [s for s in queue if s.shard in shards]
    sweep = OverdueSweep(send=queue.extend, page_size=1)
    done: list[OverdueStep] = []
    while queue:
        step = queue.pop(0)
        sweep.handle(step)
        done.append(step)

    pages = {shard: sum(1 for s in done if s.shard == shard) for shard in shards}
    assert max(pages.values()) >= 2  # the shard with two bills took more than one page
    surcharges = {}
    for bill in bills:
        record = bill_status(bill.bill_id)
        assert record.status == "overdue"
        assert record.late_surcharge_paise == int(bill.total_paise) * 2 // 100  # 2%, once
        surcharges[bill.bill_id] = int(record.late_surcharge_paise)
    notices = Outbox().get_many(message_key("bill_overdue", b.bill_id) for b in bills)
    assert len(notices) == len(bills) and {n.recipient for n in notices} == {payer.email}
    owed_total = sum(int(b.total_paise) + surcharges[b.bill_id] for b in bills)
    assert owed(payer.user_id) == (owed_total, len(bills))

    # Every step delivered again: each finds its marker and does nothing.
    assert all(sweep.handle(step).repeated for step in done)
    # A step that died before its marker: it reads its page again and marks nothing.
    RunSliceRecord(marker_key(done[0])).delete()
    again = sweep.handle(done[0])
    assert again.marked == 0 and not again.repeated
    assert owed(payer.user_id) == (owed_total, len(bills))
    assert [bill_status(b.bill_id).late_surcharge_paise for b in bills] == [
        surcharges[b.bill_id] for b in bills]

    # A payment takes its bill off the payer's arrears; the rest stay, to the paisa.
    first = bills[0]
    paid = admin_client.post(f"/admin/bills/{first.bill_id}/offline-payments",
                             json={"method": "cash", "reference": "COUNTER-7"})
    assert paid.status_code == 201, paid.text
    left = bills[1:]
    assert owed(payer.user_id) == (
        sum(int(b.total_paise) + surcharges[b.bill_id] for b in left), len(left))
    detail = admin_client.get(f"/admin/defaulters/{payer.user_id}").json()
    assert sorted(b["bill_id"] for b in detail["bills"]) == sorted(b.bill_id for b in left)
    assert detail["bill_count"] == len(left)


def test_the_backfill_counts_a_bill_overdue_before_arrears_existed_once(stack):
    payer = create_user("customer", name="Old Defaulter")
    old = make_bill(payer.user_id, total="800.00", due=today_ist() - timedelta(days=60),
                    status="overdue")  # as the sweep of an earlier release left it
    old.update(actions=[BillRecord.late_surcharge_paise.set(1_600)])
    assert owed(payer.user_id) == (0, 0)

    def run_backfill() -> None:
        cursor = None
        for _ in range(200):
            _, _, cursor = backfill(cursor, 200)
            if cursor is None:
                return
        raise AssertionError("the backfill did not finish")

    run_backfill()
    assert owed(payer.user_id) == (81_600, 1)
    run_backfill()  # a second run adds nothing
    assert owed(payer.user_id) == (81_600, 1)
    assert bill_status(old.bill_id).in_arrears_paise == 81_600
