"""Support tickets: the rules.

- Any customer (owner or tenant) raises tickets; a linked bill must be one
  they pay or one of a property they own, a linked property one they own or
  rent now. Anything else is refused as if it did not exist.
- A customer sees only their own tickets (another customer's id: 404).
- Only admins change the status: open -> in_progress -> completed (an admin
  may also step back: in_progress -> open, completed -> in_progress/open).
  Completing needs a resolution note. The customer may reopen a completed
  ticket within REOPEN_WINDOW of its resolution; it is then open again.
- The customer is emailed on every status change (and when the ticket is
  received). Status changes are also recorded in the thread as history.
- Service levels: created_at, first_admin_response_at (the first admin
  comment or status change), resolved_at (the latest completion).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from functions.core.accounts.models import UserRecord
from functions.core.accounts.service import get_user
from functions.core.accounts.sessions import Caller
from functions.core.accounts.users import UserRepository
from functions.core.billing_rules.periods import to_ist
from functions.core.bills.models import BillRecord
from functions.core.bills.repository import BillRepository
from functions.core.clock import utcnow
from functions.core.errors import Conflict, InvalidInput, NotFound
from functions.core.i18n import format_moment_ist
from functions.core.logs import logger
from functions.core.notifications.service import Notifications
from functions.core.properties.service import property_role
from functions.core.settings import get_settings
from functions.core.tickets.models import (
    COMMENT,
    COMPLETED,
    IN_PROGRESS,
    OPEN,
    STATUS_EVENT,
    TicketCommentRecord,
    TicketRecord,
)
from functions.core.tickets.repositories import CommentRepository, TicketNumbers, TicketRepository
from functions.core.tickets.schemas import (
    AdminTicketDetail,
    AdminTicketList,
    AdminTicketQuery,
    AdminTicketView,
    CommentView,
    NewComment,
    NewTicket,
    StatusChange,
    TicketDetail,
    TicketView,
)

REOPEN_WINDOW = timedelta(days=14)

# Which status an admin may move a ticket to, from each status.
ADMIN_TRANSITIONS: dict[str, frozenset[str]] = {
    OPEN: frozenset({IN_PROGRESS, COMPLETED}),
    IN_PROGRESS: frozenset({OPEN, COMPLETED}),
    COMPLETED: frozenset({OPEN, IN_PROGRESS}),
}
STATUS_LABELS = {OPEN: "Open", IN_PROGRESS: "In progress", COMPLETED: "Completed"}


PropertyRoleLookup = Callable[[str, str], str | None]


class TicketService:
    def __init__(self, tickets: TicketRepository | None = None,
                 comments: CommentRepository | None = None,
                 numbers: TicketNumbers | None = None,
                 users: UserRepository | None = None,
                 bills: BillRepository | None = None,
                 property_role_lookup: PropertyRoleLookup = property_role,
                 notifications: Notifications | None = None) -> None:
        self.tickets = tickets or TicketRepository()
        self.comments = comments or CommentRepository()
        self.numbers = numbers or TicketNumbers()
        self.users = users or UserRepository()
        self.bills = bills or BillRepository()
        self.property_role = property_role_lookup
        self.notifications = notifications or Notifications()

    # ---- customers -----------------------------------------------------------

    def raise_ticket(self, customer_id: str, data: NewTicket) -> TicketView:
        customer = get_user(customer_id, self.users)
        property_id = data.property_id
        if data.bill_id is not None:
            bill = self._customers_bill(customer_id, data.bill_id)
            if property_id is not None and property_id != bill.property_id:
                raise InvalidInput("The bill is not a bill of that property.",
                                   details=[{"field": "property_id",
                                             "message": "does not match the bill"}])
            property_id = bill.property_id
        elif property_id is not None and self.property_role(customer_id, property_id) is None:
            raise _unknown_link("property_id", "No such property among yours.")

        # Everything is checked before a number is taken (a number is never reused).
        now = utcnow()
        record = TicketRecord(
            ticket_id=self.numbers.next(to_ist(now).year), customer_id=customer_id,
            category=data.category, subject=data.subject, description=data.description,
            bill_id=data.bill_id, property_id=property_id, status=OPEN,
            created_at=now, updated_at=now, reopen_count=0,
        )
        self.tickets.create(record)
        logger.info("ticket raised", extra={"ticket_id": record.ticket_id,
                                            "category": record.category})
        # The outbox (functions/core/notifications) sends it once, keyed by the ticket.
        self.notifications.queue_email(
            "ticket_received", record.ticket_id, customer.email, topic="ticket",
            recipient_id=customer.user_id, ref=record.ticket_id, name=customer.name,
            lang=customer.language, ticket_id=record.ticket_id, subject=record.subject,
            at=format_moment_ist(now, customer.language),
            link=_ticket_url(record))
        return customer_view(record)

    def my_tickets(self, customer_id: str) -> list[TicketView]:
        return [customer_view(t) for t in self.tickets.of_customer(customer_id)]

    def reopen(self, customer_id: str, ticket_id: str) -> TicketView:
        record = self._visible_to(customer_id, False, ticket_id)
        if record.status != COMPLETED:
            raise Conflict("Only a completed ticket can be reopened.")
        now = utcnow()
        if record.resolved_at is None or now - record.resolved_at > REOPEN_WINDOW:
            raise Conflict(f"A ticket can be reopened within {REOPEN_WINDOW.days} days of "
                           "its resolution; please raise a new ticket instead.")
        self.tickets.change(record, COMPLETED, [
            TicketRecord.status.set(OPEN), TicketRecord.resolved_at.remove(),
            TicketRecord.reopened_at.set(now), TicketRecord.reopen_count.add(1)])
        customer = get_user(customer_id, self.users)
        self._record_status(record, customer, OPEN, "Reopened by the customer.", now,
                            keep_note=False)
        return customer_view(self._reload(record))

    # ---- anyone who may see the ticket --------------------------------------

    def detail(self, caller: Caller, ticket_id: str) -> TicketDetail | AdminTicketDetail:
        record = self._visible(caller, ticket_id)
        now = utcnow()
        thread = [comment_view(c) for c in self.comments.thread(ticket_id)]
        if caller.is_admin:
            return AdminTicketDetail(**admin_view(record, now).model_dump(), comments=thread)
        return TicketDetail(**customer_view(record).model_dump(), comments=thread)

    def comment(self, caller: Caller, ticket_id: str, data: NewComment) -> CommentView:
        record = self._visible(caller, ticket_id)
        author = get_user(caller.user_id, self.users)
        now = utcnow()
        comment = self.comments.add(ticket_id, kind=COMMENT, author_id=author.user_id,
                                    author_role=author.role, author_name=author.name,
                                    body=data.body, at=now)
        if caller.is_admin:
            self.tickets.note_admin_response(record, now)
        return comment_view(comment)

    # ---- admins --------------------------------------------------------------

    def admin_list(self, admin_id: str, query: AdminTicketQuery) -> AdminTicketList:
        """A page of tickets, the longest waiting first: one index query (a customer's,
        a status's, or every ticket's shard after shard), never a scan."""
        now = utcnow()
        older = now - timedelta(days=query.older_than_days) \
            if query.older_than_days is not None else None
        page = self.tickets.page(query.status, query.cursor, query.limit,
                                 lambda t: (query.status is None or t.status == query.status)
                                 and _matches(t, query, admin_id, now), older,
                                 customer_id=query.customer_id)
        return AdminTicketList(tickets=[admin_view(t, now) for t in page.items],
                               cursor=page.cursor)

    def assign_to_me(self, admin: Caller, ticket_id: str) -> AdminTicketView:
        record = self._visible(admin, ticket_id)
        self.tickets.change(record, record.status, [TicketRecord.assignee_id.set(admin.user_id)])
        return admin_view(self._reload(record), utcnow())

    def change_status(self, admin: Caller, ticket_id: str, change: StatusChange
                      ) -> AdminTicketView:
        record = self._visible(admin, ticket_id)
        current, target = record.status, change.status
        if target == current:
            raise Conflict(f"The ticket is already {STATUS_LABELS[current].lower()}.")
        if target not in ADMIN_TRANSITIONS[current]:
            raise Conflict(f"A ticket cannot move from {current} to {target}.")
        note = change.resolution_note
        if target == COMPLETED and note is None:
            raise InvalidInput("A resolution note is needed to complete a ticket.",
                               details=[{"field": "resolution_note",
                                         "message": "required when completing"}])
        now = utcnow()
        actions: list[Any] = [TicketRecord.status.set(target)]
        if target == COMPLETED:
            assert note is not None
            actions += [TicketRecord.resolved_at.set(now), TicketRecord.resolution_note.set(note)]
        elif current == COMPLETED:
            actions.append(TicketRecord.resolved_at.remove())
        self.tickets.change(record, current, actions, admin_response_at=now)
        author = get_user(admin.user_id, self.users)
        self._record_status(record, author, target, note, now)
        return admin_view(self._reload(record), now)

    # ---- helpers -------------------------------------------------------------

    def _visible(self, caller: Caller, ticket_id: str) -> TicketRecord:
        return self._visible_to(caller.user_id, caller.is_admin, ticket_id)

    def _visible_to(self, user_id: str, is_admin: bool, ticket_id: str) -> TicketRecord:
        record = self.tickets.get(ticket_id)
        if record is None or (not is_admin and record.customer_id != user_id):
            raise NotFound("No such ticket.")
        return record

    def _reload(self, record: TicketRecord) -> TicketRecord:
        fresh = self.tickets.get(record.ticket_id)
        assert fresh is not None  # tickets are never deleted
        return fresh

    def _customers_bill(self, customer_id: str, bill_id: str) -> BillRecord:
        bill = self.bills.get(bill_id)
        if bill is None or customer_id not in (bill.payer_id, bill.owner_id):
            raise _unknown_link("bill_id", "No such bill among yours.")
        return bill

    def _record_status(self, record: TicketRecord, author: UserRecord, status: str,
                       note: str | None, now: datetime, *, keep_note: bool = True) -> None:
        """History in the thread, and the email to the customer. The event keeps the
        status and the admin's note apart (keep_note=False: the note is our own English
        wording, which a page words itself from the author and status)."""
        text = f"Status changed to {STATUS_LABELS[status]}."
        if note:
            text += f"\n\n{note}"
        self.comments.add(record.ticket_id, kind=STATUS_EVENT, author_id=author.user_id,
                          author_role=author.role, author_name=author.name, body=text, at=now,
                          status=status, note=(note or None) if keep_note else None)
        customer = get_user(record.customer_id, self.users)
        # Keyed by the status change (ticket, status, time): one email per change.
        self.notifications.queue_email(
            "ticket_status", f"{record.ticket_id}#{status}#{now.isoformat()}", customer.email,
            topic="ticket", recipient_id=customer.user_id, ref=record.ticket_id,
            name=customer.name, lang=customer.language, ticket_id=record.ticket_id,
            subject=record.subject, status=STATUS_LABELS[status],
            at=format_moment_ist(now, customer.language), completed=status == COMPLETED,
            note=note, reopen_until=format_moment_ist(now + REOPEN_WINDOW, customer.language),
            link=_ticket_url(record))


def customer_view(record: TicketRecord) -> TicketView:
    reopenable_until = None
    if record.status == COMPLETED and record.resolved_at is not None:
        reopenable_until = record.resolved_at + REOPEN_WINDOW
    return TicketView(
        ticket_id=record.ticket_id, category=record.category, subject=record.subject,
        description=record.description, status=record.status, bill_id=record.bill_id,
        property_id=record.property_id, assigned=record.assignee_id is not None,
        created_at=record.created_at, updated_at=record.updated_at,
        first_admin_response_at=record.first_admin_response_at,
        resolved_at=record.resolved_at, resolution_note=record.resolution_note,
        reopen_count=int(record.reopen_count or 0), reopenable_until=reopenable_until,
    )


def admin_view(record: TicketRecord, now: datetime) -> AdminTicketView:
    return AdminTicketView(**customer_view(record).model_dump(),
                           customer_id=record.customer_id, assignee_id=record.assignee_id,
                           age_days=(now - record.created_at).days)


def comment_view(record: TicketCommentRecord) -> CommentView:
    return CommentView(comment_id=record.comment_key, kind=record.kind,
                       author_role=record.author_role, author_name=record.author_name,
                       body=record.body, created_at=record.created_at,
                       status=record.status, note=record.note)


def _matches(record: TicketRecord, query: AdminTicketQuery, admin_id: str,
             now: datetime) -> bool:
    if query.category and record.category != query.category:
        return False
    if query.customer_id and record.customer_id != query.customer_id:
        return False
    if query.older_than_days is not None and \
            now - record.created_at < timedelta(days=query.older_than_days):
        return False
    if query.assignee == "none":
        return record.assignee_id is None
    if query.assignee is not None:
        wanted = admin_id if query.assignee == "me" else query.assignee
        return record.assignee_id == wanted
    return True


def _unknown_link(field: str, message: str) -> InvalidInput:
    # The same answer for "does not exist" and "not yours": ids reveal nothing.
    return InvalidInput(message, details=[{"field": field, "message": message}])


def _ticket_url(record: TicketRecord) -> str:
    return f"{get_settings().portal_origin}/tickets/{record.ticket_id}"
