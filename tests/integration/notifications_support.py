"""Helpers of the notification tests (integration and browser)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from functions.core.aws import client
from functions.core.notifications.models import OutboxRecord
from functions.core.notifications.outbox import Outbox
from functions.core.notifications.sender import KEY_TAG, encode_key, events_topic
from tests.integration.billing_support import (
    a_meter,
    a_property,
    decided,
    send_readings,
    stored_reading,
)

PERIOD = "2023-07"  # a period of these tests' own: the undelivered list is per period


def bill_for(owner: Any, register_wh: int = 1_250_000, period: str = PERIOD) -> str:
    """Bill one reading through the readings queue; the bill id."""
    meter = a_meter(a_property(owner), initial_register_wh=1_000_000)
    year, month = (int(part) for part in period.split("-"))
    read_at = datetime(year + month // 12, month % 12 + 1, 1, 2, tzinfo=UTC)  # just after
    reading = stored_reading(meter, period, register_wh, read_at)
    send_readings([reading])
    assert decided(reading).status == "accepted"
    return f"BILL-{meter.property_id}-{period}"


def key_of(bill_id: str) -> str:
    return f"bill_issued#{bill_id}"


def publish_ses_event(record: OutboxRecord, event_type: str, **detail: Any) -> None:
    """An SES event (event publishing format) about a sent message, on the topic the
    configuration set's event destination names."""
    mail = {"timestamp": "2023-08-01T02:00:05.000Z", "source": "billing@discom.example.in",
            "messageId": record.provider_message_id, "destination": [record.recipient],
            "headersTruncated": False,
            "tags": {"ses:configuration-set": ["iotbill-mail"],
                     KEY_TAG: [encode_key(record.message_key)]}}
    event: dict[str, Any] = {"eventType": event_type, "mail": mail}
    if event_type == "Delivery":
        event["delivery"] = {"timestamp": "2023-08-01T02:00:06.000Z",
                             "processingTimeMillis": 546, "recipients": [record.recipient],
                             "smtpResponse": "250 ok", "reportingMTA": "a8-70.smtp-out"}
    elif event_type == "Bounce":
        event["bounce"] = {"bounceType": detail.get("bounce_type", "Permanent"),
                           "bounceSubType": detail.get("sub_type", "General"),
                           "bouncedRecipients": [{"emailAddress": record.recipient,
                                                  "action": "failed", "status": "5.1.1",
                                                  "diagnosticCode": "smtp; 550 5.1.1 user "
                                                                    "unknown"}],
                           "timestamp": "2023-08-01T02:00:07.000Z",
                           "feedbackId": "0100-feedback", "reportingMTA": "dsn; a8-70"}
    elif event_type == "Complaint":
        event["complaint"] = {"complainedRecipients": [{"emailAddress": record.recipient}],
                              "timestamp": "2023-08-01T03:00:00.000Z",
                              "feedbackId": "0100-complaint", "complaintFeedbackType": "abuse"}
    sns = client("sns")
    topic = sns.create_topic(Name=events_topic())["TopicArn"]  # the provisioned one
    sns.publish(TopicArn=topic, Message=json.dumps(event))


def outbox_record(key: str) -> OutboxRecord:
    record = Outbox().get(key)
    assert record is not None, key
    return record
