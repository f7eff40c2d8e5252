"""Handing messages to SES (email) and SNS (SMS), each once.

`Sender.deliver(keys)` is what the notification_sender function runs for a queue
message: claim each pending key (conditional: a second delivery of the same
batch, or a concurrent sender, finds nothing to claim), drop those whose address
is suppressed, send the rest and mark each sent with the provider's message id.

The one window left: SES or SNS accepted a message and the sender died before
marking it sent. The claim then expires (CLAIM_LEASE), the sweep queues the key
again and the message goes out a second time. docs/notifications.md measures it.

Rates: each sender invocation spends tokens from a bucket refilled at
NOTIFICATION_SEND_RATE messages a second (`SendRate`); with the queue's maximum
concurrency (infra/stages.py) that bounds the account's sending rate below SES's and
SNS's quotas, so a million-bill run is not throttled into retries. Unset (locally)
means no limit.

Each outcome of a bill's email (sent, suppressed, failed; the SES events after)
is added to its run's sharded counters, one update per run per invocation, for
the admin's run page.

`Sender.send_now` is for messages with a secret in them (sign-in links, one-time
codes): the request that made the secret sends it at once, and the outbox keeps
only its envelope (key, recipient, status, provider id) for delivery tracking
and suppression, never its body.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from functions.core.aws import client
from functions.core.clock import utcnow
from functions.core.logs import logger, mask_email, mask_mobile
from functions.core.notifications.models import (
    EMAIL,
    FAILED,
    SUPPRESSED,
    OutboxRecord,
)
from functions.core.notifications.outbox import Outbox, normalise_address
from functions.core.notifications.templates import dlt_registration, dlt_registration_by_id
from functions.core.runs.progress import count
from functions.core.settings import get_settings

# SES tag carrying the outbox key, so a delivery event finds its message with one read.
KEY_TAG = "outbox_key"
# SES and SNS refuse these for good: retrying would not help.
PERMANENT_ERRORS = frozenset({"MessageRejected", "InvalidParameterValue", "InvalidParameter",
                              "MailFromDomainNotVerifiedException", "OptedOut"})


def configuration_set() -> str:
    """The SES configuration set whose event destination is the events queue's topic."""
    return get_settings().resource_name("mail")


def events_topic() -> str:
    return get_settings().resource_name("mail-events")


def encode_key(key: str) -> str:
    """SES tag values allow letters, digits, '_', '-', '.', '@' only: base64url."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_key(value: str) -> str | None:
    try:
        key = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_",
                               validate=True).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return key or None


# From this many keys in a pass the claims go in one transaction (Outbox.claim_many).
CLAIM_MANY_FROM = 3


class SendRate:
    """A token bucket: `take()` returns at once while tokens last, else sleeps until
    the next one (refilled at `per_second`, at most `burst` saved up). None or 0: no
    limit."""

    def __init__(self, per_second: float | None, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.per_second = per_second or 0.0
        self.burst = max(1.0, burst if burst is not None else self.per_second)
        self.tokens = self.burst
        self.clock, self.sleep = clock, sleep
        self.last = clock()
        self.waited = 0.0  # seconds slept, for the logs

    def take(self) -> None:
        if self.per_second <= 0:
            return
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.per_second)
        self.last = now
        if self.tokens < 1:
            wait = (1 - self.tokens) / self.per_second
            self.sleep(wait)
            self.waited += wait
            self.last = self.clock()
            self.tokens = 1.0
        self.tokens -= 1


def count_notices(by_topic: dict[str, Counter[str]]) -> None:
    """Add outcomes of bill emails to their runs' counters (topic "bill:<period>", the
    run's id): one update per run. Other topics (accounts, payments) are not counted."""
    for topic, outcomes in by_topic.items():
        if not topic.startswith("bill:"):
            continue
        deltas = {f"notices_{status}": n for status, n in outcomes.items()
                  if status in NOTICE_OUTCOMES and n}
        if deltas:
            count(topic.removeprefix("bill:"), **deltas)


