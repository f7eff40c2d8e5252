"""Notifications, for admins: who never got their bill, and lifting a suppression."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from functions.api.http import Access, route
from functions.core.accounts.sessions import Caller
from functions.core.logs import logger
from functions.core.notifications.outbox import Outbox
from functions.core.notifications.schemas import (
    SuppressionOut,
    UndeliveredBillList,
    UndeliveredBillOut,
    UndeliveredQuery,
)
from functions.core.notifications.service import undelivered_bills

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
