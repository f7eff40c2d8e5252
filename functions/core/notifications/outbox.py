"""The outbox: notification items in DynamoDB, and the queue that wakes the sender.

A message is written first (in the same transaction as the thing it tells of,
where there is one: a bill and its email), then its key is put on the
notifications queue. The sender claims it (pending -> sending, conditional),
hands it to SES or SNS and marks it sent. A key queued twice, or a sender
delivered the same batch twice, finds the item no longer pending and sends
nothing. A key that never reached the queue (the writer died after its
transaction) is found by the sweep on the sparse by_pending index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from functions.core.aws import client
from functions.core.messages import NotificationBatch
from functions.core.notifications.models import (
    BOUNCED,
    COMPLAINED,
    DELIVERED,
    EMAIL,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    SMS,
    SUPPRESSED,
    OutboxRecord,
    SuppressionRecord,
    pending_shard,
    undelivered_shard,
)
from functions.core.notifications.templates import RenderedEmail, RenderedSms
from functions.core.observability import correlation_attributes
from functions.core.paging import Page, sharded_page
from functions.core.resources import queue
from functions.core.shards import RUN_SHARDS, shard_key

# Keys per queue message; with the sender's batch of 5 messages an invocation sends at
# most 50 messages (~2-3 s in AWS), far inside its 20 s timeout even when SES throttles.
KEYS_PER_MESSAGE = 10
SQS_BATCH = 10
# A claim older than this is taken to be a sender that died: the sweep queues the
# message again. Longer than the sender's Lambda timeout (20 s) with room to spare.
CLAIM_LEASE = timedelta(minutes=5)
# The sweep leaves young pending messages to the queue message their writer sent.
SWEEP_GRACE = timedelta(minutes=2)

_queue_urls: dict[tuple[str, str | None], str] = {}


def message_key(template: str, event_id: str) -> str:
    """The outbox key: the template and the event that caused the message."""
    return f"{template}#{event_id}"


def normalise_address(address: str) -> str:
    return address.strip().lower()


def email_record(key: str, rendered: RenderedEmail, to: str, *, topic: str, now: datetime,
                 ref: str | None = None, recipient_id: str | None = None,
                 keep_body: bool = True) -> OutboxRecord:
    """A pending email. `keep_body=False` for a message with a secret in it (it is
    sent at once by `Sender.send_now` and only its envelope is stored)."""
    return OutboxRecord(
        message_key=key, channel=EMAIL, template=rendered.template, topic=topic, ref=ref,
        recipient_id=recipient_id, recipient=to, subject=rendered.subject,
        body=rendered.text if keep_body else None, status=PENDING, attempts=0,
        created_at=now, pending_shard=pending_shard(key) if keep_body else None,
        undelivered_shard=undelivered_shard(topic, key))


def sms_record(key: str, rendered: RenderedSms, mobile: str, *, topic: str, now: datetime,
               ref: str | None = None, recipient_id: str | None = None,
               keep_body: bool = True) -> OutboxRecord:
    return OutboxRecord(
        message_key=key, channel=SMS, template=rendered.template, topic=topic, ref=ref,
        recipient_id=recipient_id, recipient=mobile, body=rendered.text if keep_body else None,
        dlt_template_id=rendered.dlt.template_id, status=PENDING, attempts=0, created_at=now,
        pending_shard=pending_shard(key) if keep_body else None,
        # SMS delivery receipts go to CloudWatch Logs, not to the events queue:
        # an SMS is never listed as undelivered for want of one.
        undelivered_shard=None)


class Outbox:
    """The notifications table and queue behind one small repository."""

    # ---- writing -------------------------------------------------------------------

    def add_to(self, transaction: TransactWrite, records: Iterable[OutboxRecord]) -> None:
        """Put new messages into a caller's transaction (with the thing they tell of)."""
        for record in records:
            transaction.save(record, condition=OutboxRecord.message_key.does_not_exist())

    def create(self, record: OutboxRecord) -> bool:
        """Write a new message; False (nothing written) if its event already has one."""
        try:
            record.save(condition=OutboxRecord.message_key.does_not_exist())
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, key: str) -> OutboxRecord | None:
        try:
            return OutboxRecord.get(key, consistent_read=True)
        except OutboxRecord.DoesNotExist:
            return None

    def get_many(self, keys: Iterable[str]) -> list[OutboxRecord]:
        return list(OutboxRecord.batch_get(list(dict.fromkeys(keys)), consistent_read=True))

    # ---- the queue -----------------------------------------------------------------

    def dispatch(self, keys: Sequence[str]) -> int:
        """Wake the sender for these keys: 25 keys a message, 10 messages a call."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return 0
        bodies = [NotificationBatch(keys=keys[i:i + KEYS_PER_MESSAGE]).model_dump_json()
                  for i in range(0, len(keys), KEYS_PER_MESSAGE)]
        sqs, url = client("sqs"), _queue_url("notifications")
        for start in range(0, len(bodies), SQS_BATCH):
            chunk = bodies[start:start + SQS_BATCH]
            answer = sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "MessageBody": body,
                 "MessageAttributes": correlation_attributes()}
                for n, body in enumerate(chunk)])
            if answer.get("Failed"):
                raise RuntimeError(f"notifications queue refused {len(answer['Failed'])}")
        return len(keys)

    # ---- the sender's steps ----------------------------------------------------------

    def claim(self, key: str, now: datetime) -> OutboxRecord | None:
        """pending (or a claim older than the lease) -> sending; the claimed item, or
        None if another sender has it or it is done."""
        record = OutboxRecord(message_key=key)
        try:
            record.update(actions=_claim_actions(now), condition=_claim_condition(now))
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise
        return record

    def claim_many(self, keys: Sequence[str], now: datetime) -> list[OutboxRecord | None]:
        """`claim` for many keys in two calls instead of one per key: read them (one
        consistent BatchGetItem), then claim those claimable in one TransactWriteItems
        with the same condition each. If the transaction is refused (another sender
        claimed one meanwhile, or a conflict), each is claimed on its own as before.
        The records in `keys`' order, None where there is nothing to claim."""
        keys = list(dict.fromkeys(keys))
        found = {r.message_key: r for r in self.get_many(keys)}
        wanted = [found[k] for k in keys if k in found and _claimable(found[k], now)]
        if len(wanted) > CLAIM_TRANSACTION_MAX:
            return [self.claim(k, now) for k in keys]
        if wanted:
            try:
                with TransactWrite(connection=_connection()) as transaction:
                    for record in wanted:
                        transaction.update(
                            OutboxRecord(message_key=record.message_key),
                            actions=_claim_actions(now), condition=_claim_condition(now))
            except TransactWriteError:
                return [self.claim(k, now) if k in found else None for k in keys]
            for record in wanted:  # what the transaction wrote, on our copies
                record.status, record.claimed_at = SENDING, now
                record.attempts = int(record.attempts or 0) + 1
        claimed = {r.message_key for r in wanted}
        return [found[k] if k in claimed else None for k in keys]

    def mark_sent(self, record: OutboxRecord, provider_message_id: str, now: datetime) -> bool:
        return self._finish(record, SENT, now, provider_message_id=provider_message_id)

    def mark_unsent(self, record: OutboxRecord, status: str, reason: str,
                    now: datetime) -> bool:
        """suppressed or failed: never handed over, and never will be."""
        return self._finish(record, status, now, reason=reason)

    def release(self, record: OutboxRecord) -> None:
        """sending -> pending: the send failed in a way worth retrying."""
        try:
            record.update(actions=[OutboxRecord.status.set(PENDING)],
                          condition=OutboxRecord.status == SENDING)
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def _finish(self, record: OutboxRecord, status: str, now: datetime, *,
                provider_message_id: str | None = None, reason: str | None = None) -> bool:
        actions: list[Any] = [OutboxRecord.status.set(status), OutboxRecord.sent_at.set(now),
                              OutboxRecord.pending_shard.remove()]
        if provider_message_id is not None:
            actions.append(OutboxRecord.provider_message_id.set(provider_message_id))
        if reason is not None:
            actions.append(OutboxRecord.reason.set(reason[:500]))
        try:
            record.update(actions=actions, condition=OutboxRecord.status == SENDING)
        except UpdateError as error:
            # A delivery event got there first (it moved the status on): nothing to do.
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ---- delivery events -----------------------------------------------------------

    def record_event(self, key: str, status: str, at: datetime,
                     reason: str | None) -> OutboxRecord | None:
        """A delivery event from SES. Delivered takes the message off the undelivered
        index; a bounce or complaint records why. Never moves a complaint back. The
        message as it is now, or None if the event changed nothing."""
        allowed = {DELIVERED: (SENDING, SENT, FAILED),
                   BOUNCED: (SENDING, SENT, DELIVERED, FAILED),
                   COMPLAINED: (SENDING, SENT, DELIVERED, BOUNCED, FAILED)}[status]
        actions: list[Any] = [OutboxRecord.status.set(status), OutboxRecord.event_at.set(at),
                              OutboxRecord.pending_shard.remove()]
        if status == DELIVERED:
            actions.append(OutboxRecord.undelivered_shard.remove())
        if reason is not None:
            actions.append(OutboxRecord.reason.set(reason[:500]))
        record = OutboxRecord(message_key=key)
        try:
            record.update(actions=actions, condition=OutboxRecord.message_key.exists()
                          & OutboxRecord.status.is_in(*allowed))
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise
        return record

    # ---- suppression -----------------------------------------------------------------

    def suppressed(self, addresses: Iterable[str]) -> dict[str, SuppressionRecord]:
        wanted = sorted({normalise_address(a) for a in addresses})
        if not wanted:
            return {}
        return {r.address: r for r in SuppressionRecord.batch_get(wanted, consistent_read=True)}

    def suppress(self, address: str, reason: str, key: str | None, now: datetime) -> None:
        SuppressionRecord(address=normalise_address(address), reason=reason[:200],
                          message_key=key, suppressed_at=now).save()

    def unsuppress(self, address: str) -> bool:
        try:
            SuppressionRecord(address=normalise_address(address)).delete(
                condition=SuppressionRecord.address.exists())
        except DeleteError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ---- lists ---------------------------------------------------------------------

    def stale_pending(self, shard: int, now: datetime, limit: int) -> list[str]:
        """Up to `limit` keys of one shard still pending (or claimed by a sender that
        died) after the grace: the sweep queues them again."""
        found = OutboxRecord.by_pending.query(
            shard_key("pending", shard), OutboxRecord.created_at < now - SWEEP_GRACE,
            limit=limit)
        keys = []
        for record in found:
            if record.status == PENDING or (
                    record.status == SENDING and record.claimed_at is not None
                    and record.claimed_at < now - CLAIM_LEASE):
                keys.append(record.message_key)
        return keys

    def undelivered_page(self, topic: str, cursor: str | None, limit: int) -> Page[OutboxRecord]:
        """Messages of a topic ("bill:2026-10") that no delivery event has confirmed."""
        return sharded_page(OutboxRecord.by_undelivered, topic, cursor, limit)