NOTICE_OUTCOMES = frozenset({"sent", "delivered", "bounced", "complained", "suppressed",
                             "failed"})


class Gateway(Protocol):
    def email(self, record: OutboxRecord, subject: str, text: str) -> str: ...
    def sms(self, record: OutboxRecord, text: str) -> str: ...


def bill_pdf_attachment(record: OutboxRecord) -> dict[str, Any] | None:
    """The bill's PDF (made once, kept in S3: bills/documents.py) as an SES v2 attachment
    of its bill email, in the payer's language; None for other messages, or where the
    stage does not attach PDFs (BILL_EMAIL_PDF: off locally, so tests and benches do not
    render a PDF per bill)."""
    if record.template != "bill_issued" or not record.ref or not get_settings().bill_email_pdf:
        return None
    from functions.core.accounts.users import UserRepository
    from functions.core.bills.documents import pdf_bytes
    from functions.core.bills.repository import BillRepository

    bill = BillRepository().get(record.ref)
    if bill is None:
        return None
    payer = UserRepository().get(record.recipient_id) if record.recipient_id else None
    lang = str(getattr(payer, "language", None) or "en")
    return {"RawContent": pdf_bytes(bill, lang), "ContentType": "application/pdf",
            "FileName": f"electricity-bill-{bill.period}.pdf",
            "ContentDisposition": "ATTACHMENT", "ContentTransferEncoding": "BASE64"}


class AwsGateway:
    """SES with the configuration set (delivery events) and SNS with DLT attributes."""

    def email(self, record: OutboxRecord, subject: str, text: str) -> str:
        attachment = bill_pdf_attachment(record)
        if attachment is not None:
            return self._email_with_attachment(record, subject, text, attachment)
        answer = client("ses").send_email(
            Source=get_settings().mail_from,
            Destination={"ToAddresses": [record.recipient]},
            Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                     "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}},
            ConfigurationSetName=configuration_set(),
            Tags=[{"Name": KEY_TAG, "Value": encode_key(record.message_key)},
                  {"Name": "template", "Value": record.template}])
        return str(answer["MessageId"])

    def _email_with_attachment(self, record: OutboxRecord, subject: str, text: str,
                               attachment: dict[str, Any]) -> str:
        """SES v2's SendEmail: the same message, configuration set and tags, plus a file
        (the v1 SendEmail takes no attachment; raw MIME is not needed for one)."""
        answer = client("sesv2").send_email(
            FromEmailAddress=get_settings().mail_from,
            Destination={"ToAddresses": [record.recipient]},
            Content={"Simple": {
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
                "Attachments": [attachment]}},
            ConfigurationSetName=configuration_set(),
            EmailTags=[{"Name": KEY_TAG, "Value": encode_key(record.message_key)},
                       {"Name": "template", "Value": record.template}])
        return str(answer["MessageId"])

    def sms(self, record: OutboxRecord, text: str) -> str:
        # The item names the DLT template its text was rendered from (its language's).
        dlt = (dlt_registration_by_id(record.dlt_template_id or "")
               or dlt_registration(record.template))
        answer = client("sns").publish(
            PhoneNumber=record.recipient, Message=text,
            MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": dlt.header},
                "AWS.MM.SMS.EntityId": {"DataType": "String", "StringValue": dlt.entity_id},
                "AWS.MM.SMS.TemplateId": {"DataType": "String",
                                          "StringValue": dlt.template_id},
            })
        return str(answer["MessageId"])


