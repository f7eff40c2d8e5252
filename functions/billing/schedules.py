"""Scheduled work of the billing side, and the overdue sweep's steps."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint, Cron

from functions.core.clock import utcnow
from functions.core.messages import OverdueStep
from functions.core.observability import bind_record
from functions.core.payments.overdue import OverdueSweep, start_sweep
from functions.core.resources import queue

bp = Blueprint(__name__)
OVERDUE_STEPS_QUEUE = queue("overdue_steps")
processor = BatchProcessor(event_type=EventType.SQS)


# 18:30 UTC is midnight IST: bills due "today" become overdue as the IST day ends.
@bp.schedule(Cron(30, 18, "*", "*", "?", "*"), name="overdue_sweep",
             description="Issued bills past their due date become overdue (with surcharge): "
                         "queues one page per shard for overdue_steps")
def overdue_sweep(event: Any) -> dict[str, Any]:
    started = start_sweep(utcnow())
    return {"sweep_id": started.sweep_id, "as_of": started.as_of.isoformat(),
            "shards": started.shards}


def handle_overdue_step(record: SQSRecord) -> dict[str, Any]:
    step = OverdueStep.model_validate_json(record.body)  # a malformed message goes to the DLQ
    bind_record(record, sweep_id=step.sweep_id, shard=step.shard)
    return asdict(OverdueSweep().handle(step))


@bp.on_sqs_message(queue=OVERDUE_STEPS_QUEUE.physical(),
                   batch_size=OVERDUE_STEPS_QUEUE.batch_size, name="overdue_steps")
def overdue_steps(event: Any) -> Any:
    return process_partial_response(event=event.to_dict(), record_handler=handle_overdue_step,
                                    processor=processor, context=event.context)
