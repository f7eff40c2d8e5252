"""Messages on the SQS queues (pydantic models: validated at both ends)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class QueueMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FanoutBatch(QueueMessage):
    """fanout queue: one batch of meters to ask for their register in a run."""

    run_id: str
    period: str
    meter_ids: list[str] = Field(min_length=1, max_length=100)
    # Which slice sent it ("<run>#list<gen>#<shard>#<page>#<n>"): a redelivered batch
    # that was already done is recognised by it and asks nobody twice.
    batch_key: str | None = Field(default=None, max_length=200)


class RunStep(QueueMessage):
    """run_steps queue: one slice of a run's listing or closing: a page of the active
    meters of one shard, from `start_key` on (DynamoDB's LastEvaluatedKey as JSON)."""

    kind: Literal["list", "close", "daily"]  # daily: the daily read cycle (core/daily)
    run_id: str
    period: str
    generation: int = Field(ge=0)  # the start (list) or the close (close) it belongs to
    shard: int = Field(ge=0)
    page: int = Field(ge=0)
    start_key: str | None = None


class OverdueStep(QueueMessage):
    """overdue_steps queue: one page of the overdue sweep: issued bills of one shard
    due before `as_of` (an IST date), from `start_key` on (LastEvaluatedKey as JSON)."""

    sweep_id: str = Field(min_length=1, max_length=40)  # one start (schedule or admin)
    as_of: date
    shard: int = Field(ge=0)
    page: int = Field(ge=0)
    start_key: str | None = Field(default=None, max_length=2000)


class VerifiedReading(QueueMessage):
    """readings queue: a reading whose MAC, signature, nonce, expiry and counter
    the API has checked and whose raw form it has stored."""

    reading_key: str  # the stored raw reading: readings table (meter_id, reading_key)
    meter_id: str
    run_id: str
    period: str
    nonce: str
    counter: int
    register_wh: int = Field(ge=0)  # v2: the import register of the snapshot
    read_at: datetime
    received_at: datetime
    # Protocol v2 (docs/meter-protocol.md section 8.2); absent on v1 readings.
    protocol_version: int = 1
    source: str | None = None  # "snapshot" | "live"
    snapshot_at: datetime | None = None
    export_wh: int | None = Field(default=None, ge=0)
    tod_wh: list[int] | None = None
    md_w: int | None = Field(default=None, ge=0)
    md_at: datetime | None = None


class NotificationBatch(QueueMessage):
    """notifications queue: outbox keys (functions/core/notifications) to send. A key
    already sent (a redelivered message, a sweep that raced the sender) is skipped."""

    keys: list[str] = Field(min_length=1, max_length=25)  # senders write 10 (outbox.py)
