"""Messages on the SQS queues (pydantic models: validated at both ends)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class QueueMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FanoutBatch(QueueMessage):
    """fanout queue: one batch of meters to ask for their register in a run."""

    run_id: str
    period: str
    meter_ids: list[str] = Field(min_length=1, max_length=100)


class VerifiedReading(QueueMessage):
    """readings queue: a reading whose MAC, signature, nonce, expiry and counter
    the API has checked and whose raw form it has stored."""

    reading_key: str  # the stored raw reading: readings table (meter_id, reading_key)
    meter_id: str
    run_id: str
    period: str
    nonce: str
    counter: int
    register_wh: int = Field(ge=0)
    read_at: datetime
    received_at: datetime
