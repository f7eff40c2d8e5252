"""Support tickets over HTTP. Rules live in core.tickets.service.

Ticket text (subject, description, comments) is plain text and is only ever
returned inside JSON; nothing here renders it as HTML."""

from __future__ import annotations

from chalice import Blueprint

from functions.api.http import Access, route
from functions.core.accounts.sessions import Caller
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
from functions.core.tickets.service import TicketService

bp = Blueprint(__name__)


@route(bp, "/tickets", methods=["POST"], access=Access.CUSTOMER, body=NewTicket,
       response=TicketView, status=201, summary="Raise a support ticket")
def raise_ticket(caller: Caller, body: NewTicket) -> TicketView:
    return TicketService().raise_ticket(caller.user_id, body)


@route(bp, "/tickets", access=Access.CUSTOMER, response=list[TicketView],
       summary="My tickets, newest first")
def my_tickets(caller: Caller) -> list[TicketView]:
    return TicketService().my_tickets(caller.user_id)


@route(bp, "/tickets/{ticket_id}", access=Access.USER,
       response=TicketDetail | AdminTicketDetail,
       summary="A ticket with its thread (the customer's own, or any for an admin)")
def ticket_detail(ticket_id: str, caller: Caller) -> TicketDetail | AdminTicketDetail:
    return TicketService().detail(caller, ticket_id)


@route(bp, "/tickets/{ticket_id}/comments", methods=["POST"], access=Access.USER,
       body=NewComment, response=CommentView, status=201,
       summary="Add a plain-text comment to a ticket's thread")
def add_comment(ticket_id: str, caller: Caller, body: NewComment) -> CommentView:
    return TicketService().comment(caller, ticket_id, body)


@route(bp, "/tickets/{ticket_id}/reopen", methods=["POST"], access=Access.CUSTOMER,
       response=TicketView, summary="Reopen my completed ticket (within 14 days)")
def reopen_ticket(ticket_id: str, caller: Caller) -> TicketView:
    return TicketService().reopen(caller.user_id, ticket_id)


@route(bp, "/admin/tickets", access=Access.ADMIN, query=AdminTicketQuery,
       response=AdminTicketList,
       summary="Tickets by status, category, age and assignee, longest waiting first, "
               "a page at a time")
def admin_tickets(caller: Caller, query: AdminTicketQuery) -> AdminTicketList:
    return TicketService().admin_list(caller.user_id, query)


@route(bp, "/admin/tickets/{ticket_id}/assign", methods=["POST"], access=Access.ADMIN,
       response=AdminTicketView, summary="Assign a ticket to myself")
def assign_ticket(ticket_id: str, caller: Caller) -> AdminTicketView:
    return TicketService().assign_to_me(caller, ticket_id)


@route(bp, "/admin/tickets/{ticket_id}/status", methods=["POST"], access=Access.ADMIN,
       body=StatusChange, response=AdminTicketView,
       summary="Move a ticket to another status (a resolution note completes it)")
def change_status(ticket_id: str, caller: Caller, body: StatusChange) -> AdminTicketView:
    return TicketService().change_status(caller, ticket_id, body)
