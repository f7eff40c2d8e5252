"""Ticket request bodies (validated, unknown fields refused) and views.

Text is plain text: subjects, descriptions and comments are stored exactly as
written (only blank text is refused) and always returned as JSON strings; no
part of the API renders them as HTML.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

MAX_TEXT = 4000
MAX_SUBJECT = 120


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


Subject = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SUBJECT),
                    AfterValidator(_not_blank)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT),
                 AfterValidator(_not_blank)]
Category = Literal["bill", "meter", "payment", "other"]
Status = Literal["open", "in_progress", "completed"]
Id = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class NewTicket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Category
    subject: Subject
    description: Text
    bill_id: Id | None = None
    property_id: Id | None = None


class NewComment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Text


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
    resolution_note: Text | None = Field(
        default=None, description="Required when the status becomes completed")


class AdminTicketQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    category: Category | None = None
    older_than_days: int | None = Field(default=None, ge=0, le=3650)
    assignee: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        default=None, description='"me", "none" (unassigned) or an admin user id')
    customer_id: Id | None = None
    # A page at a time (the next page: the cursor of the last one).
    cursor: str | None = Field(default=None, min_length=1, max_length=2000)
    limit: int = Field(default=100, ge=1, le=500)


class CommentView(BaseModel):
    comment_id: str
    kind: Literal["comment", "status"]
    author_role: str
    author_name: str
    body: str = Field(description="A status event: its English wording (status and note "
                                  "below are its facts)")
    created_at: datetime
    status: str | None = Field(default=None, description="A status event: the new status; "
                                                         "null on a comment or an older event")
    note: str | None = Field(default=None, description="A status event: the admin's note as "
                                                       "written (null: none, or an older event)")


class TicketView(BaseModel):
    ticket_id: str  # the readable number, e.g. TKT-2026-000123
    category: str
    subject: str
    description: str
    status: str
    bill_id: str | None
    property_id: str | None
    assigned: bool
    created_at: datetime
    updated_at: datetime
    first_admin_response_at: datetime | None
    resolved_at: datetime | None
    resolution_note: str | None
    reopen_count: int
    reopenable_until: datetime | None  # while completed: the end of the reopen window


class AdminTicketView(TicketView):
    customer_id: str
    assignee_id: str | None
    age_days: int


class AdminTicketList(BaseModel):
    """A page of the admin list, the longest waiting first (within each shard of the
    index when no status or customer is given); a page may hold fewer than `limit`
    (filters apply to what was read) and still go on."""

    tickets: list[AdminTicketView]
    cursor: str | None = Field(default=None, description="the next page (null: the last)")


class TicketDetail(TicketView):
    comments: list[CommentView]


class AdminTicketDetail(AdminTicketView):
    comments: list[CommentView]