class Sender:
    def __init__(self, outbox: Outbox | None = None, gateway: Gateway | None = None,
                 clock: Callable[[], datetime] = utcnow, rate: SendRate | None = None) -> None:
        self.outbox = outbox or Outbox()
        self.gateway = gateway or AwsGateway()
        self.clock = clock
        self.rate = rate or SendRate(get_settings().notification_send_rate)
        # The window in which a dying sender would make a duplicate: from the provider
        # accepting a message to its mark being written (ms, the latest 10,000).
        self.accept_to_mark_ms: deque[float] = deque(maxlen=10_000)

    def deliver(self, keys: Sequence[str]) -> Counter[str]:
        """Send each key still pending, once. Returns counts by outcome. Raises if a
        send failed in a way worth retrying (after releasing that message's claim), so
        the queue delivers the batch again; what was sent is not sent twice."""
        now = self.clock()
        outcome: Counter[str] = Counter()
        by_topic: dict[str, Counter[str]] = {}
        claimed = []
        unique = list(dict.fromkeys(keys))
        # A few keys: a conditional UpdateItem each. More: one read and one transaction
        # for all the claims (Outbox.claim_many), two calls instead of one per email.
        records = self.outbox.claim_many(unique, now) if len(unique) >= CLAIM_MANY_FROM \
            else [self.outbox.claim(key, now) for key in unique]
        for record in records:
            if record is None:
                outcome["skipped"] += 1  # sent already, or another sender has it
            elif record.body is None:  # an envelope only: its secret was never stored
                self.outbox.mark_unsent(record, FAILED, "body not kept (sent by its request)",
                                        now)
                outcome[FAILED] += 1
            else:
                claimed.append(record)
        suppressed = self.outbox.suppressed(r.recipient for r in claimed)
        retry: Exception | None = None
        try:
            for record in claimed:
                try:
                    result = self._send(record, record.subject or "", record.body or "",
                                        suppressed)
                except ClientError as error:
                    logger.warning("send failed; will retry", extra={
                        "message_key": record.message_key, "code": _code(error)})
                    self.outbox.release(record)
                    outcome["retry"] += 1
                    retry = error
                    continue
                outcome[result] += 1
                by_topic.setdefault(record.topic, Counter())[result] += 1
        finally:
            count_notices(by_topic)
        if retry is not None:
            raise retry
        return outcome

    def send_now(self, record: OutboxRecord, subject: str, text: str) -> str:
        """Write the envelope (status sending) and send at once; the body stays in
        memory. Returns the outcome: sent, suppressed, failed or duplicate (the event
        already had its message)."""
        record.status, record.claimed_at, record.attempts = "sending", self.clock(), 1
        record.pending_shard = None
        if not self.outbox.create(record):
            return "duplicate"
        suppressed = self.outbox.suppressed([record.recipient])
        return self._send(record, subject, text, suppressed)

    def _send(self, record: OutboxRecord, subject: str, text: str,
              suppressed: dict[str, Any]) -> str:
        now = self.clock()
        hit = suppressed.get(normalise_address(record.recipient))
        if hit is not None:
            self.outbox.mark_unsent(record, SUPPRESSED, f"address suppressed: {hit.reason}",
                                    now)
            logger.info("notification suppressed", extra=_log_fields(record))
            return SUPPRESSED
        self.rate.take()
        try:
            if record.channel == EMAIL:
                provider_id = self.gateway.email(record, subject, text)
            else:
                provider_id = self.gateway.sms(record, text)
        except ClientError as error:
            if _code(error) not in PERMANENT_ERRORS:
                raise
            self.outbox.mark_unsent(record, FAILED, f"{_code(error)}: {_message(error)}", now)
            logger.warning("notification refused", extra={**_log_fields(record),
                                                          "code": _code(error)})
            return FAILED
        accepted = time.perf_counter()
        self.outbox.mark_sent(record, provider_id, now)
        self.accept_to_mark_ms.append((time.perf_counter() - accepted) * 1000)
        # Subjects never carry secrets; bodies may, so they are not logged.
        logger.info("notification sent", extra={**_log_fields(record),
                                                "subject": record.subject})
        return "sent"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def _log_fields(record: OutboxRecord) -> dict[str, Any]:
    to = mask_email(record.recipient) if record.channel == EMAIL \
        else mask_mobile(record.recipient)
    return {"message_key": record.message_key, "template": record.template, "to": to}
