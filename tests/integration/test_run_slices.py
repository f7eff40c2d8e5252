"""A billing run's slices on the emulator: paging through every shard, a slice
that fails and is retried, slices delivered twice, a close asked for twice,
and a run whose silent meters would not fit in one DynamoDB item.

Most tests here deliver the run's slices by hand (a QueueSender that keeps the
messages instead of sending them), so that each slice can be delivered twice,
made to fail, or run with tiny pages; the last test goes through the API and
the queues of the running stack.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.core.bills.models import BillRecord
from functions.core.bills.service import BillingService
from functions.core.clock import utcnow
from functions.core.errors import Conflict
from functions.core.messages import FanoutBatch, RunStep
from functions.core.meters.models import MeterRecord
from functions.core.meters.repositories import MeterRepository
from functions.core.runs import progress
from functions.core.runs.models import BillingRunRecord
from functions.core.runs.queues import QueueSender
from functions.core.runs.repository import RunRepository
from functions.core.runs.schemas import StartRun
from functions.core.runs.service import RunService
from functions.core.runs.steps import RunSteps
from functions.core.shards import RUN_SHARDS
from tests.integration.billing_support import (
    a_customer,
    a_meter,
    a_property,
    decided,
    ensure_reference_tariffs,
    retire,
    send_readings,
    stored_reading,
)


class KeptMessages(QueueSender):
    """Keeps what a run would send, so the test delivers each message itself."""

    def __init__(self) -> None:
        self.steps: list[RunStep] = []
        self.batches: list[FanoutBatch] = []
        self.fail_next_fanout = False

    def send_fanout(self, batches: Sequence[FanoutBatch]) -> int:
        if self.fail_next_fanout and batches:
            self.fail_next_fanout = False
            raise ConnectionError("queue unreachable")
        self.batches += batches
        return len(batches)

    def send_step(self, step: RunStep) -> None:
        self.steps.append(step)

    def send_steps(self, steps: Sequence[RunStep]) -> int:
        self.steps += steps
        return len(steps)


def drive(steps: RunSteps, kept: KeptMessages, twice: bool = False) -> list[Any]:
    """Deliver every kept slice (each twice if asked) until none is left."""
    results = []
    while kept.steps:
        step = kept.steps.pop(0)
        results.append(steps.handle(step))
        if twice:
            repeat = steps.handle(step)
            # Done already, or the run moved on (the shard's last slice finished the phase).
            assert repeat.outcome in ("repeated", "stale"), repeat
    return results


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def meters(admin) -> Iterator[list[MeterRecord]]:
    """This test's meters, the only active ones: slices here run one meter a page over
    every active meter, so meters an earlier test left active are retired first."""
    ensure_reference_tariffs(admin[1])
    retire(list(MeterRepository().iter_active()))
    created: list[MeterRecord] = []
    yield created
    retire(created)


def asked_once(kept: KeptMessages, meters: list[MeterRecord]) -> bool:
    asked = Counter(m for batch in kept.batches for m in batch.meter_ids)
    return all(asked[m.meter_id] == 1 for m in meters)


def test_listing_pages_through_every_shard_and_a_repeated_slice_does_nothing(admin, meters):
    meters += [a_meter(a_property(a_customer())) for _ in range(6)]
    kept = KeptMessages()
    service = RunService(queues=kept)
    started = service.start(StartRun(period="2019-03", policy="no_bill"), started_by="test")
    assert started.listing_slices == RUN_SHARDS and started.run.phase == "listing"
    assert len(kept.steps) == RUN_SHARDS

    results = drive(RunSteps(queues=kept, list_page=1), kept, twice=True)
    assert max(r.meters for r in results) == 1  # one meter a page: continuations followed
    assert asked_once(kept, meters)  # every meter asked, none twice
    view = service.view("2019-03")
    assert view.phase == "asking" and view.phase_progress.endswith("meters answered")
    assert view.progress.meters_asked == len({m for b in kept.batches for m in b.meter_ids})

    # A start while it is listing is refused; once it is asking, a start asks only gaps.
    again = service.start(StartRun(period="2019-03"), started_by="test")
    assert again.first_start is False and again.run.restarts == 1
    with pytest.raises(Conflict, match="listing"):
        service.start(StartRun(period="2019-03"), started_by="test")
    with pytest.raises(Conflict, match="still listing"):  # a close must wait for it too
        service.close("2019-03", closed_by="test")


def test_a_slice_that_fails_is_delivered_again_and_counts_once(admin, meters):
    meters += [a_meter(a_property(a_customer())) for _ in range(4)]
    kept = KeptMessages()
    service = RunService(queues=kept)
    service.start(StartRun(period="2019-04", policy="no_bill"), started_by="test")
    steps = RunSteps(queues=kept)
    shard_of_first = next(s for s in kept.steps if s.shard == _shard(meters[0]))
    kept.steps.remove(shard_of_first)
    kept.fail_next_fanout = True
    with pytest.raises(ConnectionError):  # the invocation fails: SQS delivers it again
        steps.handle(shard_of_first)
    counted = progress.totals("2019-04")["meters_total"]
    assert counted >= 1  # counted with the slice's marker, before the send failed
    redelivered = steps.handle(shard_of_first)
    assert redelivered.outcome == "done" and redelivered.asked >= 1
    assert progress.totals("2019-04")["meters_total"] == counted  # not counted twice
    drive(steps, kept)
    assert asked_once(kept, meters)
    run = RunRepository().get("2019-04")
    assert run is not None and run.status == "running"  # every shard listed


def test_close_estimates_once_whatever_is_delivered_twice_or_asked_twice(admin, meters):
    with_history = []
    for _ in range(3):
        prop = a_property(a_customer())
        meter = a_meter(prop)
        meters.append(meter)
        reading = stored_reading(meter, "2021-07", 100_000, at("2021-08-01T00:00:00"))
        send_readings([reading])
        verdict = decided(reading)
        assert verdict.status == "accepted", (verdict.validation_reason,
                                              verdict.validation_detail)
        with_history.append((prop, meter))
    kept = KeptMessages()
    service = RunService(queues=kept)
    service.start(StartRun(period="2021-08"), started_by="test")
    steps = RunSteps(queues=kept, close_page=1)
    drive(steps, kept)

    closing = service.close("2021-08", closed_by="test")
    assert closing.phase == "closing" and len(kept.steps) == RUN_SHARDS
    assert service.close("2021-08", closed_by="test").phase == "closing"
    assert len(kept.steps) == RUN_SHARDS  # the second request enqueued nothing
    drive(steps, kept, twice=True)
    view = service.view("2021-08")
    assert view.status == "closed"

    silent, cursor = {}, None
    while True:  # one meter a page, through every shard
        page = service.silent_meters("2021-08", cursor, limit=1)
        assert len(page.meters) <= 1
        for item in page.meters:
            assert item.meter_id not in silent
            silent[item.meter_id] = item
        cursor = page.cursor
        if cursor is None:
            break
    for prop, meter in with_history:
        assert silent[meter.meter_id].outcome == "estimated"
        bills = [b for b in BillRecord.by_property.query(prop.property_id)
                 if b.period == "2021-08"]
        assert len(bills) == 1 and bills[0].estimated
    assert view.progress.no_response == len(silent)
    estimated = view.progress.estimated_bills
    assert estimated >= len(with_history)

    # Closing the closed run again bills nothing twice and keeps the counts.
    service.close("2021-08", closed_by="test")
    drive(steps, kept, twice=True)
    again = service.view("2021-08")
    assert again.status == "closed" and again.progress.estimated_bills == estimated
    assert again.progress.no_response == len(silent)


SILENT = 3000


def test_a_run_with_3000_silent_meters_closes_and_lists_them_all(admin):
    """Listed on the run item, 3,000 silent meters took ~450 KB: more than a DynamoDB
    item holds (400 KB), so such a run could not close. Each is an item now, listed a
    page at a time through the API. The slices are driven by hand and nobody is asked
    (the fleet bench closes 5,000 and 50,000 meters that were really asked)."""
    _, as_admin = admin
    retire(list(MeterRepository().iter_active()))  # only these meters in the run
    owner = a_customer()
    now = utcnow()
    fleet = [MeterRecord(
        meter_id=f"mtr-silent-{n:05d}", serial=f"SILENT-{n:05d}", public_key="unused",
        public_key_id=f"silent-{n}", model="T", firmware="1", status="active",
        endpoint_url="http://127.0.0.1:9/none", property_id=f"prp_silent_{n:05d}",
        owner_id=owner.user_id, registered_at=now, assigned_at=now, activated_at=now)
        for n in range(SILENT)]
    with MeterRecord.batch_write() as batch:
        for meter in fleet:
            batch.save(meter)
    try:
        kept = KeptMessages()
        service, steps = RunService(queues=kept), RunSteps(queues=kept)
        service.start(StartRun(period="2017-05", policy="no_bill"), started_by="test")
        drive(steps, kept)  # listing: the fan-out batches are kept, nobody is asked
        assert service.view("2017-05").progress.meters_asked == SILENT
        service.close("2017-05", closed_by="test")
        drive(steps, kept)
        closed = as_admin.get("/admin/runs/2017-05").json()
        assert closed["status"] == "closed"
        listed, cursor, pages = set(), None, 0
        while True:
            query = "?limit=250" + (f"&cursor={cursor}" if cursor else "")
            page = as_admin.get(f"/admin/runs/2017-05/silent-meters{query}").json()
            assert len(page["meters"]) <= 250
            listed |= {m["meter_id"] for m in page["meters"]}
            pages += 1
            cursor = page["cursor"]
            if cursor is None:
                break
        assert listed == {m.meter_id for m in fleet} and pages >= SILENT // 250
        assert closed["progress"]["no_response"] == SILENT
        print(f"{SILENT}-meter run: {len(listed)} silent meters listed in {pages} pages")
    finally:
        with MeterRecord.batch_write() as batch:
            for meter in fleet:
                meter.status = "inactive"
                batch.save(meter)


def _shard(meter: MeterRecord) -> int:
    from functions.core.shards import shard_of

    return shard_of(meter.meter_id)


def test_a_run_closes_by_itself_when_its_window_has_ended(admin, meters):
    meters.append(a_meter(a_property(a_customer())))
    kept = KeptMessages()
    RunService(queues=kept).start(StartRun(period="2019-05", policy="no_bill", window_hours=1),
                                  started_by="test")
    steps = RunSteps(queues=kept)
    drive(steps, kept)
    assert "2019-05" not in RunService(queues=kept).close_overdue()  # window still open
    # A run record the API would not serve (an id longer than a period) must not stop
    # the sweep from closing the others.
    BillingRunRecord(run_id="odd-run-record-0123456789", period="2019-05", status="running",
                     started_at=utcnow(), window_ends_at=utcnow()).save()
    later = RunService(queues=kept, clock=lambda: utcnow() + timedelta(minutes=61))
    assert "2019-05" in later.close_overdue(closed_by="window-sweep")
    drive(steps, kept)
    run = RunRepository().get("2019-05")
    assert run is not None and run.status == "closed" and run.closed_by == "window-sweep"
    silent = later.silent_meters("2019-05", None, 500)
    assert silent.cursor is None and meters[0].meter_id in {m.meter_id for m in silent.meters}


def test_a_reading_delivered_twice_at_once_is_counted_once(admin, meters):
    """Two deliveries of one reading judged side by side (SQS delivers at least once):
    one bill, and the run's progress counts the reading once."""
    meter = a_meter(a_property(a_customer()))
    meters.append(meter)
    run_id = f"count-once-{meter.meter_id}"  # counters of its own
    reading = stored_reading(meter, run_id, 150_000, at("2022-11-01T00:00:00"),
                             period="2022-10")
    service = BillingService()
    first, second = service.start_batch([reading]), service.start_batch([reading])
    verdicts = [first.bill(reading), second.bill(reading)]  # both see it undecided
    assert [v.status for v in verdicts] == ["accepted", "accepted"]
    first.finish()
    second.finish()
    counts = progress.totals(run_id)
    assert (counts["answered"], counts["bills_issued"]) == (1, 1)
    assert decided(reading).status == "accepted"


class RefusingQueue(KeptMessages):
    def send_steps(self, steps: Sequence[RunStep]) -> int:
        raise ConnectionError("queue unreachable")


def test_a_start_whose_listing_the_queue_refused_can_be_started_again(admin, meters):
    meters.append(a_meter(a_property(a_customer())))
    with pytest.raises(ConnectionError):
        RunService(queues=RefusingQueue()).start(StartRun(period="2019-07", policy="no_bill"),
                                                 started_by="test")
    run = RunRepository().get("2019-07")
    assert run is not None and run.status == "running"  # not stuck listing
    kept = KeptMessages()
    again = RunService(queues=kept).start(StartRun(period="2019-07"), started_by="test")
    assert again.run.phase == "listing" and len(kept.steps) == RUN_SHARDS
    drive(RunSteps(queues=kept), kept)
    assert asked_once(kept, meters)
