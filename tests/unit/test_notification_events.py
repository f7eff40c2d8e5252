"""SES event JSON (as AWS documents it) read into what the outbox records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.core.notifications.events import NotAnEvent, parse
from functions.core.notifications.sender import KEY_TAG, decode_key, encode_key

KEY = "bill_issued#BILL-prp_1-2026-10-2"


def ses_event(event_type: str, **body: Any) -> dict[str, Any]:
    return {"eventType": event_type, **body, "mail": {
        "timestamp": "2026-11-03T20:00:00.000Z", "messageId": "0100-abc",
        "source": "billing@discom.example.in", "destination": ["asha@example.in"],
        "tags": {"ses:configuration-set": ["iotbill-dev-mail"], KEY_TAG: [encode_key(KEY)]}}}


def sns_envelope(message: dict[str, Any]) -> str:
    return json.dumps({"Type": "Notification", "MessageId": "sns-1",
                       "TopicArn": "arn:aws:sns:ap-south-1:123456789012:iotbill-dev-mail-events",
                       "Message": json.dumps(message), "Timestamp": "2026-11-03T20:00:01Z"})


def test_the_outbox_key_survives_the_ses_tag_alphabet() -> None:
    tag = encode_key(KEY)
    assert set(tag) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    assert decode_key(tag) == KEY and decode_key("***") is None


def test_a_delivery_in_an_sns_envelope() -> None:
    event = parse(sns_envelope(ses_event("Delivery", delivery={
        "timestamp": "2026-11-03T20:00:02.000Z", "recipients": ["asha@example.in"],
        "smtpResponse": "250 ok"})))
    assert event is not None
    assert (event.event_type, event.message_key, event.provider_message_id) == (
        "Delivery", KEY, "0100-abc")
    assert event.at.isoformat() == "2026-11-03T20:00:02+00:00" and event.suppress == ()


def test_a_permanent_bounce_suppresses_a_transient_one_does_not() -> None:
    def bounce(kind: str) -> Any:
        return parse(json.dumps(ses_event("Bounce", bounce={
            "bounceType": kind, "bounceSubType": "General", "timestamp": "2026-11-03T20:00:02Z",
            "bouncedRecipients": [{"emailAddress": "asha@example.in",
                                   "diagnosticCode": "smtp; 550 user unknown"}]})))
    hard, soft = bounce("Permanent"), bounce("Transient")
    assert hard.suppress == ("asha@example.in",) and "550 user unknown" in hard.detail
    assert soft.suppress == () and soft.detail.startswith("Transient/General")


def test_a_complaint_suppresses() -> None:
    event = parse(json.dumps(ses_event("Complaint", complaint={
        "complainedRecipients": [{"emailAddress": "asha@example.in"}],
        "complaintFeedbackType": "abuse"})))
    assert event is not None and event.suppress == ("asha@example.in",)
    assert event.detail == "complaint: abuse"


def test_identity_notifications_without_tags_still_suppress() -> None:
    """The older notification format (notificationType, no tags), as moto's SES sends it
    for its simulator addresses: no outbox key, but the address is still suppressed."""
    message = {"notificationType": "Bounce", "mail": {"messageId": "x", "timestamp":
                                                     "2018-10-08T14:05:45 +0000"},
               "bounce": {"bounceType": "Permanent", "bouncedRecipients": [
                   {"emailAddress": "bounce@simulator.amazonses.com"}]}}
    event = parse(sns_envelope(message))
    assert event is not None and event.message_key is None
    assert event.suppress == ("bounce@simulator.amazonses.com",)


def test_what_is_not_acted_on_and_what_is_not_an_event() -> None:
    assert parse(json.dumps({"Type": "SubscriptionConfirmation", "Token": "t"})) is None
    assert parse(json.dumps(ses_event("Open", open={}))) is None
    for body in ("not json", "[]", json.dumps({"eventType": "Delivery"})):
        with pytest.raises(NotAnEvent):
            parse(body)
