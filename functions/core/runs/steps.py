"""The slices of a billing run: listing (ask the meters still missing a bill)
and closing (apply the run's policy to the meters that stayed silent).

Each slice is one RunStep message: a page of the active meters of one shard.
It does a bounded amount of work (at most LIST_PAGE or CLOSE_PAGE meters, a few
BatchGetItem and queue calls), then sends the next page of its shard as a new
message; RUN_SHARDS chains run side by side. So no invocation's work grows with
the fleet, and a failed slice is retried alone (SQS redelivers its message).

Exactly once, whatever SQS redelivers: a slice counts and writes its items in
one transaction together with its marker (RunSliceRecord, a conditional put);
a redelivered slice finds the marker and only re-sends what may not have gone
out (its fan-out batches and its continuation), which iot_fanout in turn
recognises by the batch key. A slice of an older start or close (the run moved
on) does nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from functions.core.accounts.models import UserRecord
from functions.core.billing_rules import BillingPeriod, TariffNotFound, parse_period
from functions.core.bills.daily_read import (
    DAILY_READ,
    bill_from_meter_day,
    is_daily_bill,
    meter_day_keys,
)
from functions.core.bills.history import PropertyHistory, histories, history_keys
from functions.core.bills.models import BillRecord, bill_id_for
from functions.core.bills.repository import get_items, tenancies_of
from functions.core.bills.service import (
    HELD,
    REASON_ALREADY_BILLED,
    REASON_PREPAID,
    REJECTED,
    BillingService,
)
from functions.core.clock import epoch, utcnow
from functions.core.daily.models import MeterDayRecord
from functions.core.db import cancellation_codes
from functions.core.messages import FanoutBatch, RunStep
from functions.core.meters.models import (
    READING_RECEIVED,
    REQUEST_FAILED,
    REQUEST_OUTSTANDING,
    REQUEST_UNDELIVERABLE,
    MeterRecord,
    RawReadingRecord,
    ReadRequestRecord,
)
from functions.core.meters.repositories import (
    MeterRepository,
    ReadingRepository,
    ReadRequestRepository,
)
from functions.core.observability import MetricUnit, emit, subsegment
from functions.core.properties.models import PropertyRecord, TenancyRecord
from functions.core.runs import progress
from functions.core.runs.models import (
    POLICY_ESTIMATE,
    POLICY_NO_BILL,
    BillingRunRecord,
    RunSliceRecord,
    SilentMeterRecord,
)
from functions.core.runs.queues import QueueSender
from functions.core.runs.repository import RunRepository
from functions.core.shards import shard_key

LIST_PAGE = 500  # meters per listing slice (+ their 500 bill keys: <= 1,000 items read);
#                  10 fan-out batches, one SendMessageBatch
FANOUT_METERS = 50  # meter ids per FanoutBatch (iot_fanout asks them concurrently)
CLOSE_PAGE = 50  # meters per closing slice: each silent one may get an estimated bill
SLICE_RETENTION = timedelta(days=40)
TRANSACTION_MAX = 100  # DynamoDB's limit of items in one TransactWriteItems
BILLED = ("estimated", DAILY_READ)  # a silent meter's outcomes that are the period's bill


@dataclass
class SliceResult:
    """What one slice did (logged, and read by the bench)."""

    kind: str
    run_id: str
    shard: int
    page: int
    meters: int = 0  # meters of the page
    asked: int = 0  # list: meters enqueued for a read request
    silent: int = 0  # close: meters without a reading
    items_read: int = 0
    items_written: int = 0
    outcome: str = "done"  # done | repeated (marker found) | stale (run moved on)
    last: bool = False


class RunSteps:
    def __init__(self, runs: RunRepository | None = None,
                 meters: MeterRepository | None = None,
                 requests: ReadRequestRepository | None = None,
                 readings: ReadingRepository | None = None,
                 billing: BillingService | None = None,
                 queues: QueueSender | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 list_page: int = LIST_PAGE, close_page: int = CLOSE_PAGE) -> None:
        self.list_page, self.close_page = list_page, close_page
        self.runs = runs or RunRepository()
        self.meters = meters or MeterRepository()
        self.requests = requests or ReadRequestRepository()
        self.readings = readings or ReadingRepository()
        self.billing = billing or BillingService()
        self.queues = queues or QueueSender()
        self.clock = clock

    def handle(self, step: RunStep) -> SliceResult:
        result = SliceResult(step.kind, step.run_id, step.shard, step.page)
        run = self.runs.get(step.run_id)
        if run is None or not _current(run, step):
            result.outcome = "stale"
            return result
        marker = self.runs.slice_marker(slice_key(step))
        if marker is not None and marker.state == "sent":
            result.outcome = "repeated"
            return result
        start_key = json.loads(step.start_key) if step.start_key else None
        limit = self.close_page if step.kind == "close" else (
            # A restart also reads the page's requests and readings: half the meters keeps
            # a slice at <= 1,000 items read (meters, bills, requests, readings).
            self.list_page if step.generation == 0 else max(1, self.list_page // 2))
        meters, next_key = self.meters.active_page(step.shard, start_key, limit)
        result.meters = result.items_read = len(meters)
        result.last = next_key is None
        following = None if next_key is None else step.model_copy(update={
            "page": step.page + 1, "start_key": json.dumps(next_key, sort_keys=True)})
        if step.kind == "list":
            batches = self._list(run, step, meters, marker, result)
        else:
            batches = []
            self._close(run, step, meters, marker, result)
        if result.outcome == "stale":
            return result
        # Sent after the transaction: a crash before the marker says "sent" sends again,
        # and iot_fanout / the next slice recognise the repeat by their own markers.
        self.queues.send_fanout(batches)
        if following is not None:
            self.queues.send_step(following)
        self.runs.mark_sent(RunSliceRecord(slice_key(step)))
        if result.last:
            now = self.clock()
            if self.runs.finish_phase(step.run_id, step.kind, step.generation, now) \
                    and step.kind == "close" and run.started_at is not None:
                # Start to closed: how long a billing cycle takes (the first start's).
                emit({"RunDuration": (now - run.started_at).total_seconds()},
                     MetricUnit.Seconds, run_id=step.run_id)
        return result

    # ---- listing ---------------------------------------------------------------------

    def _list(self, run: BillingRunRecord, step: RunStep, meters: Sequence[MeterRecord],
              marker: RunSliceRecord | None, result: SliceResult) -> list[FanoutBatch]:
        fitted = [m for m in meters if m.property_id]
        bills = get_items([(BillRecord, bill_id_for(m.property_id or "", step.period), None)
                           for m in fitted])
        billed = {b.property_id for b in bills if isinstance(b, BillRecord)}
        result.items_read += len(bills)
        in_flight: set[str] = set()
        asked_before: set[str] = set()
        if step.generation > 0 and fitted:  # a restart: skip meters with an answer pending
            first, last = meters[0].meter_id, meters[-1].meter_id
            now = self.clock()
            requests = self.requests.in_range(step.run_id, step.shard, first, last)
            readings = self.readings.readings_in_range(step.run_id, step.shard, first, last)
            result.items_read += len(requests) + len(readings)
            asked_before = {r.meter_id for r in requests}
            in_flight = {r.meter_id for r in requests
                         if r.status == REQUEST_OUTSTANDING and r.expires_at > now}
            in_flight |= {r.meter_id for r in readings if r.status in (READING_RECEIVED, HELD)}
        gaps = [m.meter_id for m in fitted
                if m.property_id not in billed and m.meter_id not in in_flight]
        result.asked = len(gaps)
        if marker is None:
            counts = {"meters_total": len([m for m in gaps if m not in asked_before])}
            if not self._commit(run, step, result, counts):
                return []
        return [FanoutBatch(run_id=step.run_id, period=step.period,
                            meter_ids=gaps[i:i + FANOUT_METERS],
                            batch_key=f"{slice_key(step)}#{i // FANOUT_METERS}")
                for i in range(0, len(gaps), FANOUT_METERS)]

    # ---- closing ---------------------------------------------------------------------

    def _close(self, run: BillingRunRecord, step: RunStep, meters: Sequence[MeterRecord],
               marker: RunSliceRecord | None, result: SliceResult) -> None:
        if marker is not None:  # counted and written already: only the sending is left
            return
        fitted = [m for m in meters if m.property_id]
        period = parse_period(step.period)
        answered: set[str] = set()
        rejected_only: dict[str, str] = {}  # meter -> why its readings were refused
        requests: dict[str, ReadRequestRecord] = {}
        if fitted:
            first, last = meters[0].meter_id, meters[-1].meter_id
            readings = self.readings.readings_in_range(step.run_id, step.shard, first, last)
            for request in sorted(self.requests.in_range(step.run_id, step.shard, first, last),
                                  key=lambda r: r.issued_at):
                requests[request.meter_id] = request  # the latest request wins
            answered = {r.meter_id for r in readings}
            # Every reading of the run rejected (not for "already billed"): no usable
            # reading, so the meter-day may bill it as for a silent meter.
            usable = {r.meter_id for r in readings if not _refused(r)}
            rejected_only = {r.meter_id: str(r.validation_reason) for r in readings
                             if r.meter_id not in usable}
            result.items_read += len(readings) + len(requests)
        keys: list[Any] = [(BillRecord, bill_id_for(m.property_id or "", step.period), None)
                           for m in fitted]
        keys += [(SilentMeterRecord, f"{step.run_id}#{m.meter_id}", None) for m in fitted]
        keys += [(PropertyRecord, m.property_id, None) for m in fitted]
        loaded = get_items(keys)
        result.items_read += len(loaded)
        # A bill this run made from a meter-day does not count as answered: a slice that
        # died after writing it finds it here again and records (and counts) it once.
        actual = {i.property_id for i in loaded if isinstance(i, BillRecord)
                  and not i.estimated and not is_daily_bill(i, step.run_id)}
        listed = {i.meter_id: i for i in loaded if isinstance(i, SilentMeterRecord)}
        properties = {i.property_id: i for i in loaded if isinstance(i, PropertyRecord)}

        writes: list[SilentMeterRecord] = []
        deletes: list[SilentMeterRecord] = []
        deltas = {"no_response": 0, "estimated_bills": 0, "bills_issued": 0}
        silent = [m for m in fitted
                  if m.meter_id not in answered and m.property_id not in actual]
        rejected = [m for m in fitted
                    if m.meter_id in rejected_only and m.property_id not in actual]
        # The billing-date meter-days of the meters still to bill: one BatchGetItem.
        open_meters = [m.meter_id for m in silent + rejected
                       if _still_open(listed.get(m.meter_id))]
        days = {d.meter_id: d for d in get_items(meter_day_keys(open_meters, period))
                if isinstance(d, MeterDayRecord)} if open_meters else {}
        result.items_read += len(days)
        estimating = SliceEstimates.load(
            [properties[m.property_id] for m in silent + rejected
             if m.property_id in properties and _still_open(listed.get(m.meter_id))
             and (m.meter_id in days
                  or (run.policy == POLICY_ESTIMATE and m.meter_id not in rejected_only))],
            period, self.billing)
        result.items_read += estimating.items_read
        daily_bills = 0
        for meter in silent + rejected:
            before = listed.get(meter.meter_id)
            why = None if meter.meter_id not in rejected_only else (
                "reading_rejected", rejected_only[meter.meter_id])
            item = self._silent_item(run, step, meter, properties.get(meter.property_id or ""),
                                     requests.get(meter.meter_id), period, before, estimating,
                                     days.get(meter.meter_id), why)
            if why is not None and item.outcome != DAILY_READ:
                continue  # a rejected reading stays the admin's (listed with rejections)
            writes.append(item)
            if before is None and why is None:
                deltas["no_response"] += 1
            if item.outcome in BILLED and (before is None or before.outcome != item.outcome):
                if item.outcome == DAILY_READ:
                    daily_bills += len(item.bill_ids or [])
                else:
                    deltas["estimated_bills"] += 1
                deltas["bills_issued"] += len(item.bill_ids or [])
        kept = {item.meter_id for item in writes}
        for meter in fitted:
            before = listed.get(meter.meter_id)
            if meter.meter_id not in kept and before is not None:
                deletes.append(before)  # silent at an earlier close, answered since
                if before.why != "reading_rejected":
                    deltas["no_response"] -= 1
        result.silent = len([w for w in writes if w.why != "reading_rejected"])
        if self._commit(run, step, result, deltas, writes, deletes) \
                and result.outcome == "done":
            emit({"BillsEstimated": deltas["estimated_bills"],
                  "BillsIssued": deltas["bills_issued"] - daily_bills},
                 dimensions={"kind": "estimated"}, total=True)
            # Actual bills from the daily cycle's meter-days: billing's own kind.
            emit({"BillsIssued": daily_bills}, dimensions={"kind": "daily_read"}, total=True)

    def _silent_item(self, run: BillingRunRecord, step: RunStep, meter: MeterRecord,
                     prop: PropertyRecord | None, request: ReadRequestRecord | None,
                     period: BillingPeriod, before: SilentMeterRecord | None,
                     estimating: SliceEstimates, day: MeterDayRecord | None = None,
                     rejected: tuple[str, str] | None = None) -> SilentMeterRecord:
        why, detail = rejected or _why_silent(request)
        outcome: str = POLICY_NO_BILL
        bill_ids: list[str] | None = None
        if before is not None and before.outcome in BILLED:  # billed at an earlier close
            outcome, bill_ids = before.outcome, [str(b) for b in before.bill_ids or []]
            detail = before.detail
        else:
            if day is not None and prop is not None:  # an actual read from the daily cycle
                outcome, bill_ids, note = self._from_daily(meter, prop, step.run_id, period,
                                                           day, estimating)
                if note:
                    detail = f"{detail}; {note}" if detail else note
            if outcome != DAILY_READ and rejected is None and run.policy == POLICY_ESTIMATE \
                    and prop is not None:
                outcome, bill_ids = self._estimate(meter, prop, step.run_id, period, estimating)
        return SilentMeterRecord(
            f"{step.run_id}#{meter.meter_id}", run_shard=shard_key(step.run_id, step.shard),
            run_id=step.run_id, meter_id=meter.meter_id, property_id=meter.property_id,
            why=why, detail=(detail or "")[:500] or None, outcome=outcome, bill_ids=bill_ids,
            close_generation=step.generation, listed_at=self.clock())

    def _from_daily(self, meter: MeterRecord, prop: PropertyRecord, run_id: str,
                    period: BillingPeriod, day: MeterDayRecord, estimating: SliceEstimates
                    ) -> tuple[str, list[str] | None, str | None]:
        """Bill from the meter-day latched at the billing date: (outcome, bill ids, a note
        for the silent item's detail)."""
        done = bill_from_meter_day(
            self.billing, meter, prop, run_id, period, day,
            history=estimating.histories.get((prop.property_id, str(period))),
            users=estimating.users, tenancies=estimating.tenancies.get(prop.property_id))
        if done.outcome == DAILY_READ:
            return DAILY_READ, [b.bill_id for b in done.bills] or None, \
                f"billed from the daily read of {day.day}"
        if done.outcome == "already_billed":
            return "already_billed", [b.bill_id for b in done.bills] or None, None
        return POLICY_NO_BILL, None, f"daily read of {day.day} not used ({done.detail})"

    def _estimate(self, meter: MeterRecord, prop: PropertyRecord, run_id: str,
                  period: BillingPeriod, estimating: SliceEstimates
                  ) -> tuple[str, list[str] | None]:
        try:
            outcome, bills = self.billing.estimate(
                meter, prop, run_id, period,
                history=estimating.histories.get((prop.property_id, str(period))),
                users=estimating.users, tenancies=estimating.tenancies.get(prop.property_id))
        except TariffNotFound:
            return "no_tariff", None
        # Our own estimate from an attempt that died before its transaction.
        if outcome == "already_billed" and bills and bills[0].estimated \
                and bills[0].run_id == run_id:
            outcome = "estimated"
        return outcome, [b.bill_id for b in bills] or None

    # ---- the transaction of a slice -----------------------------------------------------

    def _commit(self, run: BillingRunRecord, step: RunStep, result: SliceResult,
                counts: dict[str, int], writes: Sequence[SilentMeterRecord] = (),
                deletes: Sequence[SilentMeterRecord] = ()) -> bool:
        """Marker, counts, items and (on a shard's last page) the shard's "done", in one
        transaction. False if the run moved on (the slice is stale: nothing written)."""
        if len(writes) + len(deletes) + 3 > TRANSACTION_MAX:
            raise ValueError("a slice writes more items than one transaction takes")
        marker = RunSliceRecord(slice_key(step), state="claimed",
                                purge_at_epoch=epoch(self.clock() + SLICE_RETENTION))
        try:
            with subsegment("run_steps.transaction", kind=step.kind), \
                    TransactWrite(connection=_connection()) as transaction:
                transaction.save(marker, condition=RunSliceRecord.slice_key.does_not_exist())
                actions = progress.counter_actions(**counts)
                if actions:
                    transaction.update(progress.counter_item(step.run_id, step.shard),
                                       actions=actions)
                for item in writes:
                    transaction.save(item)
                for item in deletes:
                    transaction.delete(item)
                condition = self.runs.generation_condition(step.kind, step.generation)
                if result.last:
                    transaction.update(BillingRunRecord(run_id=run.run_id),
                                       actions=[self.runs.shard_done_action(step.kind)],
                                       condition=condition)
                else:
                    transaction.condition_check(BillingRunRecord, run.run_id,
                                                condition=condition)
        except TransactWriteError as error:
            reasons = cancellation_codes(error)
            if reasons and reasons[-1] == "ConditionalCheckFailed":
                result.outcome = "stale"
                return False
            if reasons and reasons[0] == "ConditionalCheckFailed":
                result.outcome = "repeated"  # another delivery of this slice committed
                return True
            raise
        result.items_written = 1 + (1 if counts else 0) + len(writes) + len(deletes) + 1
        return True


@dataclass
class SliceEstimates:
    """What a closing slice's estimates need, loaded for all its silent meters at once
    (as the billing function loads an SQS batch): their bill histories and owners in
    one BatchGetItem, their tenancies in one keyed SELECT."""

    histories: dict[tuple[str, str], PropertyHistory] = field(default_factory=dict)
    users: dict[str, UserRecord] = field(default_factory=dict)
    tenancies: dict[str, list[TenancyRecord]] = field(default_factory=dict)
    items_read: int = 0

    @classmethod
    def load(cls, properties: Sequence[PropertyRecord], period: BillingPeriod,
             billing: BillingService) -> SliceEstimates:
        if not properties:
            return cls()
        keys: list[Any] = [(BillRecord, bill_id, None) for bill_id in
                           history_keys((p.property_id, period) for p in properties)]
        keys += [(UserRecord, owner, None) for owner in sorted({p.owner_id for p in properties})]
        loaded = get_items(keys)
        bills = [i for i in loaded if isinstance(i, BillRecord)]
        users = {i.user_id: i for i in loaded if isinstance(i, UserRecord)}
        tenancies = tenancies_of(p.property_id for p in properties)
        found = histories([(p, period) for p in properties], billing.bills, prefetched=bills)
        return cls(found, users, tenancies,
                   len(loaded) + sum(len(t) for t in tenancies.values()))


def slice_key(step: RunStep) -> str:
    return f"{step.run_id}#{step.kind}{step.generation}#{step.shard:02d}#{step.page:06d}"


def _current(run: BillingRunRecord, step: RunStep) -> bool:
    if step.kind == "list":
        return int(run.generation) == step.generation and run.status == "listing"
    return int(run.close_generation) == step.generation and run.status == "closing"


def _refused(reading: RawReadingRecord) -> bool:
    """A reading rejected for what it says (not because the period was billed already, or
    the connection is prepaid that month: its daily debits charge it)."""
    return reading.status == REJECTED \
        and reading.validation_reason not in (REASON_ALREADY_BILLED, REASON_PREPAID)


def _still_open(item: SilentMeterRecord | None) -> bool:
    """Not billed at an earlier close (an estimate or a meter-day is the period's bill)."""
    return item is None or item.outcome not in BILLED


def _why_silent(request: ReadRequestRecord | None) -> tuple[str, str | None]:
    if request is None:
        return "not_asked", "no read request was sent in this run"
    if request.status == REQUEST_UNDELIVERABLE:
        return "unreachable", request.delivery_error
    if request.status == REQUEST_FAILED:
        return "meter_error", request.error_code
    return "no_answer", f"request {request.status}, expired {request.expires_at.isoformat()}"


def _connection() -> Any:
    return RunSliceRecord._get_connection().connection


__all__ = ["CLOSE_PAGE", "LIST_PAGE", "RunSteps", "SliceResult", "slice_key"]
