"""SES event publishing for the local emulator (`make run`, `make demo`).

moto keeps a configuration set and its event destination (create/describe) but
its SendEmail ignores ConfigurationSetName and publishes no event. In AWS, SES
publishes each email's delivery, bounce or complaint to the destination's SNS
topic. This patch does the same inside the in-process moto, in SES's "event
publishing" JSON (docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html),
with the message's tags, so the platform's notification_events function sees
what it would see in AWS. Outcomes follow SES's mailbox simulator addresses:

- ``bounce@simulator.amazonses.com``: a permanent bounce;
- ``complaint@simulator.amazonses.com``: delivered, then a complaint;
- anything else: delivered.

Not enabled in the tests, which publish each event themselves where they need one.
"""

from __future__ import annotations

import functools
import json
import threading
from datetime import UTC, datetime
from typing import Any

_enabled = threading.Event()


def enable_event_publishing() -> None:
    """Idempotent: wrap moto's SendEmail so it publishes the configuration set's events."""
    from moto.ses.responses import EmailResponse

    original = EmailResponse.send_email
    if getattr(original, "publishes_events", False):
        _enabled.set()
        return

    @functools.wraps(original)
    def send_email(self: Any) -> Any:
        result = original(self)
        if _enabled.is_set():
            try:
                _publish(self, result)
            except Exception:  # a simulator must never fail the send
                import logging

                logging.getLogger(__name__).exception("SES event simulation failed")
        return result

    send_email.publishes_events = True  # type: ignore[attr-defined]
    EmailResponse.send_email = send_email  # type: ignore[method-assign]
    _enabled.set()


def _publish(response: Any, result: Any) -> None:
    from moto.sns.models import sns_backends

    config_set = response._get_param("ConfigurationSetName")
    if not config_set:
        return
    backend = response.backend
    destination = backend.config_set_event_destination.get(config_set) or {}
    topic = (destination.get("SNSDestination") or {}).get("TopicARN")
    if not topic or destination.get("Enabled") in (False, "false"):
        return
    wanted = {str(kind).lower() for kind in destination.get("MatchingEventTypes") or []}
    message_id = _message_id(result)
    recipients = list((response._get_param("Destination") or {}).get("ToAddresses") or [])
    tags: dict[str, list[str]] = {"ses:configuration-set": [config_set]}
    for tag in response._get_param("Tags") or []:
        tags[tag["Name"]] = [tag["Value"]]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    mail = {"timestamp": now, "messageId": message_id,
            "source": response._get_param("Source"), "destination": recipients,
            "headersTruncated": False, "tags": tags}
    events: list[dict[str, Any]] = []
    bounced = [r for r in recipients if r.lower().startswith("bounce@simulator")]
    if bounced:
        events.append({"eventType": "Bounce", "mail": mail, "bounce": {
            "bounceType": "Permanent", "bounceSubType": "General", "timestamp": now,
            "feedbackId": f"{message_id}-bounce", "reportingMTA": "dsn; local-simulator",
            "bouncedRecipients": [{"emailAddress": r, "action": "failed", "status": "5.1.1",
                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
                                  for r in bounced]}})
    else:
        events.append({"eventType": "Delivery", "mail": mail, "delivery": {
            "timestamp": now, "processingTimeMillis": 1, "recipients": recipients,
            "smtpResponse": "250 2.6.0 Message received", "reportingMTA": "local-simulator"}})
    complained = [r for r in recipients if r.lower().startswith("complaint@simulator")]
    if complained:
        events.append({"eventType": "Complaint", "mail": mail, "complaint": {
            "complainedRecipients": [{"emailAddress": r} for r in complained],
            "timestamp": now, "feedbackId": f"{message_id}-complaint",
            "complaintFeedbackType": "abuse"}})
    sns = sns_backends[backend.account_id][backend.region_name]
    for event in events:
        if event["eventType"].lower() in wanted:
            sns.publish(json.dumps(event), arn=topic)


def _message_id(result: Any) -> str:
    body = result if isinstance(result, str) else getattr(result, "result", None)
    if isinstance(body, dict):
        return str(body.get("MessageId", ""))
    text = str(body if body is not None else result)
    start = text.find("<MessageId>")
    return text[start + 11:text.find("</MessageId>")] if start >= 0 else ""
