"""Notifications: for admins, who never got their bill and lifting a suppression; for
the signed-in user, whether our emails reach them (the portal's prompt to fix it)."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from functions.api.http import Access, route
from functions.core.accounts.sessions import Caller
from functions.core.accounts.users import UserRepository
from functions.core.errors import Unauthorized
from functions.core.logs import logger
from functions.core.notifications.outbox import Outbox
from functions.core.notifications.schemas import (
    EmailStatusOut,
    SuppressionOut,
    UndeliveredBillList,
    UndeliveredBillOut,
    UndeliveredQuery,
)
from functions.core.notifications.service import email_status, resume_email, undelivered_bills

bp = Blueprint(__name__)


@route(bp, "/admin/notifications/undelivered-bills", access=Access.ADMIN,
       query=UndeliveredQuery, response=UndeliveredBillList,
       summary="The payers of a period's bills whose email no delivery event has confirmed "
               "(not yet sent, bounced, complained, suppressed or refused), a page at a time")
def undelivered(caller: Caller, query: UndeliveredQuery) -> UndeliveredBillList:
    page = undelivered_bills(query.period, query.cursor, query.limit, query.status)
    return UndeliveredBillList(period=query.period, cursor=page.cursor,
                               bills=[UndeliveredBillOut.of(item) for item in page.items])


class UnsuppressBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(min_length=3, max_length=320,
                         description="an email address or mobile number on the list")


@route(bp, "/admin/notifications/unsuppress", methods=("POST",), access=Access.ADMIN,
       body=UnsuppressBody, response=SuppressionOut,
       summary="Take an address off the suppression list (the customer fixed their mailbox)")
def unsuppress(caller: Caller, body: UnsuppressBody) -> SuppressionOut:
    removed = Outbox().unsuppress(body.address)
    logger.info("suppression lifted" if removed else "address was not suppressed",
                extra={"by": caller.user_id})
    return SuppressionOut(address=body.address.strip().lower(), removed=removed)


def _my_email(caller: Caller) -> str:
    user = UserRepository().get(caller.user_id)
    if user is None:
        raise Unauthorized("This account no longer exists.")
    return str(user.email)


@route(bp, "/me/email-status", access=Access.USER, response=EmailStatusOut,
       summary="Whether our emails reach my address (suppressed after a hard bounce or a "
               "spam complaint)")
def my_email_status(caller: Caller) -> EmailStatusOut:
    return EmailStatusOut.of(email_status(_my_email(caller)))


@route(bp, "/me/email-status/resume", methods=("POST",), access=Access.USER,
       response=EmailStatusOut,
       summary="My mailbox works again: email me again (another bounce stops it again)")
def resume_my_email(caller: Caller) -> EmailStatusOut:
    status = resume_email(_my_email(caller))
    logger.info("own email resumed", extra={"user_id": caller.user_id})
    return EmailStatusOut.of(status)
