"""Tickets, comments and the ticket-number counter behind small repositories."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from functions.core.clock import utcnow
from functions.core.errors import Conflict
from functions.core.paging import Page, partition_page, sharded_page
from functions.core.tickets.models import (
    LIST_KEY,
    TicketCommentRecord,
    TicketCounterRecord,
    TicketRecord,
)


class TicketNumbers:
    def next(self, year: int) -> str:
        """The next readable ticket number of `year`, from an atomic counter."""
        counter = TicketCounterRecord(name=f"ticket-number#{year}")
        counter.update(actions=[TicketCounterRecord.value.add(1)])
        return f"TKT-{year}-{int(counter.value):06d}"


class TicketRepository:
    def get(self, ticket_id: str) -> TicketRecord | None:
        try:
            return TicketRecord.get(ticket_id, consistent_read=True)
        except DoesNotExist:
            return None

    def create(self, record: TicketRecord) -> None:
        try:
            record.save(condition=TicketRecord.ticket_id.does_not_exist())
        except PutError as error:
            raise Conflict("That ticket number is taken; please try again.") from error

    def of_customer(self, customer_id: str) -> list[TicketRecord]:
        return list(TicketRecord.by_customer.query(customer_id, scan_index_forward=False))

    def page(self, status: str | None, cursor: str | None, limit: int,
             keep: Callable[[TicketRecord], bool] = lambda _: True,
             created_before: datetime | None = None,
             customer_id: str | None = None) -> Page[TicketRecord]:
        """Tickets (a customer's, a status's, or all), the oldest first, a page at a
        time: one partition of by_customer or by_status, or by_list shard after shard.
        A request reads at most `limit` items; `keep` filters what was read (a page may
        come short)."""
        query: dict[str, Any] = {}
        if created_before is not None:  # a key condition: older tickets only are read
            query["range_key_condition"] = TicketRecord.created_at < created_before
        if customer_id is not None:
            return partition_page(TicketRecord.by_customer, customer_id, cursor, limit, keep,
                                  **query)
        if status is not None:
            return partition_page(TicketRecord.by_status, status, cursor, limit, keep, **query)
        return sharded_page(TicketRecord.by_list, LIST_KEY, cursor, limit, keep, **query)

    def change(self, record: TicketRecord, expected_status: str, actions: list[Any],
               admin_response_at: datetime | None = None) -> TicketRecord:
        """Apply `actions` only if the ticket is still in `expected_status`
        (Conflict otherwise: someone else changed it meanwhile). With
        `admin_response_at`, also record the first admin response if none is."""
        actions = [*actions, TicketRecord.updated_at.set(utcnow())]
        if admin_response_at is not None:
            actions.append(TicketRecord.first_admin_response_at.set(
                TicketRecord.first_admin_response_at | admin_response_at))
        try:
            record.update(actions=actions, condition=TicketRecord.status == expected_status)
        except UpdateError as error:
            raise Conflict("The ticket was changed meanwhile; reload it and try again.") \
                from error
        return record

    def note_admin_response(self, record: TicketRecord, at: datetime) -> None:
        record.update(actions=[
            TicketRecord.first_admin_response_at.set(TicketRecord.first_admin_response_at | at),
            TicketRecord.updated_at.set(at)])


class CommentRepository:
    def add(self, ticket_id: str, *, kind: str, author_id: str, author_role: str,
            author_name: str, body: str, at: datetime, status: str | None = None,
            note: str | None = None) -> TicketCommentRecord:
        record = TicketCommentRecord(
            ticket_id=ticket_id,
            comment_key=f"{at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{secrets.token_hex(4)}",
            kind=kind, author_id=author_id, author_role=author_role,
            author_name=author_name, body=body, created_at=at, status=status, note=note)
        record.save()
        return record

    def thread(self, ticket_id: str) -> list[TicketCommentRecord]:
        return list(TicketCommentRecord.query(ticket_id, consistent_read=True))
