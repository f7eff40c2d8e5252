"""Support tickets, their comment threads and the ticket-number counter.

A ticket's id is its readable number, `TKT-<IST year>-<6 digits>`, taken from
an atomic counter (DynamoDB ADD) per year: unique, increasing, and short
enough to read over the phone. A failed write after taking a number leaves a
gap, never a duplicate.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from functions.core.db import gsi_meta, registered, table_meta
from functions.core.shards import sharded

CATEGORIES = ("bill", "meter", "payment", "other")

OPEN = "open"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
STATUSES = (OPEN, IN_PROGRESS, COMPLETED)
LIST_KEY = "ticket"  # the by_list index's partition value (before its shard)

COMMENT = "comment"
STATUS_EVENT = "status"  # a status change, recorded in the thread as history


class TicketsByCustomer(GlobalSecondaryIndex["TicketRecord"]):
    Meta = gsi_meta("by_customer")
    customer_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TicketsByStatus(GlobalSecondaryIndex["TicketRecord"]):
    Meta = gsi_meta("by_status")
    status = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TicketsByList(GlobalSecondaryIndex["TicketRecord"]):
    """"ticket#<shard of the id>" -> every ticket by age: the admin list without a status
    reads it a page at a time."""

    Meta = gsi_meta("by_list")
    list_shard = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


@registered
class TicketRecord(Model):
    Meta = table_meta("tickets")

    ticket_id = UnicodeAttribute(hash_key=True)  # "TKT-2026-000123"
    customer_id = UnicodeAttribute()
    category = UnicodeAttribute()  # bill | meter | payment | other
    subject = UnicodeAttribute()
    description = UnicodeAttribute()
    bill_id = UnicodeAttribute(null=True)
    property_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default=OPEN)  # open -> in_progress -> completed (-> open)
    assignee_id = UnicodeAttribute(null=True)  # an admin's user id
    # Service-level timestamps (UTC).
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    first_admin_response_at = UTCDateTimeAttribute(null=True)  # first admin comment/status
    resolved_at = UTCDateTimeAttribute(null=True)  # the latest completion; cleared on reopen
    resolution_note = UnicodeAttribute(null=True)
    reopened_at = UTCDateTimeAttribute(null=True)
    reopen_count = NumberAttribute(default=0)
    list_shard = UnicodeAttribute(null=True)  # "ticket#<shard>": set on save

    by_customer = TicketsByCustomer()
    by_status = TicketsByStatus()
    by_list = TicketsByList()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        self.list_shard = sharded(LIST_KEY, self.ticket_id)
        return super().serialize(null_check)


@registered
class TicketCommentRecord(Model):
    Meta = table_meta("ticket_comments")

    ticket_id = UnicodeAttribute(hash_key=True)
    # "<UTC time with microseconds>#<random>": the thread sorts by time.
    comment_key = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default=COMMENT)  # comment | status
    author_id = UnicodeAttribute()
    author_role = UnicodeAttribute()  # customer | admin
    author_name = UnicodeAttribute()
    body = UnicodeAttribute()  # plain text exactly as written; never rendered as HTML
    created_at = UTCDateTimeAttribute()
    # A status event's facts (the body is their English wording), so a page can word it
    # in its language; absent on events recorded before they were kept.
    status = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)  # the admin's note as written


@registered
class TicketCounterRecord(Model):
    """A row of the shared counters table; tickets use "ticket-number#<year>"."""

    Meta = table_meta("counters")

    name = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)
