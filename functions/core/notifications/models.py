"""The notification outbox and the suppression list in DynamoDB.

One `OutboxRecord` per message, keyed by the event that caused it
(``<template>#<event id>``, for example ``bill_issued#BILL-prp_1-2026-10``): writing
it with a condition on the key makes "the same event, twice" one message.

Status: pending -> sending (claimed by a sender) -> sent (SES/SNS accepted it) ->
delivered | bounced | complained (SES events); or suppressed (the address is on
the suppression list) or failed (SES/SNS refused it for good).
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from functions.core.db import gsi_meta, registered, table_meta
from functions.core.shards import sharded

PENDING, SENDING, SENT = "pending", "sending", "sent"
DELIVERED, BOUNCED, COMPLAINED = "delivered", "bounced", "complained"
SUPPRESSED, FAILED = "suppressed", "failed"
STATUSES = (PENDING, SENDING, SENT, DELIVERED, BOUNCED, COMPLAINED, SUPPRESSED, FAILED)

EMAIL, SMS = "email", "sms"


def pending_shard(message_key: str) -> str:
    return sharded("pending", message_key)


def undelivered_shard(topic: str, message_key: str) -> str:
    return sharded(topic, message_key)


class PendingIndex(GlobalSecondaryIndex["OutboxRecord"]):
    """"pending#<shard>" -> messages not yet handed over, oldest first (the sweep)."""

    Meta = gsi_meta("by_pending")
    pending_shard = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class UndeliveredIndex(GlobalSecondaryIndex["OutboxRecord"]):
    """"<topic>#<shard>" -> messages no delivery event has confirmed yet."""

    Meta = gsi_meta("by_undelivered")
    undelivered_shard = UnicodeAttribute(hash_key=True)
    message_key = UnicodeAttribute(range_key=True)


@registered
class OutboxRecord(Model):
    Meta = table_meta("notifications")

    message_key = UnicodeAttribute(hash_key=True)
    channel = UnicodeAttribute()  # email | sms
    template = UnicodeAttribute()
    # What the message is about, for the admin views: "bill:2026-10" (a period's
    # bills) or "account"; `ref` is the object (a bill id), `recipient_id` the user.
    topic = UnicodeAttribute()
    ref = UnicodeAttribute(null=True)
    recipient_id = UnicodeAttribute(null=True)
    recipient = UnicodeAttribute()  # email address or mobile number
    # The rendered message. Empty for messages that carry a secret (a sign-in link,
    # a one-time code): those are sent by the request that made them and never stored.
    subject = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    dlt_template_id = UnicodeAttribute(null=True)  # SMS: the DLT template it matches

    status = UnicodeAttribute(default=PENDING)
    reason = UnicodeAttribute(null=True)  # why it bounced, failed or was suppressed
    attempts = NumberAttribute(default=0)
    provider_message_id = UnicodeAttribute(null=True)  # SES MessageId / SNS MessageId
    created_at = UTCDateTimeAttribute()
    claimed_at = UTCDateTimeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    event_at = UTCDateTimeAttribute(null=True)  # of the last delivery event

    # Sparse index keys (removed when they no longer apply).
    pending_shard = UnicodeAttribute(null=True)
    undelivered_shard = UnicodeAttribute(null=True)

    by_pending = PendingIndex()
    by_undelivered = UndeliveredIndex()


@registered
class SuppressionRecord(Model):
    """An address (lower-cased email or mobile) never to send to again."""

    Meta = table_meta("suppressed_addresses")

    address = UnicodeAttribute(hash_key=True)
    reason = UnicodeAttribute()  # "bounce:Permanent/General" | "complaint:abuse"
    message_key = UnicodeAttribute(null=True)  # the message whose event suppressed it
    suppressed_at = UTCDateTimeAttribute()
