"""Bills past their due date become overdue, with the late-payment surcharge.

At a million meters about a million bills share a due date, so the sweep is a
bounded fan-out like a billing run (docs/scale.md): `start_sweep(now)` (the
nightly `overdue_sweep` schedule and POST /admin/bills/mark-overdue) only sends
one `OverdueStep` per shard to the `overdue_steps` queue and returns. Each step
(`OverdueSweep.handle`, run by the `overdue_steps` function) reads ONE page (at
most OVERDUE_PAGE bills) of its shard's issued bills due before the IST date
`as_of` (the bills' by_status index, a key condition on due_date, DynamoDB's
LastEvaluatedKey as the cursor), marks each overdue and sends the shard's next
page if there is one.

Each bill moves issued -> overdue in one transaction with its payer's arrears
item (bills/arrears.py) and the payer's notice (the outbox item
`bill_overdue#<bill id>`), conditional on the bill still being issued at the
amount read: the surcharge (the tariff's `late_payment_surcharge_percent` of the
bill total, recorded on the bill when it was priced) is added once, and the notice
is written once. A bill paid meanwhile fails the condition and is left alone.

Delivered twice: a step that finished left a marker (run_slices,
"overdue#<sweep id>#<shard>#<page>", state "last" on a shard's last page) and
does nothing again; one that died half way
reads its page again, where the bills it marked are no longer issued.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.core.accounts.models import UserRecord
from functions.core.billing_rules import ist_date, late_payment_surcharge
from functions.core.bills.models import BILL_ISSUED, BillRecord
from functions.core.bills.repository import BillRepository
from functions.core.clock import epoch, utcnow
from functions.core.logs import logger
from functions.core.messages import OverdueStep
from functions.core.money import to_paise
from functions.core.notifications.models import OutboxRecord
from functions.core.notifications.outbox import Outbox, email_record, message_key
from functions.core.notifications.templates import render_email
from functions.core.payments.receipts import overdue_context
from functions.core.payments.repositories import users_by_id
from functions.core.runs.models import RunSliceRecord
from functions.core.runs.queues import QueueSender
from functions.core.shards import RUN_SHARDS, shard_key

OVERDUE_PAGE = 200  # bills one step reads and marks (~1.2 AWS calls each, docs/scale.md)
MARKER_RETENTION = timedelta(days=7)
OVERDUE_TEMPLATE = "bill_overdue"


@dataclass(frozen=True)
class SweepStarted:
    sweep_id: str
    as_of: date
    shards: int


@dataclass(frozen=True)
class StepDone:
    sweep_id: str
    shard: int
    page: int
    read: int
    marked: int
    more: bool
    repeated: bool = False  # the step had been done before (a redelivery)


def surcharge_paise(bill: BillRecord) -> int:
    """The late-payment surcharge this bill attracts (paise)."""
    percent = Decimal(bill.late_payment_surcharge_percent)
    return to_paise(late_payment_surcharge(bill.amount, percent))


def start_sweep(now: datetime, send: Callable[[Sequence[OverdueStep]], Any] | None = None
                ) -> SweepStarted:
    """Queue the first page of every shard; the steps do the rest."""
    as_of = ist_date(now)
    sweep_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    steps = [OverdueStep(sweep_id=sweep_id, as_of=as_of, shard=shard, page=0)
             for shard in range(RUN_SHARDS)]
    (send or QueueSender().send_overdue_steps)(steps)
    logger.info("overdue sweep started", extra={"sweep_id": sweep_id,
                                                "as_of": as_of.isoformat()})
    return SweepStarted(sweep_id=sweep_id, as_of=as_of, shards=len(steps))


class OverdueSweep:
    def __init__(self, bills: BillRepository | None = None,
                 load_users: Callable[[set[str]], dict[str, UserRecord]] = users_by_id,
                 outbox: Outbox | None = None,
                 send: Callable[[Sequence[OverdueStep]], Any] | None = None,
                 page_size: int = OVERDUE_PAGE,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.bills = bills or BillRepository()
        self.load_users = load_users
        self.outbox = outbox or Outbox()
        self.send = send or QueueSender().send_overdue_steps
        self.page_size = page_size
        self.clock = clock

    def handle(self, step: OverdueStep) -> StepDone:
        key = marker_key(step)
        if _marker(key) is not None:
            return StepDone(step.sweep_id, step.shard, step.page, 0, 0, False, True)
        result = BillRecord.by_status.query(
            shard_key(BILL_ISSUED, step.shard),
            range_key_condition=BillRecord.due_date < step.as_of.isoformat(),
            limit=self.page_size,
            last_evaluated_key=json.loads(step.start_key) if step.start_key else None)
        page = list(result)
        now = self.clock()
        payers = self.load_users({b.payer_id for b in page}) if page else {}
        marked: list[str] = []
        for bill in page:
            surcharge = surcharge_paise(bill)
            if self.bills.mark_overdue(bill.bill_id, surcharge, now, bill=bill,
                                       messages=_notice(bill, surcharge,
                                                        payers.get(bill.payer_id), now)):
                marked.append(bill.bill_id)
        if marked:
            self.outbox.dispatch([message_key(OVERDUE_TEMPLATE, b) for b in marked])
        last_key = result.last_evaluated_key
        if last_key is not None:
            self.send([OverdueStep(sweep_id=step.sweep_id, as_of=step.as_of, shard=step.shard,
                                   page=step.page + 1,
                                   start_key=json.dumps(last_key, sort_keys=True))])
        # "last": the shard is done (operators and tests follow a sweep by its markers).
        RunSliceRecord(key, state="sent" if last_key is not None else "last",
                       purge_at_epoch=epoch(now + MARKER_RETENTION)).save()
        done = StepDone(step.sweep_id, step.shard, step.page, len(page), len(marked),
                        last_key is not None)
        logger.info("overdue step done", extra=done.__dict__)
        return done


def marker_key(step: OverdueStep) -> str:
    return sweep_marker_key(step.sweep_id, step.shard, step.page)


def sweep_marker_key(sweep_id: str, shard: int, page: int) -> str:
    return f"overdue#{sweep_id}#{shard:02d}#{page}"


def _marker(key: str) -> RunSliceRecord | None:
    try:
        return RunSliceRecord.get(key, consistent_read=True)
    except RunSliceRecord.DoesNotExist:
        return None


def _notice(bill: BillRecord, surcharge: int, payer: UserRecord | None,
            now: datetime) -> list[OutboxRecord]:
    """The payer's overdue notice, written in the bill's transaction (so: once)."""
    if payer is None or not payer.email:
        return []
    rendered = render_email(OVERDUE_TEMPLATE, lang=payer.language, **overdue_context(
        name=payer.name, bill_id=bill.bill_id, period=bill.period,
        due=date.fromisoformat(bill.due_date), total_paise=int(bill.total_paise),
        surcharge_paise=surcharge, lang=payer.language))
    return [email_record(message_key(OVERDUE_TEMPLATE, bill.bill_id), rendered, payer.email,
                         topic="payment", now=now, ref=bill.bill_id,
                         recipient_id=payer.user_id)]
