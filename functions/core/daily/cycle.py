"""The daily read cycle: a run kind per day ("daily-YYYY-MM-DD") on the run_steps queue.

Starting a day's cycle sends RUN_SHARDS slices; each slice pages one shard's active meters
(at most DAILY_PAGE), leaves out those already read that day (one BatchGetItem), hands
the rest to iot_fanout in FanoutBatch messages (the billing runs' fan-out: a v2 read
request whose billing_at is the day's latch, 00:00 IST of the next day), counts them and
marks the slice done in one transaction, then sends the shard's next page. A redelivered
slice finds its marker and sends nothing twice; no slice's work grows with the fleet.

Answers come back through the reading endpoint and the readings queue; the billing
function hands a daily run's readings to `DailyReads.record`, which keeps one item per
meter-day (a conditional put: once), counts it, and debits a prepaid connection.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from functions.core.billing_rules.periods import ist_midnight_utc
from functions.core.clock import IST, epoch, utcnow
from functions.core.daily.models import MeterDayRecord
from functions.core.db import cancellation_codes, failed_condition
from functions.core.logs import logger
from functions.core.messages import FanoutBatch, RunStep, VerifiedReading
from functions.core.meters.repositories import MeterRepository
from functions.core.runs import progress
from functions.core.runs.models import RunSliceRecord
from functions.core.runs.queues import QueueSender
from functions.core.shards import RUN_SHARDS

DAILY_PREFIX = "daily-"
DAILY_PAGE = 500  # meters per slice (and their 500 meter-day keys: <= 1,000 items read)
FANOUT_METERS = 50
SLICE_RETENTION = timedelta(days=3)
# The Rules' target: 99% of meters read by 06:00 IST, six hours after the latch.
READ_TARGET_PERCENT = 99
READ_TARGET_AFTER_LATCH = timedelta(hours=6)
TRANSACTION_ATTEMPTS = 5  # conflicts on a counter shard before the batch goes back to SQS


def retention_days() -> int:
    """How long meter-day items are kept (configuration; 400 days covers 'same month
    last year' on the customer's chart)."""
    return int(os.environ.get("DAILY_RETENTION_DAYS", "400"))


def daily_run_id(day: date) -> str:
    return f"{DAILY_PREFIX}{day.isoformat()}"


def is_daily(run_id: str) -> bool:
    return run_id.startswith(DAILY_PREFIX)


def day_of(run_id: str) -> date:
    return date.fromisoformat(run_id.removeprefix(DAILY_PREFIX))


def latch_of(run_id: str) -> datetime:
    """The instant whose registers a daily run asks for: the end of its day."""
    return ist_midnight_utc(day_of(run_id) + timedelta(days=1))


def slice_key(step: RunStep) -> str:
    return f"{step.run_id}#daily#{step.shard}#{step.page}"


@dataclass
class DailySlice:
    run_id: str
    shard: int
    page: int
    meters: int = 0
    asked: int = 0
    items_read: int = 0
    outcome: str = "done"
    last: bool = False


class DailyCycle:
    def __init__(self, meters: MeterRepository | None = None,
                 queues: QueueSender | None = None,
                 clock: Callable[[], datetime] = utcnow, page: int = DAILY_PAGE) -> None:
        self.meters = meters or MeterRepository()
        self.queues = queues or QueueSender()
        self.clock = clock
        self.page = page

    def start(self, day: date) -> str:
        """Send the day's first slice of every shard (a repeat start re-asks only the
        meters not read yet: each slice skips those with their meter-day item)."""
        run_id = daily_run_id(day)
        started = progress.totals(run_id)["meters_total"] > 0
        generation = int(self.clock().timestamp()) if started else 0  # a chain per start
        self.queues.send_steps([
            RunStep(kind="daily", run_id=run_id, period=day.strftime("%Y-%m"),
                    generation=generation, shard=shard, page=0)
            for shard in range(RUN_SHARDS)])
        return run_id

    def handle(self, step: RunStep) -> DailySlice:
        result = DailySlice(step.run_id, step.shard, step.page)
        key = f"{slice_key(step)}#{step.generation}"
        marker = _marker(key)
        if marker is not None and marker.state == "sent":
            result.outcome = "repeated"
            return result
        start_key = json.loads(step.start_key) if step.start_key else None
        meters, next_key = self.meters.active_page(step.shard, start_key, self.page)
        result.meters = result.items_read = len(meters)
        result.last = next_key is None
        day = day_of(step.run_id).isoformat()
        read = {r.meter_id for r in MeterDayRecord.batch_get(
            [(m.meter_id, day) for m in meters], attributes_to_get=["meter_id"])} \
            if meters else set()
        result.items_read += len(meters)
        missing = [m.meter_id for m in meters if m.meter_id not in read]
        result.asked = len(missing)
        batches = [FanoutBatch(run_id=step.run_id, period=step.period,
                               meter_ids=missing[i:i + FANOUT_METERS],
                               batch_key=f"{key}#{i // FANOUT_METERS}")
                   for i in range(0, len(missing), FANOUT_METERS)]
        # Only the first start counts the meters (a restart re-asks the missing ones).
        if marker is None and not self._commit(key, step,
                                               len(meters) if step.generation == 0 else 0):
            result.outcome = "repeated"
        following = None if next_key is None else step.model_copy(update={
            "page": step.page + 1, "start_key": json.dumps(next_key, sort_keys=True)})
        self.queues.send_fanout(batches)
        if following is not None:
            self.queues.send_step(following)
        RunSliceRecord(key).update(actions=[RunSliceRecord.state.set("sent")])
        return result

    def _commit(self, key: str, step: RunStep, meters_total: int) -> bool:
        marker = RunSliceRecord(key, state="claimed",
                                purge_at_epoch=epoch(self.clock() + SLICE_RETENTION))
        try:
            with TransactWrite(connection=RunSliceRecord._get_connection().connection) as tx:
                tx.save(marker, condition=RunSliceRecord.slice_key.does_not_exist())
                actions = progress.counter_actions(meters_total=meters_total)
                if actions:
                    tx.update(progress.counter_item(step.run_id, step.shard), actions=actions)
        except TransactWriteError as error:
            if failed_condition(error, 0):
                return False
            raise
        return True


def _marker(key: str) -> RunSliceRecord | None:
    try:
        return RunSliceRecord.get(key, consistent_read=True)
    except RunSliceRecord.DoesNotExist:
        return None


@dataclass(frozen=True)
class DayRate:
    day: str
    meters_total: int
    read: int
    read_by_target: int  # by 06:00 IST after the day's latch


def day_rate(day: date) -> DayRate:
    """The share of meters read for a day (the run's sharded counters, one BatchGetItem)."""
    totals = progress.totals(daily_run_id(day))
    return DayRate(day.isoformat(), totals["meters_total"], totals["answered"],
                   totals["answered_by_target"])


class DailyReads:
    """A daily run's readings: one meter-day item each, then the prepaid debit.

    A batch (the billing function's SQS batch, at most 10) costs a few calls for all its
    meter-days: one BatchGetItem of the days before (the day's units), one transaction
    of the conditional puts with the counter update (once, whatever redelivers or
    retries), and the prepaid check (after_read: a BatchGetItem of the meters and one of
    the accounts)."""

    def __init__(self, clock: Callable[[], datetime] = utcnow,
                 after_read: Callable[[list[MeterDayRecord]], Any] | None = None) -> None:
        self.clock = clock
        self.after_read = after_read

    def record(self, reading: VerifiedReading) -> bool:
        return bool(self.record_batch([reading]))

    def record_batch(self, readings: list[VerifiedReading]) -> list[MeterDayRecord]:
        """Keep each reading as its meter-day; the items new this time (a day read
        already is left as it was)."""
        if not readings:
            return []
        now = self.clock()
        keys = {(r.meter_id, (day_of(r.run_id) - timedelta(days=1)).isoformat())
                for r in readings}
        previous = {(i.meter_id, i.day): i for i in MeterDayRecord.batch_get(
            list(keys), attributes_to_get=["meter_id", "day", "import_wh"])}
        items: dict[tuple[str, str], tuple[str, MeterDayRecord]] = {}
        for reading in readings:
            day = day_of(reading.run_id)
            before = previous.get((reading.meter_id, (day - timedelta(days=1)).isoformat()))
            item = MeterDayRecord(
                reading.meter_id, day.isoformat(), import_wh=reading.register_wh,
                export_wh=reading.export_wh or 0, tod_wh=list(reading.tod_wh or []),
                md_w=reading.md_w or 0, md_at=reading.md_at, snapshot_at=reading.snapshot_at,
                source=reading.source or "live",
                units=None if before is None else
                max(0, reading.register_wh // 1000 - int(before.import_wh) // 1000),
                read_at=reading.read_at, received_at=reading.received_at,
                purge_at_epoch=epoch(now + timedelta(days=retention_days())))
            items.setdefault((item.meter_id, item.day), (reading.run_id, item))  # 1st answer
        new = _keep_and_count(list(items.values()))
        if new and self.after_read is not None:
            try:
                self.after_read(new)
            except Exception:  # the reads are kept; a debit is caught up by the next day's
                logger.exception("after daily reads", extra={"meter_days": len(new)})
        return new


def _keep_and_count(items: list[tuple[str, MeterDayRecord]]) -> list[MeterDayRecord]:
    """Write the meter-days not kept yet and add them to their runs' counters in ONE
    transaction, so a day is counted exactly when it is kept: a redelivered batch finds
    its days there and counts nothing, and a call retried after a timeout is the same
    transaction (botocore's idempotency token). Returns the days written now."""
    pending = items
    for _ in range(len(items) + TRANSACTION_ATTEMPTS):
        if not pending:
            return []
        counts: dict[str, dict[str, int]] = {}
        for run_id, item in pending:
            count = counts.setdefault(run_id, {"answered": 0, "answered_by_target": 0})
            count["answered"] += 1
            if item.received_at <= latch_of(run_id) + READ_TARGET_AFTER_LATCH:
                count["answered_by_target"] += 1
        try:
            with TransactWrite(connection=MeterDayRecord._get_connection().connection) as tx:
                for _run_id, item in pending:
                    tx.save(item, condition=MeterDayRecord.meter_id.does_not_exist())
                for run_id, count in counts.items():  # a random shard of each run's counters
                    tx.update(progress.counter_item(run_id, None),
                              actions=progress.counter_actions(**count))
            return [item for _run_id, item in pending]
        except TransactWriteError as error:
            reasons = cancellation_codes(error)
            kept = {i for i, code in enumerate(reasons[:len(pending)])
                    if code == "ConditionalCheckFailed"}
            if kept:  # read already (a redelivery, or a second answer): the rest go on
                pending = [entry for i, entry in enumerate(pending) if i not in kept]
            elif "TransactionConflict" not in reasons:
                raise
            # A conflict: another batch on the same counter shard; again, on another.
    raise RuntimeError("meter-days kept conflicting; the batch is retried by SQS")


def _get(meter_id: str, day: str) -> MeterDayRecord | None:
    try:
        return MeterDayRecord.get(meter_id, day)
    except MeterDayRecord.DoesNotExist:
        return None


def ist_day(moment: datetime) -> date:
    return moment.astimezone(IST).date()


def month_days(meter_id: str, day: date) -> list[MeterDayRecord]:
    """The meter's items from the last day of the previous month (the month's opening
    register) to `day`: at most 32, one query."""
    first = day.replace(day=1) - timedelta(days=1)
    return list(MeterDayRecord.query(
        meter_id, MeterDayRecord.day.between(first.isoformat(), day.isoformat())))


def recent_days(meter_id: str, days: int) -> list[MeterDayRecord]:
    """The newest `days` items (the chart: 30 or 90 days), oldest first."""
    items = list(MeterDayRecord.query(meter_id, scan_index_forward=False,
                                      limit=max(1, min(days, 400))))
    return list(reversed(items))
