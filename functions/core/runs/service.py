"""Billing runs: start (one per period; a restart fills gaps only), progress,
the readings an admin must look at, and close (silent meters and the run's
policy for them).

A run asks meters through the fan-out queue: `FanoutBatch` messages of up to
FANOUT_METERS meter ids, sent ten to a SendMessageBatch call. iot_fanout turns
them into read requests, the reading endpoint stores and enqueues the
answers, and the billing function bills them; every part adds to the run's
counters (runs/progress.py). Closing recounts from the records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from functions.core.aws import client
from functions.core.billing_rules import BillingPeriod, TariffNotFound, parse_period
from functions.core.bills.repository import BillRepository
from functions.core.bills.service import HELD, BillingService
from functions.core.clock import utcnow
from functions.core.errors import Conflict, InvalidInput, NotFound
from functions.core.logs import logger
from functions.core.messages import FanoutBatch, VerifiedReading
from functions.core.meters.models import (
    REQUEST_FAILED,
    REQUEST_OUTSTANDING,
    REQUEST_UNDELIVERABLE,
    MeterRecord,
    ReadRequestRecord,
)
from functions.core.meters.repositories import (
    MeterRepository,
    ReadingRepository,
    ReadRequestRepository,
)
from functions.core.properties.models import PropertyRecord
from functions.core.resources import queue
from functions.core.runs.models import (
    POLICY_ESTIMATE,
    POLICY_NO_BILL,
    BillingRunRecord,
    SilentMeterAttribute,
)
from functions.core.runs.repository import RunRepository
from functions.core.runs.schemas import (
    ReleasedReading,
    ReleaseReading,
    RunReadingView,
    RunView,
    StartedRun,
    StartRun,
)

FANOUT_METERS = 50  # meter ids per FanoutBatch message (iot_fanout asks them concurrently)
SQS_BATCH = 10  # entries per SendMessageBatch call (the SQS limit)


class RunService:
    def __init__(self, runs: RunRepository | None = None,
                 meters: MeterRepository | None = None,
                 requests: ReadRequestRepository | None = None,
                 readings: ReadingRepository | None = None,
                 bills: BillRepository | None = None,
                 billing: BillingService | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.runs = runs or RunRepository()
        self.meters = meters or MeterRepository()
        self.requests = requests or ReadRequestRepository()
        self.readings = readings or ReadingRepository()
        self.bills = bills or BillRepository()
        self.billing = billing or BillingService(bills=self.bills, meters=self.meters)
        self.clock = clock

    # ---- start ----------------------------------------------------------------

    def start(self, request: StartRun, started_by: str) -> StartedRun:
        period = parse_period(request.period)
        now = self.clock()
        if period.start_utc > now:
            raise InvalidInput(f"The billing period {period} has not begun yet.")
        run_id = str(period)  # one run per period
        window_ends_at = now + timedelta(hours=request.window_hours)
        existing = self.runs.get(run_id)
        first_start = existing is None or existing.started_at is None

        requests = self.requests.for_run(run_id) if not first_start else []
        gaps, skipped = self._gaps(period, run_id, requests, now)
        if first_start:
            first_start = self.runs.start(
                run_id, str(period), request.policy or POLICY_ESTIMATE, started_by, now,
                window_ends_at, len(gaps))
        if not first_start:  # a restart (or a concurrent first start won): fill gaps only
            asked_before = {r.meter_id for r in requests}
            self.runs.restart(run_id, request.policy, window_ends_at,
                              len([m for m in gaps if m not in asked_before]))
        messages = self._enqueue(run_id, str(period), gaps)
        logger.info("billing run started", extra={
            "run_id": run_id, "first_start": first_start, "meters": len(gaps)})
        return StartedRun(run=self.view(run_id), first_start=first_start,
                          meters_enqueued=len(gaps), fanout_messages=messages, **skipped)

    def _gaps(self, period: BillingPeriod, run_id: str, requests: list[ReadRequestRecord],
              now: datetime) -> tuple[list[str], dict[str, int]]:
        """Active meters still missing a bill for the period, except those with
        an outstanding request or a reading in flight or held for review."""
        active = [m for m in self.meters.iter_active() if m.property_id]
        billed = {b.property_id for b in self.bills.for_period(str(period))}
        outstanding = {r.meter_id for r in requests
                       if r.status == REQUEST_OUTSTANDING and r.expires_at > now}
        waiting = {r.meter_id for r in self.readings.readings_for_run(run_id)
                   if r.status in ("received", HELD)} if requests else set()
        gaps, skipped = [], {"skipped_billed": 0, "skipped_outstanding": 0,
                             "skipped_awaiting_review": 0}
        for meter in sorted(active, key=lambda m: m.meter_id):
            if meter.property_id in billed:
                skipped["skipped_billed"] += 1
            elif meter.meter_id in outstanding:
                skipped["skipped_outstanding"] += 1
            elif meter.meter_id in waiting:
                skipped["skipped_awaiting_review"] += 1
            else:
                gaps.append(meter.meter_id)
        return gaps, skipped

    def _enqueue(self, run_id: str, period: str, meter_ids: list[str]) -> int:
        bodies = [FanoutBatch(run_id=run_id, period=period,
                              meter_ids=meter_ids[i:i + FANOUT_METERS]).model_dump_json()
                  for i in range(0, len(meter_ids), FANOUT_METERS)]
        if not bodies:
            return 0
        sqs = client("sqs")
        url = _queue_url("fanout")
        for start in range(0, len(bodies), SQS_BATCH):
            chunk = bodies[start:start + SQS_BATCH]
            response = sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)])
            if response.get("Failed"):
                raise RuntimeError(f"fan-out queue refused {len(response['Failed'])} messages")
        return len(bodies)

    # ---- progress -------------------------------------------------------------

    def get(self, run_id: str) -> BillingRunRecord:
        run = self.runs.get(run_id) if len(run_id) <= 20 else None
        if run is None or run.started_at is None:
            raise NotFound("No billing run for this period.")
        return run

    def view(self, run_id: str) -> RunView:
        return RunView.of(self.get(run_id))

    def all(self) -> list[RunView]:
        return [RunView.of(r) for r in sorted(self.runs.all(), key=lambda r: r.run_id,
                                              reverse=True)]

    def run_readings(self, run_id: str, status: str | None) -> list[RunReadingView]:
        """The run's readings with billing's verdict and reason (optionally one
        status); for "rejected" also the messages the reading endpoint refused
        (tampered, replayed, stale ...)."""
        self.get(run_id)
        found = [RunReadingView(
            source="billing", meter_id=r.meter_id, property_id=r.property_id,
            reading_key=r.reading_key, status=r.status, reason=r.validation_reason,
            detail=r.validation_detail, register_wh=int(r.register_wh), read_at=r.read_at,
            received_at=r.received_at)
            for r in self.readings.readings_for_run(run_id)
            if status is None or r.status == status]
        if status in (None, "rejected"):
            found += [RunReadingView(
                source="endpoint", meter_id=r.meter_id, property_id=None,
                reading_key=r.reading_key, status="rejected", reason=r.reason,
                detail=r.detail, register_wh=None, read_at=None, received_at=r.received_at)
                for r in self.readings.rejections(run_id=run_id, limit=10_000)]
        return sorted(found, key=lambda r: (r.meter_id, r.received_at))

    def release(self, run_id: str, decision: ReleaseReading) -> ReleasedReading:
        """Bill (without the spike check) or reject a reading held for review."""
        self.get(run_id)
        stored = self.readings.get_reading(decision.meter_id, decision.reading_key) \
            if decision.reading_key.startswith("reading#") else None
        if stored is None or stored.run_id != run_id:
            raise NotFound("No such reading in this run.")
        if stored.status != HELD:
            raise Conflict(f"This reading is {stored.status}, not held for review.")
        batch = self.billing.start_batch([VerifiedReading(
            reading_key=stored.reading_key, meter_id=stored.meter_id, run_id=stored.run_id,
            period=stored.period, nonce=stored.nonce, counter=int(stored.counter),
            register_wh=int(stored.register_wh), read_at=stored.read_at,
            received_at=stored.received_at)])
        try:
            verdict = batch.release(stored, decision.decision)
        finally:
            batch.finish()
        # The held count goes down as the reading leaves review.
        self._adjust_held(run_id)
        return ReleasedReading(meter_id=stored.meter_id, reading_key=stored.reading_key,
                               status=verdict.status, reason=verdict.reason,
                               detail=verdict.detail, bill_ids=[b.bill_id for b in verdict.bills])

    def _adjust_held(self, run_id: str) -> None:
        held = sum(1 for r in self.readings.readings_for_run(run_id) if r.status == HELD)
        self.runs.set_counts(run_id, {"held": held})

    # ---- close ------------------------------------------------------------------

    def close(self, run_id: str, closed_by: str) -> RunView:
        """List the meters that gave no reading and apply the run's policy to
        them: an estimated bill (mean of the last actual months; none without
        history) or no bill. Closing again is safe: it bills nothing twice."""
        run = self.get(run_id)
        period = parse_period(run.period or run_id)
        requests = {r.meter_id: r for r in self.requests.for_run(run_id)}
        readings = self.readings.readings_for_run(run_id)
        answered = {r.meter_id for r in readings}
        # Silent: no reading in this run and no actual bill for the period (an
        # estimate from an earlier close keeps the meter on the list).
        actually_billed = {b.property_id for b in self.bills.for_period(str(period))
                           if not b.estimated}
        silent = [m for m in sorted(self.meters.iter_active(), key=lambda m: m.meter_id)
                  if m.property_id and m.meter_id not in answered
                  and m.property_id not in actually_billed]
        properties = _properties_of(silent)
        listed = [self._apply_policy(run, period, meter, properties.get(meter.property_id or ""),
                                     requests.get(meter.meter_id)) for meter in silent]

        period_bills = [b for b in self.bills.for_period(str(period)) if b.run_id == run_id]
        exact = {
            "answered": len(answered),
            "no_response": len(silent),
            "rejected": sum(1 for r in readings if r.status == "rejected"),
            "held": sum(1 for r in readings if r.status == HELD),
            "bills_issued": len(period_bills),
            "estimated_bills": sum(1 for b in period_bills if b.estimated),
        }
        self.runs.close(run_id, self.clock(), closed_by, listed, exact)
        logger.info("billing run closed", extra={"run_id": run_id, **exact})
        return self.view(run_id)

    def _apply_policy(self, run: BillingRunRecord, period: BillingPeriod, meter: MeterRecord,
                      prop: PropertyRecord | None, request: ReadRequestRecord | None
                      ) -> SilentMeterAttribute:
        why, detail = _why_silent(request)
        item = SilentMeterAttribute(meter_id=meter.meter_id, property_id=meter.property_id,
                                    why=why, detail=detail, outcome=POLICY_NO_BILL)
        if run.policy != POLICY_ESTIMATE or prop is None:
            return item
        try:
            outcome, bills = self.billing.estimate(meter, prop, run.run_id, period)
        except TariffNotFound:
            outcome, bills = "no_tariff", []
        return SilentMeterAttribute(
            meter_id=meter.meter_id, property_id=meter.property_id, why=why, detail=detail,
            outcome=outcome, bill_ids=[b.bill_id for b in bills] or None)


def _why_silent(request: ReadRequestRecord | None) -> tuple[str, str | None]:
    if request is None:
        return "not_asked", "no read request was sent in this run"
    if request.status == REQUEST_UNDELIVERABLE:
        return "unreachable", request.delivery_error
    if request.status == REQUEST_FAILED:
        return "meter_error", request.error_code
    return "no_answer", f"request {request.status}, expired {request.expires_at.isoformat()}"


def _properties_of(meters: Iterable[MeterRecord]) -> dict[str, PropertyRecord]:
    ids = sorted({m.property_id for m in meters if m.property_id})
    found: dict[str, PropertyRecord] = {}
    for start in range(0, len(ids), 100):
        for record in PropertyRecord.batch_get(ids[start:start + 100], consistent_read=True):
            found[record.property_id] = record
    return found


_queue_urls: dict[tuple[str, str | None], str] = {}


def _queue_url(logical: str) -> str:
    name = queue(logical).physical()
    key = (name, client("sqs").meta.endpoint_url)
    if key not in _queue_urls:
        _queue_urls[key] = client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    return _queue_urls[key]

