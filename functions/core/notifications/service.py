"""What other services call to tell people something.

- `queue_email` / `queue_sms`: a message about an event (an account verified, a
  prepaid recharge): written to the outbox under the event's key, then queued for the
  sender. The same event twice is one message.
- `send_secret_email` / `send_secret_sms`: a message that carries a secret (a sign-in
  link, a one-time code) goes out at once from the request and only its envelope is
  kept (sender.py).
- A bill's email is not written here: the bill service puts it into the bill's own
  transaction (`bill_email_records` there) and calls `dispatch` after it commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.core.clock import utcnow
from functions.core.errors import InvalidInput
from functions.core.notifications.models import PENDING, OutboxRecord
from functions.core.notifications.outbox import (
    Outbox,
    email_record,
    message_key,
    sms_record,
)
from functions.core.notifications.sender import Sender
from functions.core.notifications.templates import RenderedSms, render_email, render_sms
from functions.core.paging import Page


def new_event_id() -> str:
    """For a message whose cause has no id of its own (its once-ness comes from the
    state change that caused it, for example verify -> a second verify is refused)."""
    return uuid.uuid4().hex


class Notifications:
    def __init__(self, outbox: Outbox | None = None, sender: Sender | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.outbox = outbox or Outbox()
        self.sender = sender or Sender(self.outbox, clock=clock)
        self.clock = clock

    def queue_email(self, template: str, event_id: str, to: str, /, *, topic: str,
                    recipient_id: str | None = None, ref: str | None = None,
                    **context: Any) -> bool:
        """Write and queue an email; False if this event already has its message."""
        rendered = render_email(template, **context)
        record = email_record(message_key(template, event_id), rendered, to, topic=topic,
                              now=self.clock(), ref=ref, recipient_id=recipient_id)
        if not self.outbox.create(record):
            return False
        self.outbox.dispatch([record.message_key])
        return True

    def queue_sms(self, rendered: RenderedSms, event_id: str, mobile: str, /, *,
                  topic: str, recipient_id: str | None = None, ref: str | None = None) -> bool:
        """Write and queue an SMS (rendered from its DLT template, sms_messages.py);
        False if this event already has its message."""
        record = sms_record(message_key(rendered.template, event_id), rendered, mobile,
                            topic=topic, now=self.clock(), ref=ref, recipient_id=recipient_id)
        if not self.outbox.create(record):
            return False
        self.outbox.dispatch([record.message_key])
        return True

    def send_secret_email(self, template: str, event_id: str, to: str, /, *, topic: str,
                          recipient_id: str | None = None, **context: Any) -> str:
        rendered = render_email(template, **context)
        record = email_record(message_key(template, event_id), rendered, to, topic=topic,
                              now=self.clock(), recipient_id=recipient_id, keep_body=False)
        return self.sender.send_now(record, rendered.subject, rendered.text)

    def send_secret_sms(self, template: str, event_id: str, mobile: str, /, *, topic: str,
                        recipient_id: str | None = None, **context: Any) -> str:
        rendered = render_sms(template, **context)
        record = sms_record(message_key(template, event_id), rendered, mobile, topic=topic,
                            now=self.clock(), recipient_id=recipient_id, keep_body=False)
        return self.sender.send_now(record, "", rendered.text)

    def dispatch(self, keys: Sequence[str]) -> int:
        return self.outbox.dispatch(keys)

    def requeue_if_pending(self, key: str) -> bool | None:
        """For a redelivered event whose message was written before: queue it again
        if it is still pending (its writer may have died before queueing it). None if
        there is no such message, False if it is handled already."""
        record = self.outbox.get(key)
        if record is None:
            return None
        if record.status != PENDING:
            return False
        self.outbox.dispatch([key])
        return True


# ---- the customer's view: do our emails reach them? ---------------------------------


@dataclass(frozen=True)
class EmailStatus:
    address: str
    suppressed: bool
    reason: str | None  # why, in the customer's words
    since: datetime | None


def _plain_reason(reason: str) -> str:
    if reason.startswith("bounce"):
        return "your mailbox refused our email (it may not exist, or may be full or closed)"
    if reason.startswith("complaint"):
        return "our email to you was marked as spam"
    return "our email to you could not be delivered"


def email_status(address: str, outbox: Outbox | None = None) -> EmailStatus:
    """Whether mail to the customer's address is suppressed (a hard bounce or a
    complaint): the portal then asks them to fix their mailbox (one GetItem)."""
    hit = (outbox or Outbox()).suppressed([address]).get(address.strip().lower())
    if hit is None:
        return EmailStatus(address, False, None, None)
    return EmailStatus(address, True, _plain_reason(hit.reason), hit.suppressed_at)


def resume_email(address: str, outbox: Outbox | None = None) -> EmailStatus:
    """The customer says their mailbox works again: their own address comes off the
    suppression list (another bounce or complaint puts it back)."""
    (outbox or Outbox()).unsuppress(address)
    return EmailStatus(address, False, None, None)


# ---- the admin's view: who never got their bill ------------------------------------


@dataclass(frozen=True)
class UndeliveredBill:
    bill_id: str | None
    payer_id: str | None
    to: str
    status: str
    reason: str | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    event_at: datetime | None
    message_key: str

    @classmethod
    def of(cls, record: OutboxRecord) -> UndeliveredBill:
        return cls(bill_id=record.ref, payer_id=record.recipient_id, to=record.recipient,
                   status=record.status, reason=record.reason, attempts=int(record.attempts),
                   created_at=record.created_at, sent_at=record.sent_at,
                   event_at=record.event_at, message_key=record.message_key)


def bill_topic(period: str) -> str:
    return f"bill:{period}"


STATUS_FILTERS = ("pending", "sending", "sent", "bounced", "complained", "suppressed", "failed")


def undelivered_bills(period: str, cursor: str | None, limit: int,
                      status: str | None = None,
                      outbox: Outbox | None = None) -> Page[UndeliveredBill]:
    """The payers of a period's bills whose email no delivery event has confirmed, a
    page at a time (the index holds only those: its key goes on delivery). `status`
    narrows the page after reading (a page may then hold fewer than `limit`)."""
    if status is not None and status not in STATUS_FILTERS:
        raise InvalidInput(f"status must be one of {', '.join(STATUS_FILTERS)}")
    page = (outbox or Outbox()).undelivered_page(bill_topic(period), cursor, limit)
    items = [UndeliveredBill.of(r) for r in page.items if status is None or r.status == status]
    return Page(items, page.cursor)
