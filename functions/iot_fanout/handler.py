"""iot_fanout: an SQS-triggered function that asks a batch of meters for their register.

A billing run's listing slices enqueue ``FanoutBatch`` messages on the fanout queue; for
each message this function sends one signed, encrypted read request per meter
(functions/core/meters/fanout.py), then records the batch as done together with the run
counters it adds, in one transaction (functions/core/runs/batches.py): a batch that SQS
delivers again after it was done asks nobody twice and counts nothing twice. Batches
are processed with Powertools' BatchProcessor, so one failed message (for example
DynamoDB unavailable) is retried alone (``batchItemFailures``); an unreachable meter is
not a failure of its message. The Blueprint is registered on the Chalice app
(functions/api/blueprints.py), which deploys it as its own Lambda function.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from functions.core.logs import logger
from functions.core.messages import FanoutBatch
from functions.core.meters.fanout import describe, fan_out
from functions.core.observability import bind_record, emit, subsegment
from functions.core.resources import queue
from functions.core.runs.batches import batch_done, record_batch

bp = Blueprint(__name__)
FANOUT_QUEUE = queue("fanout")
processor = BatchProcessor(event_type=EventType.SQS)


def handle_record(record: SQSRecord) -> dict[str, Any]:
    batch = FanoutBatch.model_validate_json(record.body)  # a malformed message goes to the DLQ
    bind_record(record, run_id=batch.run_id, batch_key=batch.batch_key)
    if batch_done(batch):
        logger.info("fan-out batch already done", extra={"batch_key": batch.batch_key})
        return {"run_id": batch.run_id, "repeated": True}
    outcome = fan_out(batch)
    with subsegment("fanout.record_batch"):  # marker + run counters: one transaction
        record_batch(batch, outcome.counts())
    result = describe(outcome)
    logger.info("fan-out batch done", extra=result)
    emit({"MeterRequestsSent": outcome.sent,
          "MeterDeliveryFailures": outcome.counts()["delivery_failures"]})
    return result


@bp.on_sqs_message(queue=FANOUT_QUEUE.physical(), batch_size=FANOUT_QUEUE.batch_size,
                   name="iot_fanout")
def iot_fanout(event: Any) -> Any:
    return process_partial_response(event=event.to_dict(), record_handler=handle_record,
                                    processor=processor, context=event.context)
