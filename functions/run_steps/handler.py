"""run_steps: an SQS-triggered function that does one slice of a billing run.

A run's start and close enqueue RunStep messages (one per shard); each is a page
of one shard's active meters (functions/core/runs/steps.py), which asks them
(listing) or applies the run's policy to the silent ones (closing), then
enqueues the next page of its shard. A failed slice is retried alone; a slice
delivered twice does nothing twice. A scheduled sweep closes the runs whose
answer window has ended.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint, Cron, Rate

from functions.core.logs import logger
from functions.core.messages import RunStep
from functions.core.observability import bind_record
from functions.core.resources import queue
from functions.core.runs.service import RunService
from functions.core.runs.steps import RunSteps

bp = Blueprint(__name__)
RUN_STEPS_QUEUE = queue("run_steps")
processor = BatchProcessor(event_type=EventType.SQS)


_steps: RunSteps | None = None


def run_steps_service() -> RunSteps:
    """One per container, so the tariffs its estimates load stay cached between slices."""
    global _steps
    if _steps is None:
        _steps = RunSteps()
    return _steps


def handle_record(record: SQSRecord) -> dict[str, Any]:
    step = RunStep.model_validate_json(record.body)  # a malformed message goes to the DLQ
    bind_record(record, run_id=step.run_id, shard=step.shard)
    if step.kind == "daily":  # a slice of the daily read cycle (functions/core/daily)
        from functions.core.daily.cycle import DailyCycle

        daily = asdict(DailyCycle().handle(step))
        logger.info("daily slice done", extra=daily)
        return daily
    result = asdict(run_steps_service().handle(step))
    logger.info("run slice done", extra=result)
    return result


@bp.on_sqs_message(queue=RUN_STEPS_QUEUE.physical(), batch_size=RUN_STEPS_QUEUE.batch_size,
                   name="run_steps")
def run_steps(event: Any) -> Any:
    return process_partial_response(event=event.to_dict(), record_handler=handle_record,
                                    processor=processor, context=event.context)


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="run_window_sweep",
             description="Close the billing runs whose answer window has ended")
def run_window_sweep(event: Any) -> dict[str, Any]:
    closed = RunService().close_overdue()
    if closed:
        logger.info("runs closed at the end of their window", extra={"run_ids": closed})
    return {"closed": closed}


# 00:30 IST (19:00 UTC): the IST day that just ended is latched in every meter.
@bp.schedule(Cron(0, 19, "*", "*", "?", "*"), name="daily_reads",
             description="Start the daily read cycle of the IST day that just ended")
def daily_reads(event: Any) -> dict[str, Any]:
    from datetime import timedelta

    from functions.core.clock import IST, utcnow
    from functions.core.daily.cycle import DailyCycle

    day = (utcnow().astimezone(IST) - timedelta(hours=1)).date()
    run_id = DailyCycle().start(day)
    logger.info("daily read cycle started", extra={"run_id": run_id})
    return {"run_id": run_id}
