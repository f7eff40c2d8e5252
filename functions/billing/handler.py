"""The billing function: the readings queue -> validated, priced bills.

A thin handler: it parses the SQS batch, hands each VerifiedReading to the
bill service (functions/core/bills/service.py) and reports per-message
failures to SQS through Powertools' batch processor, so one bad message is
retried (and eventually dead-lettered) without holding up the rest.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint
from pydantic import ValidationError

from functions.billing.faults import CrashAfterBills, SimulatedCrash
from functions.core.bills.service import ACCEPTED, HELD, REJECTED, BillingService, Verdict
from functions.core.daily.cycle import DailyReads, is_daily
from functions.core.logs import logger
from functions.core.messages import VerifiedReading
from functions.core.observability import bind_record, emit, subsegment
from functions.core.resources import queue

bp = Blueprint(__name__)

_service: BillingService | None = None


def billing_service() -> BillingService:
    """One service per container, so its tariff cache outlives an invocation."""
    global _service
    if _service is None:
        _service = BillingService(after_bills_written=CrashAfterBills())
    return _service


_daily: DailyReads | None = None


def daily_reads() -> DailyReads:
    global _daily
    if _daily is None:
        from functions.core.prepaid.daily import debit_from_days

        _daily = DailyReads(after_read=debit_from_days)
    return _daily


class _Processor(BatchProcessor):
    """Powertools' SQS batch processor, except that a simulated crash fails the
    whole invocation (as a dying Lambda would) instead of one record."""

    def failure_handler(self, record: Any, exception: Any) -> Any:
        if isinstance(exception[1], SimulatedCrash):
            raise exception[1]
        return super().failure_handler(record, exception)


def _parse(body: str) -> VerifiedReading | None:
    try:
        return VerifiedReading.model_validate_json(body)
    except ValidationError:
        return None


# A 1 s batching window fills batches (fewer calls per reading) at a second of latency.
@bp.on_sqs_message(queue=queue("readings").physical(), batch_size=10, name="billing",
                   maximum_batching_window_in_seconds=1)
def billing(event: Any) -> dict[str, Any]:
    raw = event.to_dict()
    readings = [r for r in (_parse(record["body"]) for record in raw["Records"]) if r]
    # A daily cycle's readings are kept as meter-days, not billed (functions/core/daily),
    # the batch's together; if that fails, each of them fails (SQS redelivers them).
    daily_failure: Exception | None = None
    try:
        daily_reads().record_batch([r for r in readings if is_daily(r.run_id)])
    except Exception as error:  # reported per record below
        daily_failure = error
    readings = [r for r in readings if not is_daily(r.run_id)]
    with subsegment("billing.start_batch", readings=len(readings)):  # its BatchGetItems
        batch = billing_service().start_batch(readings)
    verdicts: list[Verdict] = []

    def handle(record: SQSRecord) -> None:
        # A malformed message raises here: it fails alone and ends in the DLQ.
        reading = VerifiedReading.model_validate_json(record.body)
        if is_daily(reading.run_id):
            if daily_failure is not None:
                raise daily_failure
            return
        stored = batch.stored.get((reading.meter_id, reading.reading_key))
        bind_record(record, run_id=reading.run_id, meter_id=reading.meter_id,
                    property_id=stored.property_id if stored is not None else None)
        verdict = batch.bill(reading)
        verdicts.append(verdict)
        logger.info("reading billed" if verdict.bills else "reading not billed",
                    extra={"status": verdict.status, "reason": verdict.reason,
                           "bills": len(verdict.bills)})

    try:
        return dict(process_partial_response(
            event=raw, record_handler=handle, processor=_Processor(event_type=EventType.SQS)))
    finally:
        with subsegment("billing.finish_batch", verdicts=len(verdicts)):  # one transaction
            batch.finish()
        billing_metrics(verdicts)


def billing_metrics(verdicts: list[Verdict]) -> None:
    """A batch's verdicts as EMF metrics: accepted readings, bills issued and held, and
    the rejected ones by reason (a verdict repeated by a redelivery counts again: these
    are rates to watch, the run's counters are the exact tally)."""
    emit({"ReadingsAccepted": sum(v.status == ACCEPTED for v in verdicts),
          "BillsHeld": sum(v.status == HELD for v in verdicts)})
    emit({"BillsIssued": sum(len(v.bills) for v in verdicts if v.status == ACCEPTED)},
         dimensions={"kind": "actual"}, total=True)
    reasons = Counter(v.reason or "unknown" for v in verdicts if v.status == REJECTED)
    for reason, count in sorted(reasons.items()):
        emit({"ReadingsRejected": count}, dimensions={"stage": "billing", "reason": reason},
             total=True)
