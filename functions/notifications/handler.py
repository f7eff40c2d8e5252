"""The notification functions: thin handlers over functions/core/notifications.

- notification_sender (notifications queue): each message names up to 10 outbox
  keys; the keys of the whole batch (up to 5 messages) are delivered in one pass, so
  the pass's own reads and writes (the suppression list, the run counters) are shared
  by up to 50 emails. Each key still pending is sent once (claimed, sent, marked). A
  malformed message fails alone (to the DLQ); a send that may succeed later fails the
  batch's valid messages, whose keys already sent are skipped when they come back.
- notification_events (notification_events queue): SES delivery, bounce and
  complaint events (configuration set -> SNS -> SQS) recorded on their message;
  bounced and complaining addresses suppressed.
- notification_sweep (every 5 minutes): messages left pending (their writer died
  before queueing them, or their sender before marking them) are queued again, a
  bounded page per shard.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint, Rate

from functions.core.clock import utcnow
from functions.core.logs import logger
from functions.core.messages import NotificationBatch
from functions.core.notifications.events import DeliveryEvents, parse
from functions.core.notifications.outbox import SHARDS, Outbox
from functions.core.notifications.sender import Sender
from functions.core.observability import bind_record
from functions.core.resources import queue

bp = Blueprint(__name__)
SENDER_QUEUE = queue("notifications")
EVENTS_QUEUE = queue("notification_events")
SWEEP_PAGE = 100  # keys per shard per sweep: at most 32 x 100 a run

_sender: Sender | None = None


def sender() -> Sender:
    global _sender
    if _sender is None:
        _sender = Sender()
    return _sender


def send_batch(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One pass over the keys of every valid message; the partial batch response."""
    failed: list[str] = []
    valid: list[str] = []
    keys: list[str] = []
    for raw in records:
        try:
            keys += NotificationBatch.model_validate_json(raw["body"]).keys
        except ValueError:
            logger.warning("malformed notification message",
                           extra={"message_id": raw.get("messageId")})
            failed.append(raw["messageId"])  # fails alone: redelivered, then the DLQ
            continue
        if not valid:
            bind_record(SQSRecord(raw))  # the request (or billing batch) that wrote them
        valid.append(raw["messageId"])
    if keys:
        try:
            outcome = dict(sender().deliver(keys))
            logger.info("notifications handled", extra={**outcome, "messages": len(valid)})
        except Exception:
            logger.exception("notifications will be retried", extra={"keys": len(keys)})
            failed += valid
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


@bp.on_sqs_message(queue=SENDER_QUEUE.physical(), batch_size=SENDER_QUEUE.batch_size,
                   name="notification_sender")
def notification_sender(event: Any) -> Any:
    return send_batch(list(event.to_dict().get("Records") or []))


def event_record(record: SQSRecord) -> str:
    parsed = parse(record.body)  # not an SES event -> fails alone, ends in the DLQ
    if parsed is None:
        return "ignored"
    return DeliveryEvents().apply(parsed)


@bp.on_sqs_message(queue=EVENTS_QUEUE.physical(), batch_size=EVENTS_QUEUE.batch_size,
                   name="notification_events")
def notification_events(event: Any) -> Any:
    return process_partial_response(event=event.to_dict(), record_handler=event_record,
                                    processor=BatchProcessor(event_type=EventType.SQS),
                                    context=event.context)


def sweep() -> int:
    outbox, now = Outbox(), utcnow()
    keys = [key for shard in range(SHARDS)
            for key in outbox.stale_pending(shard, now, SWEEP_PAGE)]
    outbox.dispatch(keys)
    if keys:
        logger.info("pending notifications queued again", extra={"count": len(keys)})
    return len(keys)


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="notification_sweep",
             description="Queue again the notifications left pending")
def notification_sweep(event: Any) -> dict[str, Any]:
    return {"queued": sweep()}
