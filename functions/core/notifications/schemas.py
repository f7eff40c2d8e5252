"""The notifications API's models (pydantic: validated at the edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.core.billing_rules.periods import PeriodText, format_ist
from functions.core.notifications.service import EmailStatus, UndeliveredBill

UndeliveredStatus = Literal["pending", "sending", "sent", "bounced", "complained",
                            "suppressed", "failed"]


class UndeliveredQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: PeriodText
    status: UndeliveredStatus | None = None
    cursor: str | None = Field(default=None, min_length=1, max_length=2000)
    limit: int = Field(default=100, ge=1, le=500)


class UndeliveredBillOut(BaseModel):
    bill_id: str | None
    payer_id: str | None
    to: str
    status: str = Field(description="pending | sending: not yet handed to SES; sent: SES "
                        "accepted it, no delivery event yet; bounced | complained | "
                        "suppressed | failed: see reason")
    reason: str | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    event_at: datetime | None
    event_at_display: str | None

    @classmethod
    def of(cls, item: UndeliveredBill) -> UndeliveredBillOut:
        return cls(bill_id=item.bill_id, payer_id=item.payer_id, to=item.to,
                   status=item.status, reason=item.reason, attempts=item.attempts,
                   created_at=item.created_at, sent_at=item.sent_at, event_at=item.event_at,
                   event_at_display=format_ist(item.event_at) if item.event_at else None)


class UndeliveredBillList(BaseModel):
    period: str
    cursor: str | None = Field(description="pass back for the next page; null on the last")
    bills: list[UndeliveredBillOut]


class EmailStatusOut(BaseModel):
    address: str
    suppressed: bool = Field(description="true: no email is sent to this address until it "
                             "is fixed (a hard bounce or a spam complaint)")
    reason: str | None = Field(description="why, in plain words")
    since: datetime | None
    since_display: str | None

    @classmethod
    def of(cls, status: EmailStatus) -> EmailStatusOut:
        return cls(address=status.address, suppressed=status.suppressed, reason=status.reason,
                   since=status.since,
                   since_display=format_ist(status.since) if status.since else None)


class SuppressionOut(BaseModel):
    address: str
    removed: bool
