"""Bills: a customer's own bills and their detail; the admin's search."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from functions.api.http import Access, route
from functions.core.accounts.sessions import Caller
from functions.core.accounts.users import UserRepository
from functions.core.bills.documents import URL_SECONDS, pdf_url
from functions.core.bills.queries import BillQueries
from functions.core.bills.schemas import (
    AdminBillList,
    AdminBillsQuery,
    BillDetail,
    BillSummary,
    BillTotals,
    MyBillList,
    MyBillsQuery,
)

bp = Blueprint(__name__)


@route(bp, "/bills", access=Access.CUSTOMER, query=MyBillsQuery, response=MyBillList,
       summary="The bills I pay (owner of untenanted days, or tenant of my tenancy), "
               "newest first, a page at a time")
def my_bills(caller: Caller, query: MyBillsQuery) -> MyBillList:
    page = BillQueries().mine(caller, query)
    return MyBillList(bills=[BillSummary.of(b) for b in page.items], cursor=page.cursor)


@route(bp, "/bills/{bill_id}", access=Access.USER, response=BillDetail,
       summary="One bill with its line items, tariff version and registers")
def bill_detail(bill_id: str, caller: Caller) -> BillDetail:
    return BillDetail.of(BillQueries().one(caller, bill_id))


class PdfQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lang: str | None = Field(default=None, max_length=8,
                             description="en, hi or mr; default: my profile's language")


class PdfLink(BaseModel):
    url: str = Field(description="A presigned download of the bill's PDF")
    expires_in: int = Field(description="Seconds the URL works")


@route(bp, "/bills/{bill_id}/pdf", access=Access.USER, query=PdfQuery, response=PdfLink,
       summary="The bill as a PDF in my language: made once, stored, and given as a "
               "short-lived download URL")
def bill_pdf(bill_id: str, caller: Caller, query: PdfQuery) -> PdfLink:
    bill = BillQueries().one(caller, bill_id)
    lang = query.lang
    if lang is None:
        me = UserRepository().get(caller.user_id)
        lang = getattr(me, "language", None) or "en"
    return PdfLink(url=pdf_url(bill, lang), expires_in=URL_SECONDS)


@route(bp, "/admin/bills", access=Access.ADMIN, query=AdminBillsQuery, response=AdminBillList,
       summary="Bills by period or status (a page at a time), property or payer, with the "
               "page's total")
def admin_bills(caller: Caller, query: AdminBillsQuery) -> AdminBillList:
    page = BillQueries().admin_search(query)
    return AdminBillList(totals=BillTotals.of(page.items), cursor=page.cursor,
                         bills=[BillSummary.of(b) for b in page.items])