SHARDS = RUN_SHARDS
# DynamoDB's TransactWriteItems takes up to 100 items; a sender's pass has at most 50.
CLAIM_TRANSACTION_MAX = 100


def _claim_actions(now: datetime) -> list[Any]:
    return [OutboxRecord.status.set(SENDING), OutboxRecord.claimed_at.set(now),
            OutboxRecord.attempts.add(1)]


def _claim_condition(now: datetime) -> Any:
    """pending, or claimed by a sender whose lease has run out (it died)."""
    return OutboxRecord.message_key.exists() & (
        (OutboxRecord.status == PENDING)
        | ((OutboxRecord.status == SENDING) & (OutboxRecord.claimed_at < now - CLAIM_LEASE)))


def _claimable(record: OutboxRecord, now: datetime) -> bool:
    return record.status == PENDING or (
        record.status == SENDING and record.claimed_at is not None
        and record.claimed_at < now - CLAIM_LEASE)


def _connection() -> Any:
    # The model's own connection: one botocore client per container, not one per call.
    return OutboxRecord._get_connection().connection


def _queue_url(logical: str) -> str:
    name = queue(logical).physical()
    key = (name, client("sqs").meta.endpoint_url)
    if key not in _queue_urls:
        _queue_urls[key] = client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    return _queue_urls[key]


__all__ = ["BOUNCED", "COMPLAINED", "DELIVERED", "FAILED", "SUPPRESSED", "Outbox",
           "email_record", "message_key", "sms_record"]
