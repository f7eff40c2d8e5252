"""SES delivery events: what happened to an email after SES accepted it.

SES publishes the events of the configuration set (functions' `configuration_set`)
to an SNS topic, subscribed by the notification_events queue. Each SQS message is
the SNS envelope ({"Type": "Notification", "Message": "<the event JSON>"}), or the
event itself when the subscription delivers raw messages. The event JSON is
SES's "event publishing" format (``eventType``: Delivery, Bounce, Complaint,
Reject, RenderingFailure, DeliveryDelay, Send, ...); the older identity
notifications (``notificationType``) are read the same way.

- Delivery: the message is delivered (off the admin's undelivered list).
- Bounce, Permanent: bounced, and each bounced address is suppressed.
  Transient (mailbox full, too large...): bounced, address not suppressed.
- Complaint: complained, and the address is suppressed.
- Reject / RenderingFailure: failed.
An event for a message we do not know (no outbox tag) still suppresses addresses.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from functions.core.clock import utcnow
from functions.core.logs import logger, mask_email
from functions.core.notifications.models import BOUNCED, COMPLAINED, DELIVERED, FAILED
from functions.core.notifications.outbox import Outbox
from functions.core.notifications.sender import KEY_TAG, count_notices, decode_key


class NotAnEvent(ValueError):
    """A queue message that is neither an SES event nor an SNS envelope of one."""


@dataclass(frozen=True)
class SesEvent:
    event_type: str
    provider_message_id: str
    message_key: str | None
    at: datetime
    recipients: tuple[str, ...] = ()  # the addresses the event is about
    bounce_type: str | None = None  # Permanent | Transient | Undetermined
    detail: str | None = None
    suppress: tuple[str, ...] = field(default=())


def parse(body: str) -> SesEvent | None:
    """The SES event in an SQS message body; None for SNS's own messages (the
    subscription confirmation) and event types we do not act on."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError as error:
        raise NotAnEvent("not JSON") from error
    if not isinstance(data, dict):
        raise NotAnEvent("not an object")
    if data.get("Type") in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
        return None
    if data.get("Type") == "Notification":
        try:
            data = json.loads(data.get("Message") or "")
        except json.JSONDecodeError as error:
            raise NotAnEvent("SNS message is not JSON") from error
    kind = data.get("eventType") or data.get("notificationType")
    mail = data.get("mail")
    if not isinstance(kind, str) or not isinstance(mail, dict) or "messageId" not in mail:
        raise NotAnEvent("no eventType/notificationType and mail.messageId")
    tags = mail.get("tags") or {}
    tagged = tags.get(KEY_TAG) or []
    key = decode_key(tagged[0]) if tagged else None
    if kind == "Delivery":
        delivery = data.get("delivery") or {}
        return SesEvent("Delivery", mail["messageId"], key,
                        _time(delivery.get("timestamp"), mail),
                        tuple(delivery.get("recipients") or ()),
                        detail=delivery.get("smtpResponse"))
    if kind == "Bounce":
        bounce = data.get("bounce") or {}
        addresses = tuple(r.get("emailAddress", "") for r in
                          bounce.get("bouncedRecipients") or () if r.get("emailAddress"))
        bounce_type = bounce.get("bounceType") or "Undetermined"
        diagnostics = [r.get("diagnosticCode") for r in bounce.get("bouncedRecipients") or ()
                       if r.get("diagnosticCode")]
        detail = f"{bounce_type}/{bounce.get('bounceSubType') or 'General'}" + (
            f": {diagnostics[0]}" if diagnostics else "")
        return SesEvent("Bounce", mail["messageId"], key, _time(bounce.get("timestamp"), mail),
                        addresses, bounce_type, detail,
                        suppress=addresses if bounce_type == "Permanent" else ())
    if kind == "Complaint":
        complaint = data.get("complaint") or {}
        addresses = tuple(r.get("emailAddress", "") for r in
                          complaint.get("complainedRecipients") or () if r.get("emailAddress"))
        feedback = complaint.get("complaintFeedbackType") or "unspecified"
        return SesEvent("Complaint", mail["messageId"], key,
                        _time(complaint.get("timestamp"), mail), addresses,
                        detail=f"complaint: {feedback}", suppress=addresses)
    if kind in ("Reject", "Rendering Failure", "RenderingFailure"):
        reason = (data.get("reject") or data.get("failure") or {})
        return SesEvent("Reject", mail["messageId"], key, _time(None, mail),
                        detail=f"{kind}: {reason.get('reason') or reason.get('errorMessage')}")
    return None  # Send, Open, Click, DeliveryDelay, Subscription: nothing to record


def _time(value: Any, mail: dict[str, Any]) -> datetime:
    for candidate in (value, mail.get("timestamp")):
        if isinstance(candidate, str):
            try:
                parsed = datetime.fromisoformat(candidate.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return utcnow()


STATUS_OF = {"Delivery": DELIVERED, "Bounce": BOUNCED, "Complaint": COMPLAINED,
             "Reject": FAILED}


class DeliveryEvents:
    def __init__(self, outbox: Outbox | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.outbox = outbox or Outbox()
        self.clock = clock

    def apply(self, event: SesEvent) -> str:
        """Record the event on its message and suppress what it says to. Safe to apply
        twice (the same status again, the same suppression item again)."""
        for address in event.suppress:
            reason = f"bounce:{event.detail}" if event.event_type == "Bounce" \
                else event.detail or "complaint"
            self.outbox.suppress(address, reason, event.message_key, self.clock())
            logger.info("address suppressed", extra={"to": mask_email(address),
                                                     "reason": reason[:80]})
        if event.message_key is None:
            logger.info("delivery event for a message without an outbox key",
                        extra={"type": event.event_type,
                               "provider_message_id": event.provider_message_id})
            return "unknown"
        status = STATUS_OF[event.event_type]
        recorded = self.outbox.record_event(event.message_key, status, event.at,
                                            event.detail
                                            if event.event_type != "Delivery" else None)
        if recorded is None:
            return "ignored"
        count_notices({recorded.topic: Counter({status: 1})})
        return status
